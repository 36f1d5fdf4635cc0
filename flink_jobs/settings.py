"""Typed, frozen job settings built from runtime property groups.

One settings object for every way the job runs: on MSF (property groups from the service), and
locally (the same groups from a file, environment variables and CLI flags). Only this module
turns strings into typed values; it never imports pyflink, so the CLI and infra can reuse it.

Property groups (see the README's table):

    KinesisSource  stream.name*, aws.region*, aws.endpoint, aws.access.key.id,
                   aws.secret.access.key, init.position, getrecords.interval.ms,
                   getrecords.max.records
    FileSource     path*                      (present instead of KinesisSource: bounded run)
    Lake           url*, s3.endpoint, s3.access.key, s3.secret.key, s3.path.style.access
    Warehouse      jdbc.url*, username, password, flush.max.rows, flush.interval.ms,
                   max.retries, password.secret.arn (a Secrets Manager secret whose JSON has
                   username and password; read at start-up by flink_jobs.secrets, never here)
    Job            watermark.delay.seconds, parallelism; checkpoint.interval.ms,
                   checkpoint.min.pause.ms, checkpoint.dir, savepoint.dir, restore.path,
                   rest.port, restart.attempts   (local runs only)
    Privacy        hash.key (* while pseudonymise is on), hash.key.secret.arn (AWS: resolved at
                   start-up by flink_jobs.secrets), pseudonymise, hash.fields, region.fields,
                   postal.region.chars, url.fields, url.strip.params, forget.drop.days
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from flink_jobs.privacy_rules import (
    DEFAULT_HASH_FIELDS,
    DEFAULT_REGION_CHARS,
    DEFAULT_REGION_FIELDS,
    DEFAULT_STRIP_PARAMS,
    DEFAULT_URL_FIELDS,
    PrivacyRules,
    RulesError,
)
from flink_jobs.properties import PropertyGroups

INIT_POSITIONS = ("TRIM_HORIZON", "LATEST")
# Ordered funnels shipped with the job (in the MSF zip beside this module).
DEFAULT_FUNNELS = Path(__file__).resolve().parent / "conf" / "funnels.json"


class SettingsError(ValueError):
    """A property is missing or invalid; the message names the group and the key."""


def _require(groups: PropertyGroups, group: str, key: str) -> str:
    value = groups.get(group, {}).get(key, "").strip()
    if not value:
        raise SettingsError(f"missing property {group}.{key}")
    return value


def _optional(groups: PropertyGroups, group: str, key: str) -> str | None:
    value = groups.get(group, {}).get(key, "").strip()
    return value or None


def _int(groups: PropertyGroups, group: str, key: str, default: int | None, *, minimum: int = 0
         ) -> int | None:
    raw = _optional(groups, group, key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{group}.{key} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{group}.{key} must be >= {minimum}, got {value}")
    return value


def _bool(groups: PropertyGroups, group: str, key: str, default: bool) -> bool:
    raw = _optional(groups, group, key)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise SettingsError(f"{group}.{key} must be true or false, got {raw!r}")


@dataclass(frozen=True, kw_only=True)
class KinesisSource:
    """The event stream. Without keys the AWS default credential chain is used (MSF's role)."""

    stream_name: str
    region: str
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    init_position: str = "TRIM_HORIZON"
    getrecords_interval_ms: int = 200
    getrecords_max_records: int = 10000

    def connector_options(self) -> dict[str, str]:
        options = {
            "connector": "kinesis",
            "stream": self.stream_name,
            "aws.region": self.region,
            "format": "raw",
            "scan.stream.initpos": self.init_position,
            "scan.shard.getrecords.intervalmillis": str(self.getrecords_interval_ms),
            "scan.shard.getrecords.maxrecordcount": str(self.getrecords_max_records),
            # One shard per subtask (with parallelism = shard count), so each subtask's
            # watermark follows one shard and windows wait for the slowest shard.
            "scan.shard-assigner": "uniform",
        }
        if self.endpoint:
            options["aws.endpoint"] = self.endpoint
        if self.access_key and self.secret_key:
            options["aws.credentials.provider"] = "BASIC"
            options["aws.credentials.basic.accesskeyid"] = self.access_key
            options["aws.credentials.basic.secretkey"] = self.secret_key
        return options


@dataclass(frozen=True, kw_only=True)
class FileSource:
    """A JSONL(.gz) file read once: the bounded path used by tests and recorded traffic."""

    path: str

    def connector_options(self) -> dict[str, str]:
        return {"connector": "filesystem", "path": self.path, "format": "raw"}


@dataclass(frozen=True, kw_only=True)
class LakeSink:
    """The Parquet data lake: `s3://bucket[/prefix]` or a local directory (file:// URL)."""

    url: str
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_path_style_access: bool = False

    def connector_options(self, dataset: str) -> dict[str, str]:
        """One lake dataset (`events`, `dead_letter`): a folder of Parquet under the lake URL."""
        return {"connector": "filesystem", "path": f"{self.url}/{dataset}", "format": "parquet"}

    def filesystem_config(self) -> dict[str, str]:
        """Flink filesystem settings the S3 client needs (only for non-AWS endpoints)."""
        config: dict[str, str] = {}
        if self.s3_endpoint:
            config["s3.endpoint"] = self.s3_endpoint
            config["s3.path.style.access"] = str(self.s3_path_style_access).lower()
        if self.s3_access_key and self.s3_secret_key:
            config["s3.access-key"] = self.s3_access_key
            config["s3.secret-key"] = self.s3_secret_key
        return config


@dataclass(frozen=True, kw_only=True)
class WarehouseSink:
    """The warehouse, reached over JDBC (PostgreSQL locally, Redshift on AWS)."""

    jdbc_url: str
    username: str | None = None  # None: credentials come from the URL (`?user=...`)
    password: str | None = field(default=None, repr=False)
    flush_max_rows: int = 500
    flush_interval_ms: int = 1000
    max_retries: int = 5

    def connector_options(self, table: str) -> dict[str, str]:
        options = {
            "connector": "jdbc",
            "url": self.jdbc_url,
            "table-name": table,
            "sink.buffer-flush.max-rows": str(self.flush_max_rows),
            "sink.buffer-flush.interval": f"{self.flush_interval_ms}ms",
            "sink.max-retries": str(self.max_retries),
        }
        if self.username:
            # The connector wants both or neither; an empty password suits trust auth.
            options["username"] = self.username
            options["password"] = self.password or ""
        return options


@dataclass(frozen=True, kw_only=True)
class FxRates:
    """Exchange rates to USD: a CSV file (local path, file:// or s3:// URL), read at start."""

    url: str

    def connector_options(self) -> dict[str, str]:
        return {"connector": "filesystem", "path": self.url, "format": "csv",
                "csv.allow-comments": "true"}


@dataclass(frozen=True, kw_only=True)
class CleanStream:
    """Validation, deduplication and enrichment switches (property group `CleanStream`)."""

    max_payload_bytes: int = 1_000_000  # Kinesis' own record limit
    max_future_seconds: int = 300  # producer clock skew tolerated
    dedup_horizon_minutes: int = 1440
    enrich_user_agent: bool = True
    enrich_country: bool = True
    enrich_fx: bool = True
    enrich_catalog: bool = True
    fx_rates: FxRates | None = None


@dataclass(frozen=True, kw_only=True)
class Sessions:
    """Sessions and the other per-user and per-product analytics (property group `Sessions`)."""

    gap_minutes: int = 30
    max_length_hours: int = 24
    cart_abandon_minutes: int = 30  # a cart without purchase this long after its last change
    top_n: int = 10  # products per minute in each top-products ranking
    funnels_file: str = str(DEFAULT_FUNNELS)  # ordered funnels: steps, window, order


@dataclass(frozen=True, kw_only=True)
class Anomalies:
    """Anomaly flags (property group `Anomalies`); see sql/40_marts/agg_*anomalies.sql."""

    z_threshold: float = 4.0
    baseline_minutes: int = 60
    warmup_minutes: int = 30
    min_volume: int = 20
    order_factor: float = 5.0
    bot_events_per_minute: int = 60
    trend_factor: float = 3.0

    def sql_parameters(self) -> dict[str, str]:
        return {
            "ANOMALY_Z": repr(float(self.z_threshold)),
            "ANOMALY_BASELINE_MINUTES": str(self.baseline_minutes),
            "ANOMALY_WARMUP_MINUTES": str(self.warmup_minutes),
            "ANOMALY_MIN_VOLUME": str(self.min_volume),
            "ANOMALY_ORDER_FACTOR": repr(float(self.order_factor)),
            "ANOMALY_BOT_EVENTS": str(self.bot_events_per_minute),
            "ANOMALY_TREND_FACTOR": repr(float(self.trend_factor)),
        }


def _float(groups: PropertyGroups, group: str, key: str, default: float) -> float:
    raw = _optional(groups, group, key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{group}.{key} must be a number, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{group}.{key} must be > 0, got {raw!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class Privacy:
    """Pseudonymisation and erasure (property group `Privacy`; README "Privacy")."""

    pseudonymise: bool = True
    # The HMAC key: never logged, never in the repository (locally: <state home>/privacy.key).
    hash_key: str | None = field(default=None, repr=False)
    rules: PrivacyRules = field(default_factory=PrivacyRules)
    # How long the stream drops a forgotten user's later events; 0: it does not drop them.
    forget_drop_days: int = 30

    @property
    def forget_drop_millis(self) -> int:
        return self.forget_drop_days * 86_400_000

    def spec(self) -> str:
        """The rules for the Java function `pseudonymise(payload, key, spec)`."""
        return self.rules.spec()


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    source: KinesisSource | FileSource
    lake: LakeSink
    warehouse: WarehouseSink
    clean: CleanStream = field(default_factory=CleanStream)
    sessions: Sessions = field(default_factory=Sessions)
    anomalies: Anomalies = field(default_factory=Anomalies)
    privacy: Privacy = field(default_factory=Privacy)
    watermark_delay_seconds: int = 30
    parallelism: int | None = None
    # Local runs only: on MSF the service owns checkpointing and the REST endpoint.
    local: bool = False
    checkpoint_interval_ms: int = 10000
    # As MSF's MinPauseBetweenCheckpoints; Flink also starts the first checkpoint at a random
    # time between this pause and the interval.
    checkpoint_min_pause_ms: int = 0
    checkpoint_dir: str | None = None
    savepoint_dir: str | None = None
    # A retained checkpoint or savepoint to start from (`ecomflow run --resume`).
    restore_path: str | None = None
    rest_port: int | None = None
    restart_attempts: int = 10

    @property
    def bounded(self) -> bool:
        return isinstance(self.source, FileSource)

    @classmethod
    def from_property_groups(cls, groups: PropertyGroups, *, local: bool) -> JobSettings:
        source: KinesisSource | FileSource
        if "FileSource" in groups:
            source = FileSource(path=_require(groups, "FileSource", "path"))
        else:
            init_position = (_optional(groups, "KinesisSource", "init.position")
                             or "TRIM_HORIZON").upper()
            if init_position not in INIT_POSITIONS:
                raise SettingsError(
                    f"KinesisSource.init.position must be one of {', '.join(INIT_POSITIONS)}, "
                    f"got {init_position!r}")
            source = KinesisSource(
                stream_name=_require(groups, "KinesisSource", "stream.name"),
                region=_require(groups, "KinesisSource", "aws.region"),
                endpoint=_optional(groups, "KinesisSource", "aws.endpoint"),
                access_key=_optional(groups, "KinesisSource", "aws.access.key.id"),
                secret_key=_optional(groups, "KinesisSource", "aws.secret.access.key"),
                init_position=init_position,
                getrecords_interval_ms=_int(
                    groups, "KinesisSource", "getrecords.interval.ms", 200, minimum=1),
                getrecords_max_records=_int(
                    groups, "KinesisSource", "getrecords.max.records", 10000, minimum=1),
            )
        lake_url = _require(groups, "Lake", "url").rstrip("/")
        scheme = urlparse(lake_url).scheme
        if scheme not in ("s3", "s3a", "file"):
            raise SettingsError(
                f"Lake.url must be an s3://, s3a:// or file:// URL, got {lake_url!r}")
        s3_endpoint = _optional(groups, "Lake", "s3.endpoint")
        lake = LakeSink(
            url=lake_url,
            s3_endpoint=s3_endpoint,
            s3_access_key=_optional(groups, "Lake", "s3.access.key"),
            s3_secret_key=_optional(groups, "Lake", "s3.secret.key"),
            # Emulators (moto) need path-style addressing; real S3 does not.
            s3_path_style_access=_bool(groups, "Lake", "s3.path.style.access",
                                       s3_endpoint is not None),
        )
        jdbc_url = _require(groups, "Warehouse", "jdbc.url")
        if not jdbc_url.startswith("jdbc:"):
            raise SettingsError(f"Warehouse.jdbc.url must start with jdbc:, got {jdbc_url!r}")
        if (_optional(groups, "Warehouse", "password.secret.arn")
                and _optional(groups, "Warehouse", "password") is None):
            raise SettingsError(
                "Warehouse.password.secret.arn is set but was not resolved: apply "
                "flink_jobs.secrets.resolve_warehouse_secret to the groups first (main.py does)")
        warehouse = WarehouseSink(
            jdbc_url=jdbc_url,
            username=_optional(groups, "Warehouse", "username"),
            password=_optional(groups, "Warehouse", "password"),
            flush_max_rows=_int(groups, "Warehouse", "flush.max.rows", 500, minimum=1),
            flush_interval_ms=_int(groups, "Warehouse", "flush.interval.ms", 1000),
            max_retries=_int(groups, "Warehouse", "max.retries", 5),
        )
        clean = _clean_stream(groups)
        return cls(
            source=source,
            lake=lake,
            warehouse=warehouse,
            clean=clean,
            sessions=Sessions(
                gap_minutes=_int(groups, "Sessions", "gap.minutes", 30, minimum=1),
                max_length_hours=_int(groups, "Sessions", "max.length.hours", 24, minimum=1),
                cart_abandon_minutes=_int(groups, "Sessions", "cart.abandon.minutes", 30,
                                          minimum=1),
                top_n=_int(groups, "Sessions", "top.n", 10, minimum=1),
                funnels_file=_optional(groups, "Sessions", "funnels.file")
                or str(DEFAULT_FUNNELS)),
            anomalies=Anomalies(
                z_threshold=_float(groups, "Anomalies", "z.threshold", 4.0),
                baseline_minutes=_int(groups, "Anomalies", "baseline.minutes", 60, minimum=2),
                warmup_minutes=_int(groups, "Anomalies", "warmup.minutes", 30, minimum=2),
                min_volume=_int(groups, "Anomalies", "min.volume", 20),
                order_factor=_float(groups, "Anomalies", "order.factor", 5.0),
                bot_events_per_minute=_int(groups, "Anomalies", "bot.events.per.minute", 60,
                                           minimum=1),
                trend_factor=_float(groups, "Anomalies", "trend.factor", 3.0)),
            privacy=privacy_settings(groups),
            watermark_delay_seconds=_int(groups, "Job", "watermark.delay.seconds", 30),
            parallelism=_int(groups, "Job", "parallelism", None, minimum=1),
            local=local,
            checkpoint_interval_ms=_int(
                groups, "Job", "checkpoint.interval.ms", 10000, minimum=100),
            checkpoint_min_pause_ms=_int(groups, "Job", "checkpoint.min.pause.ms", 0),
            checkpoint_dir=_optional(groups, "Job", "checkpoint.dir"),
            savepoint_dir=_optional(groups, "Job", "savepoint.dir"),
            restore_path=_optional(groups, "Job", "restore.path"),
            rest_port=_int(groups, "Job", "rest.port", None, minimum=0),
            restart_attempts=_int(groups, "Job", "restart.attempts", 10),
        )


def _clean_stream(groups: PropertyGroups) -> CleanStream:
    group = "CleanStream"
    fx_url = _optional(groups, group, "fx.rates.url")
    clean = CleanStream(
        max_payload_bytes=_int(groups, group, "max.payload.bytes", 1_000_000, minimum=1),
        max_future_seconds=_int(groups, group, "max.future.seconds", 300),
        dedup_horizon_minutes=_int(groups, group, "dedup.horizon.minutes", 1440, minimum=1),
        enrich_user_agent=_bool(groups, group, "enrich.user-agent", True),
        enrich_country=_bool(groups, group, "enrich.country", True),
        enrich_fx=_bool(groups, group, "enrich.fx", True),
        enrich_catalog=_bool(groups, group, "enrich.catalog", True),
        fx_rates=FxRates(url=fx_url) if fx_url else None,
    )
    if clean.enrich_fx and clean.fx_rates is None:
        raise SettingsError(
            "CleanStream.fx.rates.url is required while CleanStream.enrich.fx is on "
            "(a CSV of currency,rate_to_usd,valid_from); set enrich.fx=false to run without")
    return clean


def _field_list(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list; unset keeps the default, an empty value means none."""
    if raw is None:
        return default
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def privacy_settings(groups: PropertyGroups) -> Privacy:
    """The `Privacy` group alone (also what `ecomflow forget` reads for the key)."""
    group = "Privacy"
    pseudonymise = _bool(groups, group, "pseudonymise", True)
    key = _optional(groups, group, "hash.key")
    if _optional(groups, group, "hash.key.secret.arn") and key is None:
        raise SettingsError(
            "Privacy.hash.key.secret.arn is set but was not resolved: apply "
            "flink_jobs.secrets.resolve_secrets to the groups first (main.py does)")
    if pseudonymise and key is None:
        raise SettingsError(
            "missing property Privacy.hash.key (the pseudonymisation key; on AWS set "
            "Privacy.hash.key.secret.arn; set Privacy.pseudonymise=false to run without)")
    # Lists are read raw: an explicitly empty value switches a rule off.
    raw = groups.get(group, {})
    try:
        rules = PrivacyRules(
            hash_fields=_field_list(raw.get("hash.fields"), DEFAULT_HASH_FIELDS),
            region_fields=_field_list(raw.get("region.fields"), DEFAULT_REGION_FIELDS),
            region_chars=_int(groups, group, "postal.region.chars", DEFAULT_REGION_CHARS),
            url_fields=_field_list(raw.get("url.fields"), DEFAULT_URL_FIELDS),
            strip_params=_field_list(raw.get("url.strip.params"), DEFAULT_STRIP_PARAMS))
    except RulesError as exc:
        raise SettingsError(str(exc)) from None
    return Privacy(pseudonymise=pseudonymise, hash_key=key, rules=rules,
                   forget_drop_days=_int(groups, group, "forget.drop.days", 30))
