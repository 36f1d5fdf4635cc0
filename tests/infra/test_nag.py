"""cdk-nag's AwsSolutions pack: zero unacknowledged errors, and every acknowledgment in the
synthesized app is one of ecomflow_infra.suppressions' (each with its written reason)."""

from __future__ import annotations

import json

import app as infra_app  # infra/app.py (tests/infra/conftest.py puts infra/ on sys.path)
import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from ecomflow_infra import environments, stacks
from ecomflow_infra.suppressions import SUPPRESSIONS

from ecomflow.aws import names as aws_names


def test_no_unacknowledged_findings(synth):
    report = synth.validation_report
    violations = [(v["ruleName"], c["constructPath"])
                  for plugin in report["pluginReports"] for v in plugin["violations"]
                  for c in v["violatingConstructs"]]
    assert violations == []
    assert "AwsSolutions" not in synth.output.replace("AwsSolutions-", "")


def _acknowledged(synth) -> dict[tuple[str, str], str]:
    found = {}
    for suffix in aws_names.ALL_STACKS:
        for path, entries in synth.metadata(suffix).items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule, reason in entry["data"].items():
                    rule = rule.removeprefix("Annotation::")
                    if rule.startswith("AwsSolutions-"):
                        found[(path, rule)] = reason
    return found


def test_every_acknowledgment_is_declared_with_a_reason(synth):
    acknowledged = _acknowledged(synth)
    assert len(acknowledged) == sum(len(items) for items in SUPPRESSIONS.values())
    declared_rules = {(s.rule.split("[")[0], s.reason)
                      for items in SUPPRESSIONS.values() for s in items}
    for (path, rule), reason in acknowledged.items():
        assert (rule.split("[")[0], reason) in declared_rules, (path, rule)
        assert len(reason) >= 40, (path, rule)
    assert all(path.startswith(f"/ecomflow-{synth.env}-") for path, _ in acknowledged)


def test_each_acknowledgment_answers_a_real_finding(synthesized, tmp_path, monkeypatch):
    """Without the acknowledgments, cdk-nag reports exactly the acknowledged findings (prod):
    none is stale, none hides more than it says."""
    monkeypatch.setattr(stacks, "suppress", lambda *args, **kwargs: None)
    app = cdk.App(outdir=str(tmp_path), context=dict(infra_app.FEATURE_FLAGS))
    stacks.EcomflowStacks(app, config=environments.get("prod"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {(f"/{c['constructPath']}", v["ruleName"])
                for plugin in report["pluginReports"] for v in plugin["violations"]
                for c in v["violatingConstructs"]}
    assert findings == set(_acknowledged(synthesized["prod"]))
