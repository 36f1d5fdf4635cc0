"""`python -m ecomflow.cli`: the `ecomflow` command."""

from ecomflow.cli import main

main()
