"""Reading synthesized CloudFormation templates in the infra tests."""

from __future__ import annotations


def resources(template: dict, kind: str) -> dict[str, dict]:
    """The template's resources of type `kind`, by logical id."""
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def joined(value: object) -> str:
    """A Fn::Join of literals and Refs, as text (Refs as ${name})."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(joined(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return str(value)
