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
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

README=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md
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

PASSED=0
FAILED=0
TMP=
VAR=
LISTGATE_PID=
SINK_PID=
EXIM_PIDS=()
CALLOUT_PORT=
# "MESSAGE_ID RCPT MAIL_FROM" for every delivery the sink must have recorded.
EXPECTED_RECORD=()
ERR_LINE=

# ---------------------------------------------------------------- reporting

say()  { printf '# %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'ok   - %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL - %s\n' "$1"; shift; local l; for l in "$@"; do printf '       %s\n' "$l"; done; }
# A set-up step that cannot go on: count it as failed and stop.
fatal() { fail "$@"; exit 1; }

dump() {
    local label=$1 file=$2
    [[ -s $file ]] || { printf -- '----- %s: (empty or missing)\n' "$label"; return 0; }
    printf -- '----- %s (%s)\n' "$label" "$file"
    tail -n 200 "$file" | sed "s/^/$label| /"
}

# ---------------------------------------------------------------- cleanup

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

# An exim daemon started by start_exim leads its own process group (setsid):
# TERM the group (the daemon and any delivery process it forked), KILL what
# is left after 5 s.
stop_exim() {
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT ERR INT TERM
    set +e
    if ((rc != 0 && FAILED == 0)); then
        fail "aborted with status $rc${ERR_LINE:+ at line $ERR_LINE}"
    fi
    if [[ -n $TMP ]]; then
        local pid d t
        for pid in "${EXIM_PIDS[@]}"; do stop_exim "$pid"; done
        [[ -n $LISTGATE_PID ]] && stop_pid "$LISTGATE_PID"
        [[ -n $SINK_PID ]] && stop_pid "$SINK_PID"
        if ((FAILED > 0)); then
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
            dump listgate "$TMP/listgate.stderr"
            dump sink "$TMP/sink.stderr"
            dump sink-record "$TMP/sink.record"
            dump bounce-log "$TMP/bounces.jsonl"
            dump apt "$TMP/apt.log"
            for t in "$TMP"/swaks-*.txt; do
                [[ -e $t ]] && dump "$(basename "$t" .txt)" "$t"
            done
        fi
        rm -rf "$TMP"
    fi
    printf 'exim: %d passed, %d failed\n' "$PASSED" "$FAILED"
    ((FAILED == 0 && rc == 0)) && exit 0
    exit 1
}

# ---------------------------------------------------------------- helpers

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

free_port() {
    local i port
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        port_open "$port" || { echo "$port"; return 0; }
    done
    return 1
}

json_array() {
    local a out=''
    for a in "$@"; do out+="${out:+, }\"$a\""; done
    printf '[%s]' "$out"
}

# Wait up to 20 s for the $5-th line (default 1) matching the ERE $3 in file
# $2, written by process $1; that line goes into LOG_LINE.
wait_log_line() {
    local pid=$1 file=$2 re=$3 what=$4 nth=${5:-1} i
    LOG_LINE=''
    for ((i = 0; i < 200; i++)); do
        LOG_LINE=$(grep -E "$re" "$file" | sed -n "${nth}p" || true)
        [[ -n $LOG_LINE ]] && return 0
        kill -0 "$pid" 2>/dev/null || fatal "$what" "it exited before logging a line like '$re'"
        sleep 0.1
    done
    fatal "$what" "no line like '$re' (number $nth) within 20 s"
}

# swaks to the exim on port $1 with RCPT TO:<$2>, transcript in $3, extra
# swaks arguments after that. Non-zero when the server refused something:
# for the caller to judge.
swaks_to() {
    local port=$1 rcpt=$2 out=$3
    shift 3
    timeout 60 swaks --server 127.0.0.1 --port "$port" --timeout 30 \
        --helo client.listgate.test --from "$SENDER" --to "$rcpt" "$@" >"$out" 2>&1
}

# Reply code to the first client line starting with $2 in transcript $1.
reply_code() {
    awk -v cmd="$2" '
        found && /^ *<(-|\*\*) / { if (match($0, /[0-9][0-9][0-9]/)) { print substr($0, RSTART, 3); exit } }
        !found && index($0, " -> " cmd) == 1 { found = 1 }
        END { if (!found) print "none" }' "$1" | head -n1 | sed 's/^$/none/'
}

# The server's answer line(s) to client line $2 in transcript $1, on one line.
reply_text() {
    awk -v cmd="$2" '
        found && /^ *<(-|\*\*) / { print; n++; next }
        found && n { exit }
        !found && index($0, " -> " cmd) == 1 { found = 1 }' "$1" | tr '\n' ' '
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

# Every README block of set-up $1 is in README.md word for word, each as a
# whole fenced code block.
check_readme() {
    local name=$1 block text readme missing=()
    if [[ ! -r $README ]]; then
        fail "$name: README.md has the Exim configuration tested" "cannot read $README"
        return 0
    fi
    readme=$(<"$README")
    for block in $(readme_blocks "$name"); do
        text=$("$block")
        [[ $readme == *$'\n```\n'"$text"$'\n```\n'* ]] || missing+=("$block: $(head -n1 <<<"$text") ...")
    done
    if ((${#missing[@]} == 0)); then
        pass "$name: README.md has the Exim configuration tested, word for word"
    else
        fail "$name: README.md has the Exim configuration tested, word for word" "not in README.md:" "${missing[@]}"
    fi
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
    # shellcheck disable=SC2016  # $1 and $l are the inner bash's
    for ((i = 0; i < 40; i++)); do
        if [[ -z ${pid:-} && -s $dir/exim.pid ]]; then
            read -r pid <"$dir/exim.pid" || true
            [[ $pid =~ ^[0-9]+$ ]] && EXIM_PIDS+=("$pid") || pid=''
        fi
        banner=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 2 l <&3 && printf "%s" "$l"' _ "$port" 2>/dev/null || true)
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

# ---------------------------------------------------------------- sink and listgate

start_sink() {
    local bin=$1
    : >"$TMP/sink.stderr"
    "$bin" --listen 127.0.0.1:0 --control 127.0.0.1:0 --io auto \
        --record "$TMP/sink.record" --keep-last \
        </dev/null >"$TMP/sink.stdout" 2>"$TMP/sink.stderr" &
    SINK_PID=$!
    wait_log_line "$SINK_PID" "$TMP/sink.stderr" '^sink listening ' "listgate-sink starts"
    SINK_PORT=$(grep -oE '(^| )smtp=127\.0\.0\.1:[0-9]+' <<<"$LOG_LINE" | sed 's/.*://')
    [[ -n $SINK_PORT ]] || fatal "listgate-sink starts" "cannot read the port from: $LOG_LINE"
    pass "listgate-sink listens (smtp 127.0.0.1:$SINK_PORT)"
}

record_lines() {
    [[ -e $TMP/sink.record ]] || return 0
    awk -v id="${1:-}" 'id == "" || $1 == id { print $1, $2, $3 }' "$TMP/sink.record" | LC_ALL=C sort
}

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
    : >"$TMP/listgate.stderr"
    "$bin" serve -c "$TMP/listgate.cfg" --io auto </dev/null >"$TMP/listgate.stdout" 2>"$TMP/listgate.stderr" &
    LISTGATE_PID=$!
    wait_log_line "$LISTGATE_PID" "$TMP/listgate.stderr" 'event=listening' "listgate starts"
    [[ $LOG_LINE == *" lmtp=127.0.0.1:$LMTP_PORT "* && $LOG_LINE == *" mode=relay"* ]] ||
        fatal "listgate relays on lmtp 127.0.0.1:$LMTP_PORT" "got: $LOG_LINE"
    pass "listgate relays (lmtp 127.0.0.1:$LMTP_PORT, smtp to 127.0.0.1:$SINK_PORT)"
}

# ---------------------------------------------------------------- checks

# RCPT TO:<$2> through the exim on port $1 is refused with code $5 (default
# 550); the reply contains the fixed string $3. $4 names the check.
check_refused() {
    local port=$1 rcpt=$2 want=$3 name=$4 want_code=${5:-550} out code text
    out=$TMP/swaks-$name.txt
    swaks_to "$port" "$rcpt" "$out" --quit-after RCPT || true
    code=$(reply_code "$out" "RCPT TO:")
    text=$(reply_text "$out" "RCPT TO:")
    if [[ $code == "$want_code" && $text == *"$want"* ]]; then
        pass "$name: RCPT TO:<$rcpt> refused at RCPT with $want_code ($want)"
    else
        fail "$name: RCPT TO:<$rcpt> refused at RCPT with $want_code ($want)" "got code $code: ${text:-no reply}"
    fi
}

check_accepted() {
    local port=$1 rcpt=$2 name=$3 out code
    out=$TMP/swaks-$name.txt
    swaks_to "$port" "$rcpt" "$out" --quit-after RCPT || true
    code=$(reply_code "$out" "RCPT TO:")
    if [[ $code == 250 ]]; then
        pass "$name: RCPT TO:<$rcpt> accepted at RCPT"
    else
        fail "$name: RCPT TO:<$rcpt> accepted at RCPT" "got code $code: $(reply_text "$out" "RCPT TO:")"
    fi
}

# A message to RCPT TO:<$2> through the exim on port $1 is taken (RCPT 250,
# end of DATA 250); transcript $TMP/swaks-$3.txt; swaks arguments after $3.
check_sent() {
    local port=$1 rcpt=$2 name=$3 out rc=0 code dot
    out=$TMP/swaks-$name.txt
    shift 3
    swaks_to "$port" "$rcpt" "$out" "$@" || rc=$?
    code=$(reply_code "$out" "RCPT TO:")
    dot=$(reply_code "$out" ".")
    if ((rc == 0)) && [[ $code == 250 && $dot == 250 ]]; then
        pass "$name: message to <$rcpt> taken by exim (RCPT 250, end of DATA 250)"
    else
        fail "$name: message to <$rcpt> taken by exim" "swaks status $rc, RCPT $code, end of DATA $dot"
    fi
}

# The mainlog of set-up $1 shows the delivery of <$2> through the router and
# transport to listgate's LMTP port, with listgate's 250 2.0.0 (up to 30 s).
check_delivered() {
    local name=$1 rcpt=$2 i line='' log=$TMP/exim-$1/log/mainlog
    local want="=> $rcpt R=mailman3_router T=mailman3_transport H=127.0.0.1 [127.0.0.1]:$LMTP_PORT"
    for ((i = 0; i < 60; i++)); do
        line=$(grep -F -- "$want" "$log" 2>/dev/null | grep -F 'C="250 2.0.0' | head -n1 || true)
        [[ -n $line ]] && break
        sleep 0.5
    done
    if [[ -n $line ]]; then
        pass "$name: mainlog: $want C=\"250 2.0.0 ...\""
    else
        fail "$name: mainlog: $want C=\"250 2.0.0 ...\"" "no such line within 30 s"
    fi
}

# The sink's record holds Message-Id $2 once for each address after $3, each
# with MAIL FROM $3, and nothing else with that id (waits up to 30 s).
check_record() {
    local what=$1 id=$2 from=$3 rcpt want got i
    shift 3
    local lines=()
    for rcpt in "$@"; do lines+=("$id $rcpt $from"); done
    EXPECTED_RECORD+=("${lines[@]}")
    want=$(printf '%s\n' "${lines[@]}" | LC_ALL=C sort)
    got=''
    for ((i = 0; i < 60; i++)); do
        got=$(record_lines "$id")
        [[ -n $got ]] && (($(wc -l <<<"$got") >= $#)) && break
        sleep 0.5
    done
    if [[ $got == "$want" ]]; then
        pass "sink got $what once for each of $*, MAIL FROM:<$from>"
    else
        fail "sink got $what once for each of $*, MAIL FROM:<$from>" "want:" "${lines[@]}" "got:" "$got"
    fi
}

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

# A DSN for member $2 of announce@, as a remote MTA sends it after a VERP'd
# post, to announce-bounces+USER=DOMAIN@; written to $1.
write_dsn() {
    local file=$1 member=$2 id=$3
    cat >"$file" <<EOF
From: MAILER-DAEMON@mx.example.org
To: announce-bounces+${member%@*}=${member#*@}@$DOMAIN
Subject: Undelivered Mail Returned to Sender
Message-Id: $id
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Type: text/plain

$member: user unknown.

--dsn-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; $member
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <$member>: user unknown

--dsn-boundary--
EOF
}

# A DSN for member $3 through the exim on port $2 (set-up $1): taken,
# delivered to listgate, and in the bounce log for that member.
check_bounce() {
    local name=$1 port=$2 member=$3 rcpt i line=''
    rcpt="announce-bounces+${member%@*}=${member#*@}@$DOMAIN"
    write_dsn "$TMP/dsn-$name.eml" "$member" "<$name-dsn.$RUN_TAG@mx.example.org>"
    check_sent "$port" "$rcpt" "$name-bounce" --from '<>' --data "@$TMP/dsn-$name.eml"
    check_delivered "$name" "$rcpt"
    for ((i = 0; i < 60; i++)); do
        line=$(grep -F "\"list\":\"$LIST\"" "$TMP/bounces.jsonl" 2>/dev/null |
            grep -F "\"member\":\"$member\"" | head -n1 || true)
        [[ -n $line ]] && break
        sleep 0.5
    done
    if [[ -n $line && $line == *'"status":"5.1.1"'* ]]; then
        pass "$name: bounce log: list $LIST, member $member, status 5.1.1"
    else
        fail "$name: bounce log: list $LIST, member $member, status 5.1.1" "after up to 30 s: ${line:-no such line}"
    fi
}

check_nothing_else() {
    local want got
    want=$(printf '%s\n' "${EXPECTED_RECORD[@]}" | LC_ALL=C sort)
    got=$(record_lines)
    if [[ $got == "$want" ]]; then
        pass "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else"
    else
        fail "sink record holds those ${#EXPECTED_RECORD[@]} deliveries and nothing else" \
            "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' | tr '\n' ' ' || true)"
    fi
}

# ---------------------------------------------------------------- set-ups

run_callout() {
    local port
    check_readme callout
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
    LISTGATE_PID=
    check_refused "$CALLOUT_PORT" "$LIST" "Could not complete recipient verify callout" callout-listgate-down 451
}

run_files() {
    local port
    check_readme files
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
    command -v swaks >/dev/null || fatal "swaks on PATH (tools/setup-debian.sh test installs it)"
    TMP=$(mktemp -d /tmp/listgate-exim.XXXXXX)
    VAR=$TMP/var
    # Exim's unprivileged processes must reach their spool and logs, the
    # included exim_domains and the marker files.
    chmod 755 "$TMP"

    unpack_exim
    write_nss_files
    pass "exim4-daemon-light unpacked from Debian (${EXIM_DEBS[*]})"
    start_sink "$sink"
    LMTP_PORT=$(free_port) || fatal "a free port for listgate"
    start_listgate "$bin"

    run_callout
    run_files

    check_nothing_else
    check_listgate_down
    say "done in $((SECONDS - t0)) s"
}

main "$@"
