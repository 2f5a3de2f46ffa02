#!/usr/bin/env bash
# bench/targets.sh COMMAND [BUILD_DIR]: measure issue 4's targets and print them
# (they are recorded, not asserted: the exit status is 0 unless a run broke).
#
#   compare  (a)+(b) run bench/compare.sh and print the CPU/msg and msgs/s ratios
#   table    (c) msgs/s with a 1-list table against a 1,000,000-list table
#   idle     (d) VmRSS of listgate holding 10,000 idle LMTP connections
#   reload   (e) 100 SIGHUP reloads of a 1M-list table during a 100k-message run
#   io       (f) io_uring against epoll at 16 and 256 connections
#   all      all of the above
#
# listgate on CPU 0, the load (and listgate-sink) on CPU 1. Every server is
# stopped by an EXIT trap. Results are appended to bench/results/targets-DATE.md.
# Environment: ROUNDS (3), MESSAGES (100000), IDLE_CONNECTIONS (10000),
# RELOADS (100), RELOAD_MESSAGES (100000), RELOAD_RCPTS (2500), KEEP.
set -euo pipefail
LG_NAME=targets
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

CMD=${1:-}
BUILD=${2:-build-release}
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-100000}
SERVER_CPU=0
LOAD_CPU=1

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case $CMD in compare | table | idle | reload | io | all) ;; -h | --help) usage; exit 0 ;; *) usage >&2; exit 2 ;; esac

LG_TMP=$(mktemp -d /tmp/listgate-targets.XXXXXX)
trap lg_cleanup EXIT
trap 'exit 130' INT TERM
lg_binaries "$BUILD"
ulimit -n 65536 2>/dev/null || true
mkdir -p bench/results
OUT=bench/results/targets-$(date -u +%Y%m%d).md
[[ -e $OUT ]] || printf '# targets.sh results\n\nMachine: %s.\n' "$(lg_machine)" >"$OUT"

record() { printf '%s\n' "$*" | tee -a "$OUT"; }
header() {
    record ""
    record "## $1 ($(date -u '+%Y-%m-%d %H:%M') UTC, build \`$BUILD\`, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    record ""
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# A table of $1 lists of one member each, in the format of tools/example/lists.json.
gen_table() {
    local n=$1 file=$2
    awk -v n="$n" 'BEGIN {
        printf "{ \"domains\": { \"lists.example.org\": {} },\n  \"lists\": [\n"
        for (i = 1; i <= n; i++)
            printf "    { \"address\": \"list-%07d@lists.example.org\", \"members\": [\"m%07d@d%03d.example.com\"] }%s\n", i, i, i % 1000, (i < n ? "," : "")
        printf "  ]\n}\n"
    }' >"$file"
}

# ------------------------------------------------------------------ (a)+(b)
cmd_compare() {
    header "(a), (b): bench/compare.sh"
    local log=$LG_TMP/compare.out
    ROUNDS=$ROUNDS bash bench/compare.sh "$BUILD" | tee "$log" >&2
    local tsv
    tsv=$(grep -o 'bench/results/compare-[0-9-]*\.tsv' "$log" | head -1)
    record "Table: \`${tsv%.tsv}.md\`."
    record ""
    awk -F'\t' -v tsv="$tsv" '
        NR > 1 { cpu[$1 "/" $2] = $6; rate[$1 "/" $2] = $5 }
        END {
            for (l = 1; l <= 2; l++) {
                load = (l == 1 ? "listgate-bench" : "smtp-source")
                s = cpu[load "/smtp-sink"]; d = cpu[load "/discard"]; r = cpu[load "/relay-uring"]; e = cpu[load "/relay-epoll"]
                printf "- (a) %s load: discard %.2f us/msg vs smtp-sink -L %.2f = %.2f (target <= 0.25: %s); relay io_uring %.2f = %.2f, relay epoll %.2f = %.2f (target <= 0.5: %s)\n", \
                    load, d, s, d / s, (d / s <= 0.25 ? "holds" : "does not hold"), r, r / s, e, e / s, (r / s <= 0.5 && e / s <= 0.5 ? "holds" : "does not hold")
            }
            d = rate["listgate-bench/discard"]; s = rate["listgate-bench/smtp-sink"]
            printf "- (b) listgate-bench load: discard %.0f msgs/s vs smtp-sink -L %.0f msgs/s = %.2fx (target >= 3x: %s)\n", d, s, d / s, (d / s >= 3 ? "holds" : "does not hold")
        }' "$tsv" | while IFS= read -r line; do record "$line"; done
}

# ------------------------------------------------------------------ (c)
# One e2e run; prints "msgs_per_s rcpts_per_s cpu_us_per_msg" or fails.
e2e_run() {
    local json=$LG_TMP/e2e.json rc=0
    timeout 900 "$LGBENCH" e2e --listgate-cpu "$SERVER_CPU" --sink-cpu "$LOAD_CPU" --cpu "$LOAD_CPU" --quiet --json "$@" >"$json" 2>"$LG_TMP/e2e.err" || rc=$?
    if ((rc != 0)); then
        lg_say "e2e $* exited $rc"; tail -5 "$LG_TMP/e2e.err" >&2
        echo "0 0 0 FAILED"; return 0
    fi
    jq -r '"\(.msgs_per_s) \(.rcpts_per_s) \(.gateway.cpu_us_per_msg)"' "$json"
}

cmd_table() {
    header "(c): 1-list table against 1,000,000-list table (listgate-bench e2e --lists N --members 1)"
    record "Each shape is run alternately with 1 and 1,000,000 lists, $ROUNDS rounds, medians. \`--rcpts 1\` addresses 64 lists (the prebuilt recipient sets); \`--rcpts 100\` 6,400 distinct lists of the 1M table, every RCPT a lookup."
    record ""
    record "| mode | rcpts/msg | 1 list msgs/s | 1M lists msgs/s | change | 1 list RCPT/s | 1M lists RCPT/s | CPU µs/msg 1 / 1M | target drop <= 10 % |"
    record "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    local mode rcpts n round
    for spec in "discard 1" "discard 100" "relay 1"; do
        read -r mode rcpts <<<"$spec"
        local extra=()
        [[ $mode == discard ]] && extra=(--discard)
        local msgs=$MESSAGES
        ((rcpts > 1)) && msgs=$((MESSAGES / 4))
        : >"$LG_TMP/c1" ; : >"$LG_TMP/c1m"
        for ((round = 1; round <= ROUNDS; round++)); do
            for n in 1 1000000; do
                local out=$LG_TMP/c1; ((n > 1)) && out=$LG_TMP/c1m
                e2e_run "${extra[@]}" --lists "$n" --members 1 --rcpts "$rcpts" --messages "$msgs" >>"$out"
                lg_say "table $mode rcpts=$rcpts lists=$n round $round: $(tail -1 "$out")"
            done
        done
        local a b ar br ac bc
        a=$(cut -d' ' -f1 "$LG_TMP/c1" | median); b=$(cut -d' ' -f1 "$LG_TMP/c1m" | median)
        ar=$(cut -d' ' -f2 "$LG_TMP/c1" | median); br=$(cut -d' ' -f2 "$LG_TMP/c1m" | median)
        ac=$(cut -d' ' -f3 "$LG_TMP/c1" | median); bc=$(cut -d' ' -f3 "$LG_TMP/c1m" | median)
        record "$(awk -v m="$mode" -v r="$rcpts" -v a="$a" -v b="$b" -v ar="$ar" -v br="$br" -v ac="$ac" -v bc="$bc" 'BEGIN {
            ch = (a > 0 ? 100 * (b - a) / a : 0)
            printf "| %s | %s | %.0f | %.0f | %+.1f %% | %.0f | %.0f | %.2f / %.2f | %s |", m, r, a, b, ch, ar, br, ac, bc, (ch >= -10 ? "holds" : "does not hold") }')"
    done
}

# ------------------------------------------------------------------ (d)
cmd_idle() {
    local n=${IDLE_CONNECTIONS:-10000}
    header "(d): VmRSS with $n idle LMTP connections"
    gen_table 1 "$LG_TMP/one.json"
    lg_write_config "$LG_TMP/idle.cfg" "$LG_TMP/one.json" "" $((n + 100))
    local io
    for io in uring epoll; do
        lg_start_listgate "$SERVER_CPU" "$LG_TMP/idle.cfg" --discard --io "$io"
        local before after hwm
        before=$(lg_rss_kib "$LG_PID")
        # The client: opens n connections, reads each greeting, sends LHLO, reads the
        # reply, then holds them all open until stdin closes.
        local fifo=$LG_TMP/idle.fifo
        rm -f "$fifo"; mkfifo "$fifo"
        printf '%s' "$IDLE_CLIENT" >"$LG_TMP/idle.py"
        taskset -c "$LOAD_CPU" python3 "$LG_TMP/idle.py" "$LG_PORT" "$n" <"$fifo" >"$LG_TMP/idle.out" 2>&1 &
        local cpid=$!
        LG_PIDS+=("$cpid")
        exec 7>"$fifo"
        lg_wait_line "$LG_TMP/idle.out" '^(held|error)' 300 >/dev/null || true
        sleep 1
        after=$(lg_rss_kib "$LG_PID"); hwm=$(lg_hwm_kib "$LG_PID")
        local conns
        conns=$(lg_metric "$LG_METRICS" 'listgate_connections ')
        exec 7>&-
        lg_stop "$cpid"
        lg_stop "$LG_PID"
        record "- io $io ($LG_IO): $(cat "$LG_TMP/idle.out" | tr '\n' ' ')| listgate_connections $conns | VmRSS before $((before / 1024)) MiB, with the connections $(awk -v k="$after" 'BEGIN { printf "%.1f", k / 1024 }') MiB (VmHWM $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }') MiB), $(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.2f KiB", (a - b) / n }') per connection; target <= 200 MiB: $( ((after <= 200 * 1024)) && echo holds || echo 'does not hold')"
    done
}
# The idle client (python3 - PORT N), read by cmd_idle from this function's text.
IDLE_CLIENT='
import socket, sys, resource
port, n = int(sys.argv[1]), int(sys.argv[2])
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
except Exception:
    pass
socks = []
try:
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(s)
    for s in socks:
        g = s.recv(512)
        if not g.startswith(b"220"): raise RuntimeError("greeting %r" % g)
        s.sendall(b"LHLO idle.example\r\n")
    for s in socks:
        buf = b""
        while not buf.endswith(b"\r\n") or buf.split(b"\r\n")[-2][3:4] == b"-":
            buf += s.recv(4096)
        if not buf.startswith(b"250"): raise RuntimeError("LHLO %r" % buf)
    print("held %d connections (greeting and LHLO answered)" % len(socks), flush=True)
except Exception as e:
    print("error after %d connections: %s" % (len(socks), e), flush=True)
sys.stdin.read()
'

# ------------------------------------------------------------------ (e)
cmd_reload() {
    local reloads=${RELOADS:-100} msgs=${RELOAD_MESSAGES:-100000} rcpts=${RELOAD_RCPTS:-2500}
    header "(e): $reloads SIGHUP reloads of a 1,000,000-list table during a $msgs-message run"
    gen_table 1000000 "$LG_TMP/t1m.json"
    lg_write_config "$LG_TMP/reload.cfg" "$LG_TMP/t1m.json" ""
    printf 'max_transaction_recipients = %d\n' $((rcpts + 10)) >>"$LG_TMP/reload.cfg"
    LG_START_WAIT=120 lg_start_listgate "$SERVER_CPU" "$LG_TMP/reload.cfg" --discard
    local json=$LG_TMP/reload-load.json
    taskset -c "$LOAD_CPU" "$LGBENCH" load --lmtp "127.0.0.1:$LG_PORT" --table "$LG_TMP/t1m.json" \
        --connections 16 --rcpts "$rcpts" --unknown 0.05 --messages "$msgs" --quiet --json >"$json" 2>"$LG_TMP/reload-load.err" &
    local lpid=$!
    LG_PIDS+=("$lpid")
    # Wait for the load to be under way (its first messages counted by listgate).
    local i t0 sent=0 done_during=0
    for ((i = 0; i < 600; i++)); do
        [[ $(lg_metric "$LG_METRICS" 'listgate_transactions_total') -gt 0 ]] 2>/dev/null && break
        sleep 0.1
    done
    t0=$(lg_now_ns)
    for ((i = 1; i <= reloads; i++)); do
        kill -0 "$lpid" 2>/dev/null || break
        kill -HUP "$LG_PID"
        sent=$i
        local k
        for ((k = 0; k < 600; k++)); do
            (($(grep -c -E 'event=reload_(ok|failed)' "$LG_LOG") >= i)) && break
            sleep 0.05
        done
        kill -0 "$lpid" 2>/dev/null && done_during=$i
    done
    local t1 lrc=0
    t1=$(lg_now_ns)
    wait "$lpid" || lrc=$?
    local ok failed
    ok=$(grep -c 'event=reload_ok' "$LG_LOG" || true)
    failed=$(grep -c 'event=reload_failed' "$LG_LOG" || true)
    local ms
    ms=$(grep 'event=reload_ok' "$LG_LOG" | sed -E 's/.* ms=([0-9.]+).*/\1/' | median)
    lg_stop "$LG_PID"
    record "Load: \`listgate-bench load --table t1m.json --connections 16 --rcpts $rcpts --unknown 0.05 --messages $msgs\` against \`listgate serve --discard\` (1,000,000 lists of one member; the RCPTs name 64 x $rcpts addresses of it)."
    record ""
    record "- SIGHUPs sent: $sent, each after the previous reload finished; reloads completed while the load still ran: $done_during; reload_ok $ok, reload_failed $failed; median reload $ms ms; $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s of reloading"
    record "- load: exit $lrc, $(jq -r '"messages \(.messages) (all 2xx \(.messages_all_2xx)) in \(.seconds) s = \(.msgs_per_s | floor) msgs/s, RCPT accepted \(.rcpt_accepted), unknown refused \(.unknown_refused), wrong replies \([.wrong_replies[]] | add // 0), errors \([.errors[]] | add // 0)"' "$json" 2>/dev/null || echo 'no report')"
    local verdict="does not hold"
    if ((lrc == 0 && done_during >= reloads && failed == 0)); then verdict=holds; fi
    ((done_during < reloads)) && verdict="not shown: the load ended after $done_during reloads (raise RELOAD_RCPTS)"
    ((lrc != 0)) && verdict="does not hold (listgate-bench exit $lrc)"
    record "- target (no failed transaction across $reloads reloads): $verdict"
}

# ------------------------------------------------------------------ (f)
cmd_io() {
    header "(f): io_uring against epoll (listgate's backend; load io_uring)"
    gen_table 1 "$LG_TMP/one.json"
    record "\`listgate-bench load --to list-0000001@lists.example.org --connections C --messages $MESSAGES\` (4 KiB, 1 rcpt); relay = into listgate-sink (io_uring) on the load's CPU. Backends alternated, $ROUNDS rounds, medians."
    record ""
    record "| mode | connections | io_uring msgs/s | epoll msgs/s | ratio uring/epoll | io_uring CPU µs/msg | epoll CPU µs/msg | CPU ratio uring/epoll |"
    record "| --- | --- | --- | --- | --- | --- | --- | --- |"
    local mode c io round
    for mode in discard relay; do
        for c in 16 256; do
            : >"$LG_TMP/f-uring"; : >"$LG_TMP/f-epoll"
            for ((round = 1; round <= ROUNDS; round++)); do
                for io in uring epoll; do
                    local sink=""
                    if [[ $mode == relay ]]; then lg_start_sink "$LOAD_CPU" uring; sink=$SINK_PORT; fi
                    lg_write_config "$LG_TMP/io.cfg" "$LG_TMP/one.json" "$sink" 1000
                    local flags=(--io "$io")
                    [[ $mode == discard ]] && flags+=(--discard)
                    lg_start_listgate "$SERVER_CPU" "$LG_TMP/io.cfg" "${flags[@]}"
                    sleep 0.2
                    local c0 t0 c1 t1 rc=0
                    c0=$(lg_cpu_us "$LG_PID"); t0=$(lg_now_ns)
                    timeout 600 taskset -c "$LOAD_CPU" "$LGBENCH" load --lmtp "127.0.0.1:$LG_PORT" --to list-0000001@lists.example.org \
                        --connections "$c" --messages "$MESSAGES" --quiet >"$LG_TMP/f.out" 2>&1 || rc=$?
                    t1=$(lg_now_ns); c1=$(lg_cpu_us "$LG_PID")
                    lg_stop "$LG_PID"
                    [[ -n $sink ]] && lg_stop "$SINK_PID"
                    ((rc == 0)) || { lg_say "io $io $mode $c: load exit $rc"; tail -3 "$LG_TMP/f.out" >&2; }
                    awk -v m="$MESSAGES" -v t=$((t1 - t0)) -v c=$((c1 - c0)) 'BEGIN { printf "%.0f %.2f\n", m / (t / 1e9), c / m }' >>"$LG_TMP/f-$io"
                    lg_say "io $mode c=$c $io round $round: $(tail -1 "$LG_TMP/f-$io") (rc $rc)"
                done
            done
            local ur er uc ec
            ur=$(cut -d' ' -f1 "$LG_TMP/f-uring" | median); er=$(cut -d' ' -f1 "$LG_TMP/f-epoll" | median)
            uc=$(cut -d' ' -f2 "$LG_TMP/f-uring" | median); ec=$(cut -d' ' -f2 "$LG_TMP/f-epoll" | median)
            record "$(awk -v m="$mode" -v c="$c" -v ur="$ur" -v er="$er" -v uc="$uc" -v ec="$ec" 'BEGIN { printf "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f |", m, c, ur, er, ur / er, uc, ec, uc / ec }')"
        done
    done
}

case $CMD in
compare) cmd_compare ;;
table) cmd_table ;;
idle) cmd_idle ;;
reload) cmd_reload ;;
io) cmd_io ;;
all) cmd_compare; cmd_table; cmd_idle; cmd_reload; cmd_io ;;
esac
echo "recorded in $OUT" >&2
