"""`ecomflow deploy --env ENV`: everything ecomflow/aws/deploy.py does, as a command."""

from __future__ import annotations

from pathlib import Path

import click

from ecomflow.aws import names as aws_names
from ecomflow.aws.deploy import (
    AwsClients,
    CdkCli,
    DeployError,
    DeployRequest,
    deploy,
)
from ecomflow.cli.errors import fail

# -- `ecomflow deploy` ------------------------------------------------------------------------

@click.command("deploy")
@click.option("--env", "env", type=click.Choice(aws_names.ENVIRONMENTS), required=True)
@click.option("--region", help="AWS region (default: your AWS configuration).")
@click.option("--profile", help="AWS named profile.")
@click.option("--alert-email", help="Subscribe this address to the alarms (kept on later "
                                    "deploys when omitted).")
@click.option("--package", "package_zip", type=click.Path(dir_okay=False, path_type=Path),
              help="Deploy this prebuilt zip instead of building one.")
@click.option("--no-start", is_flag=True, help="Leave a stopped application stopped.")
@click.option("--fresh-start", is_flag=True,
              help="If the new plan cannot restore the running job's state, stop the job "
                   "with a snapshot and start the new one without state (default: stop the "
                   "deploy before the application is touched).")
def deploy_command(env: str, region: str | None, profile: str | None, alert_email: str | None,
                   package_zip: Path | None, no_start: bool, fresh_start: bool) -> None:
    """Build, upload and deploy everything to AWS, then start or update the Flink job."""
    import boto3

    from ecomflow.aws.package import PackageError

    session = boto3.Session(profile_name=profile, region_name=region)
    if session.region_name is None:
        fail("no AWS region: pass --region or configure one (AWS_REGION, ~/.aws/config)")
    try:
        result = deploy(
            DeployRequest(env=env, alert_email=alert_email, package=package_zip,
                          start=not no_start, fresh_start=fresh_start),
            aws=AwsClients.from_session(session),
            cdk=CdkCli(region=session.region_name, profile=profile),
            report=lambda line: click.echo(line, err=True))
    except (DeployError, PackageError) as exc:
        fail(str(exc))
    ingest = result.outputs.get(aws_names.stack_name(env, "ingest"), {})
    click.echo(f"deployed {env}: {aws_names.application_name(env)} {result.status.lower()}")
    if ingest:
        click.echo(f"collection endpoint  {ingest.get(aws_names.OUTPUT_API_URL)}")
        click.echo(f"API key              aws apigateway get-api-key --include-value "
                   f"--api-key {ingest.get(aws_names.OUTPUT_API_KEY_ID)}")
