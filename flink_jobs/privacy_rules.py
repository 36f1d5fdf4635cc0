"""Which fields the job pseudonymises, and the compact spec string its Java function reads.

The rules are data, shared by three readers that must agree exactly: the job's Java function
`pseudonymise(payload, key, spec)` (src/main/java/dev/ecomflow/udf/Pseudonymise.java), the
Python reference `ecomflow.privacy.hashing.pseudonymise`, and the settings (`flink_jobs.settings`,
property group `Privacy`). Field names are matched exactly (case-sensitive) at any depth of the
payload; query-parameter names case-insensitively (ASCII).

Spec string (one line, no secrets, safe to log), e.g.

    v1;hash=user_id,customer_id;region=postal_code;region.chars=2;url=page_url;strip=email,token

Deliberately free of pyflink and ecomflow imports: it ships to MSF in `flink_jobs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SPEC_VERSION = "v1"
DEFAULT_HASH_FIELDS = ("user_id", "customer_id", "ip_address", "ip", "email")
DEFAULT_REGION_FIELDS = ("postal_code",)
DEFAULT_REGION_CHARS = 2
DEFAULT_URL_FIELDS = ("page_url", "referrer", "url")
DEFAULT_STRIP_PARAMS = ("email", "token", "password", "auth", "session", "sid", "key", "api_key",
                        "access_token", "code")
# The spec's own separators cannot appear in a name; neither can whitespace (a typo's sign).
_NAME = re.compile(r"^[^\s,;=]+$")


class RulesError(ValueError):
    """A rule is malformed; the message names the setting (`Privacy.<key>`)."""


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: Java's and Python's full Unicode lower-casing differ (U+212A)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _names(values: Iterable[str], setting: str) -> tuple[str, ...]:
    names = tuple(values)
    for name in names:
        if not _NAME.match(name):
            raise RulesError(f"Privacy.{setting}: {name!r} is not a field name "
                             "(no spaces, commas, semicolons or '=')")
    if len(set(names)) != len(names):
        raise RulesError(f"Privacy.{setting} names a field twice: {', '.join(names)}")
    return names


@dataclass(frozen=True, kw_only=True)
class PrivacyRules:
    """What is replaced, and how:

    - `hash_fields`: every string or number under such a key (also inside its arrays and
      objects) becomes HMAC-SHA-256(key, text) in hex; a number's text is exactly as written
      in the payload (`42`, `4.2e1`);
    - `region_fields`: strings (and numbers' text) cut to their first `region_chars` Unicode
      characters (a postal code down to its region), always as strings;
    - `url_fields`: strings lose the query parameters named in `strip_params`;
    - booleans and nulls are kept; a key named in two lists is an error.
    """

    hash_fields: tuple[str, ...] = DEFAULT_HASH_FIELDS
    region_fields: tuple[str, ...] = DEFAULT_REGION_FIELDS
    region_chars: int = DEFAULT_REGION_CHARS
    url_fields: tuple[str, ...] = DEFAULT_URL_FIELDS
    strip_params: tuple[str, ...] = DEFAULT_STRIP_PARAMS

    def __post_init__(self) -> None:
        hashed = _names(self.hash_fields, "hash.fields")
        regions = _names(self.region_fields, "region.fields")
        urls = _names(self.url_fields, "url.fields")
        params = _names(self.strip_params, "url.strip.params")
        both = (set(hashed) & set(regions)) | (set(hashed) & set(urls)) | (set(regions)
                                                                             & set(urls))
        if both:
            raise RulesError("Privacy: a field may follow one rule only, "
                             f"{', '.join(sorted(both))} is in two of hash.fields, "
                             "region.fields and url.fields")
        if self.region_chars < 0:
            raise RulesError(f"Privacy.postal.region.chars must be >= 0, got {self.region_chars}")
        # Case-insensitive matching: keep the parameters lower-cased once, here.
        object.__setattr__(self, "strip_params", tuple(dict.fromkeys(
            ascii_lower(p) for p in params)))

    def spec(self) -> str:
        """The rules as the Java function reads them (see the module docstring)."""
        return ";".join((
            SPEC_VERSION,
            "hash=" + ",".join(self.hash_fields),
            "region=" + ",".join(self.region_fields),
            f"region.chars={self.region_chars}",
            "url=" + ",".join(self.url_fields),
            "strip=" + ",".join(self.strip_params),
        ))

    @classmethod
    def from_spec(cls, spec: str) -> PrivacyRules:
        """The inverse of `spec()` (the Java function parses the same way)."""
        version, *parts = spec.split(";")
        if version != SPEC_VERSION:
            raise RulesError(f"unknown pseudonymisation spec version {version!r}")
        values = dict(part.split("=", 1) for part in parts)

        def names(name: str) -> tuple[str, ...]:
            return tuple(n for n in values.get(name, "").split(",") if n)

        return cls(hash_fields=names("hash"), region_fields=names("region"),
                   region_chars=int(values.get("region.chars", DEFAULT_REGION_CHARS)),
                   url_fields=names("url"), strip_params=names("strip"))
