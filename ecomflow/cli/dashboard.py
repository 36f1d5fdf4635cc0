"""`ecomflow dashboard`: the warehouse's figures on a page that refreshes itself
(ecomflow/dashboard/)."""

from __future__ import annotations

import click

from ecomflow import paths
from ecomflow.cli.errors import fail
from ecomflow.dashboard.server import DEFAULT_PORT, DashboardServer
from ecomflow.local import stack as local_stack


def warehouse_dsn(url: str | None) -> str:
    """The warehouse to read: `url` (a PostgreSQL URL or DSN; Redshift speaks the same
    protocol), else the running local stack's."""
    if url:
        return url.removeprefix("jdbc:").replace("redshift://", "postgresql://", 1)
    info = local_stack.running(paths.state_home())
    if info is None:
        fail("the local stack is not running: start it with `ecomflow local up` "
             "(or pass --warehouse-url)")
    return local_stack.warehouse_dsn(info)


def serve_dashboard(dsn: str, port: int) -> None:
    """Serve on 127.0.0.1 until Ctrl-C, saying where."""
    try:
        server = DashboardServer(dsn, port=port)
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror} (choose another --port)")
    click.echo(f"dashboard: {server.url}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.stop()


@click.command("dashboard")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--warehouse-url",
              help="Read another warehouse, e.g. postgresql://reader@host:5439/ecomflow"
                   "?sslmode=require (password in PGPASSWORD); default: the local stack's.")
def dashboard_command(port: int, warehouse_url: str | None) -> None:
    """A live page on 127.0.0.1: pipeline health, funnels, sessions, carts, anomaly flags and
    products, refreshed from the warehouse every few seconds."""
    serve_dashboard(warehouse_dsn(warehouse_url), port)
