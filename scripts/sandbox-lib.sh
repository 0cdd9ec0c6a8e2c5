# Shell helpers to run the sandbox binary from a script; `source` this file.
#
#   start_sandbox path/to/scalingo-db-sandbox [flags...]
#
# starts it on a free loopback port and sets `sandbox_base` (http://127.0.0.1:<port>),
# `sandbox_log` (its output, with the banner and tokens) and `sandbox_pid`; it is stopped when the
# calling script exits.

start_sandbox() {
  local binary="$1"
  shift
  sandbox_log="$(mktemp)"
  "$binary" --listen 127.0.0.1:0 "$@" >"$sandbox_log" 2>&1 &
  sandbox_pid=$!
  trap 'kill "$sandbox_pid" 2>/dev/null || true; rm -f "$sandbox_log"' EXIT
  sandbox_base=""
  for _ in $(seq 1 100); do
    sandbox_base="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$sandbox_log" | head -n 1 || true)"
    [ -n "$sandbox_base" ] && return 0
    sleep 0.1
  done
  echo "the sandbox did not start:" >&2
  cat "$sandbox_log" >&2
  return 1
}
