"""Every runtime property the job reads, declared once.

Each `Property` names its group and key, its type, default, bounds and what the README says
about it. From these declarations:
- `flink_jobs/settings.py` reads and checks the values (it names no group or key itself);
- the README's settings table is generated (`python -m flink_jobs.property_keys`; a test fails
  when the README's copy differs);
- the CDK app and the local runner build property groups with `property_groups`, which refuses
  an undeclared key.

A leaf module (the standard library and the privacy rules' defaults only), so infra and tooling
can import it without pyflink.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from flink_jobs.privacy_rules import (
    DEFAULT_HASH_FIELDS,
    DEFAULT_REGION_CHARS,
    DEFAULT_REGION_FIELDS,
    DEFAULT_STRIP_PARAMS,
    DEFAULT_URL_FIELDS,
)

T = TypeVar("T")

# Ordered funnels shipped with the job (in the MSF zip beside this module).
DEFAULT_FUNNELS = Path(__file__).resolve().parent / "conf" / "funnels.json"

KINDS = ("text", "int", "float", "bool", "list", "choice")


@dataclass(frozen=True)
class Property(Generic[T]):
    """One key of one property group, and how it is read."""

    group: str
    key: str
    kind: str
    default: T
    required: str = "no"  # "yes", "no", or when it is (README wording)
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    example: str = ""
    notes: str = ""

    @property
    def name(self) -> str:
        return f"{self.group}.{self.key}"


DECLARED: list[Property] = []


def _declare(group: str, key: str, kind: str, default: T, **details: object) -> Property[T]:
    if kind not in KINDS:
        raise ValueError(f"{group}.{key}: unknown kind {kind!r}")
    declared = Property(group, key, kind, default, **details)  # type: ignore[arg-type]
    if any(p.name == declared.name for p in DECLARED):
        raise ValueError(f"{declared.name} is declared twice")
    DECLARED.append(declared)
    return declared


_EMULATORS = "emulators only"
_LOCAL_ONLY = "local runs only: MSF owns it"

# --- KinesisSource: the event stream (absent when FileSource is set) -------------------------
KINESIS_STREAM_NAME = _declare("KinesisSource", "stream.name", "text", None, required="yes",
                               example="ecomflow-events")
KINESIS_REGION = _declare("KinesisSource", "aws.region", "text", None, required="yes",
                          example="us-east-1")
KINESIS_ENDPOINT = _declare("KinesisSource", "aws.endpoint", "text", None,
                            example="http://127.0.0.1:4568", notes=_EMULATORS)
KINESIS_ACCESS_KEY = _declare(
    "KinesisSource", "aws.access.key.id", "text", None, example="test",
    notes="emulators only; otherwise the default credential chain (MSF's role)")
KINESIS_SECRET_KEY = _declare("KinesisSource", "aws.secret.access.key", "text", None,
                              example="test", notes="with aws.access.key.id")
KINESIS_INIT_POSITION = _declare(
    "KinesisSource", "init.position", "choice", "TRIM_HORIZON",
    choices=("TRIM_HORIZON", "LATEST"), notes="where a first start reads from")
KINESIS_POLL_INTERVAL_MS = _declare("KinesisSource", "getrecords.interval.ms", "int", 200,
                                    minimum=1, notes="polling cadence")
KINESIS_POLL_MAX_RECORDS = _declare("KinesisSource", "getrecords.max.records", "int", 10000,
                                    minimum=1, notes="records per poll")

# --- FileSource: a bounded run over a file ---------------------------------------------------
FILE_PATH = _declare("FileSource", "path", "text", None, required="instead of KinesisSource",
                     example="/data/events.jsonl.gz",
                     notes="set by `--input`: makes the run bounded")

# --- Lake ------------------------------------------------------------------------------------
LAKE_URL = _declare("Lake", "url", "text", None, required="yes", example="s3://ecomflow-lake",
                    notes="the Iceberg warehouse: where new tables go; `s3://`, `s3a://` or "
                          "`file://`")
LAKE_S3_ENDPOINT = _declare("Lake", "s3.endpoint", "text", None,
                            example="http://127.0.0.1:4569", notes=_EMULATORS)
LAKE_S3_ACCESS_KEY = _declare("Lake", "s3.access.key", "text", None, example="test",
                              notes=_EMULATORS)
LAKE_S3_SECRET_KEY = _declare("Lake", "s3.secret.key", "text", None, example="test",
                              notes=_EMULATORS)
LAKE_S3_PATH_STYLE = _declare("Lake", "s3.path.style.access", "bool", None,
                              notes="only with s3.endpoint (emulators need it); unset: true "
                                    "when s3.endpoint is set")
LAKE_CATALOG = _declare("Lake", "catalog", "choice", "glue", choices=("glue", "jdbc", "memory"),
                        notes="the lake's Iceberg catalog: the AWS Glue Data Catalog, Iceberg's "
                              "JDBC catalog (local runs), or `memory`: in the job's process, "
                              "kept nowhere (plans only: `ecomflow deploy`'s state maps)")
LAKE_CATALOG_DATABASE = _declare("Lake", "catalog.database", "text", "ecomflow_lake",
                                 notes="the database (namespace) of the lake's tables: one "
                                       "per lake")
LAKE_CATALOG_URI = _declare("Lake", "catalog.uri", "text", None, required="with catalog jdbc",
                            example="jdbc:postgresql://127.0.0.1:5433/ecomflow_lake",
                            notes="the JDBC catalog's database")
LAKE_CATALOG_USER = _declare("Lake", "catalog.user", "text", None, example="postgres",
                             notes="with catalog jdbc")
LAKE_CATALOG_PASSWORD = _declare("Lake", "catalog.password", "text", None,
                                 notes="with catalog jdbc; local runs only")

# --- Warehouse -------------------------------------------------------------------------------
WAREHOUSE_JDBC_URL = _declare("Warehouse", "jdbc.url", "text", None, required="yes",
                              example="jdbc:postgresql://host:5439/dw")
WAREHOUSE_USERNAME = _declare("Warehouse", "username", "text", None, example="flink",
                              notes="or credentials in the URL")
WAREHOUSE_PASSWORD = _declare("Warehouse", "password", "text", None,
                              notes="never set on AWS: see password.secret.arn")
WAREHOUSE_PASSWORD_SECRET_ARN = _declare(
    "Warehouse", "password.secret.arn", "text", None, example="arn:aws:secretsmanager:...",
    notes="AWS: the Redshift secret (JSON with username and password), resolved at start-up "
          "(flink_jobs/secrets.py)")
WAREHOUSE_FLUSH_MAX_ROWS = _declare("Warehouse", "flush.max.rows", "int", 500, minimum=1,
                                    notes="JDBC sink buffering")
WAREHOUSE_FLUSH_INTERVAL_MS = _declare("Warehouse", "flush.interval.ms", "int", 1000, minimum=0,
                                       notes="JDBC sink buffering")
WAREHOUSE_MAX_RETRIES = _declare("Warehouse", "max.retries", "int", 5, minimum=0,
                                 notes="then the job fails over and restarts")

# --- CleanStream: contract limits and enrichment switches ------------------------------------
CLEAN_FX_RATES_URL = _declare(
    "CleanStream", "fx.rates.url", "text", None, required="while enrich.fx is on",
    example="s3://lake/reference/fx_rates.csv",
    notes="locally the bundled `ecomflow/data/fx_rates.csv`")
CLEAN_ENRICH_USER_AGENT = _declare(
    "CleanStream", "enrich.user-agent", "bool", True,
    notes="device from the user agent (each switch: [docs/clean-stream.md](docs/clean-stream.md))")
CLEAN_ENRICH_COUNTRY = _declare("CleanStream", "enrich.country", "bool", True,
                                notes="country column (read at run time: no plan change)")
CLEAN_ENRICH_FX = _declare("CleanStream", "enrich.fx", "bool", True,
                           notes="prices in USD at the event's rate")
CLEAN_ENRICH_CATALOG = _declare("CleanStream", "enrich.catalog", "bool", True,
                                notes="product name and category as of event time")
CLEAN_DEDUP_HORIZON_MINUTES = _declare("CleanStream", "dedup.horizon.minutes", "int", 1440,
                                       minimum=1, notes="how long an event_id is remembered")
CLEAN_MAX_PAYLOAD_BYTES = _declare("CleanStream", "max.payload.bytes", "int", 1_000_000,
                                   minimum=1, notes="contract limit on a record's bytes")
CLEAN_MAX_FUTURE_SECONDS = _declare("CleanStream", "max.future.seconds", "int", 300, minimum=0,
                                    notes="contract limit: producer clock skew tolerated")

# --- Sessions: sessions, carts, funnels, top products ----------------------------------------
SESSIONS_GAP_MINUTES = _declare("Sessions", "gap.minutes", "int", 30, minimum=1,
                                notes="inactivity that ends a session")
SESSIONS_MAX_LENGTH_HOURS = _declare(
    "Sessions", "max.length.hours", "int", 24, minimum=1,
    notes="sessions are split at fixed UTC boundaries this many hours apart")
SESSIONS_CART_ABANDON_MINUTES = _declare(
    "Sessions", "cart.abandon.minutes", "int", 30, minimum=1,
    notes="a cart without purchase this long after its last change is abandoned")
SESSIONS_TOP_N = _declare("Sessions", "top.n", "int", 10, minimum=1,
                          notes="products per minute in each top-products ranking")
SESSIONS_FUNNELS_FILE = _declare("Sessions", "funnels.file", "text", str(DEFAULT_FUNNELS),
                                 notes="ordered funnels (steps, window, order); default: "
                                       "`flink_jobs/conf/funnels.json`")

# --- Anomalies (sql/40_marts/agg_*anomalies.sql) ---------------------------------------------
ANOMALY_Z_THRESHOLD = _declare(
    "Anomalies", "z.threshold", "float", 4.0,
    notes="a KPI minute this many standard deviations off its baseline is flagged")
ANOMALY_BASELINE_MINUTES = _declare(
    "Anomalies", "baseline.minutes", "int", 60, minimum=2,
    notes="the baseline: the KPI's (or product's) previous minutes")
ANOMALY_WARMUP_MINUTES = _declare(
    "Anomalies", "warmup.minutes", "int", 30, minimum=2,
    notes="no KPI flag before this many minutes of baseline")
ANOMALY_MIN_VOLUME = _declare(
    "Anomalies", "min.volume", "int", 20, minimum=0,
    notes="KPI minutes with less volume are not judged")
ANOMALY_ORDER_FACTOR = _declare(
    "Anomalies", "order.factor", "float", 5.0,
    notes="a purchase this many times the customer's mean order (last 20, at least 3) is flagged")
ANOMALY_BOT_EVENTS = _declare(
    "Anomalies", "bot.events.per.minute", "int", 60, minimum=1,
    notes="a user with more events in a minute is flagged (bot-like velocity)")
ANOMALY_TREND_FACTOR = _declare(
    "Anomalies", "trend.factor", "float", 3.0,
    notes="a product viewed this many times its recent rate is trending")

# --- Job ------------------------------------------------------------------------------------
JOB_WATERMARK_DELAY_SECONDS = _declare(
    "Job", "watermark.delay.seconds", "int", 30, minimum=0,
    notes="out-of-orderness tolerated: older records are late")
JOB_PARALLELISM = _declare("Job", "parallelism", "int", None, minimum=1, example="2",
                           notes="locally: the shard count for stream runs")
JOB_CHECKPOINT_INTERVAL_MS = _declare("Job", "checkpoint.interval.ms", "int", 10000,
                                      minimum=100, notes=_LOCAL_ONLY)
JOB_CHECKPOINT_MIN_PAUSE_MS = _declare("Job", "checkpoint.min.pause.ms", "int", 0, minimum=0,
                                       notes=_LOCAL_ONLY)
JOB_CHECKPOINT_DIR = _declare("Job", "checkpoint.dir", "text", None,
                              notes="local runs only: `ecomflow run --resume` looks here")
JOB_SAVEPOINT_DIR = _declare("Job", "savepoint.dir", "text", None,
                             notes="local runs only: `ecomflow run --resume` looks here")
JOB_RESTORE_PATH = _declare("Job", "restore.path", "text", None,
                            notes="local runs only: the checkpoint or savepoint to start from")
JOB_REST_PORT = _declare("Job", "rest.port", "int", None, minimum=0, notes=_LOCAL_ONLY)
JOB_RESTART_ATTEMPTS = _declare("Job", "restart.attempts", "int", 10, minimum=0,
                                notes=_LOCAL_ONLY)

# --- Privacy (README "Privacy") --------------------------------------------------------------
PRIVACY_PSEUDONYMISE = _declare("Privacy", "pseudonymise", "bool", True,
                                notes="`false`: ids reach the sinks raw")
PRIVACY_HASH_KEY = _declare(
    "Privacy", "hash.key", "text", None, required="while pseudonymise is on",
    notes="the HMAC key ids are hashed with; locally `.ecomflow/privacy.key` (created on first "
          "use, mode 0600); never commit one")
PRIVACY_HASH_KEY_SECRET_ARN = _declare(
    "Privacy", "hash.key.secret.arn", "text", None, example="arn:aws:secretsmanager:...",
    notes="AWS: the generated key secret (JSON key `key`, or a plain string), resolved at "
          "start-up (flink_jobs/secrets.py)")
PRIVACY_HASH_FIELDS = _declare("Privacy", "hash.fields", "list", DEFAULT_HASH_FIELDS,
                               notes="replaced by their keyed hash, at any depth of the payload")
PRIVACY_REGION_FIELDS = _declare("Privacy", "region.fields", "list", DEFAULT_REGION_FIELDS,
                                 notes="cut to their first postal.region.chars characters")
PRIVACY_REGION_CHARS = _declare("Privacy", "postal.region.chars", "int", DEFAULT_REGION_CHARS,
                                minimum=0, notes="`28001` -> `28`")
PRIVACY_URL_FIELDS = _declare("Privacy", "url.fields", "list", DEFAULT_URL_FIELDS,
                              notes="URLs whose query parameters are stripped")
PRIVACY_STRIP_PARAMS = _declare("Privacy", "url.strip.params", "list", DEFAULT_STRIP_PARAMS,
                                notes="these query parameters removed (any case)")
PRIVACY_FORGET_DROP_DAYS = _declare(
    "Privacy", "forget.drop.days", "int", 30, minimum=0,
    notes="after `ecomflow forget`, the stream drops the user's later events this long; "
          "`0`: not at all")

class UndeclaredPropertyError(KeyError):
    """A property group or key that the job does not read."""


def property_groups(values: Mapping[Property, str]) -> dict[str, dict[str, str]]:
    """{group: {key: value}} for MSF (CDK) or a local run, from declared properties only."""
    groups: dict[str, dict[str, str]] = {}
    for prop, value in values.items():
        if prop not in DECLARED:
            raise UndeclaredPropertyError(f"{prop.name} is not declared")
        groups.setdefault(prop.group, {})[prop.key] = value
    return groups


def _shown(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`" if value else "(none)"
    if isinstance(value, str) and value.startswith("/"):
        return "(bundled)"
    return f"`{value}`"


def markdown_table() -> str:
    """The README's settings table, one row per property."""
    rows = ["| group | key | type | required | default | example | notes |",
            "|---|---|---|---|---|---|---|"]
    for p in DECLARED:
        kind = f"{p.kind} ≥ {p.minimum:g}" if p.minimum is not None else p.kind
        if p.kind == "float":
            kind = "number > 0"
        if p.choices:
            kind = " or ".join(f"`{c}`" for c in p.choices)
        if p.kind == "list":
            kind = "comma-separated list (empty: none)"
        example = f"`{p.example}`" if p.example else ""
        rows.append(f"| {p.group} | {p.key} | {kind} | {p.required} | {_shown(p.default)} | "
                    f"{example} | {p.notes} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
