# hotel-crm: `make run` serves on SQLite with nothing installed;
# `make test` runs every test on SQLite, and on PostgreSQL when it answers.
SHELL := /bin/bash
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run build test test-sqlite test-postgres test-backup test-crash test-api test-client fuzz lint openapi bench demo clean-data
LOGS := $(CURDIR)/target/test-logs

run:
	cargo run --bin hotel-crm -- serve

build:
	cargo build --workspace

test: test-sqlite test-postgres test-backup test-crash

# The servers of a run log to target/test-logs; tests/pii/scan.py then
# looks there for the test guests' names, phones and e-mail addresses.
test-sqlite:
	@echo "== unit and black-box tests on SQLite"
	@mkdir -p $(LOGS) && rm -f $(LOGS)/sqlite.log
	env -u TEST_DATABASE_URL TEST_LOG_FILE=$(LOGS)/sqlite.log cargo test --workspace
	python3 tests/pii/scan.py $(LOGS)/sqlite.log

# PostgreSQL runs when TEST_DATABASE_URL is set or PostgreSQL answers on
# 127.0.0.1:5432; REQUIRE_POSTGRES=1 (CI) makes its absence a failure.
test-postgres:
	@url="$${TEST_DATABASE_URL:-}"; \
	if [ -z "$$url" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then url="$(PG_TEST_URL)"; fi; \
	if [ -z "$$url" ]; then \
	  if [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then echo "PostgreSQL is required but not reachable"; exit 1; fi; \
	  echo "== PostgreSQL not reachable on 127.0.0.1:5432 and TEST_DATABASE_URL unset: PostgreSQL tests not run"; \
	else \
	  echo "== black-box tests on PostgreSQL"; \
	  mkdir -p $(LOGS) && rm -f $(LOGS)/postgresql.log; \
	  TEST_DATABASE_URL="$$url" TEST_LOG_FILE=$(LOGS)/postgresql.log cargo test -p crm-tests && \
	  python3 tests/pii/scan.py $(LOGS)/postgresql.log; \
	fi

# SIGKILL in the middle of a burst of channel pushes and redemptions, on
# SQLite, and on PostgreSQL when it answers (REQUIRE_POSTGRES=1: it must).
test-crash:
	@echo "== crash safety"
	cargo build --quiet --bin hotel-crm
	@if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  python3 tests/crash/check.py sqlite postgresql; \
	elif [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then echo "PostgreSQL is required but not reachable"; exit 1; \
	else python3 tests/crash/check.py sqlite; fi

# Schemathesis against the committed spec and a running server (bounded:
# SCHEMATHESIS_MAX_EXAMPLES cases per operation, default 10).
test-api:
	cargo build --quiet --bin hotel-crm
	bash tests/schemathesis/run.sh

# A Python client generated from the spec logs in, creates a guest, pushes
# a reservation and reads points.
test-client:
	cargo build --quiet --bin hotel-crm
	bash tests/clients/run.sh

# cargo-fuzz over the OTA XML parser, the segment rule compiler and the
# import row parser, FUZZ_SECONDS (30) each from the seeds in tests/fuzz/seeds.
# The machine has the stable toolchain only: RUSTC_BOOTSTRAP lets it take
# cargo-fuzz's instrumentation flags, and without a sanitizer runtime (-s
# none) libFuzzer catches panics, hangs and runaway memory.
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd tests/fuzz && for t in ota_xml segment_rule import_row; do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --fuzz-dir . -O $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$${FUZZ_SECONDS:-30} -max_len=4096 -timeout=10 -rss_limit_mb=1024 || exit 1; \
	done

# Backup and restore as docs/deployment.md describes them, on SQLite, and
# on PostgreSQL when it answers (REQUIRE_POSTGRES=1: it must).
test-backup:
	@echo "== backup and restore"
	cargo build --quiet --bin hotel-crm
	@if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  bash tests/backup/check.sh; \
	elif [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then echo "PostgreSQL is required but not reachable"; exit 1; \
	else BACKUP_BACKENDS=sqlite bash tests/backup/check.sh; fi

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Regenerates the committed spec; the `spec` test fails when it is stale.
openapi:
	cargo run --quiet --bin hotel-crm -- openapi > openapi/openapi.json

bench:
	bash bench/run.sh

# Demo data in the database `make run` uses (DEMO_GUESTS, DEMO_SEED).
demo:
	cargo run --release --bin hotel-crm -- seed-demo --guests $${DEMO_GUESTS:-20000} --seed $${DEMO_SEED:-42}

clean-data:
	rm -rf data
