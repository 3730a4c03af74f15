#!/usr/bin/env bash
# make bench: release build, 100,000 generated guests on SQLite and on
# PostgreSQL, then at 16 connections with wrk: GET guest by id, search by
# phone prefix, search by name (pinyin). Prints requests/s, p50/p99 and the
# server's peak RSS; on PostgreSQL also pgbench doing the same primary-key
# lookup in the same run, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

GUESTS="${BENCH_GUESTS:-100000}"
DURATION="${BENCH_DURATION:-20s}"
CONNECTIONS=16
PORT="${BENCH_PORT:-18181}"
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_URL="${PG_ADMIN_URL%/*}/hotel_crm_bench"
WORK=$(mktemp -d)
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib; }

echo "== release build"
cargo build --release --quiet --bin hotel-crm
BIN=target/release/hotel-crm

export HOTEL_CRM_JWT_SECRET=bench-jwt-secret-bench-jwt-secret-0001
export HOTEL_CRM_DATA_KEY=$(printf '%064d' 7)
export HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL=bench@localhost
export HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD=bench-password-123
export HOTEL_CRM_ACCESS_TOKEN_TTL_SECS=3600
export HOTEL_CRM_BIND=127.0.0.1:$PORT
# Access logging at info costs a write per request; production keeps it,
# the benchmark measures the API.
export RUST_LOG=warn

api() { curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }

run_wrk() { # name values-file prefix suffix
  BENCH_VALUES="$2" BENCH_PREFIX="$3" BENCH_SUFFIX="$4" BENCH_TOKEN="$TOKEN" \
    wrk -t2 -c$CONNECTIONS -d"$DURATION" -s bench/random_path.lua "http://127.0.0.1:$PORT" \
    | grep '^RESULT' | sed "s/^RESULT/$1/"
}

bench_backend() { # name database-url
  local name=$1 url=$2
  echo "== $name: seeding $GUESTS guests"
  export DATABASE_URL=$url
  "$BIN" serve >"$WORK/server-$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  TOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
    -d "{\"grant_type\":\"password\",\"email\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  ORG=$(api /api/v1/me | python3 -c 'import json,sys; print(json.load(sys.stdin)["organization"]["id"])')
  local t0=$(date +%s)
  "$BIN" seed-guests --org "$ORG" --count "$GUESTS" >/dev/null
  echo "   seeded in $(( $(date +%s) - t0 ))s"
  # Measure a settled database: statistics gathered, seeding's dirty pages
  # written out, as a production database would be.
  if [ "$name" = postgresql ]; then
    psql -qAt "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  else
    sqlite3 "$url" "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  fi

  # Inputs: 10,000 guest ids; phone prefixes matching 10 guests each;
  # pinyin names (family + given) as clerks type them.
  local q="SELECT id FROM guests WHERE org_id = '$ORG' ORDER BY id"
  if [ "$name" = postgresql ]; then
    psql -qAt "$url" -c "$q" | awk 'NR % 10 == 1' > "$WORK/ids"
  else
    sqlite3 "$url" "$q" | awk 'NR % 10 == 1' > "$WORK/ids"
  fi
  python3 - "$WORK" "$GUESTS" <<'PY'
import sys, random
work, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(f"{work}/phones", "w") as f:
    for _ in range(5000):
        i = random.randrange(n)
        f.write("139%07d\n" % (i // 10))
family = ["wang","li","zhang","liu","chen","yang","huang","zhao","wu","zhou","xu","sun","ma","zhu","hu","guo","he","gao","lin","luo"]
given = ["wei","fang","na","min","jing","li","qiang","lei","jun","yang","yong","yan","jie","juan","tao","ming","chao","xiuying","xia","ping"]
with open(f"{work}/names", "w") as f:
    for _ in range(5000):
        f.write(random.choice(family) + random.choice(given) + random.choice(given) + "\n")
PY
  run_wrk "$name get_by_id" "$WORK/ids" "/api/v1/guests/" ""
  run_wrk "$name search_phone_prefix" "$WORK/phones" "/api/v1/guests?limit=10&q=" ""
  run_wrk "$name search_name_pinyin" "$WORK/names" "/api/v1/guests?limit=10&q=" ""
  echo "$name server_peak_rss_mb=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status)"

  if [ "$name" = postgresql ]; then
    # The same primary-key lookup, straight from PostgreSQL, same clients.
    psql -qAt "$url" -c "CREATE TABLE bench_ids (n INTEGER PRIMARY KEY, id TEXT NOT NULL)" \
      -c "INSERT INTO bench_ids SELECT row_number() OVER (ORDER BY id), id FROM guests WHERE org_id = '$ORG'" >/dev/null
    local count=$(psql -qAt "$url" -c "SELECT count(*) FROM bench_ids")
    cat > "$WORK/pk.sql" <<SQL
\set n random(1, $count)
SELECT g.* FROM guests g WHERE g.org_id = '$ORG' AND g.id = (SELECT id FROM bench_ids WHERE n = :n);
SQL
    local tps=$(pgbench -n -M prepared -c $CONNECTIONS -j 2 -T "${DURATION%s}" -f "$WORK/pk.sql" "$url" 2>/dev/null \
      | awk '/^tps/ {printf "%.0f", $3}')
    echo "postgresql pgbench_pk_lookup tps=$tps"
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

BACKENDS="${BENCH_BACKENDS:-sqlite postgresql}"
{
  if [[ " $BACKENDS " == *" sqlite "* ]]; then
    bench_backend sqlite "$WORK/bench.sqlite3"
  fi
  if [[ " $BACKENDS " == *" postgresql "* ]]; then
    psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_bench WITH (FORCE)" -c "CREATE DATABASE hotel_crm_bench" >/dev/null 2>&1
    bench_backend postgresql "$PG_URL"
    psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_bench WITH (FORCE)" >/dev/null
  fi
} | tee "$WORK/results"
[[ " $BACKENDS " == *" postgresql "* ]] || exit 0

get_rps=$(grep '^postgresql get_by_id' "$WORK/results" | sed 's/.*rps=\([0-9]*\).*/\1/')
tps=$(grep '^postgresql pgbench_pk_lookup' "$WORK/results" | sed 's/.*tps=\([0-9]*\).*/\1/')
python3 -c "print('ratio get_by_id / pgbench = %.2f (target >= 0.5)' % ($get_rps / $tps))"
