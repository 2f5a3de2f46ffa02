#!/usr/bin/env bash
# test.sh - the test command: installs what is missing, builds, and runs
# every test. On a fresh Debian 12 machine, as root:  bash tools/test.sh
#
#   1. release build: unit, dialogue and integration tests (both reactor
#      backends); the benchmarks are built, not run
#   2. the same suite built by clang with AddressSanitizer +
#      UndefinedBehaviorSanitizer, then the libFuzzer targets of that build,
#      each for a bounded time
#   3. a real Postfix in front of listgate (tests/postfix/run.sh), and again
#      with the maps `listgate aliases` writes (tests/postfix/maps.sh)
#   4. a real Exim in front of listgate, both of Mailman's set-ups
#      (tests/exim/run.sh)
#
# Ends with one line "N passed, N failed" (test cases, fuzz targets and the
# Postfix and Exim checks) and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

tools/setup-debian.sh test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

fuzz_seconds=${LISTGATE_FUZZ_SECONDS:-20}
results=$(mktemp -d /tmp/listgate-results-XXXXXX)
passed=0
failed=0
failures=()

note() { printf "\n==== [%s] %s\n" "$(date +%T)" "$*"; }
fail() { failed=$((failed + 1)); failures+=("$1"); }

# Adds the counts of every gtest XML report in $1.
count_gtest() {
  local dir=$1 label=$2 tests fails
  tests=$(cat "$dir"/*.xml 2>/dev/null | grep -o '<testsuites tests="[0-9]*" failures="[0-9]*"' |
            sed 's/[^0-9 ]//g' | awk '{t+=$1} END {print t+0}')
  fails=$(cat "$dir"/*.xml 2>/dev/null | grep -o '<testsuites tests="[0-9]*" failures="[0-9]*"' |
            sed 's/[^0-9 ]//g' | awk '{f+=$2} END {print f+0}')
  passed=$((passed + tests - fails))
  failed=$((failed + fails))
  echo "$label: $((tests - fails)) passed, $fails failed"
}

# Builds $1 with the meson options that follow, then runs its test suite.
build_and_test() {
  local dir=$1 label=$2; shift 2
  local compiler=()
  [[ $label == sanitize ]] && compiler=(env CXX=clang++ CC=clang)
  note "$label: build ($dir)"
  if [[ ! -f $dir/build.ninja ]]; then
    "${compiler[@]}" meson setup "$dir" "$@" >"$results/$label-setup.log" 2>&1 || {
      cat "$results/$label-setup.log"; fail "$label setup"; return 1; }
  fi
  ninja -C "$dir" >"$results/$label-build.log" 2>&1 || {
    tail -50 "$results/$label-build.log"; fail "$label build"; return 1; }
  note "$label: tests"
  mkdir -p "$results/$label"
  GTEST_OUTPUT="xml:$results/$label/" meson test -C "$dir" --print-errorlogs --num-processes 2 \
    >"$results/$label-test.log" 2>&1
  local rc=$?
  grep -E '^ *[0-9]+/[0-9]+ ' "$results/$label-test.log" || true
  if ((rc != 0)); then
    grep -B5 -A40 -E 'FAILED|runtime error|Sanitizer|TIMEOUT' "$results/$label-test.log" | head -200
  fi
  local before=$failed
  count_gtest "$results/$label" "$label"
  # A binary that crashed or timed out leaves no failing case in its report.
  if ((rc != 0 && failed == before)); then fail "$label: a test binary crashed or timed out"; fi
}

build_and_test build-release release --buildtype=release

# Sanitizers and fuzzers share one clang build: clang compiles the
# instrumented tests several times faster than g++, and -O1 with line tables
# is enough for readable reports.
build_and_test build-sanitize sanitize --buildtype=plain -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Duse_mimalloc=false -Dbenchmarks=false \
  "-Dcpp_args=-O1 -gline-tables-only -fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer"

for target in build-sanitize/tests/fuzz/fuzz_*; do
  [[ -x $target && -f $target ]] || continue
  name=$(basename "$target")
  corpus=$(mktemp -d /tmp/listgate-corpus-XXXXXX)
  note "fuzz: $name for ${fuzz_seconds}s"
  if "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       "$corpus" "$root/tests/fuzz/seeds/${name#fuzz_}" >"$results/$name.log" 2>&1; then
    passed=$((passed + 1))
    grep -E 'stat::number_of_executed_units|Done' "$results/$name.log" | tail -2
  else
    tail -60 "$results/$name.log"
    fail "$name"
  fi
  rm -rf "$corpus"
done
if ! compgen -G "build-sanitize/tests/fuzz/fuzz_*" >/dev/null; then fail "fuzz targets missing"; fi

# Runs a shell suite against the release build's listgate and sink; the
# suite ends with one line "LABEL: N passed, N failed".
run_mta_suite() {
  local label=$1 script=$2 line
  bash "$script" "$root/build-release/src/app/listgate" "$root/build-release/bench/sink/listgate-sink" \
    >"$results/$label.log" 2>&1
  local rc=$?
  line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed" "$results/$label.log" | tail -1)
  if ((rc == 0)); then tail -5 "$results/$label.log"; else tail -80 "$results/$label.log"; fi
  if [[ -z $line ]]; then
    fail "$label"
    return
  fi
  passed=$((passed + $(echo "$line" | awk '{print $2}')))
  failed=$((failed + $(echo "$line" | awk '{print $4}')))
  if ((rc != 0)); then failures+=("$label"); fi
}

note "postfix: a real Postfix hands list mail to listgate"
run_mta_suite postfix tests/postfix/run.sh
note "postfix-maps: a real Postfix with the maps of listgate aliases (hash, regexp, alias domain)"
run_mta_suite postfix-maps tests/postfix/maps.sh
note "exim: a real Exim hands list mail to listgate (callout and require_files set-ups)"
run_mta_suite exim tests/exim/run.sh

note "summary"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
((failed == 0))
