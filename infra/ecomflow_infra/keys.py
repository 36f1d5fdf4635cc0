"""Customer-managed KMS keys with an explicit key policy (no `kms:*` anywhere).

CDK's default key policy grants `kms:*` to the account root. Here the root principal gets the
named administration and use actions instead, which keeps IAM delegation working (CloudFormation
and operators act through IAM policies) without a wildcard action.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

KEY_ADMIN_AND_USE_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
    "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags",
    "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)


def account_key(scope: Construct, id: str, *, alias: str, description: str,
                removal_policy: RemovalPolicy,
                extra_statements: list[iam.PolicyStatement] | None = None) -> kms.Key:
    """A rotating symmetric key whose policy delegates to IAM with named actions only.

    Key policies must name `*` as the resource: it means "this key".
    """
    policy = iam.PolicyDocument(statements=[
        iam.PolicyStatement(
            sid="AccountAdministersAndUsesKeyThroughIam",
            principals=[iam.AccountRootPrincipal()],
            actions=list(KEY_ADMIN_AND_USE_ACTIONS),
            resources=["*"],
        ),
        *(extra_statements or []),
    ])
    return kms.Key(scope, id, alias=alias, description=description, enable_key_rotation=True,
                   policy=policy, removal_policy=removal_policy)
