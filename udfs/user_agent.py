"""parse_user_agent(user_agent): ROW<device_class, browser, os> with the maintained ua-parser
library (uap-core's regexes, updated monthly as ``ua-parser-builtins``).

ua-parser names the browser, the OS and the device family; the device class (desktop, mobile,
tablet, bot) is derived from those names, never from regexes of our own over the raw string,
with one documented exception: Android devices whose user agent lacks "Mobile" are tablets
(Google's own rule for telling them apart). Results are cached: a shop sees few distinct agents.
"""

from __future__ import annotations

import functools

from pyflink.common import Row
from pyflink.table import DataTypes
from pyflink.table.udf import udf
from ua_parser import parse

RESULT_TYPE = DataTypes.ROW([
    DataTypes.FIELD("device_class", DataTypes.STRING()),
    DataTypes.FIELD("browser", DataTypes.STRING()),
    DataTypes.FIELD("os", DataTypes.STRING()),
])
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


def _parse_user_agent(user_agent: str | None) -> Row | None:
    device = device_of(user_agent)
    return None if device is None else Row(*device)


parse_user_agent = udf(_parse_user_agent, result_type=RESULT_TYPE)
