"""udfs.user_agent: device class, browser and OS of a user agent, by ua-parser's names.

Expectations are written by hand (what a person reading the agent string would say), not
recomputed with ua-parser.
"""

from __future__ import annotations

import pytest

from udfs.user_agent import classify, device_of

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.1 Safari/605.1.15")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
# A Galaxy Tab S9: Android without "Mobile" (Google's rule for tablets)
ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CURL = "curl/8.4.0"

EXPECTED = [
    (CHROME_WINDOWS, ("desktop", "Chrome", "Windows")),
    (SAFARI_MAC, ("desktop", "Safari", "Mac OS X")),
    (FIREFOX_LINUX, ("desktop", "Firefox", "Linux")),
    (IPHONE, ("mobile", "Mobile Safari", "iOS")),
    (ANDROID_PHONE, ("mobile", "Chrome Mobile", "Android")),
    (IPAD, ("tablet", "Mobile Safari", "iOS")),
    (ANDROID_TABLET, ("tablet", "Chrome", "Android")),
    (GOOGLEBOT, ("bot", "Googlebot", None)),
    (CURL, ("other", "curl", None)),
    ("not a browser at all", ("other", None, None)),
]


@pytest.mark.parametrize(("agent", "expected"), EXPECTED,
                         ids=["chrome-windows", "safari-mac", "firefox-linux", "iphone",
                              "android-phone", "ipad", "android-tablet", "googlebot", "curl",
                              "unknown"])
def test_device_of(agent: str, expected: tuple[str, str | None, str | None]) -> None:
    assert device_of(agent) == expected
    assert classify(agent) == expected


@pytest.mark.parametrize("agent", [None, ""])
def test_no_agent_is_none(agent: str | None) -> None:
    assert device_of(agent) is None


def test_android_tablet_rule_depends_on_mobile_token() -> None:
    # the same device string with and without "Mobile": phone vs tablet
    assert device_of(ANDROID_TABLET)[0] == "tablet"
    assert device_of(ANDROID_TABLET.replace("Safari/", "Mobile Safari/"))[0] == "mobile"


def test_results_are_cached() -> None:
    classify.cache_clear()
    device_of(IPAD)
    device_of(IPAD)
    info = classify.cache_info()
    assert (info.hits, info.misses) == (1, 1)
