#!/usr/bin/env bash
# make test-api: Schemathesis (from PyPI) against the committed spec and a
# server on a fresh SQLite database with an admin token: every operation,
# examples, coverage and fuzzing phases, and stateful links. Checks: no 5xx,
# status codes documented, content types and response bodies as the spec
# says. Bounded: SCHEMATHESIS_MAX_EXAMPLES (default 10) cases per operation.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/debug/hotel-crm}
PORT=${SCHEMATHESIS_PORT:-18591}
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v schemathesis >/dev/null || python3 -m pip install --quiet --disable-pip-version-check schemathesis
export HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL=fuzz@localhost HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD=fuzz-password-123
# The generator sends thousands of requests from one address in minutes.
DATABASE_URL="$WORK/fuzz.sqlite3" HOTEL_CRM_BIND=127.0.0.1:$PORT HOTEL_CRM_JOBS_INTERVAL_SECS=0 \
  HOTEL_CRM_LOGIN_RATE_PER_MIN=0 RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
  -d "{\"grant_type\":\"password\",\"email\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Left out: logout and password change (they would end the run's own
# session), and the duplicate scan, whose body schema crashes Schemathesis's
# coverage phase inside Python ("AST constructor recursion depth
# mismatch"), a fault of the tool, not of the operation.
status=0
schemathesis run openapi/openapi.json \
  --url "http://127.0.0.1:$PORT" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/me/password \
  --exclude-path /api/v1/duplicate-candidates/scan \
  --generation-deterministic \
  --request-timeout 20 \
  --workers 2 \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-target/schemathesis}" "$@" || status=$?
if grep -q "panicked" "$WORK/server.log"; then
  echo "the server panicked:"; grep -A5 panicked "$WORK/server.log" | head -40; status=1
fi
exit $status
