#!/usr/bin/env bash
# Runs schemathesis (every check, stateful links included) against the sandbox binary with
# openapi.yaml, and fails on any failure. Called by .ci/run; usable by hand:
#
#   tests/conformance/run.sh [path/to/st] [path/to/scalingo-db-sandbox]
#
# The sandbox listens on a free loopback port; the variables schemathesis.toml reads (tokens, a
# done backup and its link token) are taken from it with curl before the run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
st="${1:-st}"
sandbox_bin="${2:-$root/target/debug/scalingo-db-sandbox}"
# Both may be given relative to the caller's directory; this script changes directory later.
case "$st" in */*) st="$(cd "$(dirname "$st")" && pwd)/$(basename "$st")" ;; esac
sandbox_bin="$(cd "$(dirname "$sandbox_bin")" && pwd)/$(basename "$sandbox_bin")"

# shellcheck source=scripts/sandbox-lib.sh
source "$root/scripts/sandbox-lib.sh"
# Its clock stands still at a time whose recovery window holds the restore example of
# openapi.yaml, so the stateful phase restores and then follows the `GetOperation` link; backups
# and operations end at once, so a restore is never refused for the one before (409).
start_sandbox "$sandbox_bin" --backup-scheduled-ms 0 --backup-running-ms 0 --archive-size 64K \
  --operation-pending-ms 0 --operation-running-ms 0 --frozen-at 2026-08-06T00:00:00Z
base="$sandbox_base"
log="$sandbox_log"

json_field() { python3 -c "import json,sys; print($1)"; }

export SANDBOX_APP="sandbox-app"
export SANDBOX_DATABASE="ad-5a4b0d7e-sandbox-postgresql"
export SANDBOX_API_TOKEN="$(grep -m1 'API token:' "$log" | awk '{print $NF}')"
export SANDBOX_USER_TOKEN="$(curl -fsS -X POST -u ":$SANDBOX_API_TOKEN" "$base/v1/tokens/exchange" \
  | json_field 'json.load(sys.stdin)["token"]')"
export SANDBOX_DATABASE_TOKEN="$(curl -fsS -X POST -H "Authorization: Bearer $SANDBOX_USER_TOKEN" \
  "$base/v1/apps/$SANDBOX_APP/addons/$SANDBOX_DATABASE/token" \
  | json_field 'json.load(sys.stdin)["addon"]["token"]')"
auth=(-H "Authorization: Bearer $SANDBOX_DATABASE_TOKEN")
db_api="$base/api/databases/$SANDBOX_DATABASE"
export SANDBOX_BACKUP="$(curl -fsS "${auth[@]}" "$db_api/backups" \
  | json_field 'json.load(sys.stdin)["database_backups"][0]["id"]')"
export SANDBOX_ARCHIVE_TOKEN="$(curl -fsS "${auth[@]}" "$db_api/backups/$SANDBOX_BACKUP/archive" \
  | json_field 'json.load(sys.stdin)["download_url"].split("token=")[1]')"

cd "$here"
status=0
# The Database API lives under /api; the token flow's operations (tag `auth`) on other hosts, at
# the root. Every other tag is the Database API's, so a new one is covered without a change here.
"$st" run "$root/openapi.yaml" --url "$base/api" --exclude-tag auth \
  --checks all || status=1
# No link leads from one token operation to the other (the token travels in a header, which a
# link cannot set), so there is no stateful phase for them.
"$st" run "$root/openapi.yaml" --url "$base" --include-tag auth --checks all \
  --phases examples,coverage,fuzzing || status=1
exit "$status"
