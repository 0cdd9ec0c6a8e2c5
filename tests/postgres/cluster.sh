# Shell helpers for a throwaway PostgreSQL server on loopback; `source` this file.
#
#   start_postgres
#
# installs PostgreSQL from Debian's packages when it is missing, starts a cluster in a temporary
# folder on a free loopback port (as the `postgres` user when run as root: PostgreSQL refuses
# root), and sets `postgres_url` (the superuser's URL, with a random password that was given to
# initdb in a file, never on a command line) and `postgres_bin` (its programs' folder). The
# cluster is stopped and removed when the calling script exits.

start_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql postgresql-contrib >/dev/null
  fi
  postgres_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  postgres_work="$(mktemp -d)"
  postgres_as_owner=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$postgres_work"
    postgres_as_owner=(runuser -u postgres --)
  fi
  local password port
  password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  (umask 077 && printf '%s\n' "$password" >"$postgres_work/password")
  if [ "$(id -u)" = 0 ]; then chown postgres "$postgres_work/password"; fi
  # A free loopback port: ask the kernel for one.
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${postgres_as_owner[@]}" "$postgres_bin/initdb" --pgdata="$postgres_work/data" \
    --username=postgres --auth=scram-sha-256 --pwfile="$postgres_work/password" --encoding=UTF8 \
    --locale=C >"$postgres_work/initdb.log"
  rm -f "$postgres_work/password"
  trap stop_postgres EXIT
  "${postgres_as_owner[@]}" "$postgres_bin/pg_ctl" --pgdata="$postgres_work/data" \
    --log="$postgres_work/server.log" --wait \
    --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$postgres_work \
    -c fsync=off -c full_page_writes=off" start >/dev/null
  postgres_url="postgres://postgres:$password@127.0.0.1:$port/postgres"
}

stop_postgres() {
  "${postgres_as_owner[@]}" "$postgres_bin/pg_ctl" --pgdata="$postgres_work/data" --mode=fast \
    stop >/dev/null 2>&1 || true
  rm -rf "$postgres_work"
}
