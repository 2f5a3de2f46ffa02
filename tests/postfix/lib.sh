# shellcheck shell=bash
# tests/postfix/lib.sh: the parts of the real-Postfix tests that run.sh and
# maps.sh share. Sourced, not run: it defines functions and variables and
# starts nothing.
#
# - reporting: PASSED/FAILED counters, say/pass/fail/fatal, dump;
# - cleanup: an EXIT trap (lib_main_traps) that stops every private Postfix
#   instance and every server started through the helpers below, calls the
#   script's dump_on_failure hook when something failed, removes $TMP and
#   prints the last line "$SUITE: N passed, N failed";
# - ensure_packages: installs Debian's postfix and swaks once (skipped when
#   both are on PATH; serialised by a lock file when two tests run at once);
# - ports, swaks helpers (swaks_to, reply_code, reply_text), wait_log_line;
# - listgate-sink (start_sink, record_lines, record_body_bytes, sink_last);
# - private Postfix instances (pf_write_master, pf_private_main_cf,
#   pf_start, stop_postfix).
#
# The caller sets SUITE (the name on the last line) and TMP (mktemp -d,
# chmod 755) and may define dump_on_failure. See /work/shared/MTA-TESTING.md
# for why the Postfix set-up looks the way it does.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SUITE=${SUITE:-postfix}
PASSED=0
FAILED=0
TMP=
SINK_PID=
# Servers to stop at exit (besides the Postfix instances): PIDs.
LIB_PIDS=()
# Config directories of the private Postfix instances started (pf_start);
# each one's queue directory is PF_QUEUE[conf].
LIB_PF_CONFS=()
declare -A PF_QUEUE=()
ERR_LINE=

# ---------------------------------------------------------------- reporting

say()  { printf '# %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'ok   - %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL - %s\n' "$1"; shift; local l; for l in "$@"; do printf '       %s\n' "$l"; done; }
# A set-up step that cannot go on: count it as a failed group and stop.
fatal() { fail "$@"; exit 1; }

# Print FILE with a prefix on each line, if it exists.
dump() {
    local label=$1 file=$2
    [[ -s $file ]] || { printf -- '----- %s: (empty or missing)\n' "$label"; return 0; }
    printf -- '----- %s (%s)\n' "$label" "$file"
    sed "s/^/$label| /" "$file"
}

# ---------------------------------------------------------------- cleanup

# Send SIGTERM to PID, wait up to 5 s for it to go, then SIGKILL it.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# Stop the private Postfix of config directory $1 (default $PF_CONF):
# "postfix stop", then kill the master and any of its children still around.
stop_postfix() {
    local conf=${1:-$PF_CONF} master='' i child queue
    queue=${PF_QUEUE[$conf]:-}
    [[ -n $queue ]] || return 0
    if [[ -r $queue/pid/master.pid ]]; then
        read -r master <"$queue/pid/master.pid" || true
    fi
    timeout 30 script -qec "postfix -c '$conf' stop" /dev/null >>"$TMP/postfix-ctl.log" 2>&1 || true
    # Stopped: cleanup need not stop it again.
    PF_QUEUE[$conf]=
    [[ $master =~ ^[0-9]+$ ]] || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$master" 2>/dev/null || return 0
        sleep 0.1
    done
    for child in $(pgrep -P "$master" || true); do stop_pid "$child"; done
    stop_pid "$master"
}

cleanup() {
    local rc=$?
    trap - EXIT ERR INT TERM
    set +e
    if ((rc != 0 && FAILED == 0)); then
        fail "aborted with status $rc${ERR_LINE:+ at line $ERR_LINE}"
    fi
    if [[ -n $TMP ]]; then
        local conf i
        for conf in "${LIB_PF_CONFS[@]}"; do stop_postfix "$conf"; done
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

# Set the traps every test script wants: cleanup at exit, the line of a
# failed command for the "aborted" message, INT/TERM as a failure.
lib_main_traps() {
    trap cleanup EXIT
    trap 'ERR_LINE=$LINENO' ERR
    trap 'exit 130' INT TERM
}

# ---------------------------------------------------------------- helpers

# Install Debian's postfix and swaks when missing. debconf is preset to "No
# configuration" so the package writes no /etc/postfix/main.cf and starts no
# system instance worth using; ours is private and never depends on it.
# Runs once: skipped when both commands are there; a lock file keeps two
# tests started at the same time from running apt-get together.
ensure_packages() {
    command -v postfix >/dev/null && command -v swaks >/dev/null && return 0
    exec 9>/tmp/listgate-postfix-install.lock
    flock -w 900 9 || fatal "install postfix and swaks" "could not take /tmp/listgate-postfix-install.lock within 900 s"
    if command -v postfix >/dev/null && command -v swaks >/dev/null; then
        exec 9>&-
        return 0
    fi
    say "installing postfix and swaks"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    local apt=(env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q postfix swaks)
    if ! "${apt[@]}" >"$TMP/apt.log" 2>&1; then
        say "apt-get install failed, refreshing the package lists"
        timeout 600 apt-get update -q >>"$TMP/apt.log" 2>&1 || true
        "${apt[@]}" >>"$TMP/apt.log" 2>&1 || { dump apt "$TMP/apt.log"; fatal "install postfix and swaks"; }
    fi
    exec 9>&-
    if ! command -v postfix >/dev/null || ! command -v swaks >/dev/null; then
        fatal "postfix and swaks on PATH after install"
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

# Run swaks against the private Postfix on $SMTP_PORT with RCPT TO:<$1>,
# extra swaks arguments after it; the transcript goes to the file $2. swaks
# exits non-zero when the server refuses something; that is for the caller to
# judge.
swaks_to() {
    local rcpt=$1 out=$2
    shift 2
    timeout 120 swaks --server 127.0.0.1 --port "$SMTP_PORT" --timeout 90 \
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

# Header block of the message in file $1 (up to its first empty line), CRs
# dropped.
header_block() { awk '{ sub(/\r$/, "") } /^$/ { exit } { print }' "$1"; }

# Print the arguments as a JSON array of strings.
json_array() {
    local a out=''
    for a in "$@"; do out+="${out:+, }\"$a\""; done
    printf '[%s]' "$out"
}

# Wait up to 20 s for a line matching the ERE $3 in the file $2, written by
# process $1, and put it in LOG_LINE; $4 names the set-up step for fatal.
wait_log_line() {
    local pid=$1 file=$2 re=$3 what=$4 i
    LOG_LINE=''
    for ((i = 0; i < 200; i++)); do
        LOG_LINE=$(grep -m1 -E "$re" "$file" || true)
        [[ -n $LOG_LINE ]] && return 0
        kill -0 "$pid" 2>/dev/null || fatal "$what" "it exited before logging a line like '$re'"
        sleep 0.1
    done
    fatal "$what" "no line like '$re' within 20 s"
}

# Write to the file $1 a DSN, as a remote MTA sends it for a VERP'ed post,
# addressed To: $2 (the list's bounces address with alice's VERP tag), with
# Message-Id $3: the address $4 (default alice@example.org; another one when
# the member must come from the VERP tag alone) failed with 5.1.1.
write_dsn() {
    local failed=${4:-alice@example.org}
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

# ---------------------------------------------------------------- sink

# Start listgate-sink $1 on kernel-picked ports of 127.0.0.1, recording every
# delivery in $TMP/sink.record; sets SINK_PID, SINK_PORT, CONTROL_PORT.
start_sink() {
    local bin=$1
    # Created here, not by the background job's redirection (as for listgate).
    : >"$TMP/sink.stderr"
    "$bin" --listen 127.0.0.1:0 --control 127.0.0.1:0 --io auto \
        --record "$TMP/sink.record" --keep-last \
        </dev/null >"$TMP/sink.stdout" 2>"$TMP/sink.stderr" &
    SINK_PID=$!
    LIB_PIDS+=("$SINK_PID")
    # "sink listening smtp=127.0.0.1:P control=127.0.0.1:Q io=..."
    wait_log_line "$SINK_PID" "$TMP/sink.stderr" '^sink listening ' "listgate-sink starts"
    SINK_PORT=$(grep -oE '(^| )smtp=127\.0\.0\.1:[0-9]+' <<<"$LOG_LINE" | sed 's/.*://')
    CONTROL_PORT=$(grep -oE '(^| )control=127\.0\.0\.1:[0-9]+' <<<"$LOG_LINE" | sed 's/.*://')
    [[ -n $SINK_PORT && -n $CONTROL_PORT ]] || fatal "listgate-sink starts" "cannot read the ports from: $LOG_LINE"
    pass "listgate-sink listens (smtp 127.0.0.1:$SINK_PORT, control 127.0.0.1:$CONTROL_PORT)"
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

# ---------------------------------------------------------------- postfix

# Print the main.cf lines that make a private instance whose state lives
# under the directory $1 (queue $1/queue, data $1/data, maillog $1/maillog):
# no syslog here, so it logs to a file, which must be under
# maillog_file_prefixes; it listens on 127.0.0.1 only and delivers nothing
# locally. data_directory is left for "postfix start" to create with the
# right owner (a root-owned one breaks master.lock).
pf_private_main_cf() {
    local dir=$1
    cat <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
# No syslog here: log to a file, which must be under maillog_file_prefixes.
maillog_file = $dir/maillog
maillog_file_prefixes = $TMP
myhostname = postfix.listgate.test
mydomain = listgate.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
EOF
}

# Write into the config directory $1 Debian's master.cf with chroot off
# everywhere and smtpd moved to 127.0.0.1:$2. Continuation lines (leading
# blank) pass unchanged.
pf_write_master() {
    local conf=$1 port=$2
    mkdir -p "$conf"
    awk -v listen="127.0.0.1:$port" '
        /^[^#[:space:]]/ && NF >= 8 {
            if ($1 == "smtp" && $2 == "inet") $1 = listen
            $5 = "n"
        }
        { print }' /etc/postfix/master.cf >"$conf/master.cf"
}

# Start the private Postfix of config directory $1 (main.cf and master.cf
# written, smtpd on 127.0.0.1:$3) whose queue directory is $2, and wait up to
# 20 s for smtpd's 220 greeting. Returns 1 with the reason (Postfix's own
# words) in PF_START_ERR if it does not come up; the instance is stopped at
# exit either way.
# shellcheck disable=SC2034  # PF_START_ERR is the caller's
pf_start() {
    local conf=$1 queue=$2 port=$3 i banner=''
    PF_START_ERR=
    mkdir -p "$queue"
    LIB_PF_CONFS+=("$conf")
    PF_QUEUE[$conf]=$queue
    if ! timeout 60 script -qec "postfix -c '$conf' start" /dev/null >>"$TMP/postfix-ctl.log" 2>&1; then
        PF_START_ERR="postfix -c $conf start failed: $(tr -d '\r' <"$TMP/postfix-ctl.log" | tail -n3)"
        return 1
    fi
    # shellcheck disable=SC2016  # $1 and $l are the inner bash's
    for ((i = 0; i < 40; i++)); do
        banner=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 2 l <&3 && printf "%s" "$l"' _ "$port" 2>/dev/null || true)
        [[ $banner == 220* ]] && return 0
        sleep 0.5
    done
    PF_START_ERR="no 220 greeting on 127.0.0.1:$port within 20 s"
    return 1
}
