#!/usr/bin/env bash
# tests/postfix/run.sh: listgate behind a real Postfix (Debian's package).
#
# Usage: tests/postfix/run.sh PATH_TO_LISTGATE_BINARY
#
# Proves, end to end over real SMTP and LMTP, that
#   1. an unknown list address is refused at RCPT time with 550: Postfix's
#      reject_unverified_recipient probes listgate over LMTP, listgate says
#      550 5.1.1, and Postfix passes the refusal on to the SMTP client;
#   2. a list owner address (announce-owner@...) is accepted at RCPT;
#   3. a message to a list address is accepted by Postfix, handed to listgate
#      over LMTP (listgate's /metrics counts the transaction) and logged as
#      status=sent with listgate's LMTP address as the relay.
#
# Everything lives in one temp dir: listgate's table and config, and a private
# Postfix instance (own config, queue and data directories, maillog file,
# smtpd on a free unprivileged port of 127.0.0.1). The EXIT trap stops both
# servers and removes the temp dir, also on failure. See
# /work/shared/MTA-TESTING.md for why the Postfix set-up looks the way it does.
#
# The last line printed is "postfix: N passed, N failed"; the exit status is
# non-zero when anything failed, and then Postfix's maillog and listgate's
# stderr are dumped first.

set -Eeuo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

LIST=announce@lists.example.org
OWNER=announce-owner@lists.example.org
UNKNOWN=nosuchlist@lists.example.org
SENDER=sender@example.com

PASSED=0
FAILED=0
TMP=
LISTGATE_PID=
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
        if ((FAILED > 0)); then
            dump maillog "$TMP/pf/maillog"
            dump postfix-ctl "$TMP/postfix-ctl.log"
            dump listgate "$TMP/listgate.stderr"
            local t
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

# ---------------------------------------------------------------- listgate

start_listgate() {
    local bin=$1 i line
    cat >"$TMP/lists.json" <<EOF
{"lists": [{"address": "announce@lists.example.org", "members": ["alice@example.com"]},
           {"address": "team@lists.example.org", "members": ["bob@example.com"]}]}
EOF
    cat >"$TMP/listgate.cfg" <<EOF
[mta]
lmtp_host: 127.0.0.1
lmtp_port: 0

[listgate]
table = $TMP/lists.json
metrics = 127.0.0.1:0
hostname = listgate.test
EOF
    # Created here, not by the background job's redirection, so that the
    # first poll below never races the child's open().
    : >"$TMP/listgate.stderr"
    "$bin" serve -c "$TMP/listgate.cfg" --discard --io auto </dev/null >"$TMP/listgate.stdout" 2>"$TMP/listgate.stderr" &
    LISTGATE_PID=$!
    # Wait up to 20 s for "event=listening lmtp=127.0.0.1:P metrics=127.0.0.1:Q".
    for ((i = 0; i < 200; i++)); do
        line=$(grep -m1 'event=listening' "$TMP/listgate.stderr" || true)
        [[ -n $line ]] && break
        kill -0 "$LISTGATE_PID" 2>/dev/null || fatal "listgate starts" "it exited before logging event=listening"
        sleep 0.1
    done
    [[ -n $line ]] || fatal "listgate starts" "no event=listening line within 20 s"
    LMTP_PORT=$(grep -oE '(^| )lmtp=127\.0\.0\.1:[0-9]+' <<<"$line" | sed 's/.*://')
    METRICS_PORT=$(grep -oE '(^| )metrics=127\.0\.0\.1:[0-9]+' <<<"$line" | sed 's/.*://')
    [[ -n $LMTP_PORT && -n $METRICS_PORT ]] || fatal "listgate starts" "cannot read the ports from: $line"
    pass "listgate listens (lmtp 127.0.0.1:$LMTP_PORT, metrics 127.0.0.1:$METRICS_PORT)"
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

# List address: accepted at RCPT and the whole message taken by Postfix.
check_list_message_accepted() {
    local out=$TMP/swaks-list.txt rc=0 rcpt dot
    swaks_to "$LIST" "$out" --header "Subject: listgate postfix test" \
        --body "A post to the announce list through Postfix." || rc=$?
    rcpt=$(reply_code "$out" "RCPT TO:")
    dot=$(reply_code "$out" ".")
    if ((rc == 0)) && [[ $rcpt == 250 && $dot == 250 ]]; then
        pass "message to <$LIST> accepted by postfix (RCPT 250, end of DATA 250)"
    else
        fail "message to <$LIST> accepted by postfix" "swaks status $rc, RCPT $rcpt, end of DATA $dot"
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

# Postfix must log the delivery to the list as sent via listgate's LMTP port.
check_maillog_sent() {
    local i line=''
    local relay="relay=127.0.0.1[127.0.0.1]:$LMTP_PORT,"
    for ((i = 0; i < 60; i++)); do
        line=$(grep -F "to=<$LIST>" "$TMP/pf/maillog" 2>/dev/null | grep -F "$relay" | grep -F 'status=sent' | head -n1 || true)
        [[ -n $line ]] && break
        sleep 0.5
    done
    if [[ -n $line ]]; then
        pass "maillog: to=<$LIST> $relay status=sent"
    else
        fail "maillog: to=<$LIST> $relay status=sent" "no such line within 30 s"
    fi
}

# ---------------------------------------------------------------- main

main() {
    (($# == 1)) || { echo "usage: $0 PATH_TO_LISTGATE_BINARY" >&2; exit 2; }
    local bin=$1 t0=$SECONDS
    trap cleanup EXIT
    trap 'ERR_LINE=$LINENO' ERR
    trap 'exit 130' INT TERM
    [[ -x $bin ]] || fatal "listgate binary is executable" "$bin"
    TMP=$(mktemp -d /tmp/listgate-postfix.XXXXXX)
    # Postfix's unprivileged daemons must reach their queue and data dirs.
    chmod 755 "$TMP"

    ensure_packages
    start_listgate "$bin"
    start_postfix

    check_unknown_refused
    check_owner_accepted
    check_list_message_accepted
    check_listgate_received
    check_maillog_sent
    say "done in $((SECONDS - t0)) s"
}

main "$@"
