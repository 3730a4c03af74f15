# hotel-crm: `make run` serves on SQLite with nothing installed;
# `make test` runs every test on SQLite, and on PostgreSQL when it answers.
SHELL := /bin/bash
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run build test test-sqlite test-postgres lint openapi bench demo clean-data

run:
	cargo run --bin hotel-crm -- serve

build:
	cargo build --workspace

test: test-sqlite test-postgres

test-sqlite:
	@echo "== unit and black-box tests on SQLite"
	env -u TEST_DATABASE_URL cargo test --workspace

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
	  TEST_DATABASE_URL="$$url" cargo test -p crm-tests; \
	fi

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
