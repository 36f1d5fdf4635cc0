#!/usr/bin/env bash
# One-shot, as `ecomflow deploy` does on AWS: create the lake bucket and put the exchange rates
# in it, write the job's properties in MSF's format with the pseudonymisation key, then submit
# the MSF zip with its own run options (detached: the job keeps running on the TaskManager
# after this container exits).
set -euo pipefail
S3=http://s3:4569
LAKE=ecomflow-lake
# moto's server takes unsigned requests; it is still starting when this container starts.
for attempt in $(seq 60); do
  curl -sf -o /dev/null -X PUT "$S3/$LAKE" || curl -sf -o /dev/null -I "$S3/$LAKE" && break
  [ "$attempt" -lt 60 ] || { echo "error: no S3 server at $S3" >&2; exit 1; }
  sleep 1
done
curl -sf -o /dev/null -T /opt/ecomflow/reference/fx_rates.csv \
  "$S3/$LAKE/reference/fx_rates.csv"
exec python - <<'PY'
import json
import os
import secrets
import zipfile
from pathlib import Path

state = Path("/var/lib/ecomflow")
# This installation's pseudonymisation key: generated once into the volume (never in the
# repository), so hashed ids stay the same across restarts.
key_file = state / "privacy.key"
if not key_file.exists():
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o600)
options = json.loads(Path("/opt/ecomflow/conf/msf-run-options.json").read_text())
groups = json.loads(Path("/opt/ecomflow/application_properties.json").read_text())
groups += [{"PropertyGroupId": "Privacy", "PropertyMap": {"hash.key": key_file.read_text().strip()}},
           {"PropertyGroupId": "kinesis.analytics.flink.run.options", "PropertyMap": options}]
properties = state / "application_properties.json"
properties.touch(mode=0o600)
properties.write_text(json.dumps(groups, indent=2))
os.chmod(properties, 0o600)
# The zip unpacked as MSF unpacks it; the job is submitted with its run options.
app = Path("/tmp/app")
with zipfile.ZipFile("/opt/ecomflow/ecomflow-msf.zip") as archive:
    archive.extractall(app)
command = ["/opt/flink/bin/flink", "run", "--detached", "--jobmanager", "jobmanager:8081",
           "--python", str(app / options["python"]),
           "--jarfile", str(app / options["jarfile"]),
           "--pyFiles", ",".join(str(app / f.rstrip("/")) for f in options["pyFiles"].split(",")),
           "--pyClientExecutable", "/usr/local/bin/python3.11"]
os.chdir(app)
os.environ["ECOMFLOW_APPLICATION_PROPERTIES"] = str(properties)
os.execv(command[0], command)
PY
