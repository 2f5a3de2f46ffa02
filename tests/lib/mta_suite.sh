# shellcheck shell=bash
# tests/lib/mta_suite.sh: what the suites that run listgate behind a real
# mail server (tests/postfix/run.sh and maps.sh through tests/postfix/lib.sh,
# tests/exim/run.sh) share. Sourced, not run: it defines functions and
# variables and starts nothing.
#
# - reporting: PASSED/FAILED counters, say/pass/fail/fatal, dump and the
#   dumps of listgate, the sink and the swaks transcripts;
# - start and end: suite_start (arguments, traps, $TMP), the EXIT trap
#   (cleanup) that calls the suite's stop_mta hook, stops every server in
#   LIB_PIDS, calls the suite's dump_on_failure hook when something failed,
#   removes $TMP and prints the last line "$SUITE: N passed, N failed";
# - bounded waits (wait_log_line, poll_output, check_line_within), ports
#   (free_port, smtp_banner), swaks (swaks_to, reply_code, reply_text and
#   the RCPT and DATA checks), README.md blocks (check_readme);
# - listgate-sink (start_sink, the record, sink_last) and listgate serve
#   (serve_listgate, the bounce log).
#
# The suite sets SUITE (the name on the last line, and of its temp dir)
# before sourcing this file, and SENDER (MAIL FROM of swaks_to).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SUITE=${SUITE:?set SUITE before sourcing mta_suite.sh}
README=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md
PASSED=0
FAILED=0
TMP=
SINK_PID=
LISTGATE_PID=
# Servers to stop at exit, besides what stop_mta stops: PIDs.
LIB_PIDS=()
# "MESSAGE_ID RCPT MAIL_FROM" for every delivery the sink must have recorded.
EXPECTED_RECORD=()
# swaks' own timeout (s); the whole run gets 30 s more.
SWAKS_TIMEOUT=${SWAKS_TIMEOUT:-90}
# dump shows at most this many last lines of a file (empty: all).
DUMP_MAX_LINES=${DUMP_MAX_LINES:-}
ERR_LINE=

# ---------------------------------------------------------------- reporting

say()  { printf '# %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'ok   - %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL - %s\n' "$1"; shift; local l; for l in "$@"; do printf '       %s\n' "$l"; done; }
# A set-up step that cannot go on: count it as failed and stop.
fatal() { fail "$@"; exit 1; }

# The dumps of listgate (its stderr and bounce log) and of the sink.
dump_listgate_and_sink() {
    dump listgate "$TMP/listgate.stderr"
    dump sink "$TMP/sink.stderr"
    dump sink-record "$TMP/sink.record"
    dump bounce-log "$TMP/bounces.jsonl"
}

# The dumps of the swaks transcripts $1/swaks-*.txt, labelled $2NAME.
dump_transcripts() {
    local t
    for t in "$1"/swaks-*.txt; do
        [[ -e $t ]] && dump "${2:-}$(basename "$t" .txt)" "$t"
    done
    return 0
}

# Print FILE with a prefix on each line, if it exists.
dump() {
    local label=$1 file=$2
    [[ -s $file ]] || { printf -- '----- %s: (empty or missing)\n' "$label"; return 0; }
    printf -- '----- %s (%s)\n' "$label" "$file"
    if [[ -n $DUMP_MAX_LINES ]]; then tail -n "$DUMP_MAX_LINES" "$file"; else cat "$file"; fi | sed "s/^/$label| /"
}

# ---------------------------------------------------------------- start, end

# Send SIGTERM to $1 (a PID, or -PGID for a process group), wait up to 5 s
# for it to go, then SIGKILL it.
stop_pid() {
    local target=$1 i
    kill -0 -- "$target" 2>/dev/null || return 0
    kill -TERM -- "$target" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "$target" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "$target" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT ERR INT TERM
    set +e
    if ((rc != 0 && FAILED == 0)); then
        fail "aborted with status $rc${ERR_LINE:+ at line $ERR_LINE}"
    fi
    if [[ -n $TMP ]]; then
        local i
        if declare -F stop_mta >/dev/null; then stop_mta; fi
        # The other servers in the reverse order of their start.
        for ((i = ${#LIB_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${LIB_PIDS[i]}"; done
        if ((FAILED > 0)) && declare -F dump_on_failure >/dev/null; then
            dump_on_failure
        fi
        rm -rf "$TMP"
    fi
    printf '%s: %d passed, %d failed\n' "$SUITE" "$PASSED" "$FAILED"
    ((FAILED == 0 && rc == 0)) && exit 0
    exit 1
}

# The start of every suite's main, given its arguments LISTGATE [SINK]: the
# usage check, the traps (cleanup at exit, the line of a failed command for
# the "aborted" message, INT/TERM as a failure), both binaries executable
# (LISTGATE_BIN, made absolute; SINK_BIN), and TMP, a fresh
# /tmp/listgate-$SUITE.XXXXXX that the servers' unprivileged users can enter.
suite_start() {
    (($# == 1 || $# == 2)) || {
        echo "usage: $0 PATH_TO_LISTGATE_BINARY [PATH_TO_LISTGATE_SINK]" >&2
        exit 2
    }
    SUITE_T0=$SECONDS
    trap cleanup EXIT
    trap 'ERR_LINE=$LINENO' ERR
    trap 'exit 130' INT TERM
    LISTGATE_BIN=$1
    SINK_BIN=${2:-$(dirname "$1")/../../bench/sink/listgate-sink}
    [[ -x $LISTGATE_BIN ]] || fatal "listgate binary is executable" "$LISTGATE_BIN"
    [[ -x $SINK_BIN ]] || fatal "listgate-sink binary is executable" "$SINK_BIN"
    LISTGATE_BIN=$(cd "$(dirname "$LISTGATE_BIN")" && pwd)/$(basename "$LISTGATE_BIN")
    TMP=$(mktemp -d "/tmp/listgate-$SUITE.XXXXXX")
    chmod 755 "$TMP"
}

suite_done() { say "done in $((SECONDS - SUITE_T0)) s"; }

# ---------------------------------------------------------------- waits, ports

# Wait up to 20 s for the $5-th line (default 1) matching the ERE $3 in the
# file $2, written by process $1, and put it in LOG_LINE; $4 names the set-up
# step for fatal.
wait_log_line() {
    local pid=$1 file=$2 re=$3 what=$4 nth=${5:-1} i
    LOG_LINE=''
    for ((i = 0; i < 200; i++)); do
        LOG_LINE=$(grep -E "$re" "$file" | sed -n "${nth}p" || true)
        [[ -n $LOG_LINE ]] && return 0
        kill -0 "$pid" 2>/dev/null || fatal "$what" "it exited before logging a line like '$re'"
        sleep 0.1
    done
    fatal "$what" "no line like '$re'${5:+ (number $nth)} within 20 s"
}

# Print the port P of "KEY=127.0.0.1:P" in LOG_LINE.
log_port() { grep -oE "(^| )$1=127\\.0\\.0\\.1:[0-9]+" <<<"$LOG_LINE" | sed 's/.*://'; }

# Run the command after $1 and $2 up to $1 times, $2 s apart, until it
# prints something; print its last output.
poll_output() {
    local tries=$1 delay=$2 i out=''
    shift 2
    for ((i = 0; i < tries; i++)); do
        out=$("$@" || true)
        [[ -n $out ]] && break
        sleep "$delay"
    done
    printf '%s' "$out"
}

# Check $1: the command after $1 and $2 prints something (a log line) within
# $2 s.
check_line_within() {
    local name=$1 secs=$2
    shift 2
    if [[ -n $(poll_output $((secs * 4)) 0.25 "$@") ]]; then
        pass "$name"
    else
        fail "$name" "no such line within $secs s"
    fi
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Print a TCP port of 127.0.0.1 that nothing listens on.
free_port() {
    local i port
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        port_open "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# Print the first line the server on 127.0.0.1:$1 sends (waits up to 2 s).
# shellcheck disable=SC2016  # $1 and $l are the inner bash's
smtp_banner() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 2 l <&3 && printf "%s" "$l"' _ "$1" 2>/dev/null || true
}

# Print the arguments as a JSON array of strings.
json_array() {
    local a out=''
    for a in "$@"; do out+="${out:+, }\"$a\""; done
    printf '[%s]' "$out"
}

# ---------------------------------------------------------------- swaks

# swaks to the server on 127.0.0.1:$1 with RCPT TO:<$2>, transcript in the
# file $3, extra swaks arguments after that. Non-zero when the server
# refused something: that is for the caller to judge.
# shellcheck disable=SC2153  # SENDER is the suite's
swaks_to() {
    local port=$1 rcpt=$2 out=$3
    shift 3
    timeout $((SWAKS_TIMEOUT + 30)) swaks --server 127.0.0.1 --port "$port" --timeout "$SWAKS_TIMEOUT" \
        --helo client.listgate.test --from "$SENDER" --to "$rcpt" "$@" >"$out" 2>&1
}

# Print the reply code of the server's answer to the first client line in
# swaks transcript $1 that starts with $2 (e.g. "RCPT TO:"), or "none".
reply_code() {
    awk -v cmd="$2" '
        found && /^ *<(-|\*\*) / { if (match($0, /[0-9][0-9][0-9]/)) { print substr($0, RSTART, 3); exit } }
        !found && index($0, " -> " cmd) == 1 { found = 1 }
        END { if (!found) print "none" }' "$1" | head -n1 | sed 's/^$/none/'
}

# Print the server's answer line(s) to client line $2 in swaks transcript $1.
reply_text() {
    awk -v cmd="$2" '
        found && /^ *<(-|\*\*) / { print; n++; next }
        found && n { exit }
        !found && index($0, " -> " cmd) == 1 { found = 1 }' "$1"
}

# Check $1: RCPT TO:<$3> at 127.0.0.1:$2 (transcript $4) gets code $5 and a
# reply that contains the string $6.
check_rcpt_reply() {
    local name=$1 port=$2 rcpt=$3 out=$4 want_code=$5 want=$6 code text
    swaks_to "$port" "$rcpt" "$out" --quit-after RCPT || true
    code=$(reply_code "$out" "RCPT TO:")
    text=$(reply_text "$out" "RCPT TO:" | tr '\n' ' ')
    if [[ $code == "$want_code" && $text == *"$want"* ]]; then
        pass "$name"
    else
        fail "$name" "got code $code: ${text:-no reply}"
    fi
}

# Check $1: a message to RCPT TO:<$4> at 127.0.0.1:$3 (transcript $5, extra
# swaks arguments after it) is taken: 250 at RCPT and at the end of DATA.
# $2 is added to the check's name when it passes.
check_taken() {
    local name=$1 note=$2 port=$3 rcpt=$4 out=$5 rc=0 code dot
    shift 5
    swaks_to "$port" "$rcpt" "$out" "$@" || rc=$?
    code=$(reply_code "$out" "RCPT TO:")
    dot=$(reply_code "$out" ".")
    if ((rc == 0)) && [[ $code == 250 && $dot == 250 ]]; then
        pass "$name${note:+ $note}"
    else
        fail "$name" "swaks status $rc, RCPT $code, end of DATA $dot"
    fi
}

# Header block of the message in file $1 (up to its first empty line), CRs
# dropped.
header_block() { awk '{ sub(/\r$/, "") } /^$/ { exit } { print }' "$1"; }

# Write to the file $1 a DSN, as a remote MTA sends it for a VERP'ed post,
# addressed To: $2 (a list's bounces address with a VERP tag), with
# Message-Id $3: the address $4 failed with 5.1.1.
write_dsn() {
    local failed=$4
    cat >"$1" <<EOF
From: MAILER-DAEMON@mx.example.org
To: $2
Subject: Undelivered Mail Returned to Sender
Message-Id: $3
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Type: text/plain

$failed: user unknown.

--dsn-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; $failed
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <$failed>: user unknown

--dsn-boundary--
EOF
}

# ---------------------------------------------------------------- README

# Check that every block the suite's readme_blocks prints for set-up $1 is in
# README.md word for word, each as a whole fenced code block (not a part of
# one); $2 says what the blocks are.
check_readme() {
    local name=$1 what=$2 block text readme missing=()
    if [[ ! -r $README ]]; then
        fail "$name: README.md has $what" "cannot read $README"
        return 0
    fi
    readme=$(<"$README")
    for block in $(readme_blocks "$name"); do
        text=$("$block")
        [[ $readme == *$'\n```\n'"$text"$'\n```\n'* ]] || missing+=("$block: $(head -n1 <<<"$text") ...")
    done
    if ((${#missing[@]} == 0)); then
        pass "$name: README.md has $what, word for word"
    else
        fail "$name: README.md has $what, word for word" "not in README.md:" "${missing[@]}"
    fi
}

# ---------------------------------------------------------------- sink

# Start listgate-sink $1 on kernel-picked ports of 127.0.0.1, recording every
# delivery in $TMP/sink.record; sets SINK_PID, SINK_PORT, CONTROL_PORT. With
# $2 = control the check's name shows the control port too.
start_sink() {
    local bin=$1
    # Created here, not by the background job's redirection, so that the
    # first poll never races the child's open().
    : >"$TMP/sink.stderr"
    "$bin" --listen 127.0.0.1:0 --control 127.0.0.1:0 --io auto \
        --record "$TMP/sink.record" --keep-last \
        </dev/null >"$TMP/sink.stdout" 2>"$TMP/sink.stderr" &
    SINK_PID=$!
    LIB_PIDS+=("$SINK_PID")
    # "sink listening smtp=127.0.0.1:P control=127.0.0.1:Q io=..."
    wait_log_line "$SINK_PID" "$TMP/sink.stderr" '^sink listening ' "listgate-sink starts"
    SINK_PORT=$(log_port smtp)
    CONTROL_PORT=$(log_port control)
    [[ -n $SINK_PORT && -n $CONTROL_PORT ]] || fatal "listgate-sink starts" "cannot read the ports from: $LOG_LINE"
    pass "listgate-sink listens (smtp 127.0.0.1:$SINK_PORT${2:+, control 127.0.0.1:$CONTROL_PORT})"
}

# Print the sink's record as sorted "MESSAGE_ID RCPT MAIL_FROM" lines: those
# of Message-Id $1, or all of them without $1.
record_lines() {
    [[ -e $TMP/sink.record ]] || return 0
    awk -v id="${1:-}" 'id == "" || $1 == id { print $1, $2, $3 }' "$TMP/sink.record" | LC_ALL=C sort
}

# Print the BODY_BYTES of the record lines of Message-Id $1, one per line.
record_body_bytes() {
    [[ -e $TMP/sink.record ]] || return 0
    awk -v id="$1" '$1 == id { print $4 }' "$TMP/sink.record" | sort -u
}

# Check $1: within $2 s the sink's record holds Message-Id $3 once for each
# address after $4, each with MAIL FROM $4, and nothing else of that id.
# "verp:LOCAL" for $4 stands for each member's VERP sender
# LOCAL+user=domain@$DOMAIN. The lines join EXPECTED_RECORD for
# check_record_complete.
check_record_lines() {
    local name=$1 secs=$2 id=$3 from=$4 rcpt sender want got='' i
    shift 4
    local lines=() got_lines=()
    for rcpt in "$@"; do
        sender=$from
        if [[ $from == verp:* ]]; then sender="${from#verp:}+${rcpt%@*}=${rcpt#*@}@$DOMAIN"; fi
        lines+=("$id $rcpt $sender")
    done
    EXPECTED_RECORD+=("${lines[@]}")
    want=$(printf '%s\n' "${lines[@]}" | LC_ALL=C sort)
    # Until all the lines are there: fewer is a failure, more would be too.
    for ((i = 0; i < secs * 4; i++)); do
        got=$(record_lines "$id")
        [[ -n $got ]] && (($(wc -l <<<"$got") >= $#)) && break
        sleep 0.25
    done
    if [[ $got == "$want" ]]; then
        pass "$name"
    else
        [[ -n $got ]] && mapfile -t got_lines <<<"$got"
        fail "$name" "want (MESSAGE_ID RCPT MAIL_FROM):" "${lines[@]}" "got, after up to $secs s:" "${got_lines[@]:-nothing}"
    fi
}

# check_record_lines named "sink got $1 once for each of RCPTS, MAIL
# FROM:<$3>" (a VERP sender shown as LOCAL+USER=DOMAIN@$DOMAIN), 30 s.
check_record() {
    local what=$1 id=$2 from=$3 shown=$3
    shift 3
    if [[ $from == verp:* ]]; then shown="${from#verp:}+USER=DOMAIN@$DOMAIN"; fi
    check_record_lines "sink got $what once for each of $*, MAIL FROM:<$shown>" 30 "$id" "$from" "$@"
}

# At the end: the sink's whole record is exactly EXPECTED_RECORD (no one
# else, nothing twice).
check_record_complete() {
    local want got
    want=$(printf '%s\n' "${EXPECTED_RECORD[@]}" | LC_ALL=C sort)
    got=$(record_lines)
    if [[ $got == "$want" ]]; then
        pass "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else"
    else
        fail "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else" \
            "unexpected or missing (diff want got):" \
            "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' | tr '\n' ' ' || true)"
    fi
}

# Write the body of the last message the sink accepted (control command
# "last": "ok LENGTH", then LENGTH bytes) to the file $1.
# shellcheck disable=SC2016  # $1, $line and BASH_REMATCH are the inner bash's
sink_last() {
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "last\n" >&3
        IFS= read -r line <&3 || exit 1
        [[ $line =~ ^ok\ ([0-9]+)$ ]] || { printf "control: %s\n" "$line" >&2; exit 1; }
        head -c "${BASH_REMATCH[1]}" <&3' _ "$CONTROL_PORT" >"$1" 2>"$1.err"
}

# ---------------------------------------------------------------- listgate

# Run the "listgate serve" command line after $2 in the background, its
# output in $1/listgate.stdout and .stderr, and wait for its event=listening
# line (into LOG_LINE; $2 names the step for fatal). Sets LISTGATE_PID.
serve_listgate() {
    local dir=$1 what=$2
    shift 2
    : >"$dir/listgate.stderr"
    "$@" </dev/null >"$dir/listgate.stdout" 2>"$dir/listgate.stderr" &
    LISTGATE_PID=$!
    LIB_PIDS+=("$LISTGATE_PID")
    # "event=listening lmtp=127.0.0.1:P [metrics=127.0.0.1:Q] mode=relay"
    wait_log_line "$LISTGATE_PID" "$dir/listgate.stderr" 'event=listening' "$what"
}

# The listening line in LOG_LINE is for LMTP on $LMTP_PORT in relay mode, or
# fatal; $1 prefixes the step's name.
listgate_relays_or_fatal() {
    [[ $LOG_LINE == *" lmtp=127.0.0.1:$LMTP_PORT "* && $LOG_LINE == *" mode=relay"* ]] ||
        fatal "${1}listgate relays on lmtp 127.0.0.1:$LMTP_PORT" "got: $LOG_LINE"
}

# Print the first line of listgate's bounce log $1 for list $2 and member $3.
bounce_line() {
    grep -F "\"list\":\"$2\"" "$1" 2>/dev/null | grep -F "\"member\":\"$3\"" | head -n1 || true
}
