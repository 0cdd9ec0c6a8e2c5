#!/usr/bin/env bash
# Measures the sandbox's throughput on `GET /api/databases/{db}/users` with wrk, and prints it.
# A benchmark, not a test: run it by hand (`scripts/bench-sandbox.sh [seconds] [connections]`);
# it installs wrk from Debian's packages if it is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-10}"
connections="${2:-64}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)..." >&2
  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi

cargo build --quiet --release --locked -p scalingo-db-sandbox --manifest-path "$root/Cargo.toml"
log="$(mktemp)"
"$root/target/release/scalingo-db-sandbox" --listen 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
base=""
for _ in $(seq 1 100); do
  base="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)"
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { echo "the sandbox did not start"; cat "$log"; exit 1; }
database="ad-5a4b0d7e-sandbox-postgresql"
token="$(grep -m1 'token (valid' "$log" | awk '{print $NF}')"
url="$base/api/databases/$database/users"
curl -fsS -H "Authorization: Bearer $token" "$url" >/dev/null

echo "wrk: GET $url, $connections connections, 2 threads, ${seconds}s ($(nproc) cores shared by wrk and the sandbox)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" | tee /dev/stderr \
  | awk '/Requests\/sec/ {printf "GET users throughput: %.0f requests/s\n", $2}'
