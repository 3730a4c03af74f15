#!/usr/bin/env bash
# make test-backup: the backup and restore of docs/deployment.md, tried.
# On each database: a server writes a guest (with an encrypted identity
# document), a loyalty membership and an audit trail; the database is
# backed up while the server runs (pg_dump -Fc; SQLite's online backup API,
# what `sqlite3 .backup` uses), restored into a new database, a server
# started on the copy, and the same reads must give the same answers.
# BACKUP_BACKENDS=sqlite or postgresql runs one.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/debug/hotel-crm}
PORT=${BACKUP_PORT:-18291}
PG_ADMIN_URL="${BACKUP_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export HOTEL_CRM_JWT_SECRET=backup-check-jwt-secret-0123456789abcdef
export HOTEL_CRM_DATA_KEY=$(printf '%064d' 3)
export HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL=backup@localhost
export HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD=backup-password-123
export HOTEL_CRM_BIND=127.0.0.1:$PORT
export HOTEL_CRM_JOBS_INTERVAL_SECS=0
export RUST_LOG=warn
export PGOPTIONS="-c client_min_messages=warning"
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
[ -x "$BIN" ] || cargo build --quiet --bin hotel-crm

serve() { # database-url
  DATABASE_URL=$1 "$BIN" serve >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return; sleep 0.2; done
  cat "$WORK/server.log"; echo "the server did not start"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
call() { # method path [json]
  curl -fsS -X "$1" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    ${3:+-d "$3"} "http://127.0.0.1:$PORT/api/v1$2"
}
login() {
  TOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
    -d "{\"grant_type\":\"password\",\"email\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}
# What must survive: the audit trail (read first: the reads below are
# audited), the guest, its document read back decrypted, the membership.
snapshot() { # guest-id
  local doc
  doc=$(call GET "/guests/$1/identity-documents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
  {
    call GET "/audit-events?entity_id=$1&sort=created_at"
    call GET "/guests/$1"
    call GET "/guests/$1/identity-documents/$doc"
    call GET "/guests/$1/membership"
  } | python3 -c '
import json, sys
dec = json.JSONDecoder()
text = sys.stdin.read()
out, i = [], 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    value, i = dec.raw_decode(text, i)
    out.append(value)
print(json.dumps(out, sort_keys=True, ensure_ascii=False))'
}
write_data() {
  login
  GUEST=$(call POST /guests '{"family_name":"备份","given_name":"测试","phones":[{"number":"+8613800001111"}],"emails":[{"address":"backup.check@example.com"}]}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  call POST "/guests/$GUEST/identity-documents" '{"type":"passport","number":"E12345678","issuing_country":"CN"}' >/dev/null
  call PUT /loyalty/program '{"name": "Club", "currency": "CNY", "expiry_months": 12, "earn_rates": {"room": {"points": 1, "per_amount": 100}, "food_and_beverage": {"points": 1, "per_amount": 200}}}' >/dev/null
  call POST "/guests/$GUEST/membership" '{"source":"front_desk"}' >/dev/null
}

check_postgresql() {
  local src=hotel_crm_backup_src dst=hotel_crm_backup_dst
  local base=${PG_ADMIN_URL%/*}
  psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $src WITH (FORCE)" -c "DROP DATABASE IF EXISTS $dst WITH (FORCE)" -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst" >/dev/null
  serve "$base/$src"
  write_data
  pg_dump -Fc -f "$WORK/backup.dump" "$base/$src"   # online, a consistent snapshot
  local before; before=$(snapshot "$GUEST")
  stop
  pg_restore --no-owner -d "$base/$dst" "$WORK/backup.dump"
  serve "$base/$dst"
  login
  local after; after=$(snapshot "$GUEST")
  stop
  psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $src WITH (FORCE)" -c "DROP DATABASE IF EXISTS $dst WITH (FORCE)" >/dev/null
  compare postgresql "$before" "$after"
}

check_sqlite() {
  local src=$WORK/src.sqlite3 dst=$WORK/restored.sqlite3
  serve "$src"
  write_data
  # Online backup while the server runs (WAL mode), as `.backup` does.
  python3 -c "
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()" "$src" "$WORK/backup.sqlite3"
  local before; before=$(snapshot "$GUEST")
  stop
  cp "$WORK/backup.sqlite3" "$dst"
  serve "$dst"
  login
  local after; after=$(snapshot "$GUEST")
  stop
  compare sqlite "$before" "$after"
}

compare() { # backend before after
  if [ "$2" != "$3" ]; then
    echo "$1: the restored database answers differently"
    diff <(echo "$2" | python3 -m json.tool) <(echo "$3" | python3 -m json.tool) || true
    exit 1
  fi
  case "$2" in *E12345678*) ;; *) echo "$1: the document number was not read back"; exit 1;; esac
  echo "$1: backup restored, the server on the copy answers the same ($(echo -n "$2" | wc -c) bytes compared)"
}

for backend in ${BACKUP_BACKENDS:-sqlite postgresql}; do
  "check_$backend"
done
