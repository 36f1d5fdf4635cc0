"""ecomflow tooling: CLI, local stack, replay, packaging. Never shipped in the MSF zip."""
