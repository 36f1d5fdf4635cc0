"""Whether a new version of the job can restore the running version's state, known before it
is deployed.

A snapshot files each operator's state under its operator id: the id Flink derives from the
job graph's shape, or from the operator's uid (the Java steps set theirs). A new version
restores only if every operator of the old one is still there under the same id and still
reads and writes the same types (a changed row type is a state serializer Flink cannot
migrate). Flink decides this only when the new job starts: on MSF, after the update, by
failing and rolling back.

So `ecomflow deploy` compares *state maps*: for every operator of the job graph, its id and
the serializer snapshots of its key, inputs and output, computed from the plan (no job runs,
about 20 s). The map of each deployed package is kept beside the package; the next deploy
compares its own map with the running package's before it changes anything.

The comparison is conservative: an old operator that is gone counts as lost state, even if it
held none (a snapshot does not say which ones did). It never says "restores" for a plan that
cannot; it may ask for a fresh start a stateless change did not need.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flink_jobs import property_keys as keys
from flink_jobs.properties import PropertyGroups
from flink_jobs.property_keys import property_groups
from flink_jobs.settings import JobSettings


@dataclass(frozen=True)
class Operator:
    name: str              # the uid when set, else the operator's name without counters
    key: str | None        # digests of serializer snapshots (None: not keyed / no output)
    inputs: tuple[str, ...]
    output: str | None

    def layout(self) -> tuple[object, ...]:
        return self.key, self.inputs, self.output


StateMap = dict[str, Operator]   # operator id (hex) -> operator


@dataclass(frozen=True)
class Verdict:
    restores: bool
    gone: tuple[str, ...] = ()         # old operators the new plan no longer has
    changed: tuple[str, ...] = ()      # old operators whose types changed
    unknown: str | None = None         # why no comparison was possible

    def explain(self) -> str:
        if self.unknown:
            return f"whether the new plan restores the running state is unknown: {self.unknown}"
        if self.restores:
            return ("the new plan restores the running job's state: every operator keeps its "
                    "id and types")
        lines = ["the new plan cannot restore the running job's state:"]
        if self.gone:
            lines.append(f"  {len(self.gone)} operator(s) no longer in the plan under the same id: "
                         + _listed(self.gone))
        if self.changed:
            lines.append(f"  {len(self.changed)} operator(s) with changed types: "
                         + _listed(self.changed))
        return "\n".join(lines)


def _listed(names: tuple[str, ...], shown: int = 8) -> str:
    # The Java steps' uids first: they name what a reader recognises.
    distinct = sorted(set(names), key=lambda name: (not name.startswith("ecomflow-"), name))
    more = f", ... ({len(distinct) - shown} more)" if len(distinct) > shown else ""
    return ", ".join(distinct[:shown]) + more


def compare(old: StateMap, new: StateMap) -> Verdict:
    gone = tuple(op.name for op_id, op in old.items() if op_id not in new)
    changed = tuple(op.name for op_id, op in old.items()
                    if op_id in new and new[op_id].layout() != op.layout())
    return Verdict(restores=not gone and not changed, gone=gone, changed=changed)


def unknown(reason: str) -> Verdict:
    return Verdict(restores=False, unknown=reason)


def dumps(state_map: StateMap) -> str:
    return json.dumps({op_id: asdict(op) for op_id, op in sorted(state_map.items())},
                      indent=1, sort_keys=True)


def loads(text: str) -> StateMap:
    return {op_id: Operator(name=op["name"], key=op["key"], inputs=tuple(op["inputs"]),
                            output=op["output"])
            for op_id, op in json.loads(text).items()}


# -- computing a map from the plan (starts PyFlink's JVM) -----------------------------------------

def _readable(name: str) -> str:
    # Planner names carry counters ("Calc[12]", "datastream_source$3") that change with nothing.
    return re.sub(r"\[\d+\]|\$\d+", "", name)


def _digest(jvm: Any, serializer: Any) -> str | None:
    if serializer is None:
        return None
    try:
        snapshot = serializer.snapshotConfiguration()
    except Exception:  # noqa: BLE001 (wrappers of non-state serializers refuse; name them)
        return str(serializer.getClass().getName())
    buffer = jvm.java.io.ByteArrayOutputStream()
    jvm.org.apache.flink.api.common.typeutils.TypeSerializerSnapshot.writeVersionedSnapshot(
        jvm.org.apache.flink.core.memory.DataOutputViewStreamWrapper(buffer), snapshot)
    return hashlib.sha256(bytes(buffer.toByteArray())).hexdigest()[:16]


def compute(settings: JobSettings, *, home: Path) -> StateMap:
    """The state map of the job these settings build (in this process's JVM)."""
    from ecomflow.run import runner
    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from pyflink.java_gateway import get_gateway

    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    t_env = create_table_environment(settings)
    build(t_env, settings)._j_statement_set.attachAsDataStream()
    graph = t_env._j_tenv.execEnv().getStreamGraph(False)
    jvm = get_gateway().jvm
    ids = jvm.org.apache.flink.streaming.api.graph.StreamGraphHasherV2() \
        .traverseStreamGraphAndGenerateHashes(graph)
    state_map: StateMap = {}
    for node in list(graph.getStreamNodes().toArray()):
        state_map[bytes(ids.get(node.getId())).hex()] = Operator(
            name=str(node.getTransformationUID() or _readable(node.getOperatorName())),
            key=_digest(jvm, node.getStateKeySerializer()),
            inputs=tuple(_digest(jvm, s) for s in node.getTypeSerializersIn()),
            output=_digest(jvm, node.getTypeSerializerOut()))
    return state_map


# Placeholders where the AWS values only name things: the plan's shape depends on the groups'
# switches and the kinds of source, lake and warehouse, not on names, secrets or endpoints.
_PLACEHOLDER_KEY = "0" * 64


def planned_groups(env: str) -> PropertyGroups:
    """The property groups `infra/processing.py` gives the application, with placeholders."""
    from ecomflow.aws import names as aws_names
    return property_groups({
        keys.KINESIS_STREAM_NAME: aws_names.stream_name(env),
        keys.KINESIS_REGION: "us-east-1",
        keys.KINESIS_INIT_POSITION: "TRIM_HORIZON",
        keys.LAKE_URL: "s3://planned-lake",
        # The application's Glue catalog and database, planned in memory (no AWS reached).
        keys.LAKE_CATALOG: "memory",
        keys.LAKE_CATALOG_DATABASE: aws_names.lake_database(env),
        keys.WAREHOUSE_JDBC_URL: "jdbc:postgresql://planned:5439/ecomflow?ssl=true&sslmode=require",
        keys.WAREHOUSE_USERNAME: "planned",
        keys.WAREHOUSE_PASSWORD: "planned",
        keys.CLEAN_FX_RATES_URL: f"s3://planned-lake/{aws_names.FX_RATES_KEY}",
        keys.PRIVACY_HASH_KEY: _PLACEHOLDER_KEY,
    })


def for_environment(env: str) -> StateMap:
    from ecomflow import paths

    settings = JobSettings.from_property_groups(planned_groups(env), local=False)
    return compute(settings, home=paths.state_home())
