#!/usr/bin/env bash
# tests/postfix/run.sh: listgate behind a real Postfix (Debian's package),
# relaying for real to the project's SMTP sink.
#
# Usage: tests/postfix/run.sh PATH_TO_LISTGATE_BINARY [PATH_TO_LISTGATE_SINK]
#   (the sink defaults to bench/sink/listgate-sink of the listgate binary's
#   build directory: $(dirname LISTGATE)/../../bench/sink/listgate-sink)
#
# The path under test, all on 127.0.0.1:
#   swaks -> private Postfix (smtpd, relay_domains lists.example.org,
#   transport lmtp:[127.0.0.1]:LMTP_PORT, reject_unverified_recipient)
#   -> listgate serve (relay mode, LMTP in) -> SMTP -> listgate-sink
#   (--record, --keep-last, control port).
#
# Proves, end to end over real SMTP and LMTP, that
#   1. an unknown list address is refused at RCPT time with 550: Postfix's
#      reject_unverified_recipient probes listgate over LMTP, listgate says
#      550 5.1.1, and Postfix passes the refusal on to the SMTP client;
#   2. a list owner address (announce-owner@...) is accepted at RCPT;
#   3. a post to a list address is accepted by Postfix, handed to listgate
#      over LMTP (listgate's /metrics counts the transaction, Postfix logs
#      status=sent with listgate's LMTP address as the relay), and fanned out
#      by listgate over SMTP: the sink's record has it once for every member
#      of the list and nobody else, with envelope sender
#      announce-bounces@lists.example.org;
#   4. the post as the members get it (the sink's "last" body) carries
#      List-Id, List-Post, List-Help, List-Unsubscribe, Precedence: list and
#      X-BeenThere in its header, keeps its own Message-Id, Subject and text;
#   5. a post to a "verp": true list reaches each member with its own VERP
#      envelope sender (team-bounces+dave=example.com@lists.example.org);
#   6. mail to announce-owner@ reaches the owners (sender
#      announce-bounces@...) without list headers;
#   7. a DSN to announce-bounces+alice=example.org@ (null sender) is taken
#      and gives one bounce log line: list announce@..., member
#      alice@example.org (from the VERP tag), status 5.1.1;
#   8. at the end the sink's record holds exactly the deliveries above (no
#      one else, nothing twice) and listgate's spool is empty.
#
# Everything lives in one temp dir: listgate's table, config, spool and
# bounce log, the sink's record, and a private Postfix instance (own config,
# queue and data directories, maillog file, smtpd on a free unprivileged port
# of 127.0.0.1). The EXIT trap stops the three servers and removes the temp
# dir, also on failure. See /work/shared/MTA-TESTING.md for why the Postfix
# set-up looks the way it does.
#
# The last line printed is "postfix: N passed, N failed"; the exit status is
# non-zero when anything failed, and then Postfix's maillog, listgate's and
# the sink's stderr, the sink's record and the bounce log are dumped first.

set -Eeuo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

DOMAIN=lists.example.org
LIST=announce@$DOMAIN
LIST_BOUNCES=announce-bounces@$DOMAIN
OWNER=announce-owner@$DOMAIN
VERP_LIST=team@$DOMAIN
UNKNOWN=nosuchlist@$DOMAIN
BOUNCE_TO=announce-bounces+alice=example.org@$DOMAIN
SENDER=sender@example.com
# The table (start_listgate writes the same): who must get what.
LIST_MEMBERS=(alice@example.org bob@example.com carol@example.net)
LIST_OWNERS=(boss@example.org)
VERP_MEMBERS=(dave@example.com erin@example.net)
# Message-Ids of the messages sent through Postfix (unique per run).
RUN_TAG=$$.$RANDOM
POST_ID="<post.$RUN_TAG@client.listgate.test>"
VERP_ID="<verp-post.$RUN_TAG@client.listgate.test>"
OWNER_ID="<owner.$RUN_TAG@client.listgate.test>"
BOUNCE_ID="<dsn.$RUN_TAG@client.listgate.test>"

PASSED=0
FAILED=0
TMP=
LISTGATE_PID=
SINK_PID=
# "MESSAGE_ID RCPT MAIL_FROM" for every delivery the sink must have recorded.
EXPECTED_RECORD=()
PF_CONF=
PF_STARTED=0
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

# Stop the private Postfix: "postfix stop", then kill the master and any of
# its children still around.
stop_postfix() {
    local master='' i child
    if [[ -r $TMP/pf/queue/pid/master.pid ]]; then
        read -r master <"$TMP/pf/queue/pid/master.pid" || true
    fi
    timeout 30 script -qec "postfix -c '$PF_CONF' stop" /dev/null >>"$TMP/postfix-ctl.log" 2>&1 || true
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
        ((PF_STARTED)) && stop_postfix
        [[ -n $LISTGATE_PID ]] && stop_pid "$LISTGATE_PID"
        [[ -n $SINK_PID ]] && stop_pid "$SINK_PID"
        if ((FAILED > 0)); then
            dump maillog "$TMP/pf/maillog"
            dump postfix-ctl "$TMP/postfix-ctl.log"
            dump listgate "$TMP/listgate.stderr"
            dump sink "$TMP/sink.stderr"
            dump sink-record "$TMP/sink.record"
            dump bounce-log "$TMP/bounces.jsonl"
            local t
            for t in "$TMP"/spool/*.meta; do
                [[ -e $t ]] && dump "spool-$(basename "$t" .meta)" "$t"
            done
            for t in "$TMP"/swaks-*.txt; do
                [[ -e $t ]] && dump "$(basename "$t" .txt)" "$t"
            done
        fi
        rm -rf "$TMP"
    fi
    printf 'postfix: %d passed, %d failed\n' "$PASSED" "$FAILED"
    ((FAILED == 0 && rc == 0)) && exit 0
    exit 1
}

# ---------------------------------------------------------------- helpers

# Install Debian's postfix and swaks when missing. debconf is preset to "No
# configuration" so the package writes no /etc/postfix/main.cf and starts no
# system instance worth using; ours is private and never depends on it.
ensure_packages() {
    command -v postfix >/dev/null && command -v swaks >/dev/null && return 0
    say "installing postfix and swaks"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    local apt=(env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q postfix swaks)
    if ! "${apt[@]}" >"$TMP/apt.log" 2>&1; then
        say "apt-get install failed, refreshing the package lists"
        timeout 600 apt-get update -q >>"$TMP/apt.log" 2>&1 || true
        "${apt[@]}" >>"$TMP/apt.log" 2>&1 || { dump apt "$TMP/apt.log"; fatal "install postfix and swaks"; }
    fi
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

# GET /metrics from listgate; print the response (headers and body).
# shellcheck disable=SC2016  # $1 is expanded by the inner bash
fetch_metrics() {
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
        cat <&3' _ "$METRICS_PORT" 2>/dev/null | tr -d '\r' || true
}

# Print the value of the unlabelled metric NAME (0 when absent).
metric_value() {
    fetch_metrics | awk -v name="$1" '$1 == name { v = $2 } END { print (v == "" ? 0 : v) }'
}

# Run swaks against the private Postfix with RCPT TO:<$1>, extra swaks
# arguments after it; the transcript goes to the file $2. swaks exits non-zero
# when the server refuses something; that is for the caller to judge.
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

# ---------------------------------------------------------------- sink

start_sink() {
    local bin=$1
    # Created here, not by the background job's redirection (as for listgate).
    : >"$TMP/sink.stderr"
    "$bin" --listen 127.0.0.1:0 --control 127.0.0.1:0 --io auto \
        --record "$TMP/sink.record" --keep-last \
        </dev/null >"$TMP/sink.stdout" 2>"$TMP/sink.stderr" &
    SINK_PID=$!
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

# ---------------------------------------------------------------- listgate

start_listgate() {
    local bin=$1 mode
    cat >"$TMP/lists.json" <<EOF
{"lists": [{"address": "$LIST", "owners": $(json_array "${LIST_OWNERS[@]}"),
            "members": $(json_array "${LIST_MEMBERS[@]}")},
           {"address": "$VERP_LIST", "owners": ["lead@example.org"], "verp": true,
            "members": $(json_array "${VERP_MEMBERS[@]}")},
           {"address": "quiet@$DOMAIN", "owners": ["quiet-boss@example.org"],
            "members": ["mallory@example.com"]}]}
EOF
    cat >"$TMP/listgate.cfg" <<EOF
[mta]
lmtp_host: 127.0.0.1
lmtp_port: 0
smtp_host: 127.0.0.1
smtp_port: $SINK_PORT

[listgate]
table = $TMP/lists.json
spool_dir = $TMP/spool
bounce_log = $TMP/bounces.jsonl
metrics = 127.0.0.1:0
hostname = listgate.test
EOF
    # Created here, not by the background job's redirection, so that the
    # first poll below never races the child's open().
    : >"$TMP/listgate.stderr"
    "$bin" serve -c "$TMP/listgate.cfg" --io auto </dev/null >"$TMP/listgate.stdout" 2>"$TMP/listgate.stderr" &
    LISTGATE_PID=$!
    # "event=listening lmtp=127.0.0.1:P metrics=127.0.0.1:Q mode=relay"
    wait_log_line "$LISTGATE_PID" "$TMP/listgate.stderr" 'event=listening' "listgate starts"
    LMTP_PORT=$(grep -oE '(^| )lmtp=127\.0\.0\.1:[0-9]+' <<<"$LOG_LINE" | sed 's/.*://')
    METRICS_PORT=$(grep -oE '(^| )metrics=127\.0\.0\.1:[0-9]+' <<<"$LOG_LINE" | sed 's/.*://')
    mode=$(grep -oE '(^| )mode=[a-z]+' <<<"$LOG_LINE" | sed 's/.*=//')
    [[ -n $LMTP_PORT && -n $METRICS_PORT ]] || fatal "listgate starts" "cannot read the ports from: $LOG_LINE"
    [[ $mode == relay ]] || fatal "listgate starts in relay mode" "got: $LOG_LINE"
    pass "listgate relays (lmtp 127.0.0.1:$LMTP_PORT, metrics 127.0.0.1:$METRICS_PORT, smtp to 127.0.0.1:$SINK_PORT)"
}

# ---------------------------------------------------------------- postfix

# Write main.cf and master.cf of the private instance into $PF_CONF.
write_postfix_config() {
    mkdir -p "$PF_CONF" "$TMP/pf/queue"
    # data_directory is left for "postfix start" to create with the right
    # owner (a root-owned one breaks master.lock).
    cat >"$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $TMP/pf/queue
data_directory = $TMP/pf/data
# No syslog here: log to a file, which must be under maillog_file_prefixes.
maillog_file = $TMP/pf/maillog
maillog_file_prefixes = $TMP
myhostname = postfix.listgate.test
mydomain = listgate.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
# The list domain is relayed to listgate over LMTP. (Postfix 3.7's inline:
# maps take no blanks around "=" outside inner braces.)
relay_domains = lists.example.org
transport_maps = inline:{ lists.example.org=lmtp:[127.0.0.1]:$LMTP_PORT }
# Ask listgate at RCPT time; answer the first try, with 550 for "no".
smtpd_recipient_restrictions = reject_unverified_recipient, permit_mynetworks, reject_unauth_destination
unverified_recipient_reject_code = 550
address_verify_poll_count = 20
address_verify_poll_delay = 1s
address_verify_map =
EOF
    # Debian's master.cf with chroot off everywhere and smtpd moved to
    # 127.0.0.1:SMTP_PORT. Continuation lines (leading blank) pass unchanged.
    awk -v listen="127.0.0.1:$SMTP_PORT" '
        /^[^#[:space:]]/ && NF >= 8 {
            if ($1 == "smtp" && $2 == "inet") $1 = listen
            $5 = "n"
        }
        { print }' /etc/postfix/master.cf >"$PF_CONF/master.cf"
}

start_postfix() {
    local i banner=''
    PF_CONF=$TMP/pf/etc
    SMTP_PORT=$(free_port) || fatal "postfix starts" "no free TCP port found"
    write_postfix_config
    if ! timeout 60 script -qec "postfix -c '$PF_CONF' start" /dev/null >"$TMP/postfix-ctl.log" 2>&1; then
        PF_STARTED=1
        fatal "postfix starts" "postfix -c $PF_CONF start failed: $(tr -d '\r' <"$TMP/postfix-ctl.log" | tail -n3)"
    fi
    PF_STARTED=1
    # Wait up to 20 s for smtpd's 220 greeting.
    # shellcheck disable=SC2016  # $1 and $l are the inner bash's
    for ((i = 0; i < 40; i++)); do
        banner=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 2 l <&3 && printf "%s" "$l"' _ "$SMTP_PORT" 2>/dev/null || true)
        [[ $banner == 220* ]] && break
        sleep 0.5
    done
    [[ $banner == 220* ]] || fatal "postfix starts" "no 220 greeting on 127.0.0.1:$SMTP_PORT within 20 s"
    pass "postfix $(postconf -dh mail_version) listens (smtpd 127.0.0.1:$SMTP_PORT, relays lists.example.org to lmtp:[127.0.0.1]:$LMTP_PORT)"
}

# ---------------------------------------------------------------- checks

# Unknown list: Postfix probes listgate, which refuses; the SMTP client must
# get 550 at RCPT, with Postfix's "undeliverable address: host 127.0.0.1[...]
# said: 550" wording: the verdict is listgate's, relayed by recipient
# verification (not Postfix's own relay control).
check_unknown_refused() {
    local out=$TMP/swaks-unknown.txt code text
    swaks_to "$UNKNOWN" "$out" --quit-after RCPT || true
    code=$(reply_code "$out" "RCPT TO:")
    text=$(reply_text "$out" "RCPT TO:")
    if [[ $code == 550 && $text == *"undeliverable address: host 127.0.0.1[127.0.0.1] said: 550"* ]]; then
        pass "RCPT TO:<$UNKNOWN> refused at RCPT with 550"
    else
        fail "RCPT TO:<$UNKNOWN> refused at RCPT with 550" "got code $code: ${text:-no reply}"
    fi
}

# Owner address of a list: verified through listgate and accepted at RCPT.
check_owner_accepted() {
    local out=$TMP/swaks-owner.txt code
    swaks_to "$OWNER" "$out" --quit-after RCPT || true
    code=$(reply_code "$out" "RCPT TO:")
    if [[ $code == 250 ]]; then
        pass "RCPT TO:<$OWNER> accepted at RCPT"
    else
        fail "RCPT TO:<$OWNER> accepted at RCPT" "got code $code: $(reply_text "$out" "RCPT TO:")"
    fi
}

# Send a message with swaks to RCPT TO:<$1> through Postfix, the transcript
# in $TMP/swaks-$2.txt, extra swaks arguments after that: Postfix must take
# it (250 at RCPT and at the end of DATA).
check_sent() {
    local rcpt=$1 out=$TMP/swaks-$2.txt rc=0 code dot
    shift 2
    swaks_to "$rcpt" "$out" "$@" || rc=$?
    code=$(reply_code "$out" "RCPT TO:")
    dot=$(reply_code "$out" ".")
    if ((rc == 0)) && [[ $code == 250 && $dot == 250 ]]; then
        pass "message to <$rcpt> accepted by postfix (RCPT 250, end of DATA 250)"
    else
        fail "message to <$rcpt> accepted by postfix" "swaks status $rc, RCPT $code, end of DATA $dot"
    fi
}

# listgate's /metrics must count the LMTP transaction within 30 s.
check_listgate_received() {
    local i tx=0
    for ((i = 0; i < 60; i++)); do
        tx=$(metric_value listgate_transactions_total)
        [[ $tx =~ ^[0-9]+$ ]] && ((tx >= 1)) && break
        sleep 0.5
    done
    if [[ $tx =~ ^[0-9]+$ ]] && ((tx >= 1)); then
        pass "listgate received the message (listgate_transactions_total $tx)"
    else
        fail "listgate received the message" "listgate_transactions_total is '$tx' after 30 s" \
            "metrics: $(fetch_metrics | grep '^listgate_' | tr '\n' ' ')"
    fi
}

# Postfix must log the delivery to <$1> as sent via listgate's LMTP port
# (which listgate answers 250 only once the mail is delivered or spooled).
check_maillog_sent() {
    local rcpt=$1 i line=''
    local relay="relay=127.0.0.1[127.0.0.1]:$LMTP_PORT,"
    for ((i = 0; i < 60; i++)); do
        line=$(grep -F "to=<$rcpt>" "$TMP/pf/maillog" 2>/dev/null | grep -F "$relay" | grep -F 'status=sent' | head -n1 || true)
        [[ -n $line ]] && break
        sleep 0.5
    done
    if [[ -n $line ]]; then
        pass "maillog: to=<$rcpt> $relay status=sent"
    else
        fail "maillog: to=<$rcpt> $relay status=sent" "no such line within 30 s"
    fi
}

# The sink's record must hold Message-Id $2 once for each address after $3
# and for nobody else, each with envelope sender $3; "verp:LOCAL" for $3
# stands for each member's VERP sender LOCAL+user=domain@$DOMAIN. Waits up to
# 30 s for the lines; $1 says what was sent. The lines are also added to
# EXPECTED_RECORD for check_nothing_else.
check_record() {
    local what=$1 id=$2 from=$3 rcpt sender want got i shown
    shift 3
    local lines=()
    for rcpt in "$@"; do
        sender=$from
        if [[ $from == verp:* ]]; then sender="${from#verp:}+${rcpt%@*}=${rcpt#*@}@$DOMAIN"; fi
        lines+=("$id $rcpt $sender")
    done
    EXPECTED_RECORD+=("${lines[@]}")
    want=$(printf '%s\n' "${lines[@]}" | LC_ALL=C sort)
    got=''
    for ((i = 0; i < 60; i++)); do
        got=$(record_lines "$id")
        [[ -n $got ]] && (($(wc -l <<<"$got") >= $#)) && break
        sleep 0.5
    done
    shown=$from
    if [[ $from == verp:* ]]; then shown="${from#verp:}+USER=DOMAIN@$DOMAIN"; fi
    if [[ $got == "$want" ]]; then
        pass "sink got $what once for each of $*, MAIL FROM:<$shown>"
    else
        local got_lines=()
        [[ -n $got ]] && mapfile -t got_lines <<<"$got"
        fail "sink got $what once for each of $*, MAIL FROM:<$shown>" \
            "want (MESSAGE_ID RCPT MAIL_FROM):" "${lines[@]}" "got, after up to 30 s:" "${got_lines[@]}"
    fi
}

# The post as the members got it (the sink's last body, fetched right after
# the post's record lines came, before anything else is sent): the list
# headers in its header block, its own Message-Id once, its Subject and text,
# and as many bytes as the record's BODY_BYTES.
check_post_headers() {
    local file=$TMP/last-post.eml hdr re ids bytes size problems=()
    local what="delivered post carries List-Id, List-Post, List-Help, List-Unsubscribe, Precedence, X-BeenThere"
    if ! sink_last "$file"; then
        fail "$what" "sink control command 'last' failed: $(cat "$file.err" 2>/dev/null)"
        return 0
    fi
    hdr=$(header_block "$file")
    for re in '^List-Id: *<announce\.lists\.example\.org>$' \
        '^List-Post: *<mailto:announce@lists\.example\.org>$' \
        '^List-Help: *<mailto:announce-owner@lists\.example\.org[?>]' \
        '^List-Unsubscribe: *<mailto:announce-owner@lists\.example\.org[?>]' \
        '^Precedence: *list$' \
        '^X-BeenThere: *announce@lists\.example\.org$' \
        '^Subject: listgate postfix test$'; do
        grep -qiE "$re" <<<"$hdr" || problems+=("no header line like: $re")
    done
    ids=$(grep -iE '^Message-Id:' <<<"$hdr" | sed -E 's/^[^:]*: *//' | tr '\n' ' ' || true)
    [[ $ids == "$POST_ID " ]] || problems+=("Message-Id lines: want just $POST_ID, got: ${ids:-none}")
    grep -qF 'A post to the announce list through Postfix.' "$file" || problems+=("the post's text is missing")
    bytes=$(record_body_bytes "$POST_ID" | tr '\n' ' ')
    size=$(stat -c %s "$file")
    [[ $bytes == "$size " ]] || problems+=("record BODY_BYTES: $bytes; last body: $size bytes")
    if ((${#problems[@]} == 0)); then
        pass "$what ($size bytes)"
    else
        fail "$what" "${problems[@]}" "header block:" "${hdr//$'\n'/ | }"
    fi
}

# Mail to the owners goes out as it came: no list headers added.
check_owner_unchanged() {
    local file=$TMP/last-owner.eml hdr ids problems=()
    local what="owner message delivered without list headers, own Message-Id kept"
    if ! sink_last "$file"; then
        fail "$what" "sink control command 'last' failed: $(cat "$file.err" 2>/dev/null)"
        return 0
    fi
    hdr=$(header_block "$file")
    if grep -qiE '^(List-[A-Za-z]+|X-BeenThere|Precedence):' <<<"$hdr"; then
        problems+=("list headers: $(grep -iE '^(List-[A-Za-z]+|X-BeenThere|Precedence):' <<<"$hdr" | tr '\n' ' ')")
    fi
    ids=$(grep -iE '^Message-Id:' <<<"$hdr" | sed -E 's/^[^:]*: *//' | tr '\n' ' ' || true)
    [[ $ids == "$OWNER_ID " ]] || problems+=("Message-Id lines: want just $OWNER_ID, got: ${ids:-none}")
    if ((${#problems[@]} == 0)); then
        pass "$what"
    else
        fail "$what" "${problems[@]}"
    fi
}

# A DSN, as a remote MTA sends it for a VERP'ed post, to the list's bounces
# address with alice's VERP tag.
write_dsn() {
    cat >"$1" <<EOF
From: MAILER-DAEMON@mx.example.org
To: $BOUNCE_TO
Subject: Undelivered Mail Returned to Sender
Message-Id: $BOUNCE_ID
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Type: text/plain

alice@example.org: user unknown.

--dsn-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; alice@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.org>: user unknown

--dsn-boundary--
EOF
}

# The DSN to LIST-bounces+alice=example.org@ gives one bounce log line, for
# the list and for alice@example.org (the VERP tag), status 5.1.1; it is the
# log's only line (no member was refused).
check_bounce_logged() {
    local i line='' n=0 what="bounce log: one line, list $LIST, member alice@example.org, status 5.1.1"
    for ((i = 0; i < 60; i++)); do
        line=$(grep -F "\"list\":\"$LIST\"" "$TMP/bounces.jsonl" 2>/dev/null |
            grep -F '"member":"alice@example.org"' | head -n1 || true)
        [[ -n $line ]] && break
        sleep 0.5
    done
    [[ -e $TMP/bounces.jsonl ]] && n=$(wc -l <"$TMP/bounces.jsonl")
    if [[ -n $line && $line == *'"status":"5.1.1"'* ]] && ((n == 1)); then
        pass "$what"
    else
        fail "$what" "after up to 30 s: $n line(s); matching line: ${line:-none}"
    fi
}

# At the end: the sink's whole record is exactly the deliveries the checks
# above expected (no one else, e.g. the quiet list's mallory@; nothing
# twice), and listgate's spool holds nothing (no delivery waits for a retry).
check_nothing_else() {
    local want got spooled
    want=$(printf '%s\n' "${EXPECTED_RECORD[@]}" | LC_ALL=C sort)
    got=$(record_lines)
    if [[ $got == "$want" ]]; then
        pass "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else"
    else
        fail "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else" \
            "unexpected or missing (diff want got):" \
            "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' | tr '\n' ' ' || true)"
    fi
    spooled=$(find "$TMP/spool" -name '*.meta' 2>/dev/null | wc -l || true)
    if [[ -d $TMP/spool && $spooled == 0 ]]; then
        pass "listgate's spool ($TMP/spool) is empty"
    else
        fail "listgate's spool is empty" "spool dir exists: $([[ -d $TMP/spool ]] && echo yes || echo no), entries: $spooled"
    fi
}

# ---------------------------------------------------------------- main

main() {
    (($# == 1 || $# == 2)) || {
        echo "usage: $0 PATH_TO_LISTGATE_BINARY [PATH_TO_LISTGATE_SINK]" >&2
        exit 2
    }
    local bin=$1 t0=$SECONDS
    local sink=${2:-$(dirname "$1")/../../bench/sink/listgate-sink}
    trap cleanup EXIT
    trap 'ERR_LINE=$LINENO' ERR
    trap 'exit 130' INT TERM
    [[ -x $bin ]] || fatal "listgate binary is executable" "$bin"
    [[ -x $sink ]] || fatal "listgate-sink binary is executable" "$sink"
    TMP=$(mktemp -d /tmp/listgate-postfix.XXXXXX)
    # Postfix's unprivileged daemons must reach their queue and data dirs.
    chmod 755 "$TMP"

    ensure_packages
    start_sink "$sink"
    start_listgate "$bin"
    start_postfix

    check_unknown_refused
    check_owner_accepted

    check_sent "$LIST" list --header "Subject: listgate postfix test" \
        --header "Message-Id: $POST_ID" --body "A post to the announce list through Postfix."
    check_listgate_received
    check_maillog_sent "$LIST"
    check_record "the post to <$LIST>" "$POST_ID" "$LIST_BOUNCES" "${LIST_MEMBERS[@]}"
    check_post_headers

    check_sent "$VERP_LIST" verp --header "Subject: listgate postfix test (verp)" \
        --header "Message-Id: $VERP_ID" --body "A post to the VERP list through Postfix."
    check_record "the post to <$VERP_LIST>" "$VERP_ID" "verp:team-bounces" "${VERP_MEMBERS[@]}"

    check_sent "$OWNER" owner-message --header "Subject: listgate postfix test (owners)" \
        --header "Message-Id: $OWNER_ID" --body "A message to the owners through Postfix."
    check_record "the message to <$OWNER>" "$OWNER_ID" "$LIST_BOUNCES" "${LIST_OWNERS[@]}"
    check_owner_unchanged

    write_dsn "$TMP/dsn.eml"
    check_sent "$BOUNCE_TO" bounce --from '<>' --data "@$TMP/dsn.eml"
    check_maillog_sent "$BOUNCE_TO"
    check_bounce_logged

    check_nothing_else
    say "done in $((SECONDS - t0)) s"
}

main "$@"
