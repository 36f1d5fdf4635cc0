"""CDK entry point: `cdk synth -c env=dev|staging|prod [-c code_key=flink/...zip]`.

Stacks are environment-agnostic (account and region come from the deploying credentials), so
`cdk synth` needs no AWS account.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Node 20 runs jsii fine; its end-of-life banner would bury every synth's output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Run by the CDK CLI as a script: make the repository (ecomflow) and infra/ importable.
_INFRA = Path(__file__).resolve().parent
for _path in (_INFRA, _INFRA.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from ecomflow_infra import environments  # noqa: E402
from ecomflow_infra.stacks import EcomflowStacks  # noqa: E402

from ecomflow.aws import names as aws_names  # noqa: E402

# Feature flags this app relies on (a project without cdk.json context gets CDK's old defaults).
FEATURE_FLAGS = {
    # Access logs are granted to logging.s3.amazonaws.com by bucket policy, not by ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # Classic CloudFormation exports between the stacks (the pre-2.2xx default, made explicit).
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


def new_app(**context: object) -> cdk.App:
    return cdk.App(context={**FEATURE_FLAGS, **context})


def build_app(app: cdk.App) -> EcomflowStacks:
    env_name = app.node.try_get_context(aws_names.CONTEXT_ENV)
    if not env_name:
        raise SystemExit(f"pass the environment: -c env={'|'.join(aws_names.ENVIRONMENTS)}")
    code_key = app.node.try_get_context(aws_names.CONTEXT_CODE_KEY) or aws_names.DEFAULT_CODE_KEY
    stacks = EcomflowStacks(app, config=environments.get(env_name), code_key=code_key)
    if str(app.node.try_get_context("nag")).lower() == "true":
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


if __name__ == "__main__":
    cdk_app = new_app()
    build_app(cdk_app)
    cdk_app.synth()
