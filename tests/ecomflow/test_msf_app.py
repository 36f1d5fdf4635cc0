"""Managed Flink application lifecycle and `ecomflow app status|stop|start`.

moto 5.0.x (pinned below 5.1 by the project) has no kinesisanalyticsv2 backend, so these tests
use botocore's Stubber: exact requests in, service-model-validated responses out.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from ecomflow.aws import msf_app
from ecomflow.cli.app import app_group
from tests.ecomflow.msf_stubs import expect_describe, msf_client, snapshot_list

NAME = "ecomflow-dev-events-job"


def _start_params(restore: dict) -> dict:
    return {"ApplicationName": NAME, "RunConfiguration": {
        "ApplicationRestoreConfiguration": restore,
        "FlinkRunConfiguration": {"AllowNonRestoredState": False}}}


def test_describe_returns_none_for_a_missing_application():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, None)
    with stubber:
        assert msf_app.describe(client, NAME) is None
        stubber.assert_no_pending_responses()


def test_describe_reads_status_code_and_parallelism():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "RUNNING", version=7, code_key="flink/x.zip")
    with stubber:
        state = msf_app.describe(client, NAME)
    assert state == msf_app.AppState(name=NAME, status="RUNNING", version=7,
                                     runtime="FLINK-1_20", code_key="flink/x.zip",
                                     parallelism=2, autoscaling=True)


@pytest.mark.parametrize(("existing", "restore"), [
    ((("old", "READY"),), {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"}),
    ((("broken", "FAILED"),), {"ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"}),
    ((), {"ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"}),
])
def test_start_restores_the_latest_snapshot_when_there_is_one(existing, restore):
    client, stubber = msf_client()
    stubber.add_response("list_application_snapshots", snapshot_list(*existing),
                         {"ApplicationName": NAME, "Limit": 50})
    stubber.add_response("start_application", {}, _start_params(restore))
    with stubber:
        assert msf_app.start(client, NAME) == restore["ApplicationRestoreType"]
        stubber.assert_no_pending_responses()


def test_start_from_a_named_snapshot():
    client, stubber = msf_client()
    stubber.add_response("start_application", {}, _start_params(
        {"ApplicationRestoreType": "RESTORE_FROM_CUSTOM_SNAPSHOT", "SnapshotName": "s1"}))
    with stubber:
        msf_app.start(client, NAME, snapshot="s1")
        stubber.assert_no_pending_responses()


def test_take_snapshot_waits_until_ready():
    client, stubber = msf_client()
    stubber.add_response("create_application_snapshot", {},
                         {"ApplicationName": NAME, "SnapshotName": "before-update"})
    for status in ("CREATING", "CREATING", "READY"):
        stubber.add_response("describe_application_snapshot", {"SnapshotDetails": {
            "SnapshotName": "before-update", "SnapshotStatus": status,
            "ApplicationVersionId": 3}},
            {"ApplicationName": NAME, "SnapshotName": "before-update"})
    sleeps = []
    with stubber:
        assert msf_app.take_snapshot(client, NAME, "before-update",
                                     sleep=sleeps.append) == "before-update"
        stubber.assert_no_pending_responses()
    assert sleeps == [10.0, 10.0]


def test_wait_for_gives_up_after_the_timeout():
    client, stubber = msf_client()
    for _ in range(3):
        expect_describe(stubber, NAME, "STARTING")
    with stubber, pytest.raises(msf_app.AppError, match="still STARTING after 20 s"):
        msf_app.wait_for(client, NAME, {"RUNNING"}, timeout_s=20, sleep=lambda _: None)


# -- the CLI ----------------------------------------------------------------------------------

def _invoke(client, stubber: Stubber, *args: str) -> Result:
    """`ecomflow app ARGS` on the stubbed client; every stubbed call must have been made."""
    with stubber:
        result = CliRunner().invoke(app_group, list(args), obj=client)
        stubber.assert_no_pending_responses()
    return result


def test_app_status_prints_state_and_latest_snapshots():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "RUNNING", version=4, code_key="flink/ecomflow-msf-ab.zip")
    stubber.add_response("list_application_snapshots",
                         snapshot_list(("older", "READY"), ("newer", "READY")),
                         {"ApplicationName": NAME, "Limit": 50})
    result = _invoke(client, stubber, "status", "--env", "dev")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{NAME}  RUNNING  version 4  FLINK-1_20"
    assert "flink/ecomflow-msf-ab.zip" in lines[1]
    assert lines[3].startswith("snapshot     newer  READY")


def test_app_status_of_a_missing_application_says_how_to_deploy():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, None)
    result = _invoke(client, stubber, "status", "--env", "dev")
    assert result.exit_code == 1
    assert "ecomflow deploy --env dev" in result.output


def test_app_stop_takes_a_snapshot_and_waits():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "RUNNING")
    stubber.add_response("stop_application", {}, {"ApplicationName": NAME, "Force": False})
    expect_describe(stubber, NAME, "READY")
    result = _invoke(client, stubber, "stop", "--env", "dev")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{NAME} stopped (snapshot taken)"


def test_app_start_restores_the_latest_snapshot_and_waits():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "READY")
    stubber.add_response("list_application_snapshots", snapshot_list(("s", "READY")),
                         {"ApplicationName": NAME, "Limit": 50})
    stubber.add_response("start_application", {}, _start_params(
        {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"}))
    expect_describe(stubber, NAME, "RUNNING")
    result = _invoke(client, stubber, "start", "--env", "dev")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{NAME} running (RESTORE_FROM_LATEST_SNAPSHOT)"


def test_app_start_of_a_running_application_does_nothing():
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "RUNNING")
    with stubber:
        result = CliRunner().invoke(app_group, ["start", "--env", "prod"],
                                    obj=client)
    # prod's application has another name: the stub refuses the unexpected request.
    assert result.exit_code != 0
    client, stubber = msf_client()
    expect_describe(stubber, NAME, "RUNNING")
    result = _invoke(client, stubber, "start", "--env", "dev")
    assert result.exit_code == 0 and "already running" in result.output


def test_app_start_rejects_contradictory_options():
    result = CliRunner().invoke(app_group,
                                ["start", "--env", "dev", "--snapshot", "s", "--no-restore"],
                                obj=object())
    assert result.exit_code == 1 and "exclude each other" in result.output
