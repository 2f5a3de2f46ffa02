#!/usr/bin/env bash
# main.sh - the main job: installs what is missing, builds listgate, starts
# the bundled SMTP sink (listgate-sink) and `listgate serve` relaying to it
# (tools/example/listgate.cfg with --smtp pointed at the sink; spool and
# bounce log in a temporary directory), drives a scripted LMTP session
# against it (pipelined, as an MTA would), shows what the sink recorded as
# delivered, prints the server's metrics, stops both with SIGTERM, then runs
# the benchmarks: `listgate-bench e2e` (bench/load: LMTP load through
# listgate relaying into the sink, 10 s, with a throughput plot) and the
# fan-out benchmark (bench/fanout: one post to a 100,000-member list into
# the sink, against the sink driven directly).
# On a fresh Debian 12 machine, as root:  bash tools/main.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-debian.sh build
if [[ ! -f build-release/build.ninja ]]; then
  meson setup build-release --buildtype=release >/dev/null
fi
if ! meson configure build-release | grep -Eq '^\s*benchmarks\s+true'; then
  meson configure build-release -Dbenchmarks=true >/dev/null
fi
ninja -C build-release bench-load bench-fanout

bin=build-release/src/app/listgate
sink_bin=build-release/bench/sink/listgate-sink
fanout_bin=build-release/bench/fanout/listgate-fanout-bench
load_bin=build-release/bench/load/listgate-bench
tmp=$(mktemp -d /tmp/listgate-main-XXXXXX)
server=""
sink=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
  [[ -n "$sink" ]] && kill "$sink" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" check tools/example/lists.json

# Waits until file $1 has a line matching $2 (the process $3 must stay up).
wait_for_line() {
  for _ in $(seq 200); do
    grep -q "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  cat "$1"
  echo "main.sh: no '$2' from pid $3" >&2
  exit 1
}

# The sink: SMTP on a port the kernel picks, every delivered recipient recorded.
"$sink_bin" --listen 127.0.0.1:0 --record "$tmp/sink.record" 2>"$tmp/sink.log" &
sink=$!
wait_for_line "$tmp/sink.log" 'sink listening' "$sink"
smtp=$(grep -o 'smtp=[^ ]*' "$tmp/sink.log" | head -1 | cut -d= -f2)

# The example config, with the table, the spool and the bounce log in the
# temporary directory: serve writes the MTA maps next to the table (regexp
# tables here, which need no postmap).
cp tools/example/lists.json "$tmp/lists.json"
sed -e '/^[[:space:]]*\(table\|spool_dir\|bounce_log\)[[:space:]]*[=:]/d' \
    -e "/^\[listgate\]/a table = $tmp/lists.json\nspool_dir = $tmp/spool\nbounce_log = $tmp/bounces.jsonl\npostfix_map_type = regexp" \
    tools/example/listgate.cfg >"$tmp/listgate.cfg"

"$bin" serve -c "$tmp/listgate.cfg" --smtp "$smtp" 2>"$tmp/listgate.log" &
server=$!
wait_for_line "$tmp/listgate.log" 'event=listening' "$server"
lmtp=$(grep -o 'lmtp=[^ ]*' "$tmp/listgate.log" | head -1 | cut -d= -f2)
metrics=$(grep -o 'metrics=[^ ]*' "$tmp/listgate.log" | head -1 | cut -d= -f2)
grep -q 'mode=relay' "$tmp/listgate.log" || { cat "$tmp/listgate.log"; echo "listgate is not relaying"; exit 1; }

# Prints what the server says until it has been quiet for a moment.
read_replies() {
  local line
  while IFS= read -r -t 1 line <&3; do printf 'S: %s\n' "${line%$'\r'}"; done
}
# Sends lines (CRLF-terminated), echoing them.
send() {
  local l
  for l in "$@"; do printf 'C: %s\n' "$l"; printf '%s\r\n' "$l" >&3; done
}

echo "== scripted LMTP session with listgate on $lmtp, relaying to listgate-sink on $smtp"
exec 3<>"/dev/tcp/${lmtp%:*}/${lmtp##*:}"
read_replies
send "LHLO mta.example.com"
read_replies
# One pipelined group: envelope, a known list (VERP: one transaction per
# member), an unknown one, a VERP bounce, an owner address through the alias
# domain, a list whose name ends in -request, and the message.
send "MAIL FROM:<author@example.com> BODY=8BITMIME" \
     "RCPT TO:<announce@lists.example.org>" \
     "RCPT TO:<no-such-list@lists.example.org>" \
     "RCPT TO:<announce-bounces+alice=example.com@lists.example.org>" \
     "RCPT TO:<DEV-owner@lists.example.net>" \
     "RCPT TO:<support-request@lists.example.org>" \
     "DATA" \
     "From: author@example.com" \
     "Subject: hello from the main job" \
     "Message-ID: <main-job@example.com>" \
     "" \
     "..a dot-stuffed line" \
     "." \
     "QUIT"
read_replies
exec 3>&-

echo "== what the sink recorded as delivered (Message-ID, recipient, envelope sender, body bytes)"
cat "$tmp/sink.record"
echo "== the bounce log"
cat "$tmp/bounces.jsonl" 2>/dev/null || echo "(empty)"
echo "== the Postfix transport map serve wrote next to the table (README: Hooking up your mail server)"
grep -v '^#' "$tmp/postfix_lmtp" 2>/dev/null | grep '[^[:space:]]' || echo "(not written)"

echo "== metrics from http://$metrics/metrics"
exec 4<>"/dev/tcp/${metrics%:*}/${metrics##*:}"
printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&4
grep -E '^listgate_(transactions|recipients|deliveries|posts|owner_messages|bounces|outbound_(transactions|connects|body_bytes)|body_bytes|spool|commands|connections_total)' <&4 || true
exec 4>&-

kill -TERM "$server"
wait "$server"
server=""
kill -TERM "$sink"
wait "$sink"
sink=""
echo "== listgate's log"
cat "$tmp/listgate.log"
echo "== the sink's log"
cat "$tmp/sink.log"

echo "== listgate-bench e2e: 16 LMTP connections, 4 KiB posts, through listgate into listgate-sink (bench/load/README.md)"
plot=build-release/e2e-throughput.svg
"$load_bin" e2e --duration 10s --connections 16 --size 4096 --listgate-cpu 0 --sink-cpu 1 --cpu 1 --plot "$plot"
echo "throughput plot: $plot"

echo "== fan-out benchmark: one post to a 100,000-member list into listgate-sink (bench/fanout/README.md)"
"$fanout_bin" --members 100000
