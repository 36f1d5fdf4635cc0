#!/usr/bin/env bash
# One-shot: create the lake bucket on the S3 server, write the job's properties with the
# pseudonymisation key, then submit the events job to the cluster (detached: the job keeps
# running on the TaskManager after this container exits).
set -euo pipefail
python - <<'PY'
import time

import boto3

s3 = boto3.client("s3", endpoint_url="http://s3:4569", region_name="us-east-1")
for attempt in range(60):
    try:
        s3.create_bucket(Bucket="ecomflow-lake")
        break
    except s3.exceptions.BucketAlreadyOwnedByYou:
        break
    except Exception:  # the server is still starting
        time.sleep(1)
PY
# The job's properties at the path MSF uses, plus this installation's pseudonymisation key:
# generated once into the volume, so hashed ids stay the same across restarts.
python - <<'PY'
import json
import os
import secrets
from pathlib import Path

key_file = Path("/var/lib/ecomflow/privacy.key")
if not key_file.exists():
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o600)
groups = json.loads(Path("/opt/ecomflow/application_properties.json").read_text())
groups.append({"PropertyGroupId": "Privacy",
               "PropertyMap": {"hash.key": key_file.read_text().strip()}})
target = Path("/etc/flink/application_properties.json")
target.parent.mkdir(parents=True, exist_ok=True)
target.touch(mode=0o600)
target.write_text(json.dumps(groups, indent=2))
os.chmod(target, 0o600)
PY
main=$(python -c 'import flink_jobs.msf_main as m; print(m.__file__)')
exec /opt/flink/bin/flink run --detached --jobmanager jobmanager:8081 \
  --python "$main" --pyExecutable /opt/venv/bin/python --pyClientExecutable /opt/venv/bin/python
