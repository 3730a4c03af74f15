#!/usr/bin/env bash
# make test-client: generates a Python client from openapi/openapi.json with
# openapi-python-client (from PyPI) and runs smoke.py with it against a
# server on a fresh SQLite database.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/debug/hotel-crm}
PORT=${CLIENT_PORT:-18491}
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v openapi-python-client >/dev/null || python3 -m pip install --quiet --disable-pip-version-check openapi-python-client
openapi-python-client generate --path openapi/openapi.json --meta none \
  --output-path "$WORK/hotel_crm_client" >"$WORK/generate.log" 2>&1 || { cat "$WORK/generate.log"; exit 1; }
export HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL=client@localhost HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD=client-password-123
DATABASE_URL="$WORK/client.sqlite3" HOTEL_CRM_BIND=127.0.0.1:$PORT HOTEL_CRM_JOBS_INTERVAL_SECS=0 RUST_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.2; done
PYTHONPATH="$WORK" python3 tests/clients/smoke.py "http://127.0.0.1:$PORT" \
  "$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL" "$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD"
