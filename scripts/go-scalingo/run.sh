#!/usr/bin/env bash
# Scalingo's own Go client against the sandbox binary (main.go says what it does). Not in CI: the
# Go module proxy here answers 403 for every github.com/Scalingo/* module, so go-scalingo and its
# go-utils dependencies must come from source trees given by hand (e.g. snapshots of
# github.com/Scalingo/go-scalingo at v11.3.0 and github.com/Scalingo/go-utils):
#
#   scripts/go-scalingo/run.sh <go-scalingo source> <go-utils source>
#
# Nothing of theirs is copied here: the module is built in a temporary copy of this folder whose
# go.mod replaces the modules by those trees. Other dependencies come from the module proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
go_scalingo="$(cd "${1:?the go-scalingo source tree}" && pwd)"
go_utils="$(cd "${2:?the go-utils source tree}" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/go.mod" "$here/main.go" "$work/"
(
  cd "$work"
  go mod edit -replace "github.com/Scalingo/go-scalingo/v11=$go_scalingo" \
    -replace "github.com/Scalingo/go-utils/errors/v3=$go_utils/errors" \
    -replace "github.com/Scalingo/go-utils/pagination=$go_utils/pagination"
  go mod tidy >/dev/null 2>&1
  go build -o probe .
)

cargo build --quiet --release --locked -p scalingo-db-sandbox --manifest-path "$root/Cargo.toml"
# shellcheck source=scripts/sandbox-lib.sh
source "$root/scripts/sandbox-lib.sh"
RUST_LOG=warn start_sandbox "$root/target/release/scalingo-db-sandbox" --enable-control \
  --backup-scheduled-ms 200 --backup-running-ms 300 --archive-size 64K
SANDBOX_URL="$sandbox_base" \
  SANDBOX_API_TOKEN="$(grep -m1 'API token:' "$sandbox_log" | awk '{print $NF}')" \
  SANDBOX_APP=sandbox-app SANDBOX_DATABASE=ad-5a4b0d7e-sandbox-postgresql \
  "$work/probe"
