"""The job's user-agent parser (Java: uap-java, dev.ecomflow.enrich.UserAgents) against the
Python reference (udfs.user_agent, the ua-parser package): the same rules, the same answers.
"""

from __future__ import annotations

from pathlib import Path

from ecomflow import uap_rules
from tests.support.java_probe import JavaProbe
from udfs.user_agent import classify

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "user_agents" / "uap_core_sample.txt"
HAND_PICKED = [
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",  # an Android tablet: no "Mobile"
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0", "", "Other", "Mozilla/5.0 (compatible; ShopScraper/2.1)",
]


def test_the_jar_reads_the_rules_the_python_package_has() -> None:
    """The committed export is what the installed ua-parser-builtins exports: after an upgrade,
    `python -m ecomflow.uap_rules > src/main/resources/dev/ecomflow/uap/regexes.yaml`."""
    assert (ROOT / uap_rules.RULES_PATH).read_text(encoding="utf-8") == uap_rules.export()


def test_real_user_agents_are_classified_alike() -> None:
    agents = CORPUS.read_text(encoding="utf-8").splitlines() + HAND_PICKED
    assert len(agents) > 3000
    with JavaProbe("user-agent") as probe:
        answers = list(probe.ask_many({"user_agent": agent} for agent in agents))
    different = [(agent, classify(agent), java) for agent, java in zip(agents, answers,
                                                                        strict=True)
                 if classify(agent) != (java["device_class"], java["browser"], java["os"])]
    assert not different, different[:10]
    classes = {answer["device_class"] for answer in answers}
    assert {"desktop", "mobile", "tablet", "bot", "other"} <= classes
