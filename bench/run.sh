#!/usr/bin/env bash
# make bench: release build, 100,000 generated guests on SQLite and on
# PostgreSQL, then at 16 connections with wrk: GET guest by id, search by
# phone prefix, search by name (pinyin). Prints requests/s, p50/p99 and the
# server's peak RSS; on PostgreSQL also pgbench doing the same primary-key
# lookup in the same run, and the ratio; then channel ingestion and loyalty
# (see bench_ingest and bench_loyalty), and contract performance
# (bench_contracts), and analytics on demo data (bench_analytics); scale-out
# on two nodes (bench_scaleout).
# BENCH_BACKENDS=postgresql and BENCH_SKIP=wrk,ingest,contracts,loyalty,analytics,tickets,campaigns,import,scaleout
# skip parts; DEMO_GUESTS sizes the analytics data, and
# BENCH_ANALYTICS_REUSE=1 measures (and keeps) an earlier run's seeded data.
set -euo pipefail
cd "$(dirname "$0")/.."

GUESTS="${BENCH_GUESTS:-100000}"
RESERVATIONS="${BENCH_RESERVATIONS:-20000}"
DURATION="${BENCH_DURATION:-20s}"
CONNECTIONS=16
PORT="${BENCH_PORT:-18181}"
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_URL="${PG_ADMIN_URL%/*}/hotel_crm_bench"
WORK=$(mktemp -d)
SERVER_PID=
SECOND_PID=
# However the run ends, what it measured goes into bench/results.md.
finish() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$SECOND_PID" ] && kill "$SECOND_PID" 2>/dev/null
  [ -s "$WORK/results" ] && python3 bench/summarise.py "$WORK/results" bench/results.md
  rm -rf "$WORK"
}
trap finish EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib; }

echo "== release build"
cargo build --release --quiet --bin hotel-crm --bin ingest-bench --bin loyalty-bench --bin import-bench --bin scaleout-bench
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

skipped() { [[ ",${BENCH_SKIP:-}," == *",$1,"* ]]; }

api() { curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }

run_wrk() { # name values-file prefix suffix
  BENCH_VALUES="$2" BENCH_PREFIX="$3" BENCH_SUFFIX="$4" BENCH_TOKEN="$TOKEN" \
    wrk -t2 -c$CONNECTIONS -d"$DURATION" -s bench/random_path.lua "http://127.0.0.1:$PORT" \
    | grep '^RESULT' | sed "s/^RESULT/$1/"
}

post() { curl -fsS -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "http://127.0.0.1:$PORT$1" -d "$2"; }

# Channel ingestion on PostgreSQL: RESERVATIONS distinct bookings, JSON and
# OTA XML, 20 % duplicates, 10 % newer and 10 % stale modifications; then
# pgbench inserting the same rows, one transaction per reservation.
# The property MAIN ready for channel bookings (room type DLK, rate plan
# BAR) and a channel manager's token, in CTOKEN.
channel_setup() {
  local prop=$(api /api/v1/properties | python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["data"] if p["code"]=="MAIN"][0])')
  post "/api/v1/properties/$prop/room-types" '{"code":"DLK","name":"Deluxe King","room_count":5000,"max_occupancy":3}' >/dev/null
  post "/api/v1/properties/$prop/rate-plans" '{"code":"BAR","name":"Flexible","meal_plan":"breakfast","cancellation_policy":{"type":"free_until","hours_before_arrival":48,"fee":{"type":"first_night"}}}' >/dev/null
  local client=$(post /api/v1/clients '{"name":"bench channel manager","grants":{"channels":["ctrip","ota"]}}')
  local cid=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
  local secret=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
  CTOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$cid\",\"client_secret\":\"$secret\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

bench_ingest() { # database-url
  local url=$1
  local prop=$(api /api/v1/properties | python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["data"] if p["code"]=="MAIN"][0])')
  channel_setup
  local result=$(target/release/ingest-bench "http://127.0.0.1:$PORT" "$CTOKEN" "$RESERVATIONS" MAIN $CONNECTIONS)
  echo "$result" | sed 's/^ingest/postgresql ingest/'
  local rt=$(psql -qAt "$url" -c "SELECT id FROM room_types WHERE code = 'DLK'")
  local rp=$(psql -qAt "$url" -c "SELECT id FROM rate_plans WHERE code = 'BAR'")
  cat > "$WORK/ingest.sql" <<'SQL'
BEGIN;
INSERT INTO guests (id, org_id, family_name_latin, given_name_latin, phones, emails, preferences, tags, resident, blacklisted, version, created_by, created_at, updated_at) VALUES (gen_random_uuid()::text, :org, 'Guest', 'Bench', '[]', '[{"address":"pgbench@bench.example","kind":"personal"}]', '{}', '[]', false, false, 1, 'pgbench', now(), now()) RETURNING id AS guest_id \gset
INSERT INTO guest_search_terms (org_id, guest_id, term) VALUES (:org, :guest_id, 'guestbench'), (:org, :guest_id, 'benchguest'), (:org, :guest_id, 'pgbench@bench.example');
INSERT INTO reservations (id, org_id, property_id, guest_id, channel, channel_code, channel_reservation_id, channel_last_modified, confirmation_number, status, currency, total_amount, version, created_by, created_at, updated_at) VALUES (gen_random_uuid()::text, :org, :prop, :guest_id, 'ota', 'pgbench', gen_random_uuid()::text, now(), gen_random_uuid()::text, 'confirmed', 'CNY', 91600, 1, 'pgbench', now(), now()) RETURNING id AS res_id \gset
INSERT INTO reservation_rooms (id, org_id, reservation_id, property_id, room_type_id, rate_plan_id, arrival, departure, adults, children_ages, amount, cancellation_policy, holds_inventory) VALUES (gen_random_uuid()::text, :org, :res_id, :prop, :rt, :rp, current_date + 30, current_date + 32, 2, '[]', 91600, '{"type":"non_refundable"}', true);
INSERT INTO reservation_revisions (id, org_id, reservation_id, version, action, actor_kind, actor_id, changed_fields, raw_message, created_at) VALUES (gen_random_uuid()::text, :org, :res_id, 1, 'created', 'client', 'pgbench', '[]', '{"action":"create"}', now());
INSERT INTO channel_messages (id, org_id, channel_code, channel_reservation_id, action, last_modified, message_hash, outcome, reservation_id, created_at) VALUES (gen_random_uuid()::text, :org, 'pgbench', gen_random_uuid()::text, 'create', now(), gen_random_uuid()::text, 'created', :res_id, now());
INSERT INTO audit_events (id, org_id, actor_kind, actor_id, action, entity_type, entity_id, request_id, changed_fields, created_at) VALUES (gen_random_uuid()::text, :org, 'client', 'pgbench', 'reservation.created', 'reservation', :res_id, NULL, '[]', now());
END;
SQL
  local tps=$(pgbench -n -M extended -c $CONNECTIONS -j 2 -T "${DURATION%s}" -D org="$ORG" -D prop="$prop" -D rt="$rt" -D rp="$rp" -f "$WORK/ingest.sql" "$url" 2>"$WORK/pgbench-ingest.err" \
    | awk '/^tps/ {printf "%.0f", $3}')
  [ -n "$tps" ] || { cat "$WORK/pgbench-ingest.err"; tps=0; }
  echo "postgresql pgbench_reservation_insert tps=$tps"
}

# Contract performance on PostgreSQL: 200 active contracts and 1,000,000
# room stays booked under them (80 % checked out, 15 % on the books, 5 %
# cancelled, a tenth off-rate), seeded with SQL; then
# GET /contracts/{id}/performance on random contracts with wrk at one
# connection and at 16.
bench_contracts() { # database-url
  local url=$1
  local prop=$(api /api/v1/properties | python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["data"] if p["code"]=="MAIN"][0])')
  post "/api/v1/properties/$prop/room-types" '{"code":"CTR","name":"Corporate King","room_count":500,"max_occupancy":2}' >/dev/null
  post "/api/v1/properties/$prop/rate-plans" '{"code":"CORP","name":"Corporate","meal_plan":"breakfast","cancellation_policy":{"type":"non_refundable"}}' >/dev/null
  local account=$(post /api/v1/accounts '{"kind":"corporate","legal_name":"基准测试科技有限公司"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local template=$(post /api/v1/contract-templates '{"name":"Bench","clauses":[{"kind":"price_terms","title":"价格条款","body":"{{rates_table}}"}]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  post "/api/v1/contract-templates/$template/versions/1/publish" '{}' >/dev/null
  local t0=$(date +%s)
  psql -qAt "$url" -v ON_ERROR_STOP=1 -v org="$ORG" -v prop="$prop" -v account="$account" -v template="$template" >/dev/null <<'SQL'
CREATE TEMP TABLE bench_contracts AS
SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, 200) AS n;
INSERT INTO contracts (id, org_id, code, account_id, status, current_version, version, created_by, created_at, updated_at)
SELECT id, :'org', 'BENCH-' || n, :'account', 'active', 1, 1, 'bench', now(), now() FROM bench_contracts;
INSERT INTO contract_versions (id, org_id, contract_id, number, status, template_version_id, title, property_ids, valid_from, valid_to,
  currency, rates, room_night_commitment, allotment_per_night, enforcement, pace_alert_percent, signed_at, created_by, created_at, updated_at)
SELECT gen_random_uuid()::text, :'org', c.id, 1, 'signed',
  (SELECT id FROM contract_template_versions WHERE template_id = :'template' AND number = 1),
  'Bench ' || c.n, json_build_array(:'prop')::text, current_date - 300, current_date + 65, 'CNY',
  json_build_array(json_build_object('property_id', :'prop', 'room_type_id', (SELECT id FROM room_types WHERE code = 'CTR'),
    'rate_plan_id', NULL, 'price_per_night', 42800, 'seasons', json_build_array(), 'breakfast_included', true))::text,
  12000, 20, 'reject', 80, now(), 'bench', now(), now()
FROM bench_contracts c;
CREATE TEMP TABLE bench_guests AS SELECT row_number() OVER () AS n, id FROM guests WHERE org_id = :'org' LIMIT 100000;
INSERT INTO reservations (id, org_id, property_id, guest_id, channel, channel_code, confirmation_number, status, currency,
  total_amount, version, created_by, created_at, updated_at, account_id, contract_id)
SELECT gen_random_uuid()::text, :'org', :'prop', g.id, 'phone', 'bench', 'BC' || i,
  CASE WHEN (i / 200) % 20 = 0 THEN 'cancelled' WHEN (i / 200) % 20 < 4 THEN 'confirmed' ELSE 'checked_out' END, 'CNY',
  85600, 1, 'bench', now(), now(), :'account', c.id
FROM generate_series(1, 1000000) AS gs (i)
JOIN bench_contracts c ON c.n = 1 + i % 200
JOIN bench_guests g ON g.n = 1 + i % (SELECT count(*) FROM bench_guests);
INSERT INTO reservation_rooms (id, org_id, reservation_id, property_id, room_type_id, rate_plan_id, arrival, departure, adults,
  children_ages, amount, cancellation_policy, holds_inventory, negotiated_amount, contract_id)
SELECT gen_random_uuid()::text, r.org_id, r.id, r.property_id, (SELECT id FROM room_types WHERE code = 'CTR'),
  (SELECT id FROM rate_plans WHERE code = 'CORP'),
  current_date - 300 + (substr(r.confirmation_number, 3)::int * 7) % 364,
  current_date - 298 + (substr(r.confirmation_number, 3)::int * 7) % 364, 1, '[]',
  CASE WHEN (substr(r.confirmation_number, 3)::int / 200) % 10 = 1 THEN 80000 ELSE 85600 END,
  '{"type":"non_refundable"}', false, 85600, r.contract_id
FROM reservations r WHERE r.channel_code = 'bench';
SQL
  psql -qAt "$url" -c "VACUUM ANALYZE reservations" -c "VACUUM ANALYZE reservation_rooms" -c "VACUUM ANALYZE contracts" -c "VACUUM ANALYZE contract_versions" >/dev/null
  local stays=$(psql -qAt "$url" -c "SELECT count(*) FROM reservation_rooms rr JOIN reservations r ON r.id = rr.reservation_id WHERE r.contract_id IS NOT NULL")
  echo "postgresql contracts seeded contracts=200 room_stays=$stays in $(( $(date +%s) - t0 ))s"
  psql -qAt "$url" -c "SELECT id FROM contracts WHERE code LIKE 'BENCH-%'" > "$WORK/contracts"
  local sample=$(head -1 "$WORK/contracts")
  api "/api/v1/contracts/$sample/performance" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("   sample: produced %d on_the_books %d off_rate %d cancellations %d months %d" % (d["produced_room_nights"], d["on_the_books_room_nights"], d["off_rate_room_nights"], d["cancellations"], len(d["months"])))'
  BENCH_VALUES="$WORK/contracts" BENCH_PREFIX="/api/v1/contracts/" BENCH_SUFFIX="/performance" BENCH_TOKEN="$TOKEN" \
    wrk -t1 -c1 -d"$DURATION" -s bench/random_path.lua "http://127.0.0.1:$PORT" | grep '^RESULT' | sed 's/^RESULT/postgresql contract_performance c=1/'
  run_wrk "postgresql contract_performance c=$CONNECTIONS" "$WORK/contracts" "/api/v1/contracts/" "/performance"
}

# Loyalty on PostgreSQL: balance and statement of a member with 10,000
# ledger entries and a redemption burst (loyalty-bench), then the expiry job
# over 1,000,000 lots seeded with SQL (10 lots of 10 points for each of
# 100,000 members, all past their expiry date), then the ledger audit.
bench_loyalty() { # database-url
  local url=$1
  curl -fsS -X PUT -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    "http://127.0.0.1:$PORT/api/v1/loyalty/program" \
    -d '{"name":"Bench club","currency":"CNY","expiry_months":12,"earn_rates":{"room":{"points":1,"per_amount":100}}}' >/dev/null
  target/release/loyalty-bench "http://127.0.0.1:$PORT" "$TOKEN" | sed 's/^loyalty/postgresql loyalty/'
  psql -qAt "$url" -v org="$ORG" >/dev/null <<'SQL'
INSERT INTO loyalty_members (id, org_id, guest_id, member_number, tier_id, source, joined_on, tier_since, next_review_on, points_balance, version, created_at, updated_at)
SELECT gen_random_uuid()::text, :'org', g.id, 'B' || lpad((row_number() OVER ())::text, 9, '0'),
       (SELECT id FROM loyalty_tiers WHERE org_id = :'org' ORDER BY rank LIMIT 1),
       'bench-expiry', current_date - 400, current_date - 400, current_date + 365, 100, 1, now(), now()
FROM guests g
WHERE g.org_id = :'org' AND NOT EXISTS (SELECT 1 FROM loyalty_members m WHERE m.guest_id = g.id)
LIMIT 100000;
INSERT INTO points_entries (id, org_id, member_id, entry_type, points, source_type, source_id, created_by, created_at)
SELECT gen_random_uuid()::text, m.org_id, m.id, 'bonus', 10, 'campaign', 'bench-' || n, 'bench', now() - interval '400 days'
FROM loyalty_members m, generate_series(1, 10) AS n
WHERE m.source = 'bench-expiry';
INSERT INTO points_lots (id, org_id, member_id, entry_id, points, remaining, expires_on, created_at)
SELECT gen_random_uuid()::text, e.org_id, e.member_id, e.id, 10, 10, current_date - 35, e.created_at
FROM points_entries e WHERE e.source_id LIKE 'bench-%';
VACUUM ANALYZE loyalty_members;
VACUUM ANALYZE points_entries;
VACUUM ANALYZE points_lots;
SQL
  local lots=$(psql -qAt "$url" -c "SELECT count(*) FROM points_lots WHERE remaining > 0 AND expires_on < current_date")
  local t0=$(date +%s.%N)
  "$BIN" jobs run points-expiry | sed 's/^/   /'
  local t1=$(date +%s.%N)
  python3 -c "print('postgresql loyalty points_expiry lots=$lots seconds=%.1f (target < 30)' % ($t1 - $t0))"
  "$BIN" jobs run loyalty-audit | head -3 | sed 's/^/   /'
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
  if ! skipped wrk; then
  run_wrk "$name get_by_id" "$WORK/ids" "/api/v1/guests/" ""
  run_wrk "$name search_phone_prefix" "$WORK/phones" "/api/v1/guests?limit=10&q=" ""
  run_wrk "$name search_name_pinyin" "$WORK/names" "/api/v1/guests?limit=10&q=" ""
  echo "$name server_peak_rss_mb=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status)"
  fi

  if [ "$name" = postgresql ] && ! skipped wrk; then
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
  if [ "$name" = postgresql ]; then
    skipped ingest || bench_ingest "$url"
    skipped contracts || bench_contracts "$url"
    skipped loyalty || bench_loyalty "$url"
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

# Analytics on PostgreSQL: seed-demo with DEMO_GUESTS guests (1,000,000 by
# default; about 2.6 stays each) into a database of its own, then a
# five-condition segment preview and every report through the API, each
# against the same SQL written by hand and run with psql (median of 5).
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_api() { # method path [body] -> seconds
  for _ in 1 2 3 4 5; do
    if [ "$1" = POST ]; then
      curl -fsS -o /dev/null -w '%{time_total}\n' -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "http://127.0.0.1:$PORT$2" -d "$3"
    else
      curl -fsS -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$2"
    fi
  done | median
}
time_psql() { # url sql -> seconds: five runs in one psql session, timed by
  # psql's \timing (the server's answer, without psql's start-up)
  local f=$(mktemp)
  # Every statement ends in a semicolon, or psql runs the five as one.
  { echo '\timing on'; for _ in 1 2 3 4 5; do echo "${2%;};"; done; } > "$f"
  psql -qAt "$1" -f "$f" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | python3 -c '
import sys, statistics
t = [float(x) for x in sys.stdin.read().split()]
per = len(t) // 5
runs = [sum(t[i * per:(i + 1) * per]) / 1000 for i in range(5)]
print("%.4f" % statistics.median(runs))'
  rm -f "$f"
}
bench_analytics() {
  local url="${PG_ADMIN_URL%/*}/hotel_crm_analytics"
  local guests="${DEMO_GUESTS:-1000000}"
  # BENCH_ANALYTICS_REUSE=1 measures a database seeded by an earlier run
  # (and keeps it), skipping the quarter of an hour a million guests take.
  local reuse="${BENCH_ANALYTICS_REUSE:-0}"
  if [ "$reuse" = 1 ] && psql -qAt "$url" -c "SELECT 1 FROM guests LIMIT 1" >/dev/null 2>&1; then
    echo "== postgresql: reusing the seeded hotel_crm_analytics ($(psql -qAt "$url" -c "SELECT count(*) FROM guests") guests)"
    local t0=$(date +%s.%N)
    DATABASE_URL=$url "$BIN" migrate >/dev/null
    python3 -c "print('postgresql migrate seconds=%.1f' % ($(date +%s.%N) - $t0))"
  else
    psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_analytics WITH (FORCE)" -c "CREATE DATABASE hotel_crm_analytics" >/dev/null 2>&1
    echo "== postgresql: seed-demo --guests $guests"
    local t0=$(date +%s.%N)
    DATABASE_URL=$url /usr/bin/time -f '%M' -o "$WORK/seed-rss" "$BIN" seed-demo --guests "$guests" --seed 42 --batch 5000 | tail -1 | sed 's/^/   /'
    local t1=$(date +%s.%N)
    echo "postgresql demo_seed peak_rss_mb=$(awk '{printf "%.1f", $1/1024}' "$WORK/seed-rss")"
    local stays=$(psql -qAt "$url" -c "SELECT count(*) FROM stays")
    python3 -c "print('postgresql demo_seed guests=$guests stays=$stays seconds=%.1f guests_per_s=%.0f' % ($t1 - $t0, $guests / ($t1 - $t0)))"
  fi
  psql -qAt "$url" -c "VACUUM ANALYZE" >/dev/null
  DATABASE_URL=$url "$BIN" serve >"$WORK/server-analytics.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  TOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
    -d "{\"grant_type\":\"password\",\"email\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  local org=$(api /api/v1/me | python3 -c 'import json,sys; print(json.load(sys.stdin)["organization"]["id"])')
  local rule='{"rule": {"all": [
    {"field": "nationality", "op": "in", "value": ["CN", "JP"]},
    {"any": [{"field": "stays", "op": "gte", "value": 3}, {"field": "tag", "op": "eq", "value": "vip"}]},
    {"field": "last_stay_days_ago", "op": "lte", "value": 365},
    {"not": {"field": "blacklisted", "op": "eq", "value": true}},
    {"field": "consent", "op": "in", "value": ["marketing_email", "marketing_sms"]}]}}'
  local count=$(post /api/v1/segments/preview "$rule" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
  local where="org_id = '$org' AND nationality IN ('CN', 'JP') AND (stays >= 3 OR guest_id IN (SELECT guest_id FROM guest_tags WHERE org_id = '$org' AND tag = 'vip')) AND last_stay_on >= current_date - 365 AND NOT blacklisted AND (consents LIKE '%|marketing_email|%' OR consents LIKE '%|marketing_sms|%')"
  local hand_count=$(psql -qAt "$url" -c "SELECT count(*) FROM guest_insights WHERE $where")
  local api_s=$(time_api POST /api/v1/segments/preview "$rule")
  local sql_s=$(time_psql "$url" "SELECT count(*) FROM guest_insights WHERE $where; SELECT guest_id FROM guest_insights WHERE $where ORDER BY guest_id LIMIT 20")
  python3 -c "print('postgresql segment_preview_5_conditions members=$count (psql: $hand_count) api_s=%.3f psql_s=%.3f ratio=%.2f (targets: ratio <= 1.5, api < 2 s)' % ($api_s, $sql_s, $api_s / $sql_s))"
  for r in guest-structure channel-mix spend-distribution repeat-stay-rate retention-cohorts lifetime-value churn-risk loyalty-liability dashboard; do
    local s=$(time_api GET /api/v1/reports/$r)
    echo "postgresql report $r seconds=$s (target < 3)"
  done
  local mix_api=$(time_api GET /api/v1/reports/channel-mix)
  local mix_sql=$(time_psql "$url" "SELECT channel, count(*), sum(nights), sum(CASE WHEN currency = 'CNY' THEN total_revenue ELSE 0 END) FROM stays WHERE org_id = '$org' GROUP BY channel; SELECT channel, count(*), sum(CASE WHEN status IN ('cancelled', 'no_show', 'walked') THEN 1 ELSE 0 END) FROM reservations WHERE org_id = '$org' GROUP BY channel")
  python3 -c "print('postgresql report channel-mix api_s=%.3f psql_s=%.3f ratio=%.2f' % ($mix_api, $mix_sql, $mix_api / $mix_sql))"
  local churn_api=$(time_api GET /api/v1/reports/churn-risk)
  local churn_sql=$(time_psql "$url" "SELECT churn_grade, count(*) FROM guest_insights WHERE org_id = '$org' GROUP BY churn_grade")
  python3 -c "print('postgresql report churn-risk api_s=%.3f psql_s=%.3f ratio=%.2f' % ($churn_api, $churn_sql, $churn_api / $churn_sql))"
  echo "postgresql analytics server_peak_rss_mb=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status) (target < 300)"
  skipped tickets || bench_tickets "$url" "$org"
  skipped campaigns || bench_campaigns "$url" "$org"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  [ "$reuse" = 1 ] || psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_analytics WITH (FORCE)" >/dev/null
}

# The ticket SLA scan on PostgreSQL: 100,000 open tickets (SQL), 99,000
# acknowledged and watched for their resolution, 1,000 that just missed
# their acknowledgement. The first scan escalates those 1,000 (events,
# notifications, webhook outbox); the second finds nothing due, the scan of
# every minute. Both through POST /tickets/sla-scan, median of 5 for the
# second.
bench_tickets() { # database-url org
  local url=$1 org=$2
  local prop=$(psql -qAt "$url" -c "SELECT id FROM properties WHERE org_id = '$org' ORDER BY id LIMIT 1")
  psql -qAt "$url" -c "DELETE FROM ticket_events WHERE org_id = '$org'" -c "DELETE FROM staff_notifications WHERE org_id = '$org'" -c "DELETE FROM tickets WHERE org_id = '$org'" >/dev/null
  psql -qAt "$url" >/dev/null <<SQL
INSERT INTO tickets (id, org_id, property_id, kind, category, severity, priority, vip, status, subject, channel,
  acknowledge_due, resolve_due, hard_due, next_due, breaches, escalation_level, acknowledged_at, reopen_count,
  malicious, version, created_by, created_at, updated_at)
SELECT gen_random_uuid()::text, '$org', '$prop', 'complaint', 'quality', 'medium', 3, false,
  CASE WHEN n <= 1000 THEN 'new' ELSE 'acknowledged' END, 'bench ticket ' || n, 'front_desk',
  c + interval '60 minutes', c + interval '24 hours', c + interval '48 hours',
  CASE WHEN n <= 1000 THEN c + interval '60 minutes' ELSE c + interval '24 hours' END,
  '', 0, CASE WHEN n <= 1000 THEN NULL ELSE c + interval '10 minutes' END, 0, false, 1, 'bench', c, c
FROM (SELECT n, CASE WHEN n <= 1000 THEN (now() AT TIME ZONE 'UTC') - interval '61 minutes'
                     ELSE (now() AT TIME ZONE 'UTC') - (n % 1200) * interval '1 minute' END AS c
      FROM generate_series(1, 100000) n) s;
ANALYZE tickets;
SQL
  local first=$(curl -fsS -o "$WORK/scan1" -w '%{time_total}' -X POST -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/tickets/sla-scan")
  echo "postgresql ticket_sla_scan open=100000 $(python3 -c "import json; r=json.load(open('$WORK/scan1')); print('due=%d escalated=%d' % (r['examined'], r['escalated']))") seconds=$first"
  local steady=$(time_api POST /api/v1/tickets/sla-scan '')
  echo "postgresql ticket_sla_scan open=100000 due=0 seconds=$steady (target < 0.2)"
}

# A campaign to a 100,000-guest segment of the demo data (the first
# 100,000 guests tagged by SQL): e-mail and SMS templates in Chinese and
# English, a personal coupon code per recipient. Times the send from
# POST /campaigns/{id}/send to `completed` (the server's own started_at and
# completed_at, and the client's wall clock): every member considered,
# consent and the weekly cap applied, each message rendered and queued or
# recorded as suppressed.
bench_campaigns() { # database-url org
  local url=$1 org=$2
  psql -qAt "$url" >/dev/null <<SQL
DELETE FROM guest_tags WHERE org_id = '$org' AND tag = 'bench-campaign';
INSERT INTO guest_tags (org_id, guest_id, tag)
  SELECT org_id, id, 'bench-campaign' FROM guests WHERE org_id = '$org' ORDER BY id LIMIT 100000;
-- A database reused from an earlier run: its bench campaigns' messages
-- would count against the weekly cap.
DELETE FROM message_outbox WHERE org_id = '$org' AND campaign_id IN (SELECT id FROM campaigns WHERE name = 'bench');
ANALYZE guest_tags;
SQL
  local templates=$(api "/api/v1/message-templates?trigger=campaign&limit=10" | python3 -c 'import json,sys; print(",".join(chr(34) + t["id"] + chr(34) for t in json.load(sys.stdin)["data"]))')
  [ -n "$templates" ] || for t in '"channel": "email", "language": "zh", "subject": "{{offer.title}}", "body": "{{guest.display_name}}您好，{{property.name}}冬季优惠：预订时输入 {{offer.code}}，{{offer.valid_until}}前有效。"' \
           '"channel": "email", "language": "en", "subject": "{{offer.title}}", "body": "Dear {{guest.display_name}}, {{property.name}} has a winter offer for you: book with {{offer.code}} by {{offer.valid_until}}."' \
           '"channel": "sms", "language": "zh", "body": "{{property.name}}：冬季{{offer.title}}，券码{{offer.code}}"'; do
    local id=$(post /api/v1/message-templates "{\"name\": \"bench campaign\", \"trigger\": \"campaign\", $t}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    templates="$templates${templates:+,}\"$id\""
  done
  local seg=$(post /api/v1/segments '{"name": "bench campaign segment", "rule": {"field": "tag", "op": "eq", "value": "bench-campaign"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local today=$(date -u +%F) until=$(date -u -d '+60 days' +%F)
  local id=$(post /api/v1/campaigns "{\"name\": \"bench\", \"segment_id\": \"$seg\", \"template_ids\": [$templates],
    \"cost\": {\"amount\": 1000000, \"currency\": \"CNY\"},
    \"offer\": {\"kind\": \"coupon\", \"code_pattern\": \"WIN-********\", \"discount\": {\"percent\": 15},
      \"valid_from\": \"$today\", \"valid_until\": \"$until\"}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local t0=$(date +%s.%N)
  post /api/v1/campaigns/$id/send '{}' >/dev/null
  # Polled with curl and grep alone: a python per poll would take CPU from
  # the send it measures.
  until api /api/v1/campaigns/$id | grep -q '"status":"completed"'; do sleep 0.2; done
  local t1=$(date +%s.%N)
  api /api/v1/campaigns/$id > "$WORK/campaign"
  api /api/v1/campaigns/$id/results > "$WORK/campaign-results"
  python3 - "$WORK/campaign" "$WORK/campaign-results" "$(python3 -c "print($t1 - $t0)")" <<'PY'
import json, sys
from datetime import datetime
c, r, wall = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
at = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
server = (at(c["completed_at"]) - at(c["started_at"])).total_seconds()
m = r["messages"]
print("postgresql campaign_enqueue audience=%d queued_or_sent=%d suppressed=%d (no_consent=%d frequency_cap=%d no_address=%d other=%d) server_s=%.2f wall_s=%.2f messages_per_s=%.0f (target >= 10000)" % (
    r["audience"], m["queued"] + m["sent"], m["suppressed"], m["suppressed_by_consent"],
    m["suppressed_by_reason"].get("frequency_cap", 0), m["suppressed_by_reason"].get("no_address", 0),
    m["suppressed"] - m["suppressed_by_consent"] - m["suppressed_by_reason"].get("frequency_cap", 0) - m["suppressed_by_reason"].get("no_address", 0),
    server, wall, r["audience"] / server))
PY
}

# Guest import: IMPORT_ROWS (1,000,000) generated rows with 2 % planted
# duplicates, as CSV and as XLSX, each into a fresh database on SQLite and
# on PostgreSQL with `hotel-crm import guests` (rows/s, peak RSS); on
# PostgreSQL the same CSV loaded with COPY into a table of its columns
# (the ratio), then the duplicate scan over the imported guests with
# precision and recall against the planted pairs.
bench_import() {
  local rows=${IMPORT_ROWS:-1000000}
  local dir="$WORK/import"
  target/release/import-bench "$dir" "$rows" 2 | sed 's/^/   /'
  local planted=$(cat "$dir/planted")
  echo "import files: csv $(du -m "$dir/guests.csv" | cut -f1) MB, xlsx $(du -m "$dir/guests.xlsx" | cut -f1) MB"
  local backend url format
  for backend in sqlite postgresql; do
    [[ " $BACKENDS " == *" $backend "* ]] || continue
    for format in csv xlsx; do
      if [ "$backend" = postgresql ]; then
        psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_import WITH (FORCE)" -c "CREATE DATABASE hotel_crm_import" >/dev/null
        url="${PG_ADMIN_URL%/*}/hotel_crm_import"
      else
        rm -f "$WORK/import.sqlite3"*; url="$WORK/import.sqlite3"
      fi
      DATABASE_URL=$url "$BIN" migrate >/dev/null
      DATABASE_URL=$url "$BIN" create-org --name "Import bench" >/dev/null
      local t0=$(date +%s.%N)
      DATABASE_URL=$url /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" import guests "$dir/guests.$format" 2>/dev/null | tail -1 | sed 's/^/   /'
      local t1=$(date +%s.%N)
      python3 -c "print('$backend import $format rows=$rows seconds=%.1f rows_per_s=%.0f peak_rss_mb=%.1f (target < 300)' % ($t1 - $t0, $rows / ($t1 - $t0), $(cat "$WORK/rss") / 1024))"
      if [ "$backend" = postgresql ] && [ "$format" = csv ]; then
        psql -qAt "$url" -c "CREATE TABLE copy_guests (external_id TEXT, name TEXT, latin TEXT, phone TEXT, email TEXT, birthday TEXT, gender TEXT, city TEXT, document TEXT, tags TEXT)" >/dev/null
        local c0=$(date +%s.%N)
        psql -qAt "$url" -c "\copy copy_guests FROM '$dir/guests.csv' WITH (FORMAT csv, HEADER true)" >/dev/null
        local c1=$(date +%s.%N)
        python3 -c "print('postgresql copy csv into an unindexed table rows=$rows seconds=%.1f rows_per_s=%.0f; import/copy time ratio=%.2f' % ($c1 - $c0, $rows / ($c1 - $c0), ($t1 - $t0) / ($c1 - $c0)))"
        # The same rows as the import stored them (guests, search terms,
        # tags, consents, documents, source keys), loaded with COPY into a
        # freshly migrated database: the same tables, indexes and keys.
        local tables="-t guests -t guest_search_terms -t guest_tags -t guest_consents -t guest_identity_documents -t guest_source_keys"
        pg_dump --data-only $tables -f "$WORK/import-rows.sql" "$url"
        psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_import_copy WITH (FORCE)" -c "CREATE DATABASE hotel_crm_import_copy" >/dev/null
        local copy_url="${PG_ADMIN_URL%/*}/hotel_crm_import_copy"
        DATABASE_URL=$copy_url "$BIN" migrate >/dev/null
        pg_dump --data-only -t organizations "$url" | psql -q "$copy_url" >/dev/null
        local r0=$(date +%s.%N)
        psql -q -1 -v ON_ERROR_STOP=1 "$copy_url" -f "$WORK/import-rows.sql" >/dev/null
        local r1=$(date +%s.%N)
        rm -f "$WORK/import-rows.sql"
        psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_import_copy WITH (FORCE)" >/dev/null
        python3 -c "print('postgresql copy of the rows the import stored, same schema, seconds=%.1f; import/copy time ratio=%.2f (target <= 3)' % ($r1 - $r0, ($t1 - $t0) / ($r1 - $r0)))"
        psql -qAt "$url" -c "VACUUM ANALYZE" >/dev/null
        local s0=$(date +%s.%N)
        DATABASE_URL=$url "$BIN" jobs run duplicate-scan-full | sed 's/^/   /'
        local s1=$(date +%s.%N)
        psql -qAt -F ' ' "$url" <<SQL > "$WORK/dupes"
WITH pairs AS (
  SELECT ka.source_key AS a, kb.source_key AS b
  FROM duplicate_candidates c
  JOIN guest_source_keys ka ON ka.org_id = c.org_id AND ka.guest_id = c.guest_a
  JOIN guest_source_keys kb ON kb.org_id = c.org_id AND kb.guest_id = c.guest_b
  WHERE c.status = 'open')
SELECT count(*), count(*) FILTER (WHERE substr(a, 6) = substr(b, 6) AND left(a, 5) <> left(b, 5)) FROM pairs;
SQL
        read -r found correct < "$WORK/dupes"
        python3 -c "
found, correct, planted = $found, $correct, $planted
p = correct / found if found else 0.0
r = correct / planted if planted else 0.0
print('postgresql duplicate_scan guests=$rows planted=%d seconds=%.1f pairs=%d precision=%.3f recall=%.3f (targets: recall >= 0.95 at precision >= 0.98)' % (planted, $s1 - $s0, found, p, r))"
      fi
    done
  done
  psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_import WITH (FORCE)" >/dev/null 2>&1 || true
}

wait_ready() { # port
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$1/ready" >/dev/null 2>&1 && return; sleep 0.2; done
}

# Scale-out on PostgreSQL: channel ingestion (SCALEOUT_RESERVATIONS
# bookings, as bench_ingest) and 800 redemptions over 16 members run
# together (scaleout-bench), first against one node, then against two
# nodes on the same database behind a round-robin client; both runs must
# end as one node ends (every booking once, newest revision; exactly the
# covered redemptions).
# CPU seconds used so far by the hotel-crm nodes and PostgreSQL (all their
# processes).
cpu_seconds() {
  python3 - <<'PY'
import os
hz = os.sysconf("SC_CLK_TCK")
use = {"hotel-crm": 0, "postgres": 0}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    if comm in use:
        use[comm] += sum(int(x) for x in fields[11:15])
print(" ".join(f"{v / hz:.2f}" for v in use.values()))
PY
}

# `scaleout-bench ...` with where the CPU went while it ran.
scaleout_run() { # label urls
  local before=$(cpu_seconds) t0=$(date +%s.%N)
  local out=$(/usr/bin/time -f '%U %S' -o "$WORK/client-cpu" \
    target/release/scaleout-bench "$2" "$CTOKEN" "$TOKEN" "$SCALEOUT_N" MAIN $CONNECTIONS "$1")
  local after=$(cpu_seconds) t1=$(date +%s.%N)
  echo "$out" | sed 's/^scaleout/postgresql scaleout/'
  python3 -c "
b, a = [float(x) for x in '$before'.split()], [float(x) for x in '$after'.split()]
d = [y - x for x, y in zip(b, a)][:2] + [sum(float(x) for x in open('$WORK/client-cpu').read().split())]
t = sum(d) or 1
print('   cpu nodes=%.0f%% postgresql=%.0f%% load_generator=%.0f%% of %.1f CPU-seconds in %.1f s: %.0f%% of the machine\'s %d cores busy' % (100 * d[0] / t, 100 * d[1] / t, 100 * d[2] / t, t, $t1 - $t0, 100 * t / (($t1 - $t0) * $(nproc)), $(nproc)))"
}

bench_scaleout() {
  local url="${PG_ADMIN_URL%/*}/hotel_crm_scaleout"
  local port2=$((PORT + 1))
  local n="${SCALEOUT_RESERVATIONS:-4000}"
  psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_scaleout WITH (FORCE)" -c "CREATE DATABASE hotel_crm_scaleout" >/dev/null 2>&1
  echo "== postgresql: scale-out, $n bookings and 800 redemptions on one node, then on two"
  DATABASE_URL=$url "$BIN" serve >"$WORK/server-scaleout-1.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "$PORT"
  TOKEN=$(curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$PORT/api/v1/auth/token" \
    -d "{\"grant_type\":\"password\",\"email\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  channel_setup
  curl -fsS -X PUT -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    "http://127.0.0.1:$PORT/api/v1/loyalty/program" \
    -d '{"name":"Bench club","currency":"CNY","expiry_months":12,"earn_rates":{"room":{"points":1,"per_amount":100}}}' >/dev/null
  SCALEOUT_N=$n scaleout_run S1 "http://127.0.0.1:$PORT" | tee "$WORK/scaleout-1"
  HOTEL_CRM_BIND=127.0.0.1:$port2 DATABASE_URL=$url "$BIN" serve >"$WORK/server-scaleout-2.log" 2>&1 &
  SECOND_PID=$!
  wait_ready "$port2"
  SCALEOUT_N=$n scaleout_run S2 "http://127.0.0.1:$PORT,http://127.0.0.1:$port2" | tee "$WORK/scaleout-2"
  DATABASE_URL=$url "$BIN" jobs run loyalty-audit | head -3 | sed 's/^/   /'
  kill "$SERVER_PID" "$SECOND_PID"; wait "$SERVER_PID" "$SECOND_PID" 2>/dev/null || true; SERVER_PID=; SECOND_PID=
  psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_scaleout WITH (FORCE)" >/dev/null
  local one=$(sed -n 's/^postgresql scaleout nodes=1 requests_per_s=\([0-9]*\).*/\1/p' "$WORK/scaleout-1")
  local two=$(sed -n 's/^postgresql scaleout nodes=2 requests_per_s=\([0-9]*\).*/\1/p' "$WORK/scaleout-2")
  [ -n "$one" ] && [ -n "$two" ] && python3 -c "print('ratio scale-out two nodes / one node, requests/s = %.2f (same checks passed on both; one machine of %s cores runs PostgreSQL, both nodes and the client)' % ($two / $one, $(nproc)))"
}

BACKENDS="${BENCH_BACKENDS:-sqlite postgresql}"
{
  # The measuring runs in a subshell (piped to tee): servers it started
  # must not outlive a failure there.
  trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; [ -n "$SECOND_PID" ] && kill "$SECOND_PID" 2>/dev/null' EXIT
  if [[ " $BACKENDS " == *" sqlite "* ]] && ! skipped wrk; then
    bench_backend sqlite "$WORK/bench.sqlite3"
  fi
  if [[ " $BACKENDS " == *" postgresql "* ]]; then
    if ! (skipped wrk && skipped ingest && skipped contracts && skipped loyalty); then
      psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_bench WITH (FORCE)" -c "CREATE DATABASE hotel_crm_bench" >/dev/null 2>&1
      bench_backend postgresql "$PG_URL"
      psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS hotel_crm_bench WITH (FORCE)" >/dev/null
    fi
    skipped analytics || bench_analytics
  fi
  if [[ " $BACKENDS " == *" postgresql "* ]] && ! skipped scaleout; then
    bench_scaleout
  fi
  skipped import || bench_import
} | tee "$WORK/results"
[[ " $BACKENDS " == *" postgresql "* ]] || exit 0

if grep -q '^postgresql get_by_id' "$WORK/results"; then
  get_rps=$(grep '^postgresql get_by_id' "$WORK/results" | sed 's/.*rps=\([0-9]*\).*/\1/')
  tps=$(grep '^postgresql pgbench_pk_lookup' "$WORK/results" | sed 's/.*tps=\([0-9]*\).*/\1/')
  python3 -c "print('ratio get_by_id / pgbench = %.2f (target >= 0.5)' % ($get_rps / $tps))" | tee -a "$WORK/results"
fi
grep -q '^postgresql ingest messages' "$WORK/results" || exit 0
ingest_rps=$(grep '^postgresql ingest messages' "$WORK/results" | sed 's/.*reservations_per_s=\([0-9]*\).*/\1/')
ingest_tps=$(grep '^postgresql pgbench_reservation_insert' "$WORK/results" | sed 's/.*tps=\([0-9]*\).*/\1/')
python3 -c "print('ratio ingestion reservations/s / pgbench inserts = %.2f (target >= 0.3)' % ($ingest_rps / max($ingest_tps, 1)))" | tee -a "$WORK/results"
