#!/usr/bin/env bash
# Measures `scalingo-db backups verify` on a large PostgreSQL dump, beside what checking it by hand
# costs, and prints the figures. A benchmark, not a test: run it by hand.
#
#   scripts/bench-verify.sh [dump size in MiB, default 1024]
#
# It starts a throwaway PostgreSQL (tests/postgres/cluster.sh), fills a table with
# hard-to-compress rows until `pg_dump -Fc` makes about the size asked, packs the dump as the
# platform does (a .tar.gz), then times, each once on a warm page cache:
#   - pg_restore --list on the extracted dump (the table of contents alone: what a quick look
#     proves);
#   - tar -xzf, then pg_restore --file=/dev/null (what proving every data block reads by hand
#     takes, and the disk a second copy needs);
#   - scalingo-db backups verify --file on the archive (every check, one pass, no copy), with its
#     peak memory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mib="${1:-1024}"

cargo build --quiet --release --locked -p scalingo-db-cli --manifest-path "$root/Cargo.toml"
cli="$root/target/release/scalingo-db"
# shellcheck source=tests/postgres/cluster.sh
source "$root/tests/postgres/cluster.sh"
start_postgres
export PGPASSWORD="${postgres_url#postgres://postgres:}"
PGPASSWORD="${PGPASSWORD%%@*}"
db_url="${postgres_url%/postgres}/bench"
plain_url="postgres://postgres@${postgres_url#*@}"
plain_url="${plain_url%/postgres}/bench"
"$postgres_bin/psql" -q --dbname="postgres://postgres@${postgres_url#*@}" -c "CREATE DATABASE bench"

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-verify.XXXXXX")"
cleanup() { rm -rf "$work"; stop_postgres; }
trap cleanup EXIT

# About 78 bytes of pg_dump output per row (measured: md5 hex compresses to about half).
rows=$(( size_mib * 1024 * 1024 / 78 ))
echo "seeding $rows rows for a dump of about $size_mib MiB..." >&2
"$postgres_bin/psql" -q --dbname="$plain_url" -c "CREATE TABLE big (id bigint, a text, b text);
  INSERT INTO big SELECT i, md5(i::text) || md5((i * 7)::text), md5((i * 13)::text) || md5((i * 31)::text)
  FROM generate_series(1, $rows) i;
  CREATE TABLE small (id int PRIMARY KEY, name text);
  INSERT INTO small SELECT i, 'row ' || i FROM generate_series(1, 1000) i;"
"$postgres_bin/pg_dump" --format=custom --dbname="$plain_url" --file="$work/bench.pgsql"
tar -C "$work" -cf - bench.pgsql | gzip -1 >"$work/bench.tar.gz"
dump_bytes=$(stat -c %s "$work/bench.pgsql")
archive_bytes=$(stat -c %s "$work/bench.tar.gz")
cat "$work/bench.tar.gz" "$work/bench.pgsql" >/dev/null  # warm the page cache for every run

seconds() { local start=$1 end=$2; awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", (e - s) / 1e9 }'; }

start=$(date +%s%N)
"$postgres_bin/pg_restore" --list "$work/bench.pgsql" >/dev/null
list_s=$(seconds "$start" "$(date +%s%N)")

mkdir "$work/extract"
start=$(date +%s%N)
tar -C "$work/extract" -xzf "$work/bench.tar.gz"
"$postgres_bin/pg_restore" --file=/dev/null "$work/extract/bench.pgsql"
by_hand_s=$(seconds "$start" "$(date +%s%N)")
rm -rf "$work/extract"

start=$(date +%s%N)
/usr/bin/time -f '%M' -o "$work/rss" "$cli" --json backups verify --file "$work/bench.tar.gz" \
  --type postgresql --postgres-bin "$postgres_bin" >"$work/report.json"
verify_s=$(seconds "$start" "$(date +%s%N)")
verdict=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["verdict"], sum(r["dump"]["rows"].values()), "rows")' "$work/report.json")
rss_kib=$(cat "$work/rss")

mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
echo "dump $(mib "$dump_bytes") (pg_dump -Fc), archive $(mib "$archive_bytes"), $(nproc) cores"
echo "pg_restore --list on the extracted dump:          ${list_s} s (the table of contents only)"
echo "tar -xzf + pg_restore --file=/dev/null, by hand:  ${by_hand_s} s (and a second copy on disk)"
echo "scalingo-db backups verify --file:                 ${verify_s} s, peak memory $(( rss_kib / 1024 )) MiB: $verdict"
