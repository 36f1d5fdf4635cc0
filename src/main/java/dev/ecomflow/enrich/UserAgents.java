package dev.ecomflow.enrich;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import ua_parser.Client;
import ua_parser.Parser;

/**
 * Device class, browser and OS of a user agent, with uap-java over uap-core's rules: the rules
 * the Python reference ({@code udfs/user_agent.py}, the ua-parser package) reads, exported from
 * it into {@code src/main/resources/dev/ecomflow/uap/regexes.yaml} (ecomflow/uap_rules.py).
 *
 * <p>uap-java names the browser, the OS and the device family; the device class (desktop,
 * mobile, tablet, bot, other) is derived from those names exactly as the Python reference does,
 * never from regexes of our own, with one documented exception: Android devices whose user
 * agent lacks "Mobile" are tablets (Google's own rule for telling them apart).
 *
 * <p>Results are cached (a shop sees few distinct agents); not thread-safe: one per task.
 */
public final class UserAgents {

    static final Set<String> MOBILE_OS = new HashSet<>(Arrays.asList("iOS", "Android",
            "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS", "HarmonyOS"));
    static final Set<String> DESKTOP_OS = new HashSet<>(Arrays.asList("Windows", "Mac OS X",
            "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD", "macOS"));
    static final String[] TABLET_FAMILIES = {"iPad", "Kindle", "Tablet", "Galaxy Tab",
        "Nexus 7", "Nexus 9", "Nexus 10"};
    private static final String RULES = "/dev/ecomflow/uap/regexes.yaml";
    private static final int CACHE_SIZE = 8192;

    private final Parser parser;
    private final Map<String, String[]> cache = Collections.synchronizedMap(
            new LinkedHashMap<String, String[]>(1024, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, String[]> eldest) {
                    return size() > CACHE_SIZE;
                }
            });

    private UserAgents(Parser parser) {
        this.parser = parser;
    }

    /** The parser over the jar's copy of uap-core's rules. */
    public static UserAgents load() {
        try (InputStream rules = UserAgents.class.getResourceAsStream(RULES)) {
            if (rules == null) {
                throw new IllegalStateException("user-agent rules missing from the jar: " + RULES);
            }
            return new UserAgents(new Parser(rules));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {device_class, browser, os}; browser and os are NULL when uap-core does not know them. */
    public String[] classify(String userAgent) {
        String[] known = cache.get(userAgent);
        if (known == null) {
            known = parse(userAgent);
            cache.put(userAgent, known);
        }
        return known;
    }

    private String[] parse(String userAgent) {
        Client client = parser.parse(userAgent);
        String browser = known(client.userAgent == null ? null : client.userAgent.family);
        String os = known(client.os == null ? null : client.os.family);
        String family = client.device == null || client.device.family == null ? ""
                : client.device.family;
        String deviceClass;
        if ("Spider".equals(family)) {
            deviceClass = "bot";
        } else if (isTablet(family)) {
            deviceClass = "tablet";
        } else if ("Android".equals(os) && !userAgent.contains("Mobile")) {
            deviceClass = "tablet";
        } else if (os != null && MOBILE_OS.contains(os)) {
            deviceClass = "mobile";
        } else if (os != null && DESKTOP_OS.contains(os)) {
            deviceClass = "desktop";
        } else {
            deviceClass = "other";
        }
        return new String[] {deviceClass, browser, os};
    }

    private static boolean isTablet(String family) {
        for (String tablet : TABLET_FAMILIES) {
            if (family.contains(tablet)) {
                return true;
            }
        }
        return false;
    }

    private static String known(String family) {
        return family == null || family.isEmpty() || "Other".equals(family) ? null : family;
    }
}
