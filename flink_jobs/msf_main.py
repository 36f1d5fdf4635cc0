"""Entry point on Amazon Managed Service for Apache Flink (shipped as `main.py` in the zip).

MSF runs this file with the runtime property groups in /etc/flink/application_properties.json,
configures checkpointing itself, and expects main() to return once the job is submitted. The
warehouse password and the pseudonymisation key are read from Secrets Manager first when the
groups name a secret (flink_jobs/secrets.py).
"""

from __future__ import annotations

from flink_jobs.environment import create_table_environment
from flink_jobs.events_job import build
from flink_jobs.properties import load_property_groups, msf_properties_path
from flink_jobs.secrets import resolve_secrets
from flink_jobs.settings import JobSettings


def main() -> None:
    # The warehouse password and the hash key live in Secrets Manager on AWS: read them here,
    # once, on the client, before any SQL is built (options carry them to the task managers).
    groups = resolve_secrets(load_property_groups(msf_properties_path()))
    settings = JobSettings.from_property_groups(groups, local=False)
    t_env = create_table_environment(settings)
    # Submit and return: MSF watches the job; waiting here would block the service's deploy.
    build(t_env, settings).execute()


if __name__ == "__main__":
    main()
