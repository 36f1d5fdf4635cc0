#!/usr/bin/env bash
# One-shot: create the lake bucket on the S3 server, then submit the events job to the cluster
# (detached: the job keeps running on the TaskManager after this container exits).
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
main=$(python -c 'import flink_jobs.msf_main as m; print(m.__file__)')
exec /opt/flink/bin/flink run --detached --jobmanager jobmanager:8081 \
  --python "$main" --pyExecutable /opt/venv/bin/python --pyClientExecutable /opt/venv/bin/python
