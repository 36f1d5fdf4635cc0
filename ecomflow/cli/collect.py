"""`ecomflow collect`: serve the HTTP collection endpoint (ecomflow/ingest/collect.py) in front
of the local stack's stream or a named one."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

import click

from ecomflow.cli.errors import fail
from ecomflow.ingest.collect import serve
from ecomflow.ingest.collection import (
    API_KEYS_ENV,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_EVENTS,
    DEFAULT_PORT,
    EVENTS_PATH,
    CollectorConfig,
)
from ecomflow.ingest.producer import Producer

log = logging.getLogger(__name__)


def _keys_from_env() -> list[str]:
    return [key.strip() for key in os.environ.get(API_KEYS_ENV, "").split(",") if key.strip()]


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@click.command("collect")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Interface to listen on; non-loopback needs --allow-remote.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (plain HTTP: put TLS in front of it).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help=f"An accepted X-API-Key (repeatable); default: {API_KEYS_ENV}=k1,k2.",
)
@click.option(
    "--allow-origin",
    "origins",
    multiple=True,
    help="A browser origin answered with CORS headers (repeatable), or *.",
)
@click.option("--stream", "stream_name", help="Defaults to the local stack's stream.")
@click.option("--endpoint", help="Kinesis endpoint; defaults to the local stack's.")
@click.option("--region", default=None)
@click.option("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, show_default=True)
@click.option(
    "--max-events",
    type=int,
    default=DEFAULT_MAX_EVENTS,
    show_default=True,
    help="Events per request.",
)
def collect_command(
    port: int,
    host: str,
    allow_remote: bool,
    api_keys: tuple[str, ...],
    origins: tuple[str, ...],
    stream_name: str | None,
    endpoint: str | None,
    region: str | None,
    max_body_bytes: int,
    max_events: int,
) -> None:
    """Serve POST /events on HTTP: validate events and put them on the stream (Ctrl-C stops)."""
    from ecomflow import paths
    from ecomflow.local import stack as local_stack
    keys = [key.strip() for key in api_keys if key.strip()] or _keys_from_env()
    if not keys:
        fail(f"no API key: pass --api-key KEY or set {API_KEYS_ENV}=key1,key2")
    try:
        config = CollectorConfig(
            host=host,
            port=port,
            api_keys=frozenset(keys),
            allowed_origins=frozenset(origins),
            allow_non_loopback=allow_remote,
            max_body_bytes=max_body_bytes,
            max_events_per_request=max_events,
        )
    except (TypeError, ValueError) as exc:
        fail(str(exc))

    report = local_stack.status(paths.state_home())
    stack = report["info"] if report["services"][local_stack.KINESIS]["running"] else None
    if stack is None and stream_name is None:
        fail("no local stack running: start it with `ecomflow local up` or pass --stream")
    if stack is not None and endpoint is None:
        producer_args: dict[str, Any] = {
            "endpoint_url": stack.kinesis_endpoint,
            "region": region or stack.region,
            "access_key": stack.access_key,
            "secret_key": stack.secret_key,
        }
        stream_name = stream_name or stack.stream_name
    else:
        producer_args = {"endpoint_url": endpoint, "region": region or "us-east-1"}
    assert stream_name is not None
    # The collector validates every event itself (same contract, same moment): the
    # producer need not check again. Few attempts: a client is waiting for the answer.
    producer = Producer(
        stream_name,
        validate=False,
        max_attempts=4,
        max_backoff=1.0,
        block_seconds=10.0,
        **producer_args,
    )
    where = producer_args["endpoint_url"] or f"AWS {producer_args['region']}"
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        producer.client.describe_stream_summary(StreamName=stream_name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            producer.close()
            fail(f"stream {stream_name!r} not found at {where}")
        log.warning("could not check stream %s (%s): sending anyway", stream_name, code)
    except BotoCoreError as exc:
        producer.close()
        fail(f"cannot reach Kinesis at {where}: {exc}")

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        server = serve(config, producer)
    except OSError as exc:
        producer.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    click.echo(
        f"collecting on {server.url}{EVENTS_PATH} -> stream {stream_name} ({where}); "
        f"{len(config.api_keys)} API key(s); Ctrl-C to stop",
        err=True,
    )
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        result = producer.close()
    click.echo(
        f"stopped: {producer.total_accepted} event(s) put on {stream_name}"
        + (f", {len(result.failed)} not accepted" if result.failed else ""),
        err=True,
    )
