"""One `cdk synth` per environment per session, with the pinned CLI, as CI and users run it.

Every template test reads the synthesized cloud assembly (templates, manifest, cdk-nag's
validation report) instead of synthesizing again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Node 20 runs jsii fine; silence its end-of-life banner (read when aws_cdk is first imported).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
from aws_cdk.assertions import Template  # noqa: E402

from ecomflow import paths
from ecomflow.aws import names as aws_names

INFRA_DIR = paths.REPO_ROOT / "infra"
# What `ecomflow deploy` passes after uploading a package: every session synth uses it, so the
# templates prove the context reaches the application and its policy.
CODE_KEY = "flink/ecomflow-msf-0123456789abcdef.zip"
# The CDK app's package (ecomflow_infra) lives in infra/, outside the installed packages.
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))
CDK_BIN = paths.REPO_ROOT / "tools" / "cdk" / "node_modules" / ".bin" / "cdk"


def cdk_environment() -> dict[str, str]:
    """No network calls from the CLI (notices, version checks, telemetry)."""
    return {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def _synth_command(env: str, out: Path, *extra: str) -> list[str]:
    if not CDK_BIN.exists():
        pytest.fail(f"{CDK_BIN} is missing: run `npm ci --prefix tools/cdk` (scripts/dev setup)")
    return [str(CDK_BIN), "synth", "--app", f"{sys.executable} app.py", "-c", f"env={env}",
            "-c", "nag=true", *extra, "-o", str(out), "--no-notices", "--no-version-reporting",
            "-q"]


@dataclass
class Synthesized:
    env: str
    out: Path
    returncode: int
    output: str
    seconds: float
    _templates: dict[str, Template] = field(default_factory=dict)

    def json(self, suffix: str) -> dict:
        return json.loads((self.out / f"{aws_names.stack_name(self.env, suffix)}.template.json")
                          .read_text())

    def template(self, suffix: str) -> Template:
        if suffix not in self._templates:
            self._templates[suffix] = Template.from_json(self.json(suffix))
        return self._templates[suffix]

    def all_templates(self) -> dict[str, dict]:
        return {suffix: self.json(suffix) for suffix in aws_names.ALL_STACKS}

    @property
    def manifest(self) -> dict:
        return json.loads((self.out / "manifest.json").read_text())

    @property
    def validation_report(self) -> dict:
        return json.loads((self.out / "validation-report.json").read_text())

    def metadata(self, suffix: str) -> dict:
        name = aws_names.stack_name(self.env, suffix)
        return json.loads((self.out / f"{name}.metadata.json").read_text())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """The three environments synthesized side by side (each CLI mostly waits on its app)."""
    started = time.monotonic()
    running = {}
    for env in aws_names.ENVIRONMENTS:
        out = tmp_path_factory.mktemp(f"cdk-{env}")
        command = _synth_command(env, out, "-c", f"{aws_names.CONTEXT_CODE_KEY}={CODE_KEY}")
        running[env] = (out, subprocess.Popen(
            command, cwd=INFRA_DIR, env=cdk_environment(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    results = {}
    for env, (out, process) in running.items():
        output, _ = process.communicate(timeout=300)
        results[env] = Synthesized(env=env, out=out, returncode=process.returncode,
                                   output=output, seconds=time.monotonic() - started)
    return results


@pytest.fixture(params=aws_names.ENVIRONMENTS)
def synth(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    result = synthesized[request.param]
    assert result.returncode == 0, result.output[-3000:]
    return result
