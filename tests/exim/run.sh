#!/usr/bin/env bash
# tests/exim/run.sh: listgate behind a real Exim 4 (Debian's
# exim4-daemon-light), relaying for real to the project's SMTP sink, in the
# two set-ups of Mailman's "Hooking up your mail server", with the
# configuration README.md's "Exim" section shows, word for word.
#
# Usage: tests/exim/run.sh PATH_TO_LISTGATE_BINARY [PATH_TO_LISTGATE_SINK]
#   (the sink defaults to bench/sink/listgate-sink of the listgate binary's
#   build directory: $(dirname LISTGATE)/../../bench/sink/listgate-sink)
#
# Debian's exim4-daemon-light cannot be installed beside postfix (the
# Postfix test installs postfix), so this script fetches it with
# "apt-get download" (with the two libraries it needs that a Debian with
# postfix lacks) and unpacks it with "dpkg -x" into its temp dir. Exim looks
# up its compiled-in user Debian-exim before it reads its config;
# nss_wrapper (Debian's libnss-wrapper, installed by "tools/setup-debian.sh
# test", or here when missing) serves that user from a passwd file in the
# temp dir, so the system's users are not touched. The unpacked binary loses
# its setuid bit (a setuid re-exec would drop LD_PRELOAD). See
# /work/shared/MTA-TESTING.md.
#
# The path under test, all on 127.0.0.1:
#   swaks -> private exim -bd (own config, spool, log, SMTP port)
#   -> mailman3_router -> mailman3_transport (LMTP) -> listgate serve
#   (relay mode) -> SMTP -> listgate-sink (--record)
# listgate's table lives in $TMP/var, where "listgate aliases" (run first)
# and "listgate serve" (at start and on every reload) write exim_domains
# and the marker files lists/LIST.DOMAIN; both Exim set-ups .include that
# exim_domains.
#
# Set-up "callout": the router takes every address of the list domains; the
# RCPT ACL asks listgate with an LMTP callout. Proves that
#   1. an unknown list address is refused at RCPT with 550, carrying
#      listgate's "550 5.1.1" (the callout's verdict);
#   2. a list owner address is accepted at RCPT;
#   3. a post to the list goes from Exim to listgate over LMTP (mainlog:
#      "=> announce@... R=mailman3_router T=mailman3_transport
#      H=127.0.0.1 [127.0.0.1]:LMTP_PORT ... C="250 2.0.0 ..."), and listgate
#      fans it out: the sink has it once for each member, MAIL
#      FROM:<announce-bounces@...>;
#   4. mail to the owner address reaches the owners;
#   5. a DSN to announce-bounces+alice=example.org@ reaches listgate's
#      bounce log for alice;
#   6. (at the end) with listgate stopped, a list address gets 451 at RCPT:
#      the callout cannot be made, the sender will retry.
# Set-up "files": Mailman's router with require_files on the marker files;
# the RCPT ACL verifies by routing (no callout). Proves that
#   7. an unknown list address, and a list not in the table yet, are refused
#      at RCPT with 550 (no marker file: "Unrouteable address");
#   8. a post to the list and a message to the owner address in the list
#      domain's alias domain (its own marker file) are delivered as in 3, 4;
#   9. a DSN to announce-bounces+bob=example.com@ (Mailman's "-bounces+*"
#      suffix) is routed and reaches the bounce log for bob;
#  10. after the list is added to the table and listgate gets SIGHUP,
#      listgate rewrites the marker files (event=maps_written) and Exim
#      takes and delivers a post to the new list, with no change to Exim.
# Both: the README.md blocks used are in README.md word for word; at the
# end the sink's record holds exactly the deliveries above.
#
# Everything lives in one temp dir, removed by the EXIT trap, which also
# stops the servers (each exim daemon leads its own process group). The
# last line printed is "exim: N passed, N failed"; the exit status is
# non-zero when anything failed, and then the logs are dumped first. Every
# wait is bounded; a run takes about 10 s.

set -Eeuo pipefail
# Reporting, cleanup, swaks, sink and listgate helpers shared with the
# Postfix tests. Exim answers fast: swaks gets 30 s; the dumps are the last
# 200 lines of each log.
SUITE=exim
SWAKS_TIMEOUT=30
DUMP_MAX_LINES=200
# shellcheck source=../lib/mta_suite.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib/mta_suite.sh"

DOMAIN=lists.example.org
ALIAS_DOMAIN=alias.example.org
LIST=announce@$DOMAIN
LIST_BOUNCES=announce-bounces@$DOMAIN
OWNER=announce-owner@$DOMAIN
ALIAS_OWNER=announce-owner@$ALIAS_DOMAIN
UNKNOWN=nosuchlist@$DOMAIN
SENDER=sender@example.com
LIST_MEMBERS=(alice@example.org bob@example.com carol@example.net)
LIST_OWNERS=(boss@example.org)
TEAM=team@$DOMAIN
TEAM_MEMBERS=(dave@example.com erin@example.net)
RUN_TAG=$$.$RANDOM

NSS_WRAPPER_LIB=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
# Exim's packages and the libraries of exim4-daemon-light that a Debian 12
# with postfix lacks (ldd).
EXIM_DEBS=(exim4-base exim4-daemon-light libidn12 libgnutls-dane0)

VAR=
EXIM_PIDS=()
CALLOUT_PORT=

# ---------------------------------------------------------------- cleanup

# cleanup's hook: each exim daemon started by start_exim leads its own
# process group (setsid); stop the group, with any delivery process the
# daemon forked.
stop_mta() {
    local pid
    for pid in "${EXIM_PIDS[@]}"; do stop_pid "-$pid"; done
}

# Called by mta_suite.sh's cleanup, after the servers stopped, when anything
# failed.
dump_on_failure() {
    local d
    for d in "$TMP"/exim-*/; do
        [[ -d $d ]] || continue
        d=${d%/}
        dump "$(basename "$d")-conf" "$d/exim.conf"
        dump "$(basename "$d")-mainlog" "$d/log/mainlog"
        dump "$(basename "$d")-rejectlog" "$d/log/rejectlog"
        dump "$(basename "$d")-paniclog" "$d/log/paniclog"
        dump "$(basename "$d")-stderr" "$d/stderr"
    done
    dump aliases "$TMP/aliases.out"
    dump exim_domains "$VAR/exim_domains"
    [[ -d $VAR/lists ]] && printf 'markers| %s\n' "$(find "$VAR/lists" -mindepth 1 -printf '%f ')"
    dump_listgate_and_sink
    dump apt "$TMP/apt.log"
    dump_transcripts "$TMP"
}

# ---------------------------------------------------------------- README blocks
#
# README.md's "Exim" configuration, block by block, as printed there: with
# /var/lib/listgate (the table's directory, where listgate writes
# exim_domains and lists/) and listgate's default LMTP port 8024.
# check_readme fails when README.md no longer has one of them as a whole
# fenced block; readme_for swaps in the test's directory and port.

readme_main() {
    cat <<'EOF'
# Main section (Debian's split configuration: conf.d/main/25_listgate).
# exim_domains, written by listgate, holds "domainlist mm_domains = ...".
.include /var/lib/listgate/exim_domains
MM3_LMTP_PORT = 8024
EOF
}

readme_transport() {
    cat <<'EOF'
# Transports (conf.d/transport/55_listgate).
mailman3_transport:
  driver = smtp
  protocol = lmtp
  allow_localhost
  hosts = 127.0.0.1
  port = MM3_LMTP_PORT
  rcpt_include_affixes = true
EOF
}

readme_callout_acl() {
    cat <<'EOF'
  # In the RCPT ACL (conf.d/acl/30_exim4-config_check_rcpt), before the
  # statements that accept local and relay domains: ask listgate.
  deny    domains = +mm_domains
          !verify = recipient/callout=10s,no_cache
  accept  domains = +mm_domains
EOF
}

readme_callout_router() {
    cat <<'EOF'
# Routers (conf.d/router/190_listgate: before Debian's dnslookup).
mailman3_router:
  driver = accept
  domains = +mm_domains
  transport = mailman3_transport
EOF
}

readme_files_main() {
    cat <<'EOF'
# Main section, below the lines above: where the marker files are.
MM3_HOME = /var/lib/listgate
MM3_LISTCHK = MM3_HOME/lists/${local_part}.${domain}
EOF
}

readme_files_acl() {
    cat <<'EOF'
  # In the RCPT ACL, before the statements that accept local and relay
  # domains: only addresses that the router takes.
  deny    domains = +mm_domains
          !verify = recipient
  accept  domains = +mm_domains
EOF
}

readme_files_router() {
    cat <<'EOF'
# Routers (conf.d/router/190_listgate: before Debian's dnslookup).
mailman3_router:
  driver = accept
  domains = +mm_domains
  require_files = MM3_LISTCHK
  local_part_suffix_optional
  local_part_suffix = -bounces : -bounces+* : -confirm : -confirm+* : \
                      -join : -leave : -owner : -request : \
                      -subscribe : -unsubscribe
  transport = mailman3_transport
EOF
}

# The README blocks of set-up $1 (callout, files).
readme_blocks() {
    case $1 in
        callout) echo readme_main readme_callout_acl readme_callout_router readme_transport ;;
        files) echo readme_main readme_files_main readme_files_acl readme_files_router readme_transport ;;
    esac
}

# README block $1 with the test's map directory and LMTP port.
readme_for() {
    "$1" | sed -e "s#/var/lib/listgate#$VAR#g" -e "s#^MM3_LMTP_PORT = 8024\$#MM3_LMTP_PORT = $LMTP_PORT#"
}

# ---------------------------------------------------------------- exim

# Debian's exim, unpacked into $TMP/debroot: sets EXIM_BIN, EXIM_LIBS.
unpack_exim() {
    local debs=$TMP/debs f
    mkdir -p "$debs" "$TMP/debroot"
    # apt's download user (_apt) must be able to write there.
    chmod 755 "$debs"
    if ! (cd "$debs" && timeout 120 apt-get download -q "${EXIM_DEBS[@]}") >"$TMP/apt.log" 2>&1; then
        say "apt-get download failed, refreshing the package lists"
        timeout 300 apt-get update -q >>"$TMP/apt.log" 2>&1 || true
        (cd "$debs" && timeout 120 apt-get download -q "${EXIM_DEBS[@]}") >>"$TMP/apt.log" 2>&1 ||
            fatal "apt-get download ${EXIM_DEBS[*]}" "$(tail -n3 "$TMP/apt.log")"
    fi
    for f in "$debs"/*.deb; do
        dpkg -x "$f" "$TMP/debroot" || fatal "dpkg -x $(basename "$f")"
    done
    EXIM_BIN=$TMP/debroot/usr/sbin/exim4
    EXIM_LIBS=$TMP/debroot/usr/lib/x86_64-linux-gnu
    [[ -x $EXIM_BIN ]] || fatal "unpacked exim4 binary" "no $EXIM_BIN"
    # Not setuid: a setuid re-exec for delivery would drop LD_PRELOAD and
    # LD_LIBRARY_PATH (and with them Debian-exim and libidn.so.12).
    chmod u-s "$EXIM_BIN"
}

# nss_wrapper's passwd and group files, with Debian-exim on a uid and gid
# that the system does not use.
write_nss_files() {
    local id
    if [[ ! -e $NSS_WRAPPER_LIB ]]; then
        say "installing libnss-wrapper"
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q libnss-wrapper >>"$TMP/apt.log" 2>&1 || true
        [[ -e $NSS_WRAPPER_LIB ]] || fatal "libnss-wrapper installed" "no $NSS_WRAPPER_LIB"
    fi
    for ((id = 61000; id < 61100; id++)); do
        getent passwd "$id" >/dev/null || getent group "$id" >/dev/null || break
    done
    EXIM_UID=$id
    cat >"$TMP/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
Debian-exim:x:$EXIM_UID:$EXIM_UID:Exim:$TMP:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$TMP/group" <<EOF
root:x:0:
Debian-exim:x:$EXIM_UID:
nogroup:x:65534:
EOF
}

# Runs a command (the unpacked exim) with nss_wrapper and exim's libraries.
exim_env() {
    env LD_PRELOAD="$NSS_WRAPPER_LIB" LD_LIBRARY_PATH="$EXIM_LIBS" \
        NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" "$@"
}

# The settings of a private instance in directory $1 on SMTP port $2: not
# part of README.md's configuration (a real installation has its own).
private_main_section() {
    local dir=$1 port=$2
    cat <<EOF
# ---- private test instance (not part of README.md's configuration)
exim_path = $EXIM_BIN
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
primary_hostname = mx.listgate.test
qualify_domain = mx.listgate.test
local_interfaces = 127.0.0.1
daemon_smtp_ports = $port
deliver_drop_privilege = true
keep_environment = LD_PRELOAD : LD_LIBRARY_PATH : NSS_WRAPPER_PASSWD : NSS_WRAPPER_GROUP
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
tls_advertise_hosts =
log_selector = +smtp_confirmation +received_recipients +deliver_time +outgoing_port
acl_smtp_rcpt = acl_check_rcpt

# ---- README.md
EOF
}

# Writes the configuration of set-up $1 (callout, files) for the instance in
# directory $2 on SMTP port $3: the private instance's settings, then the
# README blocks in their sections, then Debian's default retry rule.
write_exim_config() {
    local name=$1 dir=$2 port=$3
    {
        private_main_section "$dir" "$port"
        readme_for readme_main
        if [[ $name == files ]]; then readme_for readme_files_main; fi
        printf '\nbegin acl\n\nacl_check_rcpt:\n'
        readme_for "readme_${name}_acl"
        printf '  deny    message = relay not permitted\n\nbegin routers\n\n'
        readme_for "readme_${name}_router"
        printf '\nbegin transports\n\n'
        readme_for readme_transport
        printf '\nbegin retry\n\n*   *   F,2h,15m; G,16h,1h,1.5; F,4d,6h\n'
    } >"$dir/exim.conf"
}

# Starts exim -bd for set-up $1 in $TMP/exim-$1 on a free port; sets
# EXIM_PORT. Waits up to 20 s for its 220 greeting.
start_exim() {
    local name=$1 dir=$TMP/exim-$1 port pid='' i banner='' version
    port=$(free_port) || fatal "$name: exim starts" "no free TCP port found"
    mkdir -p "$dir/spool" "$dir/log"
    write_exim_config "$name" "$dir" "$port"
    chown -R "$EXIM_UID:$EXIM_UID" "$dir/spool" "$dir/log"
    # A syntax check first: its message instead of a silent daemon exit.
    if ! exim_env "$EXIM_BIN" -C "$dir/exim.conf" -bV >"$dir/bV.txt" 2>&1; then
        fatal "$name: exim accepts its configuration" "$(grep -v '^ ' "$dir/bV.txt" | tail -n5 | tr '\n' ' ')"
    fi
    version=$(sed -n 's/^Exim version \([^ ]*\).*/\1/p' "$dir/bV.txt")
    : >"$dir/stderr"
    # setsid: the daemon leads a process group of its own, which cleanup
    # stops as a whole. setsid may fork, so the daemon's pid is taken from
    # the pid file (-oP; with -oX exim writes none unless asked).
    exim_env setsid "$EXIM_BIN" -C "$dir/exim.conf" -bdf -oX "$port" -oP "$dir/exim.pid" \
        </dev/null >"$dir/stderr" 2>&1 &
    for ((i = 0; i < 40; i++)); do
        if [[ -z ${pid:-} && -s $dir/exim.pid ]]; then
            read -r pid <"$dir/exim.pid" || true
            [[ $pid =~ ^[0-9]+$ ]] && EXIM_PIDS+=("$pid") || pid=''
        fi
        banner=$(smtp_banner "$port")
        [[ $banner == 220* && -n ${pid:-} ]] && break
        if [[ -n ${pid:-} ]] && ! kill -0 "$pid" 2>/dev/null; then
            fatal "$name: exim starts" "it exited: $(cat "$dir/stderr" "$dir/log/paniclog" 2>/dev/null | tail -n5 | tr '\n' ' ')"
        fi
        sleep 0.5
    done
    [[ -n ${pid:-} ]] || fatal "$name: exim starts" "no pid in $dir/exim.pid within 20 s: $(tail -n5 "$dir/stderr" | tr '\n' ' ')"
    [[ $banner == 220* ]] || fatal "$name: exim starts" "no 220 greeting on 127.0.0.1:$port within 20 s"
    EXIM_PORT=$port
    pass "$name: exim $version listens on 127.0.0.1:$port (Debian-exim is uid $EXIM_UID via nss_wrapper)"
}

# ---------------------------------------------------------------- listgate

# The table: announce@ (its domain with an alias domain), and team@ when $1
# is "with-team".
write_table() {
    local team=''
    if [[ ${1:-} == with-team ]]; then
        team=",
           {\"address\": \"$TEAM\", \"owners\": [\"lead@example.org\"],
            \"members\": $(json_array "${TEAM_MEMBERS[@]}")}"
    fi
    cat >"$VAR/lists.json.new" <<EOF
{"domains": {"$DOMAIN": {"alias_domain": "$ALIAS_DOMAIN"}},
 "lists": [{"address": "$LIST", "owners": $(json_array "${LIST_OWNERS[@]}"),
            "members": $(json_array "${LIST_MEMBERS[@]}")}$team]}
EOF
    mv "$VAR/lists.json.new" "$VAR/lists.json"
}

# listgate's config (regexp maps: no postmap on an Exim host), then
# "listgate aliases", then "listgate serve".
start_listgate() {
    local bin=$1 n
    mkdir -p "$VAR"
    write_table
    cat >"$TMP/listgate.cfg" <<EOF
[mta]
lmtp_host: 127.0.0.1
lmtp_port: $LMTP_PORT
smtp_host: 127.0.0.1
smtp_port: $SINK_PORT
incoming: mailman.mta.exim4.LMTP

[listgate]
table = $VAR/lists.json
spool_dir = $TMP/spool
bounce_log = $TMP/bounces.jsonl
hostname = listgate.test
EOF
    if ! "$bin" aliases -c "$TMP/listgate.cfg" >"$TMP/aliases.out" 2>&1; then
        fatal "listgate aliases writes the Exim files" "$(tail -n3 "$TMP/aliases.out")"
    fi
    n=$(find "$VAR/lists" -type f 2>/dev/null | wc -l)
    if grep -qE "^domainlist mm_domains = ($ALIAS_DOMAIN : $DOMAIN|$DOMAIN : $ALIAS_DOMAIN)\$" "$VAR/exim_domains" 2>/dev/null &&
        [[ -f $VAR/lists/announce.$DOMAIN && -f $VAR/lists/announce.$ALIAS_DOMAIN && $n == 2 ]]; then
        pass "listgate aliases wrote exim_domains (both domains) and the marker files announce.$DOMAIN, announce.$ALIAS_DOMAIN"
    else
        fail "listgate aliases wrote exim_domains and the marker files" \
            "exim_domains: $(grep -v '^#' "$VAR/exim_domains" 2>/dev/null | tr '\n' ' ')" \
            "lists/: $(find "$VAR/lists" -mindepth 1 -printf '%f ' 2>/dev/null)"
    fi
    serve_listgate "$TMP" "listgate starts" "$bin" serve -c "$TMP/listgate.cfg" --io auto
    listgate_relays_or_fatal ""
    pass "listgate relays (lmtp 127.0.0.1:$LMTP_PORT, smtp to 127.0.0.1:$SINK_PORT)"
}

# ---------------------------------------------------------------- checks

# RCPT TO:<$2> through the exim on port $1 is refused with code $5 (default
# 550); the reply contains the fixed string $3. $4 names the check.
check_refused() {
    local port=$1 rcpt=$2 want=$3 name=$4 want_code=${5:-550}
    check_rcpt_reply "$name: RCPT TO:<$rcpt> refused at RCPT with $want_code ($want)" \
        "$port" "$rcpt" "$TMP/swaks-$name.txt" "$want_code" "$want"
}

check_accepted() {
    local port=$1 rcpt=$2 name=$3
    check_rcpt_reply "$name: RCPT TO:<$rcpt> accepted at RCPT" "$port" "$rcpt" "$TMP/swaks-$name.txt" 250 ''
}

# A message to RCPT TO:<$2> through the exim on port $1 is taken (RCPT 250,
# end of DATA 250); transcript $TMP/swaks-$3.txt; swaks arguments after $3.
check_sent() {
    local port=$1 rcpt=$2 name=$3
    shift 3
    check_taken "$name: message to <$rcpt> taken by exim" "(RCPT 250, end of DATA 250)" \
        "$port" "$rcpt" "$TMP/swaks-$name.txt" "$@"
}

# The mainlog of set-up $1 shows the delivery of <$2> through the router and
# transport to listgate's LMTP port, with listgate's 250 2.0.0 (up to 30 s).
check_delivered() {
    local name=$1 rcpt=$2
    local want="=> $rcpt R=mailman3_router T=mailman3_transport H=127.0.0.1 [127.0.0.1]:$LMTP_PORT"
    check_line_within "$name: mainlog: $want C=\"250 2.0.0 ...\"" 30 delivered_line "$TMP/exim-$name/log/mainlog" "$want"
}

# The first line of mainlog $1 with $2 and listgate's 250 2.0.0.
delivered_line() { grep -F -- "$2" "$1" 2>/dev/null | grep -F 'C="250 2.0.0' | head -n1; }

# A post through the exim on port $2 to list $3 (set-up $1, check name $4):
# taken, delivered to listgate, fanned out to members $6... with MAIL FROM $5.
check_post() {
    local name=$1 port=$2 list=$3 tag=$4 from=$5 id
    shift 5
    id="<$tag.$RUN_TAG@client.listgate.test>"
    check_sent "$port" "$list" "$tag" --header "Subject: listgate exim test ($tag)" \
        --header "Message-Id: $id" --body "A message to $list through Exim."
    check_delivered "$name" "$list"
    check_record "the message to <$list>" "$id" "$from" "$@"
}

# A DSN for member $3 through the exim on port $2 (set-up $1): taken,
# delivered to listgate, and in the bounce log for that member.
check_bounce() {
    local name=$1 port=$2 member=$3 rcpt line
    # A DSN as a remote MTA sends it after a VERP'd post.
    rcpt="announce-bounces+${member%@*}=${member#*@}@$DOMAIN"
    write_dsn "$TMP/dsn-$name.eml" "$rcpt" "<$name-dsn.$RUN_TAG@mx.example.org>" "$member"
    check_sent "$port" "$rcpt" "$name-bounce" --from '<>' --data "@$TMP/dsn-$name.eml"
    check_delivered "$name" "$rcpt"
    line=$(poll_output 60 0.5 bounce_line "$TMP/bounces.jsonl" "$LIST" "$member")
    if [[ -n $line && $line == *'"status":"5.1.1"'* ]]; then
        pass "$name: bounce log: list $LIST, member $member, status 5.1.1"
    else
        fail "$name: bounce log: list $LIST, member $member, status 5.1.1" "after up to 30 s: ${line:-no such line}"
    fi
}

# ---------------------------------------------------------------- set-ups

run_callout() {
    local port
    check_readme callout "the Exim configuration tested"
    start_exim callout
    port=$EXIM_PORT
    # The callout's verdict is listgate's: its 550 5.1.1 is in Exim's answer.
    check_refused "$port" "$UNKNOWN" "550 5.1.1 <$UNKNOWN>" callout-unknown
    check_accepted "$port" "$OWNER" callout-owner
    check_post callout "$port" "$LIST" callout-post "$LIST_BOUNCES" "${LIST_MEMBERS[@]}"
    check_post callout "$port" "$OWNER" callout-owner-message "$LIST_BOUNCES" "${LIST_OWNERS[@]}"
    check_bounce callout "$port" alice@example.org
    CALLOUT_PORT=$port
}

# With listgate stopped, the callout cannot be made: Exim answers 451 (the
# sender retries) instead of refusing or taking the address.
check_listgate_down() {
    stop_pid "$LISTGATE_PID"
    check_refused "$CALLOUT_PORT" "$LIST" "Could not complete recipient verify callout" callout-listgate-down 451
}

run_files() {
    local port
    check_readme files "the Exim configuration tested"
    start_exim files
    port=$EXIM_PORT
    check_refused "$port" "$UNKNOWN" "Unrouteable address" files-unknown
    check_refused "$port" "$TEAM" "Unrouteable address" files-team-before
    check_post files "$port" "$LIST" files-post "$LIST_BOUNCES" "${LIST_MEMBERS[@]}"
    check_post files "$port" "$ALIAS_OWNER" files-alias-owner "$LIST_BOUNCES" "${LIST_OWNERS[@]}"
    check_bounce files "$port" bob@example.com

    # A new list: the table changes, listgate reloads and rewrites the
    # marker files; Exim routes the new list with no change of its own.
    write_table with-team
    kill -HUP "$LISTGATE_PID"
    wait_log_line "$LISTGATE_PID" "$TMP/listgate.stderr" 'event=maps_written' "files: listgate rewrites the maps on SIGHUP" 2
    if [[ -f $VAR/lists/team.$DOMAIN ]]; then
        pass "files: after SIGHUP listgate wrote the marker file team.$DOMAIN"
    else
        fail "files: after SIGHUP listgate wrote the marker file team.$DOMAIN" "lists/: $(find "$VAR/lists" -mindepth 1 -printf '%f ' 2>/dev/null)"
    fi
    check_post files "$port" "$TEAM" files-team-after "team-bounces@$DOMAIN" "${TEAM_MEMBERS[@]}"
}

# ---------------------------------------------------------------- main

main() {
    suite_start "$@"
    command -v swaks >/dev/null || fatal "swaks on PATH (tools/setup-debian.sh test installs it)"
    VAR=$TMP/var
    # (suite_start made $TMP enterable: Exim's unprivileged processes must
    # reach their spool and logs, the included exim_domains and the marker
    # files.)

    unpack_exim
    write_nss_files
    pass "exim4-daemon-light unpacked from Debian (${EXIM_DEBS[*]})"
    start_sink "$SINK_BIN"
    LMTP_PORT=$(free_port) || fatal "a free port for listgate"
    start_listgate "$LISTGATE_BIN"

    run_callout
    run_files

    check_record_complete
    check_listgate_down
    suite_done
}

main "$@"
