#!/usr/bin/env bash
# tests/postfix/maps.sh: a real Postfix (Debian's package) configured with
# the maps `listgate aliases` writes, exactly as README.md's "Postfix"
# section tells operators, in front of listgate relaying into the project's
# SMTP sink.
#
# Usage: tests/postfix/maps.sh PATH_TO_LISTGATE_BINARY [PATH_TO_LISTGATE_SINK]
#   (the sink defaults to bench/sink/listgate-sink of the listgate binary's
#   build directory: $(dirname LISTGATE)/../../bench/sink/listgate-sink)
#
# Four set-ups, one after the other, each with its own listgate (LMTP on a
# fixed free port of 127.0.0.1, since the port goes into the maps) and its
# own private Postfix instance; one listgate-sink records every delivery:
#   hash          transport_maps, relay_domains, local_recipient_maps and
#                 relay_recipient_maps from hash: maps (listgate aliases runs
#                 postmap), written into the table's directory (no --dir),
#                 which listgate serve rewrites at start-up;
#   regexp        the same from regexp: maps written with --dir, plus
#                 reject_unverified_recipient: the maps still name a list
#                 that listgate no longer has ("stale" maps), and Postfix's
#                 probe to listgate refuses it at RCPT;
#   alias         the list domain lists.example.org is a virtual alias domain
#                 of the existing Postfix set-up and has "alias_domain":
#                 "x.example.org" in the table: postfix_vmap (hash) as
#                 virtual_alias_maps maps it onto x.example.org, which
#                 postfix_lmtp routes to listgate (Mailman's documented
#                 "unusual Postfix configuration");
#   alias-regexp  the same with regexp: maps written with --dir (the regexp
#                 postfix_vmap must carry the VERP tag over itself).
#
# In each set-up, end to end through swaks -> Postfix -> LMTP -> listgate:
#   1. listgate aliases exits 0 and writes the files of that set-up (a .db
#      for each hash map; postfix_vmap only for the alias set-ups);
#   2. the main.cf lines under test are in README.md, word for word, each a
#      whole fenced block (with /var/lib/listgate for the map directory);
#   3. listgate serve rewrites the maps in its table's directory at start-up
#      (where Postfix reads them: with the same lines as listgate aliases);
#   4. unknown addresses (nosuchlist@, and announce-request@ of a list
#      without backend, which listgate does not accept) are refused by
#      Postfix at RCPT with 550 (relay recipient table, or virtual alias
#      table), and nothing of them is delivered;
#   5. a post to announce@ reaches every member (the sink's record, envelope
#      sender announce-bounces@lists.example.org);
#   6. a DSN to announce-bounces+alice=example.org@ is handed to listgate
#      with its VERP tag (Postfix's maillog; in the alias set-ups as
#      ...+alice=example.org@x.example.org), and listgate's bounce log names
#      member alice@example.org (the DSN itself names another address, so
#      the member can only come from the tag);
#   7. mail to announce-owner@ reaches the owner (the sink's record).
# At the end the sink's record holds exactly the expected deliveries.
#
# The client (swaks on 127.0.0.1) stands for the Internet: mynetworks does
# not hold it. Everything lives in one temp dir; the EXIT trap stops the
# servers and removes it, also on failure. The last line printed is
# "postfix-maps: N passed, N failed"; the exit status is non-zero when
# anything failed, and then Postfix's maillogs, the maps, listgate's and the
# sink's stderr, the sink's record and the bounce logs are dumped first.

set -Eeuo pipefail
SUITE=postfix-maps
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOMAIN=lists.example.org
ALIAS_DOMAIN=x.example.org
LIST=announce@$DOMAIN
LIST_BOUNCES=announce-bounces@$DOMAIN
OWNER=announce-owner@$DOMAIN
BOUNCE_TO=announce-bounces+alice=example.org@$DOMAIN
SENDER=sender@example.com
LIST_MEMBERS=(alice@example.org bob@example.com carol@example.net)
LIST_OWNERS=(boss@example.org)
RUN_TAG=$$.$RANDOM
# The set-ups run (names), for the dumps.
SETUPS=()

# ------------------------------------------------ main.cf, as in README.md
#
# Each block below is printed with /var/lib/listgate, the directory README.md
# uses, and must appear in README.md as it is (check_readme); the test swaps
# in its own map directory.

readme_common() {
    cat <<'EOF'
# listgate's VERP and sub-addresses: list-bounces+alice=example.org@...
recipient_delimiter = +
owner_request_special = no
EOF
}

# The transport and relay maps of type $1; with $2 = local,
# local_recipient_maps too.
# shellcheck disable=SC2016  # $alias_maps is Postfix's
readme_relay_maps() {
    printf 'transport_maps = %s:/var/lib/listgate/postfix_lmtp\n' "$1"
    if [[ ${2:-} == local ]]; then
        printf 'local_recipient_maps = proxy:unix:passwd.byname $alias_maps %s:/var/lib/listgate/postfix_lmtp\n' "$1"
    fi
    printf 'relay_domains = %s:/var/lib/listgate/postfix_domains\n' "$1"
    printf 'relay_recipient_maps = %s:/var/lib/listgate/postfix_lmtp\n' "$1"
}

readme_hash() { readme_relay_maps hash local; }
readme_regexp() { readme_relay_maps regexp local; }

readme_verify() {
    cat <<'EOF'
smtpd_recipient_restrictions =
    permit_mynetworks,
    reject_unauth_destination,
    reject_unlisted_recipient,
    reject_unverified_recipient
unverified_recipient_reject_code = 550
address_verify_poll_count = 20
address_verify_poll_delay = 1s
EOF
}

readme_alias() {
    readme_relay_maps hash
    printf 'virtual_alias_maps = hash:/var/lib/listgate/postfix_vmap\n'
}

readme_alias_regexp() {
    readme_relay_maps regexp
    printf 'virtual_alias_maps = regexp:/var/lib/listgate/postfix_vmap\n'
}

# The README blocks of set-up $1, in the order main.cf gets them.
readme_blocks() {
    case $1 in
        hash) echo readme_common readme_hash ;;
        regexp) echo readme_common readme_regexp readme_verify ;;
        alias) echo readme_common readme_alias ;;
        alias-regexp) echo readme_common readme_alias_regexp ;;
    esac
}

# ---------------------------------------------------------------- cleanup

# Called by mta_suite.sh's cleanup, after the servers stopped, when anything failed.
dump_on_failure() {
    local name t
    dump postfix-ctl "$TMP/postfix-ctl.log"
    dump sink "$TMP/sink.stderr"
    dump sink-record "$TMP/sink.record"
    for name in "${SETUPS[@]}"; do
        dump "$name-main.cf" "$TMP/$name/pf/etc/main.cf"
        dump "$name-aliases" "$TMP/$name/aliases.out"
        for t in "$TMP/$name"/maps/postfix_* "$TMP/$name"/table/postfix_*; do
            [[ -e $t && $t != *.db ]] && dump "$name-$(basename "$t")" "$t"
        done
        dump "$name-maillog" "$TMP/$name/pf/maillog"
        dump "$name-listgate" "$TMP/$name/listgate.stderr"
        dump "$name-bounce-log" "$TMP/$name/bounces.jsonl"
        dump_transcripts "$TMP/$name" "$name-"
    done
}

# ---------------------------------------------------------------- one set-up

# The list table of set-up $1 into $2. "retired@" is there only when $3 is
# "with-retired" (the table the maps were made from).
write_table() {
    local name=$1 file=$2 retired=${3:-} domains=''
    [[ $name == alias* ]] && domains="\"domains\": {\"$DOMAIN\": {\"alias_domain\": \"$ALIAS_DOMAIN\"}},"
    {
        printf '{%s\n "lists": [' "$domains"
        printf '{"address": "%s", "owners": %s, "members": %s}' \
            "$LIST" "$(json_array "${LIST_OWNERS[@]}")" "$(json_array "${LIST_MEMBERS[@]}")"
        if [[ $retired == with-retired ]]; then
            printf ',\n  {"address": "retired@%s", "owners": ["old-boss@example.org"], "members": ["mallory@example.com"]}' "$DOMAIN"
        fi
        printf ']}\n'
    } >"$file"
}

# main.cf of set-up $1 (map directory $2, private state under $3): the
# private instance's own lines, the test's stand-ins for an existing
# configuration, then the README blocks with the map directory swapped in.
write_main_cf() {
    local name=$1 maps=$2 state=$3 block text
    pf_private_main_cf "$state"
    cat <<EOF
# Test only: the client on 127.0.0.1 stands for the Internet; nothing is
# delivered locally; the address verification cache is in memory.
mynetworks = 192.0.2.0/24
mydestination =
alias_maps =
alias_database =
biff = no
address_verify_map =
EOF
    [[ $name == alias* ]] && printf '# The existing set-up: the list domain is a virtual alias domain.\nvirtual_alias_domains = %s\n' "$DOMAIN"
    for block in $(readme_blocks "$name"); do
        text=$("$block")
        printf '%s\n' "${text//\/var\/lib\/listgate/$maps}"
    done
}

# listgate's config of set-up $1 into $2.
write_listgate_cfg() {
    local name=$1 file=$2 type=hash
    [[ $name == *regexp ]] && type=regexp
    cat >"$file" <<EOF
[mta]
lmtp_host: 127.0.0.1
lmtp_port: $LMTP_PORT
smtp_host: 127.0.0.1
smtp_port: $SINK_PORT

[listgate]
table = $TMP/$name/table/lists.json
spool_dir = $TMP/$name/spool
bounce_log = $TMP/$name/bounces.jsonl
metrics = 127.0.0.1:0
hostname = listgate.test
postfix_map_type = $type
EOF
}

# Run listgate aliases for set-up $1 (maps into $2; --dir unless $2 is the
# table's directory) and check what it wrote. postmap finds the private
# instance's main.cf through MAIL_CONFIG: this machine has no
# /etc/postfix/main.cf.
run_aliases() {
    local name=$1 maps=$2 bin=$3 rc=0 f want=() missing=()
    local args=(aliases -c "$TMP/$name/listgate.cfg")
    [[ $maps != "$TMP/$name/table" ]] && args+=(--dir "$maps")
    MAIL_CONFIG=$TMP/$name/pf/etc timeout 30 "$bin" "${args[@]}" >"$TMP/$name/aliases.out" 2>&1 || rc=$?
    want=(postfix_lmtp postfix_domains)
    [[ $name == alias* ]] && want+=(postfix_vmap)
    if [[ $name != *regexp ]]; then
        want+=(postfix_lmtp.db postfix_domains.db)
        [[ $name == alias* ]] && want+=(postfix_vmap.db)
    fi
    for f in "${want[@]}"; do [[ -s $maps/$f ]] || missing+=("$f"); done
    [[ $name != alias* && -e $maps/postfix_vmap ]] && missing+=("(postfix_vmap must not be there)")
    if ((rc == 0 && ${#missing[@]} == 0)); then
        pass "$name: listgate ${args[*]/#$TMP/\$TMP} wrote ${want[*]}"
    else
        fail "$name: listgate ${args[*]/#$TMP/\$TMP} wrote ${want[*]}" "exit status $rc; missing: ${missing[*]:-none}" \
            "output: $(tr '\n' ' ' <"$TMP/$name/aliases.out")"
    fi
}

# Start listgate for set-up $1; sets LISTGATE_PID.
start_listgate() {
    local name=$1 bin=$2 dir=$TMP/$1
    serve_listgate "$dir" "$name: listgate starts" \
        env MAIL_CONFIG="$dir/pf/etc" "$bin" serve -c "$dir/listgate.cfg" --io auto
    listgate_relays_or_fatal "$name: "
}

# listgate serve writes the maps again into the table's directory at
# start-up (event=maps_written; waits up to 10 s). Where that is the
# directory Postfix reads (hash, alias), the text maps must have the same
# lines as those listgate aliases wrote, but for the time in the header.
check_serve_rewrote() {
    local name=$1 maps=$2 file=$TMP/$1/listgate.stderr i line='' f diffs=''
    for ((i = 0; i < 40; i++)); do
        line=$(grep -m1 -E 'event=maps_(written|failed|skipped)' "$file" || true)
        [[ -n $line ]] && break
        sleep 0.25
    done
    if [[ $maps == "$TMP/$name/table" ]]; then
        for f in "$TMP/$name"/aliases-wrote/postfix_*; do
            [[ $f == *.db ]] && continue
            diffs+=$(diff <(grep -v '^# AUTOMATICALLY GENERATED' "$f") \
                <(grep -v '^# AUTOMATICALLY GENERATED' "$maps/$(basename "$f")" 2>&1) | head -n 4 | tr '\n' ' ' || true)
        done
    fi
    if [[ $line == *event=maps_written* && $line == *"dir=$TMP/$name/table"* && -z $diffs ]]; then
        local same=''
        [[ $maps == "$TMP/$name/table" ]] && same=' (same lines as listgate aliases)'
        pass "$name: listgate serve rewrote the maps in the table's directory at start-up$same"
    else
        fail "$name: listgate serve rewrote the maps in the table's directory at start-up" \
            "log line: ${line:-none within 10 s}" "${diffs:+differences: $diffs}"
    fi
}

# RCPT TO:<$2> must be refused by Postfix at RCPT time with 550 and, as
# nothing else was accepted, no DATA; $3 is a glob the reply must match (who
# refused). The message (Message-Id $4) is checked to be nowhere at the end.
check_refused() {
    local name=$1 rcpt=$2 why=$3 id=$4 out code text data
    out=$TMP/$name/swaks-refused-${rcpt%@*}.txt
    swaks_to "$SMTP_PORT" "$rcpt" "$out" --header "Message-Id: $id" --body "must not be delivered" || true
    code=$(reply_code "$out" "RCPT TO:")
    text=$(reply_text "$out" "RCPT TO:")
    data=$(reply_code "$out" "DATA")
    # shellcheck disable=SC2053  # $why is a glob
    if [[ $code == 550 && $text == $why && $data == none ]]; then
        pass "$name: RCPT TO:<$rcpt> refused at RCPT with 550 ($(sed -E 's/^ *<[-*]+ *//' <<<"$text" | cut -c1-90))"
    else
        fail "$name: RCPT TO:<$rcpt> refused at RCPT with 550, reply like '$why'" \
            "got RCPT $code: ${text:-no reply}; DATA: $data"
    fi
}

# Send a message to RCPT TO:<$2> (transcript name $3, extra swaks arguments
# after it): Postfix must take it (250 at RCPT and at the end of DATA).
check_sent() {
    local name=$1 rcpt=$2 out=$TMP/$1/swaks-$3.txt
    shift 3
    check_taken "$name: message to <$rcpt> accepted by postfix" '' "$SMTP_PORT" "$rcpt" "$out" "$@"
}

# The sink's record must hold Message-Id $3 once for each address after $4,
# all with envelope sender $4, and nothing else of that Message-Id; waits up
# to 20 s.
check_record() {
    local name=$1 what=$2 id=$3 from=$4
    shift 4
    check_record_lines "$name: $what reached $* (sink record, MAIL FROM:<$from>)" 20 "$id" "$from" "$@"
}

# Postfix's maillog must show <$2> (the VERP tag kept; in the alias set-ups
# the aliased address) sent to listgate's LMTP port; waits up to 20 s.
check_handed_over() {
    local name=$1 rcpt=$2
    pf_check_sent "$name: postfix handed <$rcpt> to listgate (maillog: relay=127.0.0.1[127.0.0.1]:$LMTP_PORT, status=sent)" \
        "$TMP/$name/pf/maillog" "$rcpt" 20
}

# The DSN made listgate write a bounce log line for the list and member
# alice@example.org (the VERP tag); waits up to 20 s.
check_bounce_logged() {
    local name=$1 log=$TMP/$1/bounces.jsonl line
    local what="$name: DSN to <$BOUNCE_TO> gave a bounce log line for member alice@example.org"
    line=$(poll_output 80 0.25 bounce_line "$log" "$LIST" alice@example.org)
    if [[ -n $line ]]; then
        pass "$what"
    else
        fail "$what" "after 20 s the bounce log has: $(tr '\n' ' ' <"$log" 2>/dev/null || echo nothing)"
    fi
}

# Postfix handed nothing to anyone for the refused addresses $2...
check_nothing_of() {
    local name=$1 rcpt attempts=''
    shift
    for rcpt in "$@"; do
        # (Recipient verification probes log status=deliverable or
        # status=undeliverable: they are no delivery.)
        attempts+=$(grep -F "to=<$rcpt>" "$TMP/$name/pf/maillog" 2>/dev/null |
            grep -E 'status=(sent|deferred|bounced|expired)' || true)
    done
    if [[ -z $attempts ]]; then
        pass "$name: no delivery attempt in the maillog for the refused addresses"
    else
        fail "$name: no delivery attempt in the maillog for the refused addresses" "$attempts"
    fi
}

# Set-up $1 from start to end: maps, listgate, Postfix, the checks, stop.
run_setup() {
    local name=$1 bin=$2 dir=$TMP/$1 maps conf post_id owner_id dsn_id refused_ids=()
    SETUPS+=("$name")
    say "set-up $name"
    mkdir -p "$dir/table"
    # hash and alias: the maps in the table's directory, where listgate
    # aliases puts them by default and listgate serve rewrites them (the
    # operator's set-up); regexp and alias-regexp: --dir, so Postfix reads
    # what listgate aliases wrote and nothing else.
    maps=$dir/table
    [[ $name == *regexp ]] && maps=$dir/maps && mkdir -p "$maps"
    conf=$dir/pf/etc
    LMTP_PORT=$(free_port) || fatal "$name: a free port for listgate's LMTP"
    SMTP_PORT=$(free_port) || fatal "$name: a free port for postfix's smtpd"
    post_id="<post.$name.$RUN_TAG@client.listgate.test>"
    owner_id="<owner.$name.$RUN_TAG@client.listgate.test>"
    dsn_id="<dsn.$name.$RUN_TAG@client.listgate.test>"

    # regexp: the maps are made from a table with retired@, then listgate
    # serves the table without it (the maps, in their own directory, keep
    # naming it: stale maps).
    if [[ $name == regexp ]]; then
        write_table "$name" "$dir/table/lists.json" with-retired
    else
        write_table "$name" "$dir/table/lists.json"
    fi
    write_listgate_cfg "$name" "$dir/listgate.cfg"
    mkdir -p "$conf"
    write_main_cf "$name" "$maps" "$dir/pf" >"$conf/main.cf"
    pf_write_master "$conf" "$SMTP_PORT"
    run_aliases "$name" "$maps" "$bin"
    [[ $name == regexp ]] && write_table "$name" "$dir/table/lists.json"
    mkdir -p "$dir/aliases-wrote"
    cp "$maps"/postfix_* "$dir/aliases-wrote/"
    check_readme "$name" "the main.cf lines tested"

    start_listgate "$name" "$bin"
    check_serve_rewrote "$name" "$maps"
    pf_start "$conf" "$dir/pf/queue" "$SMTP_PORT" || fatal "$name: postfix starts" "$PF_START_ERR"
    pass "$name: listgate on lmtp 127.0.0.1:$LMTP_PORT, postfix $(postconf -dh mail_version) on 127.0.0.1:$SMTP_PORT"

    # Unknown addresses: the maps do not have them.
    local why='*User unknown in relay recipient table*'
    [[ $name == alias* ]] && why='*User unknown in virtual alias table*'
    refused_ids+=("<unknown.$name.$RUN_TAG@client.listgate.test>")
    check_refused "$name" "nosuchlist@$DOMAIN" "$why" "${refused_ids[-1]}"
    refused_ids+=("<request.$name.$RUN_TAG@client.listgate.test>")
    check_refused "$name" "announce-request@$DOMAIN" "$why" "${refused_ids[-1]}"
    if [[ $name == regexp ]]; then
        # In the (stale) maps, not in listgate's table: Postfix's probe over
        # LMTP gets listgate's 550, which Postfix passes on.
        refused_ids+=("<retired.$name.$RUN_TAG@client.listgate.test>")
        check_refused "$name" "retired@$DOMAIN" \
            '*undeliverable address: host 127.0.0.1\[127.0.0.1\] said: 550*' "${refused_ids[-1]}"
    fi

    check_sent "$name" "$LIST" post --header "Subject: listgate postfix maps test ($name)" \
        --header "Message-Id: $post_id" --body "A post through Postfix's $name maps."
    check_record "$name" "the post" "$post_id" "$LIST_BOUNCES" "${LIST_MEMBERS[@]}"

    # The DSN names another address (as for a member whose mail is
    # forwarded): alice@example.org can only come from the VERP tag.
    write_dsn "$dir/dsn.eml" "$BOUNCE_TO" "$dsn_id" alice.forwarded@mail.example.net
    check_sent "$name" "$BOUNCE_TO" bounce --from '<>' --data "@$dir/dsn.eml"
    local lmtp_rcpt=$BOUNCE_TO
    [[ $name == alias* ]] && lmtp_rcpt=${BOUNCE_TO%@*}@$ALIAS_DOMAIN
    check_handed_over "$name" "$lmtp_rcpt"
    check_bounce_logged "$name"

    check_sent "$name" "$OWNER" owner --header "Subject: listgate postfix maps test ($name, owners)" \
        --header "Message-Id: $owner_id" --body "A message to the owners through Postfix's $name maps."
    check_record "$name" "the owner message" "$owner_id" "$LIST_BOUNCES" "${LIST_OWNERS[@]}"

    local id refused_records=''
    for id in "${refused_ids[@]}"; do refused_records+=$(record_lines "$id"); done
    [[ -z $refused_records ]] || fail "$name: nothing of the refused messages reached the sink" "$refused_records"
    local refused=("nosuchlist@$DOMAIN" "announce-request@$DOMAIN")
    [[ $name == regexp ]] && refused+=("retired@$DOMAIN")
    check_nothing_of "$name" "${refused[@]}"

    stop_postfix "$conf"
    stop_pid "$LISTGATE_PID"
}

# ---------------------------------------------------------------- main

main() {
    # Sets LISTGATE_BIN, SINK_BIN and TMP (which Postfix's unprivileged
    # daemons can enter, also to read the maps).
    suite_start "$@"
    ensure_packages
    start_sink "$SINK_BIN" control
    run_setup hash "$LISTGATE_BIN"
    run_setup regexp "$LISTGATE_BIN"
    run_setup alias "$LISTGATE_BIN"
    run_setup alias-regexp "$LISTGATE_BIN"
    check_record_complete
    suite_done
}

main "$@"
