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
#   -> listgate serve (relay mode, LMTP in) -> SMTP -> the same Postfix's
#   second smtpd (OUTBOUND_PORT, open to 127.0.0.1 only: listgate's
#   smtp_host; it offers PIPELINING and CHUNKING, so listgate sends BDAT)
#   -> Postfix's smtp client, transport smtp:[127.0.0.1]:SINK_PORT for the
#   members' domains -> listgate-sink (--record, --keep-last, control port).
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
#      one else, nothing twice) and listgate's spool is empty;
#   9. every outbound transaction went to Postfix with BDAT (listgate's
#      listgate_outbound_bdat_transactions_total equals its outbound
#      transactions), and Postfix passed each one on (8.).
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
# Reporting, cleanup, package install, swaks, sink and private-Postfix helpers
# shared with tests/postfix/maps.sh (and, through tests/lib/mta_suite.sh,
# tests/exim/run.sh).
SUITE=postfix
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

PF_CONF=

# ---------------------------------------------------------------- cleanup

# Called by mta_suite.sh's cleanup, after the servers stopped, when anything failed.
dump_on_failure() {
    dump maillog "$TMP/pf/maillog"
    dump postfix-ctl "$TMP/postfix-ctl.log"
    dump_listgate_and_sink
    local t
    for t in "$TMP"/spool/*.meta; do
        [[ -e $t ]] && dump "spool-$(basename "$t" .meta)" "$t"
    done
    dump_transcripts "$TMP"
}

# ---------------------------------------------------------------- helpers

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
smtp_port: $OUTBOUND_PORT

[listgate]
table = $TMP/lists.json
spool_dir = $TMP/spool
bounce_log = $TMP/bounces.jsonl
metrics = 127.0.0.1:0
hostname = listgate.test
EOF
    serve_listgate "$TMP" "listgate starts" "$bin" serve -c "$TMP/listgate.cfg" --io auto
    LMTP_PORT=$(log_port lmtp)
    METRICS_PORT=$(log_port metrics)
    mode=$(grep -oE '(^| )mode=[a-z]+' <<<"$LOG_LINE" | sed 's/.*=//')
    [[ -n $LMTP_PORT && -n $METRICS_PORT ]] || fatal "listgate starts" "cannot read the ports from: $LOG_LINE"
    [[ $mode == relay ]] || fatal "listgate starts in relay mode" "got: $LOG_LINE"
    pass "listgate relays (lmtp 127.0.0.1:$LMTP_PORT, metrics 127.0.0.1:$METRICS_PORT, smtp to Postfix at 127.0.0.1:$OUTBOUND_PORT)"
}

# ---------------------------------------------------------------- postfix

# Write main.cf and master.cf of the private instance into $PF_CONF.
write_postfix_config() {
    mkdir -p "$PF_CONF"
    {
        # The private instance's own lines (queue, data, maillog, 127.0.0.1).
        pf_private_main_cf "$TMP/pf"
        cat <<EOF
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
# The list domain is relayed to listgate over LMTP. (Postfix 3.7's inline:
# maps take no blanks around "=" outside inner braces.)
relay_domains = lists.example.org
# The members' domains (relayed for 127.0.0.1, mynetworks) go to the sink.
transport_maps = inline:{ lists.example.org=lmtp:[127.0.0.1]:$LMTP_PORT, example.com=smtp:[127.0.0.1]:$SINK_PORT, example.org=smtp:[127.0.0.1]:$SINK_PORT, example.net=smtp:[127.0.0.1]:$SINK_PORT }
# Ask listgate at RCPT time; answer the first try, with 550 for "no".
smtpd_recipient_restrictions = reject_unverified_recipient, permit_mynetworks, reject_unauth_destination
unverified_recipient_reject_code = 550
address_verify_poll_count = 20
address_verify_poll_delay = 1s
address_verify_map =
EOF
    } >"$PF_CONF/main.cf"
    # Debian's master.cf with chroot off everywhere and smtpd moved to
    # 127.0.0.1:SMTP_PORT; and listgate's upstream: a second smtpd that
    # relays for mynetworks without probing anyone.
    pf_write_master "$PF_CONF" "$SMTP_PORT"
    printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n' \
        "$OUTBOUND_PORT" >>"$PF_CONF/master.cf"
}

start_postfix() {
    PF_CONF=$TMP/pf/etc
    SMTP_PORT=$(free_port) || fatal "postfix starts" "no free TCP port found"
    write_postfix_config
    # Starts it and waits up to 20 s for smtpd's 220 greeting.
    pf_start "$PF_CONF" "$TMP/pf/queue" "$SMTP_PORT" || fatal "postfix starts" "$PF_START_ERR"
    pass "postfix $(postconf -dh mail_version) listens (smtpd 127.0.0.1:$SMTP_PORT, relays lists.example.org to lmtp:[127.0.0.1]:$LMTP_PORT)"
}

# ---------------------------------------------------------------- checks

# Unknown list: Postfix probes listgate, which refuses; the SMTP client must
# get 550 at RCPT, with Postfix's "undeliverable address: host 127.0.0.1[...]
# said: 550" wording: the verdict is listgate's, relayed by recipient
# verification (not Postfix's own relay control).
check_unknown_refused() {
    check_rcpt_reply "RCPT TO:<$UNKNOWN> refused at RCPT with 550" "$SMTP_PORT" "$UNKNOWN" "$TMP/swaks-unknown.txt" \
        550 "undeliverable address: host 127.0.0.1[127.0.0.1] said: 550"
}

# Owner address of a list: verified through listgate and accepted at RCPT.
check_owner_accepted() {
    check_rcpt_reply "RCPT TO:<$OWNER> accepted at RCPT" "$SMTP_PORT" "$OWNER" "$TMP/swaks-owner.txt" 250 ''
}

# Send a message with swaks to RCPT TO:<$1> through Postfix, the transcript
# in $TMP/swaks-$2.txt, extra swaks arguments after that: Postfix must take
# it (250 at RCPT and at the end of DATA).
check_sent() {
    local rcpt=$1 out=$TMP/swaks-$2.txt
    shift 2
    check_taken "message to <$rcpt> accepted by postfix" "(RCPT 250, end of DATA 250)" "$SMTP_PORT" "$rcpt" "$out" "$@"
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
# (within 30 s).
check_maillog_sent() {
    pf_check_sent "maillog: to=<$1> relay=127.0.0.1[127.0.0.1]:$LMTP_PORT, status=sent" "$TMP/pf/maillog" "$1" 30
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

# The DSN to LIST-bounces+alice=example.org@ gives one bounce log line, for
# the list and for alice@example.org (the VERP tag), status 5.1.1; it is the
# log's only line (no member was refused).
check_bounce_logged() {
    local line n=0 what="bounce log: one line, list $LIST, member alice@example.org, status 5.1.1"
    line=$(poll_output 60 0.5 bounce_line "$TMP/bounces.jsonl" "$LIST" alice@example.org)
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
    local spooled
    check_record_complete
    spooled=$(find "$TMP/spool" -name '*.meta' 2>/dev/null | wc -l || true)
    if [[ -d $TMP/spool && $spooled == 0 ]]; then
        pass "listgate's spool ($TMP/spool) is empty"
    else
        fail "listgate's spool is empty" "spool dir exists: $([[ -d $TMP/spool ]] && echo yes || echo no), entries: $spooled"
    fi
}

# Every outbound transaction (the posts and the owner message) went to
# Postfix's smtpd with BDAT; the sink's record above shows Postfix took them.
check_outbound_bdat() {
    local bdat total
    bdat=$(metric_value listgate_outbound_bdat_transactions_total)
    total=$(metric_value listgate_outbound_transactions_total)
    if ((total >= 3 && bdat == total)); then
        pass "listgate sent all $total outbound transactions to Postfix with BDAT"
    else
        fail "listgate sent every outbound transaction with BDAT" "BDAT $bdat of $total (want all, at least 3)"
    fi
}

# ---------------------------------------------------------------- main

main() {
    # Sets LISTGATE_BIN, SINK_BIN and TMP (which Postfix's unprivileged
    # daemons can enter).
    suite_start "$@"
    ensure_packages
    start_sink "$SINK_BIN" control
    OUTBOUND_PORT=$(free_port) || fatal "listgate starts" "no free TCP port found"
    start_listgate "$LISTGATE_BIN"
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

    # A DSN, as a remote MTA sends it for a VERP'ed post, to the list's
    # bounces address with alice's VERP tag.
    write_dsn "$TMP/dsn.eml" "$BOUNCE_TO" "$BOUNCE_ID" alice@example.org
    check_sent "$BOUNCE_TO" bounce --from '<>' --data "@$TMP/dsn.eml"
    check_maillog_sent "$BOUNCE_TO"
    check_bounce_logged

    check_nothing_else
    check_outbound_bdat
    suite_done
}

main "$@"
