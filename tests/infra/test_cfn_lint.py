"""cfn-lint on every synthesized template: no error in the default region, and in every
other region only the ones the stacks refuse up front (ecomflow_infra/regions.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

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


def test_templates_lint_clean(synth):
    findings = _lint(_templates(synth))
    assert [f"{f['Rule']['Id']} {f['Filename']}: {f['Message']}" for f in findings] == []


def test_other_regions_fail_only_where_the_stack_refuses_them(synth):
    stacks = {str(path): suffix for path, suffix in zip(
        _templates(synth), aws_names.ALL_STACKS, strict=True)}
    failing: dict[str, set[str]] = defaultdict(set)
    for finding in _lint(_templates(synth), "--regions", "ALL_REGIONS"):
        assert finding["Level"] == "Error", finding
        region = finding["Message"].rsplit("'", 2)[-2]
        failing[stacks[finding["Filename"]]].add(region)
    assert dict(failing) == REFUSED
    rules = synth.json("processing")["Rules"]["SupportedRegion"]["Assertions"]
    [refused] = [a["Assert"]["Fn::Not"][0]["Fn::Contains"][0] for a in rules]
    assert set(refused) == REFUSED["processing"]
