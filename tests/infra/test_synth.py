"""`cdk synth` with the pinned CLI succeeds for every environment, with cdk-nag enabled."""

from __future__ import annotations

from ecomflow.aws import names as aws_names


def test_synth_succeeds_for_every_environment(synthesized):
    assert set(synthesized) == {"dev", "staging", "prod"}
    for env, result in synthesized.items():
        assert result.returncode == 0, f"{env}: {result.output[-3000:]}"
        stacks = {name for name, artifact in result.manifest["artifacts"].items()
                  if artifact["type"] == "aws:cloudformation:stack"}
        assert stacks == {aws_names.stack_name(env, suffix) for suffix in aws_names.ALL_STACKS}


def test_stacks_are_environment_agnostic(synth):
    # Deployable to any account and region the operator's credentials point at.
    for name, artifact in synth.manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            assert artifact["environment"] == "aws://unknown-account/unknown-region", name


def test_only_prod_stacks_have_termination_protection(synth):
    for name, artifact in synth.manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            protected = artifact["properties"].get("terminationProtection", False)
            assert protected is (synth.env == "prod"), name

