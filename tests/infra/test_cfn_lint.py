"""cfn-lint on every synthesized template, in every region: no finding but the resource types
missing in the regions the stacks refuse up front (ecomflow_infra/regions.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from ecomflow_infra import regions

from ecomflow.aws import names as aws_names

# The stacks that refuse regions, with the regions each refuses.
REFUSED = {"processing": set(regions.NO_MSF_LOGGING_OPTION)}


def _lint(templates: list[Path], *args: str) -> list[dict]:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *args, "--",
         *map(str, templates)], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 2, 4, 6, 8, 10, 12, 14), done.stderr[-3000:]
    return json.loads(done.stdout or "[]")


def _templates(synth) -> list[Path]:
    return [synth.out / f"{aws_names.stack_name(synth.env, suffix)}.template.json"
            for suffix in aws_names.ALL_STACKS]


@pytest.fixture(scope="module")
def findings_in_every_region(synthesized) -> dict[str, list[dict]]:
    """One cfn-lint run over every environment's templates in every region, its findings by
    template: each run loads the rules of every region first (12 s here for all three
    environments, against 5 to 7 s per environment and region set)."""
    for synth in synthesized.values():  # a failed synth says so, not cfn-lint on no file
        assert synth.returncode == 0, synth.output[-3000:]
    templates = [path for synth in synthesized.values() for path in _templates(synth)]
    by_template: dict[str, list[dict]] = defaultdict(list)
    for finding in _lint(templates, "--regions", "ALL_REGIONS"):
        by_template[finding["Filename"]].append(finding)
    return by_template


_MISSING_TYPE = re.compile(r"Resource type '[\w:]+' does not exist in '(?P<region>[a-z0-9-]+)'")


def _refused_region(finding: dict) -> str | None:
    """The region named by a resource type that does not exist there (rule E3006)."""
    match = _MISSING_TYPE.fullmatch(finding["Message"])
    return match["region"] if finding["Rule"]["Id"] == "E3006" and match else None


def test_templates_lint_clean(synth, findings_in_every_region):
    """Nothing but a resource type missing in some region (the next test says which)."""
    findings = [f for path in _templates(synth) for f in findings_in_every_region[str(path)]
                if _refused_region(f) is None]
    assert [f"{f['Rule']['Id']} {f['Filename']}: {f['Message']}" for f in findings] == []


def test_other_regions_fail_only_where_the_stack_refuses_them(synth, findings_in_every_region):
    failing: dict[str, set[str]] = defaultdict(set)
    for path, suffix in zip(_templates(synth), aws_names.ALL_STACKS, strict=True):
        for finding in findings_in_every_region[str(path)]:
            assert finding["Level"] == "Error", finding
            region = _refused_region(finding)
            assert region is not None, finding
            failing[suffix].add(region)
    assert dict(failing) == REFUSED
    rules = synth.json("processing")["Rules"]["SupportedRegion"]["Assertions"]
    [refused] = [a["Assert"]["Fn::Not"][0]["Fn::Contains"][0] for a in rules]
    assert set(refused) == REFUSED["processing"]
