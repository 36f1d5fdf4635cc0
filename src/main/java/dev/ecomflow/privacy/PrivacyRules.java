package dev.ecomflow.privacy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The pseudonymisation rules as {@code flink_jobs.privacy_rules.PrivacyRules.spec()} writes
 * them, e.g. {@code v1;hash=user_id,customer_id;region=postal_code;region.chars=2;url=page_url;strip=email}:
 * which field names are hashed, cut to their region or stripped of URL parameters.
 */
public final class PrivacyRules {

    static final int NONE = 0, HASH = 1, REGION = 2, URL = 3;

    final Map<String, Integer> modes = new HashMap<>();
    final Set<String> stripParams = new HashSet<>();
    int regionChars = 2;

    private PrivacyRules() {}

    /** No rule at all: every value is kept. */
    static PrivacyRules none() {
        return new PrivacyRules();
    }

    int modeOf(String name) {
        Integer mode = modes.get(name);
        return mode == null ? NONE : mode;
    }

    /** The rules of a spec string; a spec of another version is refused. */
    public static PrivacyRules parse(String spec) {
        String[] parts = spec.split(";", -1);
        if (!"v1".equals(parts[0])) {
            throw new IllegalArgumentException(
                    "pseudonymise: unknown spec version " + parts[0] + " in " + spec);
        }
        PrivacyRules rules = new PrivacyRules();
        Map<String, String> values = new HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("pseudonymise: bad spec part " + parts[i]);
            }
            values.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        // Precedence as in Python: a name in two lists is refused there; hash wins here.
        rules.put(values.get("url"), URL);
        rules.put(values.get("region"), REGION);
        rules.put(values.get("hash"), HASH);
        String strip = values.get("strip");
        if (strip != null) {
            for (String param : strip.split(",")) {
                if (!param.isEmpty()) {
                    rules.stripParams.add(param);
                }
            }
        }
        String chars = values.get("region.chars");
        if (chars != null) {
            rules.regionChars = Integer.parseInt(chars);
        }
        return rules;
    }

    private void put(String names, int mode) {
        if (names == null) {
            return;
        }
        for (String name : names.split(",")) {
            if (!name.isEmpty()) {
                modes.put(name, mode);
            }
        }
    }

    /** `url` without the query parameters named in `params` (see ecomflow.privacy). */
    static String stripQuery(String url, Set<String> params) {
        int hashAt = url.indexOf('#');
        String head = hashAt < 0 ? url : url.substring(0, hashAt);
        String fragment = hashAt < 0 ? "" : url.substring(hashAt);
        int queryAt = head.indexOf('?');
        if (queryAt < 0 || params.isEmpty()) {
            return url;
        }
        String[] parts = head.substring(queryAt + 1).split("&", -1);
        StringBuilder query = new StringBuilder();
        int kept = 0;
        for (String part : parts) {
            if (params.contains(paramName(part))) {
                continue;
            }
            if (kept++ > 0) {
                query.append('&');
            }
            query.append(part);
        }
        if (kept == parts.length) {
            return url;
        }
        return head.substring(0, queryAt) + (query.length() > 0 ? "?" + query : "") + fragment;
    }

    /** A parameter's name, %XX escapes of ASCII characters decoded, A-Z lower-cased. */
    static String paramName(String part) {
        int eq = part.indexOf('=');
        String name = eq < 0 ? part : part.substring(0, eq);
        StringBuilder decoded = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '%' && i + 2 < name.length()
                    && name.charAt(i + 1) >= '0' && name.charAt(i + 1) <= '7'
                    && isAsciiHex(name.charAt(i + 2))) {
                c = (char) Integer.parseInt(name.substring(i + 1, i + 3), 16);
                i += 2;
            }
            decoded.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
        }
        return decoded.toString();
    }

    private static boolean isAsciiHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}
