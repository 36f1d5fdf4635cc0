"""The lake's Java helpers (dev.ecomflow.lake.*) in PyFlink's gateway JVM, with the uber-jar
on its classpath, started in this process as `ecomflow deploy` does for state maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def lake_helper(name: str, home: Path) -> Any:
    """A new instance of dev.ecomflow.lake.<name>."""
    from ecomflow.run import runner

    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from pyflink.util.java_utils import load_java_class

    return load_java_class(f"dev.ecomflow.lake.{name}").newInstance()


def java_map(values: dict[str, str]) -> Any:
    """A java.util.HashMap of `values` (the catalog options the helpers take)."""
    from pyflink.java_gateway import get_gateway

    java = get_gateway().jvm.java.util.HashMap()
    for key, value in values.items():
        java.put(key, value)
    return java


def java_error(exc: Any) -> str:
    """The Java exception behind a Py4JJavaError, as one line."""
    return str(exc.java_exception.toString())
