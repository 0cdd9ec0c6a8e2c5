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
# shellcheck source=scripts/sandbox-lib.sh
source "$root/scripts/sandbox-lib.sh"
# One log line per request would be part of what wrk measures.
RUST_LOG=warn start_sandbox "$root/target/release/scalingo-db-sandbox"
base="$sandbox_base"
log="$sandbox_log"
database="ad-5a4b0d7e-sandbox-postgresql"
token="$(grep -m1 'token (valid' "$log" | awk '{print $NF}')"
url="$base/api/databases/$database/users"
curl -fsS -H "Authorization: Bearer $token" "$url" >/dev/null

echo "wrk: GET $url, $connections connections, 2 threads, ${seconds}s ($(nproc) cores shared by wrk and the sandbox)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" | tee /dev/stderr \
  | awk '/Requests\/sec/ {printf "GET users throughput: %.0f requests/s\n", $2}'
