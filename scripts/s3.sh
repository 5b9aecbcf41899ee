#!/usr/bin/env bash
# Starts a private S3-compatible server (moto's server mode) for the test suite and
# prints the environment a Jieyue server reads to use it, as `export` lines:
#
#   eval "$(scripts/s3.sh)"
#
# Idempotent: installs moto into a virtual environment once (pinned versions), starts
# the server on 127.0.0.1 if it is not answering, and creates the test buckets if they
# are missing: `jieyue-test` (read-write) and `jieyue-readonly` (a bucket policy denies
# every write, so a store on it must fail clearly). Tests use a fresh prefix each.
#
#   JIEYUE_TEST_S3_PORT   port (default 55433)
#   JIEYUE_TEST_S3_VENV   virtual environment (default ~/.cache/jieyue/moto-venv)
set -euo pipefail

port="${JIEYUE_TEST_S3_PORT:-55433}"
venv="${JIEYUE_TEST_S3_VENV:-$HOME/.cache/jieyue/moto-venv}"
endpoint="http://127.0.0.1:$port"
log() { printf 's3.sh: %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/moto_server" ]; then
  log "installing moto's S3 server into $venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]==5.2.5' 'boto3==1.44.8' >&2
fi

answering() { curl -s -o /dev/null --max-time 2 "$endpoint/moto-api/" 2>/dev/null; }
if ! answering; then
  state="${XDG_RUNTIME_DIR:-/tmp}/jieyue-test-s3-$port"
  mkdir -p "$state"
  log "starting moto on $endpoint (log: $state/moto.log)"
  setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do
    answering && break
    sleep 0.2
  done
  answering || { log "moto did not start; see $state/moto.log"; exit 1; }
fi

export AWS_ENDPOINT="$endpoint" AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true \
  AWS_ACCESS_KEY_ID=jieyue-test AWS_SECRET_ACCESS_KEY=jieyue-test-secret
"$venv/bin/python" - <<'PY' >&2
import json, os
import boto3
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"],
                  config=Config(s3={"addressing_style": "path"}))
existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
for bucket in ("jieyue-test", "jieyue-readonly"):
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
deny_writes = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": "*",
    "Action": ["s3:PutObject", "s3:DeleteObject"],
    "Resource": "arn:aws:s3:::jieyue-readonly/*"}]}
s3.put_bucket_policy(Bucket="jieyue-readonly", Policy=json.dumps(deny_writes))
PY
for name in AWS_ENDPOINT AWS_REGION AWS_ALLOW_HTTP AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
  printf 'export %s=%q\n' "$name" "${!name}"
done
