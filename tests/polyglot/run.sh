#!/usr/bin/env bash
# The contract as other teams use it: for each language, a client generated from openapi.yaml with
# pinned generators, compiled or type-checked, then one short flow against the sandbox binary
# (token exchange, every users and backups operation, a download, the error paths). Called by
# .ci/run; usable by hand:
#
#   tests/polyglot/run.sh [language ...]     # default: every directory here with a run.sh
#
# Each `<language>/run.sh` installs its pinned tools under target/polyglot/<language> (reused by
# the next run), generates its client there, and runs its flow with these variables:
#
#   SANDBOX_URL          the sandbox's root URL (token flow at /v1, Database API at /api)
#   SANDBOX_API_TOKEN    an API token it accepts
#   SANDBOX_APP          the app of the database
#   SANDBOX_DATABASE     the database's addon id (PostgreSQL)
#   POLYGLOT_WORK        target/polyglot/<language>, for tools and generated code
#   POLYGLOT_SPEC        openapi.yaml
#
# Faults are injected through the sandbox's control routes: POST $SANDBOX_URL/_sandbox/faults
# with {"operation": "<operationId>", "times": 1, "fault": {"kind": "status", ...}}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sandbox_bin="${SANDBOX_BIN:-$root/target/debug/scalingo-db-sandbox}"

if (( $# > 0 )); then
  languages=("$@")
else
  languages=()
  for script in "$here"/*/run.sh; do
    languages+=("$(basename "$(dirname "$script")")")
  done
fi

# shellcheck source=scripts/sandbox-lib.sh
source "$root/scripts/sandbox-lib.sh"
# Backups take a moment, so that the flows wait for one; archives are small.
start_sandbox "$sandbox_bin" --enable-control --backup-scheduled-ms 200 --backup-running-ms 300 \
  --archive-size 64K

export SANDBOX_URL="$sandbox_base"
export SANDBOX_API_TOKEN="$(grep -m1 'API token:' "$sandbox_log" | awk '{print $NF}')"
export SANDBOX_APP="sandbox-app"
export SANDBOX_DATABASE="ad-5a4b0d7e-sandbox-postgresql"
export POLYGLOT_SPEC="$root/openapi.yaml"

status=0
for language in "${languages[@]}"; do
  export POLYGLOT_WORK="$root/target/polyglot/$language"
  mkdir -p "$POLYGLOT_WORK"
  started=$SECONDS
  if "$here/$language/run.sh"; then
    echo "polyglot: $language passed in $((SECONDS - started)) s"
  else
    echo "polyglot: $language FAILED after $((SECONDS - started)) s"
    status=1
  fi
done
exit "$status"
