"""The ecomflow CDK app: one construct per concern, composed into stacks by stacks.py."""
