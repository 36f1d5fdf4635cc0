"""Typed, frozen job settings built from runtime property groups.

One settings object for every way the job runs: on MSF (property groups from the service), and
locally (the same groups from a file, environment variables and CLI flags). Only this module
turns strings into typed values; it never imports pyflink, so the CLI and infra can reuse it.

Which groups and keys exist, their types, defaults and bounds: `flink_jobs/property_keys.py`
(declared once; the README's settings table is generated from it). This module names no key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from flink_jobs import property_keys as keys
from flink_jobs.privacy_rules import PrivacyRules, RulesError
from flink_jobs.properties import PropertyGroups
from flink_jobs.property_keys import Property


class SettingsError(ValueError):
    """A property is missing or invalid; the message names the group and the key."""


def _raw(groups: PropertyGroups, prop: Property) -> str | None:
    value = groups.get(prop.group, {}).get(prop.key, "").strip()
    return value or None


def _require(groups: PropertyGroups, prop: Property) -> str:
    value = _raw(groups, prop)
    if value is None:
        raise SettingsError(f"missing property {prop.name}")
    return value


def _read(groups: PropertyGroups, prop: Property) -> Any:
    """The typed value of a declared property, its default when unset."""
    if prop.kind == "list":
        # Read unstripped: an explicitly empty value switches a rule off.
        raw_list = groups.get(prop.group, {}).get(prop.key)
        if raw_list is None:
            return prop.default
        return tuple(name.strip() for name in raw_list.split(",") if name.strip())
    raw = _raw(groups, prop)
    if raw is None:
        return prop.default
    if prop.kind == "text":
        return raw
    if prop.kind == "choice":
        # Case-insensitive; the value as declared.
        for choice in prop.choices:
            if raw.upper() == choice.upper():
                return choice
        raise SettingsError(f"{prop.name} must be one of {', '.join(prop.choices)}, "
                            f"got {raw!r}")
    if prop.kind == "bool":
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise SettingsError(f"{prop.name} must be true or false, got {raw!r}")
    if prop.kind == "float":
        try:
            number = float(raw)
        except ValueError:
            raise SettingsError(f"{prop.name} must be a number, got {raw!r}") from None
        if not number > 0:
            raise SettingsError(f"{prop.name} must be > 0, got {raw!r}")
        return number
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{prop.name} must be an integer, got {raw!r}") from None
    if prop.minimum is not None and value < prop.minimum:
        raise SettingsError(f"{prop.name} must be >= {prop.minimum:g}, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class KinesisSource:
    """The event stream. Without keys the AWS default credential chain is used (MSF's role)."""

    stream_name: str
    region: str
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    init_position: str = keys.KINESIS_INIT_POSITION.default
    getrecords_interval_ms: int = keys.KINESIS_POLL_INTERVAL_MS.default
    getrecords_max_records: int = keys.KINESIS_POLL_MAX_RECORDS.default

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


# Iceberg catalog implementations by `Lake.catalog`. `memory` keeps tables and files in the
# process (dev.ecomflow.lake.PlanningCatalog): planning the job offline, as
# `ecomflow deploy` does for state maps, touches the catalog (the sinks look their tables up)
# but must reach no AWS service; the sink's operators and state are the same in every catalog.
ICEBERG_CATALOGS = {
    "glue": "org.apache.iceberg.aws.glue.GlueCatalog",
    "jdbc": "org.apache.iceberg.jdbc.JdbcCatalog",
    "memory": "dev.ecomflow.lake.PlanningCatalog",
}


@dataclass(frozen=True, kw_only=True)
class LakeSink:
    """The data lake: Iceberg tables in a catalog's database, new tables placed under `url`
    (the warehouse: `s3://bucket[/prefix]` or a local `file://` directory)."""

    url: str
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_path_style_access: bool = False
    catalog: str = keys.LAKE_CATALOG.default
    catalog_database: str = keys.LAKE_CATALOG_DATABASE.default
    catalog_uri: str | None = None
    catalog_user: str | None = None
    catalog_password: str | None = field(default=None, repr=False)

    def connector_options(self, dataset: str) -> dict[str, str]:
        """One lake dataset (`events`, `dead_letter`): the Iceberg table of that name in the
        catalog's database."""
        return {"connector": "iceberg", **self.iceberg_catalog_options(),
                "catalog-database": self.catalog_database, "catalog-table": dataset}

    def iceberg_catalog_options(self) -> dict[str, str]:
        """The Iceberg catalog's properties (as `catalog-impl` loads them): the same for the
        sinks, for creating the tables (dev.ecomflow.lake.LakeTables) and for the readers."""
        options = {"catalog-name": "ecomflow_lake", "catalog-impl": ICEBERG_CATALOGS[self.catalog]}
        if self.catalog != "memory":  # a planning catalog places its tables nowhere
            options["warehouse"] = self.warehouse
        if self.catalog == "jdbc":
            options["uri"] = self.catalog_uri or ""
            if self.catalog_user:
                options["jdbc.user"] = self.catalog_user
            if self.catalog_password:
                options["jdbc.password"] = self.catalog_password
        if self.warehouse.startswith("s3://") and self.catalog != "memory":
            # Files by their scheme: s3:// through Iceberg's own S3 client (AWS SDK v2, not
            # Flink's s3 filesystem plugin), anything else (a folder's tables in the same
            # catalog) through Hadoop's file systems.
            options["io-impl"] = "org.apache.iceberg.io.ResolvingFileIO"
            if self.s3_endpoint:
                options["s3.endpoint"] = self.s3_endpoint
                options["s3.path-style-access"] = str(self.s3_path_style_access).lower()
                options["client.region"] = "us-east-1"
            if self.s3_access_key and self.s3_secret_key:
                options["s3.access-key-id"] = self.s3_access_key
                options["s3.secret-access-key"] = self.s3_secret_key
        return options

    @property
    def warehouse(self) -> str:
        """The Iceberg warehouse location: the lake URL (S3FileIO knows `s3://` only)."""
        return "s3://" + self.url[len("s3a://"):] if self.url.startswith("s3a://") else self.url

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
    flush_max_rows: int = keys.WAREHOUSE_FLUSH_MAX_ROWS.default
    flush_interval_ms: int = keys.WAREHOUSE_FLUSH_INTERVAL_MS.default
    max_retries: int = keys.WAREHOUSE_MAX_RETRIES.default

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

    max_payload_bytes: int = keys.CLEAN_MAX_PAYLOAD_BYTES.default
    max_future_seconds: int = keys.CLEAN_MAX_FUTURE_SECONDS.default
    dedup_horizon_minutes: int = keys.CLEAN_DEDUP_HORIZON_MINUTES.default
    enrich_user_agent: bool = keys.CLEAN_ENRICH_USER_AGENT.default
    enrich_country: bool = keys.CLEAN_ENRICH_COUNTRY.default
    enrich_fx: bool = keys.CLEAN_ENRICH_FX.default
    enrich_catalog: bool = keys.CLEAN_ENRICH_CATALOG.default
    fx_rates: FxRates | None = None


@dataclass(frozen=True, kw_only=True)
class Sessions:
    """Sessions and the other per-user and per-product analytics (property group `Sessions`)."""

    gap_minutes: int = keys.SESSIONS_GAP_MINUTES.default
    max_length_hours: int = keys.SESSIONS_MAX_LENGTH_HOURS.default
    cart_abandon_minutes: int = keys.SESSIONS_CART_ABANDON_MINUTES.default
    top_n: int = keys.SESSIONS_TOP_N.default
    funnels_file: str = keys.SESSIONS_FUNNELS_FILE.default


@dataclass(frozen=True, kw_only=True)
class Anomalies:
    """Anomaly flags (property group `Anomalies`); see sql/40_marts/agg_*anomalies.sql."""

    z_threshold: float = keys.ANOMALY_Z_THRESHOLD.default
    baseline_minutes: int = keys.ANOMALY_BASELINE_MINUTES.default
    warmup_minutes: int = keys.ANOMALY_WARMUP_MINUTES.default
    min_volume: int = keys.ANOMALY_MIN_VOLUME.default
    order_factor: float = keys.ANOMALY_ORDER_FACTOR.default
    bot_events_per_minute: int = keys.ANOMALY_BOT_EVENTS.default
    trend_factor: float = keys.ANOMALY_TREND_FACTOR.default

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


@dataclass(frozen=True, kw_only=True)
class Privacy:
    """Pseudonymisation and erasure (property group `Privacy`; README "Privacy")."""

    pseudonymise: bool = keys.PRIVACY_PSEUDONYMISE.default
    # The HMAC key: never logged, never in the repository (locally: <state home>/privacy.key).
    hash_key: str | None = field(default=None, repr=False)
    rules: PrivacyRules = field(default_factory=PrivacyRules)
    # How long the stream drops a forgotten user's later events; 0: it does not drop them.
    forget_drop_days: int = keys.PRIVACY_FORGET_DROP_DAYS.default

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
    watermark_delay_seconds: int = keys.JOB_WATERMARK_DELAY_SECONDS.default
    parallelism: int | None = None
    # Local runs only: on MSF the service owns checkpointing and the REST endpoint.
    local: bool = False
    checkpoint_interval_ms: int = keys.JOB_CHECKPOINT_INTERVAL_MS.default
    # As MSF's MinPauseBetweenCheckpoints; Flink also starts the first checkpoint at a random
    # time between this pause and the interval.
    checkpoint_min_pause_ms: int = keys.JOB_CHECKPOINT_MIN_PAUSE_MS.default
    checkpoint_dir: str | None = None
    savepoint_dir: str | None = None
    # A retained checkpoint or savepoint to start from (`ecomflow run --resume`).
    restore_path: str | None = None
    rest_port: int | None = None
    restart_attempts: int = keys.JOB_RESTART_ATTEMPTS.default

    @property
    def bounded(self) -> bool:
        return isinstance(self.source, FileSource)

    @classmethod
    def from_property_groups(cls, groups: PropertyGroups, *, local: bool) -> JobSettings:
        def read(prop: Property) -> Any:
            return _read(groups, prop)

        return cls(
            source=_source(groups),
            lake=_lake(groups),
            warehouse=_warehouse(groups),
            clean=_clean_stream(groups),
            sessions=Sessions(
                gap_minutes=read(keys.SESSIONS_GAP_MINUTES),
                max_length_hours=read(keys.SESSIONS_MAX_LENGTH_HOURS),
                cart_abandon_minutes=read(keys.SESSIONS_CART_ABANDON_MINUTES),
                top_n=read(keys.SESSIONS_TOP_N),
                funnels_file=read(keys.SESSIONS_FUNNELS_FILE)),
            anomalies=Anomalies(
                z_threshold=read(keys.ANOMALY_Z_THRESHOLD),
                baseline_minutes=read(keys.ANOMALY_BASELINE_MINUTES),
                warmup_minutes=read(keys.ANOMALY_WARMUP_MINUTES),
                min_volume=read(keys.ANOMALY_MIN_VOLUME),
                order_factor=read(keys.ANOMALY_ORDER_FACTOR),
                bot_events_per_minute=read(keys.ANOMALY_BOT_EVENTS),
                trend_factor=read(keys.ANOMALY_TREND_FACTOR)),
            privacy=privacy_settings(groups),
            watermark_delay_seconds=read(keys.JOB_WATERMARK_DELAY_SECONDS),
            parallelism=read(keys.JOB_PARALLELISM),
            local=local,
            checkpoint_interval_ms=read(keys.JOB_CHECKPOINT_INTERVAL_MS),
            checkpoint_min_pause_ms=read(keys.JOB_CHECKPOINT_MIN_PAUSE_MS),
            checkpoint_dir=read(keys.JOB_CHECKPOINT_DIR),
            savepoint_dir=read(keys.JOB_SAVEPOINT_DIR),
            restore_path=read(keys.JOB_RESTORE_PATH),
            rest_port=read(keys.JOB_REST_PORT),
            restart_attempts=read(keys.JOB_RESTART_ATTEMPTS),
        )


def _source(groups: PropertyGroups) -> KinesisSource | FileSource:
    if keys.FILE_PATH.group in groups:
        return FileSource(path=_require(groups, keys.FILE_PATH))
    return KinesisSource(
        stream_name=_require(groups, keys.KINESIS_STREAM_NAME),
        region=_require(groups, keys.KINESIS_REGION),
        endpoint=_read(groups, keys.KINESIS_ENDPOINT),
        access_key=_read(groups, keys.KINESIS_ACCESS_KEY),
        secret_key=_read(groups, keys.KINESIS_SECRET_KEY),
        init_position=_read(groups, keys.KINESIS_INIT_POSITION),
        getrecords_interval_ms=_read(groups, keys.KINESIS_POLL_INTERVAL_MS),
        getrecords_max_records=_read(groups, keys.KINESIS_POLL_MAX_RECORDS),
    )


def _lake(groups: PropertyGroups) -> LakeSink:
    url = _require(groups, keys.LAKE_URL).rstrip("/")
    if urlparse(url).scheme not in ("s3", "s3a", "file"):
        raise SettingsError(
            f"{keys.LAKE_URL.name} must be an s3://, s3a:// or file:// URL, got {url!r}")
    endpoint = _read(groups, keys.LAKE_S3_ENDPOINT)
    path_style = _read(groups, keys.LAKE_S3_PATH_STYLE)
    catalog_uri = _read(groups, keys.LAKE_CATALOG_URI)
    if _read(groups, keys.LAKE_CATALOG) == "jdbc" and not catalog_uri:
        raise SettingsError(f"{keys.LAKE_CATALOG_URI.name} is required with "
                            f"{keys.LAKE_CATALOG.name} jdbc")
    return LakeSink(
        url=url,
        s3_endpoint=endpoint,
        s3_access_key=_read(groups, keys.LAKE_S3_ACCESS_KEY),
        s3_secret_key=_read(groups, keys.LAKE_S3_SECRET_KEY),
        # Emulators (moto) need path-style addressing; real S3 does not.
        s3_path_style_access=endpoint is not None if path_style is None else path_style,
        catalog=_read(groups, keys.LAKE_CATALOG),
        catalog_database=_read(groups, keys.LAKE_CATALOG_DATABASE),
        catalog_uri=catalog_uri,
        catalog_user=_read(groups, keys.LAKE_CATALOG_USER),
        catalog_password=_read(groups, keys.LAKE_CATALOG_PASSWORD),
    )


def _warehouse(groups: PropertyGroups) -> WarehouseSink:
    jdbc_url = _require(groups, keys.WAREHOUSE_JDBC_URL)
    if not jdbc_url.startswith("jdbc:"):
        raise SettingsError(
            f"{keys.WAREHOUSE_JDBC_URL.name} must start with jdbc:, got {jdbc_url!r}")
    password = _read(groups, keys.WAREHOUSE_PASSWORD)
    if _read(groups, keys.WAREHOUSE_PASSWORD_SECRET_ARN) and password is None:
        raise SettingsError(
            f"{keys.WAREHOUSE_PASSWORD_SECRET_ARN.name} is set but was not resolved: apply "
            "flink_jobs.secrets.resolve_warehouse_secret to the groups first (main.py does)")
    return WarehouseSink(
        jdbc_url=jdbc_url,
        username=_read(groups, keys.WAREHOUSE_USERNAME),
        password=password,
        flush_max_rows=_read(groups, keys.WAREHOUSE_FLUSH_MAX_ROWS),
        flush_interval_ms=_read(groups, keys.WAREHOUSE_FLUSH_INTERVAL_MS),
        max_retries=_read(groups, keys.WAREHOUSE_MAX_RETRIES),
    )


def _clean_stream(groups: PropertyGroups) -> CleanStream:
    fx_url = _read(groups, keys.CLEAN_FX_RATES_URL)
    clean = CleanStream(
        max_payload_bytes=_read(groups, keys.CLEAN_MAX_PAYLOAD_BYTES),
        max_future_seconds=_read(groups, keys.CLEAN_MAX_FUTURE_SECONDS),
        dedup_horizon_minutes=_read(groups, keys.CLEAN_DEDUP_HORIZON_MINUTES),
        enrich_user_agent=_read(groups, keys.CLEAN_ENRICH_USER_AGENT),
        enrich_country=_read(groups, keys.CLEAN_ENRICH_COUNTRY),
        enrich_fx=_read(groups, keys.CLEAN_ENRICH_FX),
        enrich_catalog=_read(groups, keys.CLEAN_ENRICH_CATALOG),
        fx_rates=FxRates(url=fx_url) if fx_url else None,
    )
    if clean.enrich_fx and clean.fx_rates is None:
        raise SettingsError(
            f"{keys.CLEAN_FX_RATES_URL.name} is required while {keys.CLEAN_ENRICH_FX.name} is on "
            "(a CSV of currency,rate_to_usd,valid_from); set enrich.fx=false to run without")
    return clean


def privacy_settings(groups: PropertyGroups) -> Privacy:
    """The `Privacy` group alone (also what `ecomflow forget` reads for the key)."""
    pseudonymise = _read(groups, keys.PRIVACY_PSEUDONYMISE)
    key = _read(groups, keys.PRIVACY_HASH_KEY)
    if _read(groups, keys.PRIVACY_HASH_KEY_SECRET_ARN) and key is None:
        raise SettingsError(
            f"{keys.PRIVACY_HASH_KEY_SECRET_ARN.name} is set but was not resolved: apply "
            "flink_jobs.secrets.resolve_secrets to the groups first (main.py does)")
    if pseudonymise and key is None:
        raise SettingsError(
            f"missing property {keys.PRIVACY_HASH_KEY.name} (the pseudonymisation key; on AWS "
            f"set {keys.PRIVACY_HASH_KEY_SECRET_ARN.name}; set "
            f"{keys.PRIVACY_PSEUDONYMISE.name}=false to run without)")
    try:
        rules = PrivacyRules(
            hash_fields=_read(groups, keys.PRIVACY_HASH_FIELDS),
            region_fields=_read(groups, keys.PRIVACY_REGION_FIELDS),
            region_chars=_read(groups, keys.PRIVACY_REGION_CHARS),
            url_fields=_read(groups, keys.PRIVACY_URL_FIELDS),
            strip_params=_read(groups, keys.PRIVACY_STRIP_PARAMS))
    except RulesError as exc:
        raise SettingsError(str(exc)) from None
    return Privacy(pseudonymise=pseudonymise, hash_key=key, rules=rules,
                   forget_drop_days=_read(groups, keys.PRIVACY_FORGET_DROP_DAYS))
