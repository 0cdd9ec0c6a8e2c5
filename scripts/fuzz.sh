#!/usr/bin/env bash
# Runs every fuzz target under libFuzzer for a while each, and prints how it went. Not a test: CI
# runs the same targets for a second each, with random inputs, inside `cargo test`. Run it by
# hand for the long runs:
#
#   scripts/fuzz.sh [seconds per target] [jobs]     # default: 600 s, 2 targets at a time
#
# Needs a nightly toolchain and cargo-bolero (`cargo install cargo-bolero --locked`). Corpora and
# crashes are kept in `__fuzz__/` beside each target (ignored by git); a crash fails the run and
# its input is printed, to become a unit test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-600}"
jobs="${2:-2}"
target_dir="$root/target/fuzz-build"
logs="$root/target/fuzz-logs"
mkdir -p "$logs"

# package, then the test's full name.
targets=(
  "scalingo-db fuzz::fuzz_any_failing_answer_is_a_typed_error_in_one_line"
  "scalingo-db fuzz::fuzz_a_service_error_of_any_text_is_shown_in_one_line"
  "scalingo-db fuzz::fuzz_a_secret_in_a_body_never_reaches_the_snippet"
  "scalingo-db-generated fuzz_any_body_is_judged_field_by_field"
  "scalingo-db-sandbox fuzz::fuzz_any_range_header_is_within_the_archive_or_refused"
  "scalingo-db-sandbox fuzz::fuzz_any_request_body_is_read_or_refused_with_the_contracts_answer"
  "scalingo-db-cli fuzz::fuzz_any_typed_time_or_hour_is_read_or_refused_with_a_message"
  "scalingo-db-cli fuzz::fuzz_an_rfc_3339_time_reads_back_as_the_same_instant"
  "scalingo-db-cli fuzz::fuzz_a_backup_name_never_leaves_the_chosen_directory"
  "scalingo-db-cli fuzz::fuzz_nothing_but_colours_reaches_the_terminal"
)

run() {
  local package="$1" test="$2"
  local log="$logs/${test##*::}.log"
  if cargo +nightly bolero test --manifest-path "$root/Cargo.toml" -p "$package" \
      --target-dir "$target_dir" -T "${seconds}s" "$test" >"$log" 2>&1; then
    echo "ok    $test: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -n 1)"
  else
    echo "FAIL  $test (see $log)"
    return 1
  fi
}

# Build each package's targets once, one at a time (two builds at once would share two cores).
for package in $(printf '%s\n' "${targets[@]}" | cut -d' ' -f1 | sort -u); do
  first="$(printf '%s\n' "${targets[@]}" | grep "^$package " | head -n 1 | cut -d' ' -f2)"
  cargo +nightly bolero test --manifest-path "$root/Cargo.toml" -p "$package" \
    --target-dir "$target_dir" -T 1s "$first" >"$logs/build-$package.log" 2>&1
done

status=0
pids=()
for target in "${targets[@]}"; do
  # shellcheck disable=SC2086
  run $target &
  pids+=("$!")
  if (( ${#pids[@]} >= jobs )); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"
