#!/usr/bin/env bash
# bench/compare.sh [BUILD_DIR]: one identical LMTP load, in one run, against
#   relay-uring  listgate relaying (io_uring) into listgate-sink
#   relay-epoll  listgate relaying (epoll) into listgate-sink
#   discard      listgate serve --discard
#   smtp-sink    Postfix's smtp-sink -L (the protocol-only reference)
#   mailman3     Mailman 3's LMTP runner, only when Debian's mailman3 is installed
# once with listgate-bench load, once with Postfix's smtp-source -L.
# Server on CPU 0; load (and listgate-sink) on CPU 1. CPU = utime+stime of the
# server from /proc/PID/stat before/after the load (listgate only; the sink's
# own is reported apart). Rounds are interleaved; medians are reported.
# Writes bench/results/compare-DATE.{md,tsv}.
#
# Environment: ROUNDS (3), LB_MESSAGES (100000), SS_MESSAGES (20000),
# CONNECTIONS (16), SIZE (4096), SERVER_CPU (0), LOAD_CPU (1), KEEP (keep tmp),
# MAILMAN_LMTP=HOST:PORT and MAILMAN_PID (a running Mailman LMTP runner).
set -euo pipefail
LG_NAME=compare
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source bench/lib.sh

BUILD=${1:-build-release}
ROUNDS=${ROUNDS:-3}
LB_MESSAGES=${LB_MESSAGES:-100000}
SS_MESSAGES=${SS_MESSAGES:-20000}
CONNECTIONS=${CONNECTIONS:-16}
SIZE=${SIZE:-4096}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
LIST=bench@lists.example.org
SENDER=sender@example.com

LG_TMP=$(mktemp -d /tmp/listgate-compare.XXXXXX)
trap lg_cleanup EXIT
trap 'exit 130' INT TERM

lg_binaries "$BUILD"
lg_ensure_postfix_tools
ulimit -n 65536 2>/dev/null || true

# One list, one member: every LMTP message is one SMTP delivery.
TABLE=$LG_TMP/lists.json
cat >"$TABLE" <<EOF
{ "domains": { "lists.example.org": {} },
  "lists": [ { "address": "$LIST", "owners": ["owner@example.org"], "members": ["member@example.com"] } ] }
EOF

SERVERS=(relay-uring relay-epoll discard smtp-sink)
MAILMAN_NOTE=""
if dpkg -s mailman3 >/dev/null 2>&1; then
    if [[ -n ${MAILMAN_LMTP:-} && -n ${MAILMAN_PID:-} ]]; then
        SERVERS+=(mailman3)
    else
        MAILMAN_NOTE="mailman3: skipped: Debian's mailman3 is installed, but no running LMTP runner was given (set MAILMAN_LMTP=HOST:PORT and MAILMAN_PID)"
    fi
else
    MAILMAN_NOTE="mailman3: skipped: Debian's package mailman3 is not installed (dpkg -s mailman3 says so); this script does not install it"
fi
if [[ -n $MAILMAN_NOTE ]]; then echo "$MAILMAN_NOTE"; fi

# Start server $1; sets SRV_PID, SRV_PORT, SRV_SINK_PID (or empty).
start_server() {
    SRV_SINK_PID=""
    case $1 in
    relay-uring | relay-epoll)
        local io=${1#relay-}
        lg_start_sink "$LOAD_CPU" uring
        SRV_SINK_PID=$SINK_PID
        lg_write_config "$LG_TMP/relay.cfg" "$TABLE" "$SINK_PORT"
        lg_start_listgate "$SERVER_CPU" "$LG_TMP/relay.cfg" --io "$io"
        SRV_PID=$LG_PID SRV_PORT=$LG_PORT
        ;;
    discard)
        lg_write_config "$LG_TMP/discard.cfg" "$TABLE" ""
        lg_start_listgate "$SERVER_CPU" "$LG_TMP/discard.cfg" --discard
        SRV_PID=$LG_PID SRV_PORT=$LG_PORT
        ;;
    smtp-sink)
        lg_start_smtp_sink "$SERVER_CPU"
        SRV_PID=$PFSINK_PID SRV_PORT=$PFSINK_PORT
        ;;
    mailman3)
        SRV_PID=$MAILMAN_PID SRV_PORT=${MAILMAN_LMTP##*:}
        ;;
    esac
}

stop_server() {
    [[ $1 == mailman3 ]] && return 0
    lg_stop "$SRV_PID"
    if [[ $1 != smtp-sink && $LG_STOP_RC != 0 ]]; then lg_say "$1 exited $LG_STOP_RC on SIGTERM"; fi
    if [[ -n $SRV_SINK_PID ]]; then lg_stop "$SRV_SINK_PID"; fi
}

# Run load $1 against port $2; sets LOAD_RC, LOAD_MSGS.
run_load() {
    local out=$LG_TMP/load-$1.out
    case $1 in
    listgate-bench)
        LOAD_MSGS=$LB_MESSAGES
        set +e
        timeout 600 taskset -c "$LOAD_CPU" "$LGBENCH" load --lmtp "127.0.0.1:$2" --to "$LIST" \
            --connections "$CONNECTIONS" --size "$SIZE" --messages "$LB_MESSAGES" --quiet >"$out" 2>&1
        LOAD_RC=$?
        set -e
        ;;
    smtp-source)
        LOAD_MSGS=$SS_MESSAGES
        set +e
        timeout 600 taskset -c "$LOAD_CPU" smtp-source -L -d -s "$CONNECTIONS" -m "$SS_MESSAGES" -l "$SIZE" \
            -t "$LIST" -f "$SENDER" "127.0.0.1:$2" >"$out" 2>&1
        LOAD_RC=$?
        set -e
        ;;
    esac
    ((LOAD_RC == 0)) || { lg_say "$1 against port $2 exited $LOAD_RC:"; tail -5 "$out" >&2; }
}

RAW=$LG_TMP/raw.tsv
: >"$RAW"
STAMP=$(date -u +%Y%m%d-%H%M%S)
lg_say "build $BUILD, $ROUNDS rounds, listgate-bench $LB_MESSAGES msgs, smtp-source $SS_MESSAGES msgs, $CONNECTIONS connections, size $SIZE"
for ((round = 1; round <= ROUNDS; round++)); do
    for load in listgate-bench smtp-source; do
        for srv in "${SERVERS[@]}"; do
            start_server "$srv"
            sleep 0.2
            c0=$(lg_cpu_us "$SRV_PID")
            s0=0; [[ -n $SRV_SINK_PID ]] && s0=$(lg_cpu_us "$SRV_SINK_PID")
            t0=$(lg_now_ns)
            run_load "$load" "$SRV_PORT"
            t1=$(lg_now_ns)
            c1=$(lg_cpu_us "$SRV_PID")
            s1=0; [[ -n $SRV_SINK_PID ]] && s1=$(lg_cpu_us "$SRV_SINK_PID")
            stop_server "$srv"
            printf '%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n' "$load" "$srv" "$round" "$LOAD_MSGS" \
                $(((t1 - t0) / 1000)) $((c1 - c0)) $((s1 - s0)) "$LOAD_RC" >>"$RAW"
            awk -F'\t' -v r="$round" 'END { printf "compare: round %s %-14s %-12s %8.0f msgs/s  %6.2f us/msg  rc %s\n", r, $1, $2, $4 / ($5 / 1e6), $6 / $4, $8 }' "$RAW" >&2
        done
    done
done

# Medians per (load, server), ratios against smtp-sink -L.
SUMMARY=$LG_TMP/summary.tsv
awk -F'\t' '
function median(s,   n, a, i, t) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; j = i - 1; while (j > 0 && a[j] > t) { a[j + 1] = a[j]; j-- } a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    k = $1 "\t" $2
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    wall[k] = wall[k] " " $5 / 1e6
    rate[k] = rate[k] " " $4 / ($5 / 1e6)
    cpu[k] = cpu[k] " " $6 / $4
    sink[k] = sink[k] " " $7 / $4
    share[k] = share[k] " " 100 * $6 / $5
    if ($8 != 0) failed[k]++
    msgs[k] = $4
}
END {
    for (i = 1; i <= nk; i++) {
        k = order[i]
        printf "%s\t%d\t%.3f\t%.0f\t%.2f\t%.2f\t%.0f\t%d\n", k, msgs[k], median(wall[k]), median(rate[k]), median(cpu[k]), median(sink[k]), median(share[k]), failed[k] + 0
    }
}' "$RAW" >"$SUMMARY"

# Add ratios (server / smtp-sink of the same load).
awk -F'\t' 'NR == FNR { if ($2 == "smtp-sink") { rr[$1] = $5; rc[$1] = $6 } next }
{ printf "%s\t%.2f\t%.2f\n", $0, (rc[$1] > 0 ? $6 / rc[$1] : 0), (rr[$1] > 0 ? $5 / rr[$1] : 0) }' \
    "$SUMMARY" "$SUMMARY" >"$SUMMARY.r"
mv "$SUMMARY.r" "$SUMMARY"

MACHINE=$(lg_machine)
mkdir -p bench/results
MD=bench/results/compare-$STAMP.md
TSV=bench/results/compare-$STAMP.tsv
{
    printf 'load\tserver\tmessages\twall_s\tmsgs_per_s\tcpu_us_per_msg\tsink_cpu_us_per_msg\tserver_cpu_pct\tfailed_runs\tcpu_ratio_vs_smtp_sink\tmsgs_ratio_vs_smtp_sink\n'
    cat "$SUMMARY"
} >"$TSV"
{
    printf '# compare.sh, %s UTC\n\n' "$(date -u '+%Y-%m-%d %H:%M')"
    printf 'Machine: %s. Load average at the end: %s.\n\n' "$MACHINE" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'Build `%s`; %s rounds interleaved, medians; %s connections, %s-byte messages, 1 recipient (`%s`, one list of one member).\n' \
        "$BUILD" "$ROUNDS" "$CONNECTIONS" "$SIZE" "$LIST"
    printf 'Server on CPU %s; load and listgate-sink on CPU %s. CPU = utime+stime of the server during the load; for relay-* only listgate, the sink apart.\n\n' "$SERVER_CPU" "$LOAD_CPU"
    printf 'Loads: `listgate-bench load --lmtp 127.0.0.1:PORT --to %s --connections %s --size %s --messages %s`;\n' "$LIST" "$CONNECTIONS" "$SIZE" "$LB_MESSAGES"
    printf '`smtp-source -L -d -s %s -m %s -l %s -t %s -f %s 127.0.0.1:PORT`.\n\n' "$CONNECTIONS" "$SS_MESSAGES" "$SIZE" "$LIST" "$SENDER"
    printf '| load | server | msgs | wall s | msgs/s | CPU µs/msg | sink CPU µs/msg | server CPU %% | failed runs | CPU/msg ÷ smtp-sink | msgs/s ÷ smtp-sink |\n'
    printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s %% | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, ($2 ~ /^relay/ ? $7 : "-"), $8, $9, $10, $11 }' "$SUMMARY"
    if [[ -n $MAILMAN_NOTE ]]; then printf '\n%s\n' "$MAILMAN_NOTE"; fi
} >"$MD"
cp "$RAW" "bench/results/compare-$STAMP.raw.tsv"

echo
cat "$MD"
echo
echo "written: $MD $TSV bench/results/compare-$STAMP.raw.tsv"
