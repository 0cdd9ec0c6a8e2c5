#!/usr/bin/env bash
# The tests that need a real PostgreSQL (backup verification: pg_restore reading a dump, a
# restore into a scratch database): starts a throwaway server on loopback (`cluster.sh`:
# installed from Debian's packages when missing), runs the tests named `postgres` (ignored by a
# plain `cargo test`, which has no database), and stops the server whatever happens.
#
#   tests/postgres/run.sh [cargo test arguments...]
#
# The superuser's URL reaches the tests in SCALINGO_DB_TEST_POSTGRES, its programs' folder in
# SCALINGO_DB_TEST_POSTGRES_BIN.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/postgres/cluster.sh
source "$root/tests/postgres/cluster.sh"
start_postgres

export SCALINGO_DB_TEST_POSTGRES="$postgres_url"
export SCALINGO_DB_TEST_POSTGRES_BIN="$postgres_bin"
cd "$root"
cargo test --locked -p scalingo-db-tests --test it -p scalingo-db-cli --test cli "$@" -- --ignored postgres
