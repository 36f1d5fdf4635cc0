"""Device class, browser and OS of a user agent with the maintained ua-parser library (uap-core's
regexes, ``ua-parser-builtins``): the reference for the job's Java parser.

The job parses user agents in the JVM (`dev.ecomflow.enrich.UserAgents`, uap-java over the same
uap-core rules, exported from this package by ecomflow/uap_rules.py); the parity test holds
both to the same answers on thousands of real agent strings.

ua-parser names the browser, the OS and the device family; the device class (desktop, mobile,
tablet, bot) is derived from those names, never from regexes of our own over the raw string,
with one documented exception: Android devices whose user agent lacks "Mobile" are tablets
(Google's own rule for telling them apart). Results are cached: a shop sees few distinct agents.
"""

from __future__ import annotations

import functools

from ua_parser import parse

MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS",
                       "Firefox OS", "Symbian OS", "HarmonyOS"})
DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora",
                        "Debian", "FreeBSD", "macOS"})
TABLET_FAMILIES = ("iPad", "Kindle", "Tablet", "Galaxy Tab", "Nexus 7", "Nexus 9", "Nexus 10")


def _known(family: str | None) -> str | None:
    return None if family in (None, "", "Other") else family


@functools.lru_cache(maxsize=8192)
def classify(user_agent: str) -> tuple[str, str | None, str | None]:
    """(device_class, browser, os) of one user agent string."""
    result = parse(user_agent)
    browser = _known(result.user_agent.family if result.user_agent else None)
    os = _known(result.os.family if result.os else None)
    device = result.device
    family = device.family if device else ""
    brand = (device.brand or "") if device else ""
    if family == "Spider":
        device_class = "bot"
    elif any(t in family for t in TABLET_FAMILIES) or "Tablet" in brand:
        device_class = "tablet"
    elif os == "Android" and "Mobile" not in user_agent:
        device_class = "tablet"
    elif os in MOBILE_OS:
        device_class = "mobile"
    elif os in DESKTOP_OS:
        device_class = "desktop"
    else:
        device_class = "other"
    return device_class, browser, os


def device_of(user_agent: str | None) -> tuple[str, str | None, str | None] | None:
    return None if not user_agent else classify(user_agent)
