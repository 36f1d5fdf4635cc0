"""`ecomflow app status|stop|start --env ENV`: the deployed MSF application
(ecomflow/aws/msf_app.py)."""

from __future__ import annotations

from typing import Any

import click

from ecomflow.aws import names as aws_names
from ecomflow.aws.msf_app import (
    RUNNING_STATES,
    AppError,
    AppState,
    describe,
    snapshots,
    start,
    stop,
    wait_for,
)
from ecomflow.cli.errors import fail

# -- `ecomflow app ...` ---------------------------------------------------------------------

def _client(region: str | None, profile: str | None) -> Any:
    import boto3

    return boto3.Session(profile_name=profile, region_name=region).client("kinesisanalyticsv2")


def _application(obj: Any, env: str, region: str | None, profile: str | None
                 ) -> tuple[Any, str, AppState]:
    """The client, the application's name and state; one red line if it does not exist."""
    client = obj or _client(region, profile)
    name = aws_names.application_name(env)
    state = describe(client, name)
    if state is None:
        fail(f"application {name} not found: deploy it with `ecomflow deploy --env {env}`")
    return client, name, state


_env_option = click.option("--env", "env", type=click.Choice(aws_names.ENVIRONMENTS),
                           required=True, help="Which deployment's application.")
_region_option = click.option("--region", help="AWS region (default: your AWS configuration).")
_profile_option = click.option("--profile", help="AWS named profile.")


@click.group("app")
def app_group() -> None:
    """Status, stop and start of the deployed Managed Flink application."""


@app_group.command("status")
@_env_option
@_region_option
@_profile_option
@click.pass_obj
def app_status(obj: Any, env: str, region: str | None, profile: str | None) -> None:
    """Print the application's status, version, code, parallelism and latest snapshots."""
    try:
        client, name, state = _application(obj, env, region, profile)
        recent = snapshots(client, name)[:3]
    except AppError as exc:
        fail(str(exc))
    click.echo(f"{state.name}  {state.status}  version {state.version}  {state.runtime}")
    click.echo(f"code         {state.code_key}")
    click.echo(f"parallelism  {state.parallelism}  autoscaling "
               f"{'on' if state.autoscaling else 'off'}")
    for snap in recent:
        click.echo(f"snapshot     {snap.name}  {snap.status}  version {snap.version}  "
                   f"{snap.created:%Y-%m-%d %H:%M:%S %Z}" if snap.created else snap.name)
    if not recent:
        click.echo("snapshot     none")


@app_group.command("stop")
@_env_option
@_region_option
@_profile_option
@click.option("--force", is_flag=True, help="Stop at once, without a snapshot.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.pass_obj
def app_stop(obj: Any, env: str, region: str | None, profile: str | None, force: bool,
             wait: bool) -> None:
    """Stop the application (taking a snapshot first unless --force)."""
    try:
        client, name, state = _application(obj, env, region, profile)
        if state.status == "READY":
            click.echo(f"{name} is already stopped")
            return
        stop(client, name, force=force)
        if wait:
            wait_for(client, name, {"READY"})
    except AppError as exc:
        fail(str(exc))
    click.echo(f"{name} {'stopped' if wait else 'stopping'}"
               + ("" if force else " (snapshot taken)"))


@app_group.command("start")
@_env_option
@_region_option
@_profile_option
@click.option("--snapshot", help="Restore this snapshot (default: the latest).")
@click.option("--no-restore", is_flag=True, help="Start with empty state.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.pass_obj
def app_start(obj: Any, env: str, region: str | None, profile: str | None,
              snapshot: str | None, no_restore: bool, wait: bool) -> None:
    """Start the application from the latest snapshot (or --snapshot NAME, or --no-restore)."""
    if snapshot and no_restore:
        fail("--snapshot and --no-restore exclude each other")
    try:
        client, name, state = _application(obj, env, region, profile)
        if state.status in RUNNING_STATES:
            click.echo(f"{name} is already {state.status.lower()}")
            return
        restore = start(client, name, snapshot=snapshot, restore=not no_restore)
        if wait:
            wait_for(client, name, {"RUNNING"})
    except AppError as exc:
        fail(str(exc))
    click.echo(f"{name} {'running' if wait else 'starting'} ({restore})")
