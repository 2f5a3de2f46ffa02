#!/usr/bin/env bash
# main.sh - the main job: installs what is missing, builds listgate, and runs
# `listgate serve --discard` on the example table shipped in tools/example,
# then drives a scripted LMTP session against it (pipelined, as an MTA
# would), prints the server's metrics, and stops it with SIGTERM.
# On a fresh Debian 12 machine, as root:  bash tools/main.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-debian.sh build
if [[ ! -f build-release/build.ninja ]]; then
  meson setup build-release --buildtype=release >/dev/null
fi
ninja -C build-release src/app/listgate

bin=build-release/src/app/listgate
log=$(mktemp /tmp/listgate-main-XXXXXX.log)
"$bin" check tools/example/lists.json

"$bin" serve -c tools/example/listgate.cfg --discard 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q 'event=listening' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.05
done
grep -q 'event=listening' "$log" || { cat "$log"; echo "listgate did not start"; exit 1; }
lmtp=$(grep -o 'lmtp=[^ ]*' "$log" | head -1 | cut -d= -f2)
metrics=$(grep -o 'metrics=[^ ]*' "$log" | head -1 | cut -d= -f2)

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

echo "== scripted LMTP session with listgate on $lmtp"
exec 3<>"/dev/tcp/${lmtp%:*}/${lmtp##*:}"
read_replies
send "LHLO mta.example.com"
read_replies
# One pipelined group: envelope, a known list, an unknown one, a VERP bounce,
# an owner address through the alias domain, and the message.
send "MAIL FROM:<author@example.com> BODY=8BITMIME" \
     "RCPT TO:<announce@lists.example.org>" \
     "RCPT TO:<no-such-list@lists.example.org>" \
     "RCPT TO:<announce-bounces+alice=example.com@lists.example.org>" \
     "RCPT TO:<DEV-owner@lists.example.net>" \
     "RCPT TO:<support-request@lists.example.org>" \
     "DATA" \
     "From: author@example.com" \
     "Subject: hello from the main job" \
     "" \
     "..a dot-stuffed line" \
     "." \
     "QUIT"
read_replies
exec 3>&-

echo "== metrics from http://$metrics/metrics"
exec 4<>"/dev/tcp/${metrics%:*}/${metrics##*:}"
printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n' >&4
grep -E '^listgate_(transactions|recipients|body_bytes|commands|connections_total)' <&4 || true
exec 4>&-

kill -TERM "$server"
wait "$server"
echo "== listgate's log"
cat "$log"
