"""`ecomflow deploy --env dev|staging|prod`: from this checkout to a running job on AWS.

    1. build the MSF zip (ecomflow/aws/package.py), content-addressed: flink/ecomflow-msf-<sha>.zip
    2. cdk deploy the foundation stacks (storage, network, ingest, warehouse)
    3. upload the zip to the package bucket (skipped when that exact zip is already there) and
       the exchange rates (ecomflow/data/fx_rates.csv) to the lake's reference/
    4. apply the warehouse DDL (sql/warehouse/V*.sql) through the Redshift Data API
    5. know whether the new plan can restore the running job's state (ecomflow/aws/state_map.py:
       the new package's state map against the one kept beside the running package), then
       take a named snapshot of the running job and wait for it. A plan that cannot restore
       stops the deploy here, before the application is touched, unless --fresh-start: then
       the job is stopped (its snapshot kept) and later started without state
    6. cdk deploy every stack with the new package key: CloudFormation updates the application,
       which restarts from the snapshot it takes (RESTORE_FROM_LATEST_SNAPSHOT)
    7. start the application if it is not running (restoring the latest snapshot, if any, or
       none after a fresh start), and wait until it runs

Every AWS call goes through `AwsClients` and the CDK CLI through `CdkRunner`, so tests run the
whole sequence against moto and stubbed clients.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ecomflow import paths
from ecomflow.aws import msf_app, state_map, warehouse_schema
from ecomflow.aws import names as aws_names
from ecomflow.errors import EcomflowError

CDK_BIN = paths.REPO_ROOT / "tools" / "cdk" / "node_modules" / ".bin" / "cdk"
INFRA_DIR = paths.REPO_ROOT / "infra"


class DeployError(EcomflowError, RuntimeError):
    pass


@dataclass(frozen=True, kw_only=True)
class AwsClients:
    s3: Any
    redshift_data: Any
    msf: Any

    @classmethod
    def from_session(cls, session: Any) -> AwsClients:
        return cls(s3=session.client("s3"), redshift_data=session.client("redshift-data"),
                   msf=session.client("kinesisanalyticsv2"))


class CdkRunner(Protocol):
    def deploy(self, env: str, stacks: Sequence[str], *, code_key: str,
               parameters: dict[str, str]) -> dict[str, dict[str, str]]:
        """Deploy the named stacks; return their outputs, by stack name."""
        ...


@dataclass
class CdkCli:
    """The pinned CDK CLI (tools/cdk) running infra/app.py with this Python."""

    region: str | None = None
    profile: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def deploy(self, env: str, stacks: Sequence[str], *, code_key: str,
               parameters: dict[str, str]) -> dict[str, dict[str, str]]:
        if not CDK_BIN.exists():
            raise DeployError(f"{paths.shown(CDK_BIN)} is missing: run `scripts/dev setup` "
                              "(or `npm ci --prefix tools/cdk`)")
        with tempfile.TemporaryDirectory(prefix="ecomflow-cdk-") as tmp:
            outputs_file = Path(tmp) / "outputs.json"
            command = [
                str(CDK_BIN), "deploy", *stacks,
                "--app", f"{sys.executable} app.py",
                "-c", f"{aws_names.CONTEXT_ENV}={env}",
                "-c", f"{aws_names.CONTEXT_CODE_KEY}={code_key}",
                "--require-approval", "never", "--outputs-file", str(outputs_file),
                "--no-notices", "--output", str(Path(tmp) / "cdk.out"),
            ]
            for key, value in parameters.items():
                command += ["--parameters", f"{key}={value}"]
            if self.profile:
                command += ["--profile", self.profile]
            environ = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", **self.extra_env}
            if self.region:
                environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = self.region
            done = subprocess.run(command, cwd=INFRA_DIR, env=environ)
            if done.returncode != 0:
                raise DeployError(f"cdk deploy {' '.join(stacks)} failed "
                                  f"(exit {done.returncode}); see its output above")
            return json.loads(outputs_file.read_text()) if outputs_file.exists() else {}


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    env: str
    alert_email: str | None = None
    package: Path | None = None      # a prebuilt zip; default: build one
    start: bool = True
    # When the new plan cannot restore the running state: start without it (True) or stop
    # the deploy before the application is touched (False).
    fresh_start: bool = False


@dataclass(frozen=True, kw_only=True)
class DeployResult:
    code_bucket: str
    code_key: str
    uploaded: bool
    statements_applied: int
    snapshot: str | None
    started: str | None          # the restore type used when deploy started the app
    status: str
    verdict: state_map.Verdict | None = None   # None: no state to restore (first deploy)
    outputs: dict[str, dict[str, str]]


def code_key_for(zip_path: Path) -> str:
    digest = hashlib.sha256()
    with zip_path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return aws_names.CODE_KEY_PATTERN.replace("*", f"-{digest.hexdigest()[:16]}")


def _output(outputs: dict[str, dict[str, str]], env: str, suffix: str, key: str) -> str:
    try:
        return outputs[aws_names.stack_name(env, suffix)][key]
    except KeyError:
        raise DeployError(f"stack output {aws_names.stack_name(env, suffix)}.{key} missing "
                          "after cdk deploy") from None


def state_map_key(env: str, code_key: str) -> str:
    """Where the state map of a deployed package is kept: beside it, per environment."""
    return f"{aws_names.CODE_PREFIX}state-maps/{env}/{Path(code_key).stem}.json"


def _read_state_map(s3: Any, bucket: str, key: str) -> state_map.StateMap | None:
    if not _object_exists(s3, bucket, key):
        return None
    return state_map.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def _object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def deploy(request: DeployRequest, *, aws: AwsClients, cdk: CdkRunner,
           build: Callable[[Path], Path] | None = None,
           plan: Callable[[str], state_map.StateMap] = state_map.for_environment,
           report: Callable[[str], None] = lambda _: None,
           sleep: Callable[[float], None] = time.sleep) -> DeployResult:
    env = request.env
    if env not in aws_names.ENVIRONMENTS:
        raise DeployError(f"unknown environment {env!r}")

    # 1. the package
    if request.package is not None:
        zip_path = request.package
        if not zip_path.is_file():
            raise DeployError(f"package {zip_path} not found")
    else:
        from ecomflow.aws.package import build_zip

        zip_path = (build or build_zip)(paths.REPO_ROOT / "dist" / f"ecomflow-msf-{env}.zip")
    code_key = code_key_for(zip_path)
    report(f"package {paths.shown(zip_path)} -> {code_key}")
    report("computing the new plan's state map")
    new_map = plan(env)

    # 2. foundation stacks (the package bucket and the warehouse must exist first)
    foundation = [aws_names.stack_name(env, s) for s in aws_names.FOUNDATION_STACKS]
    report(f"cdk deploy {' '.join(foundation)}")
    outputs = cdk.deploy(env, foundation, code_key=code_key, parameters={})

    # 3. upload
    bucket = _output(outputs, env, "storage", aws_names.OUTPUT_CODE_BUCKET)
    uploaded = not _object_exists(aws.s3, bucket, code_key)
    if uploaded:
        aws.s3.upload_file(str(zip_path), bucket, code_key)
        report(f"uploaded s3://{bucket}/{code_key}")
    else:
        report(f"s3://{bucket}/{code_key} already there")
    lake = _output(outputs, env, "storage", aws_names.OUTPUT_LAKE_BUCKET)
    aws.s3.upload_file(str(paths.FX_RATES), lake, aws_names.FX_RATES_KEY)
    report(f"uploaded s3://{lake}/{aws_names.FX_RATES_KEY}")

    # 4. warehouse schema, before the job (re)starts and writes to it
    target = warehouse_schema.Target(
        cluster_identifier=_output(outputs, env, "warehouse", aws_names.OUTPUT_CLUSTER_ID),
        database=_output(outputs, env, "warehouse", aws_names.OUTPUT_DATABASE),
        secret_arn=_output(outputs, env, "warehouse", aws_names.OUTPUT_SECRET_ARN))
    try:
        applied = warehouse_schema.apply(aws.redshift_data, target, sleep=sleep, report=report)
    except warehouse_schema.SchemaError as exc:
        raise DeployError(f"warehouse schema: {exc}") from exc

    # 5. can the new plan restore the running state? Decided before anything changes.
    name = aws_names.application_name(env)
    snapshot = None
    verdict = None
    fresh = False
    try:
        before = msf_app.describe(aws.msf, name)
        if before is not None and (before.status == "RUNNING" or any(
                s.status == "READY" for s in msf_app.snapshots(aws.msf, name))):
            old_map = _read_state_map(aws.s3, bucket, state_map_key(env, before.code_key))
            verdict = (state_map.compare(old_map, new_map) if old_map is not None else
                       state_map.unknown(f"no state map kept for the running package "
                                         f"{before.code_key} (deployed before state maps)"))
            report(verdict.explain())
            if not verdict.restores:
                if not request.fresh_start:
                    raise DeployError(
                        f"{verdict.explain()}\n{name} was not changed. Deploying it anyway "
                        "would make MSF fail the restore and roll the update back. Either "
                        "keep the plan's stateful operators as they are, or deploy with "
                        "--fresh-start: the job is stopped with a snapshot (kept, so the old "
                        "version can restore it), and the new one starts without state, "
                        "reading the stream from its initial position (the lake then gets "
                        "a second copy of the events still in the stream; README, Deploy).")
                fresh = True
        aws.s3.put_object(Bucket=bucket, Key=state_map_key(env, code_key),
                          Body=state_map.dumps(new_map).encode())
        if before is not None and before.status == "RUNNING":
            snapshot = msf_app.take_snapshot(aws.msf, name, sleep=sleep)
            report(f"snapshot {snapshot} of {name} taken")
            if fresh:
                msf_app.stop(aws.msf, name)
                report(f"stopping {name}: the new plan starts without its state "
                       f"(snapshot {snapshot} keeps it)")
                msf_app.wait_for(aws.msf, name, {"READY"}, sleep=sleep)

        # 6. everything else, with the new package key
        every = [aws_names.stack_name(env, s) for s in aws_names.ALL_STACKS]
        parameters = {}
        if request.alert_email is not None:
            monitoring = aws_names.stack_name(env, "monitoring")
            parameters[f"{monitoring}:{aws_names.ALERT_EMAIL_PARAMETER}"] = request.alert_email
        report(f"cdk deploy {' '.join(every)}")
        outputs = {**outputs, **cdk.deploy(env, every, code_key=code_key,
                                           parameters=parameters)}

        # 7. start it, or wait for the update CloudFormation started to settle
        after = msf_app.wait_for(aws.msf, name, msf_app.SETTLED_STATES, sleep=sleep)
        started = None
        # A job this deploy stopped for a fresh start runs again, whatever --no-start says.
        if after.status == "READY" and (request.start or snapshot is not None and fresh):
            started = msf_app.start(aws.msf, name, restore=not fresh)
            report(f"starting {name} ({started})")
            after = msf_app.wait_for(aws.msf, name, {"RUNNING"}, sleep=sleep)
    except msf_app.AppError as exc:
        raise DeployError(str(exc)) from exc
    if after.code_key != code_key:
        raise DeployError(f"{name} runs {after.code_key}, not the deployed {code_key}")
    report(f"{name} {after.status.lower()} (version {after.version})")
    return DeployResult(code_bucket=bucket, code_key=code_key, uploaded=uploaded,
                        statements_applied=applied, snapshot=snapshot, started=started,
                        status=after.status, outputs=outputs, verdict=verdict)
