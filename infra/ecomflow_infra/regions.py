"""Regions a stack cannot be created in, refused up front with a clear message.

The stacks are environment-agnostic (the region comes from the deploying credentials), so
synthesis cannot know the region: a CloudFormation rule checks it when the stack is created
or updated, before any resource is touched, and names what is missing.

The lists come from cfn-lint's per-region resource specifications
(`cfn-lint --regions ALL_REGIONS`); tests/infra/test_cfn_lint.py fails when they and cfn-lint
disagree, so a region AWS adds support in (or a new resource that is missing somewhere) shows
up as a test failure, not as a failed deploy.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack

# AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption (the job's log stream).
NO_MSF_LOGGING_OPTION = (
    "af-south-1", "ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1",
    "eu-central-2", "eu-south-2", "il-central-1", "me-central-1", "mx-central-1",
)


def refuse_regions(stack: Stack, regions: tuple[str, ...], missing: str) -> CfnRule:
    """A rule that fails the stack's creation or update in any of `regions`."""
    return CfnRule(stack, "SupportedRegion", assertions=[CfnRuleAssertion(
        assert_=Fn.condition_not(Fn.condition_contains(list(regions), Aws.REGION)),
        assert_description=(
            f"{stack.stack_name} cannot be deployed in this region: {missing} is not "
            f"available here. Regions without it: {', '.join(regions)}."))])
