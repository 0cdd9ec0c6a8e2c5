#!/usr/bin/env bash
# The tests that need a real PostgreSQL (backup verification: pg_restore reading a dump, a
# restore into a scratch database): installs PostgreSQL from Debian's packages when it is
# missing, starts a throwaway cluster on loopback, runs the tests marked `postgres` (ignored by a
# plain `cargo test`, which has no database), and stops the cluster whatever happens.
#
#   tests/postgres/run.sh [cargo test arguments...]
#
# The superuser's URL reaches the tests in SCALINGO_DB_TEST_POSTGRES; its password is random,
# given to initdb in a file, never on a command line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-contrib >/dev/null
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

work="$(mktemp -d)"
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root.
  chown postgres "$work"
  as_owner=(runuser -u postgres --)
fi
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
(umask 077 && printf '%s\n' "$password" >"$work/password")
[ "$(id -u)" = 0 ] && chown postgres "$work/password"

# A free loopback port: ask the kernel for one.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"${as_owner[@]}" "$bin/initdb" --pgdata="$work/data" --username=postgres --auth=scram-sha-256 \
  --pwfile="$work/password" --encoding=UTF8 --locale=C >"$work/initdb.log"
rm -f "$work/password"
stop() {
  "${as_owner[@]}" "$bin/pg_ctl" --pgdata="$work/data" --mode=fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT
"${as_owner[@]}" "$bin/pg_ctl" --pgdata="$work/data" --log="$work/server.log" --wait \
  --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$work \
  -c fsync=off -c full_page_writes=off" start >/dev/null

export SCALINGO_DB_TEST_POSTGRES="postgres://postgres:$password@127.0.0.1:$port/postgres"
export SCALINGO_DB_TEST_POSTGRES_BIN="$bin"
cd "$root"
cargo test --locked -p scalingo-db-tests --test it -p scalingo-db-cli --test cli "$@" -- --ignored postgres
