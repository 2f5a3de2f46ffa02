# shellcheck shell=bash
# tests/postfix/lib.sh: the Postfix half of what the real-Postfix tests
# run.sh and maps.sh share; the rest, common with the Exim test, is
# tests/lib/mta_suite.sh, sourced here. Sourced, not run: it defines
# functions and variables and starts nothing.
#
# - stop_mta (cleanup's hook): stops every private Postfix instance started;
# - ensure_packages: installs Debian's postfix and swaks once (skipped when
#   both are on PATH; serialised by a lock file when two tests run at once);
# - private Postfix instances (pf_write_master, pf_private_main_cf,
#   pf_start, stop_postfix) and their maillog (pf_check_sent).
#
# The caller sets SUITE and SENDER and may define dump_on_failure. See
# /work/shared/MTA-TESTING.md for why the Postfix set-up looks the way it
# does.

# shellcheck source=../lib/mta_suite.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib/mta_suite.sh"

# Config directories of the private Postfix instances started (pf_start);
# each one's queue directory is PF_QUEUE[conf].
LIB_PF_CONFS=()
declare -A PF_QUEUE=()

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

# cleanup's hook: the Postfix instances go before the other servers.
stop_mta() {
    local conf
    for conf in "${LIB_PF_CONFS[@]}"; do stop_postfix "$conf"; done
}

# ---------------------------------------------------------------- packages

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
    for ((i = 0; i < 40; i++)); do
        banner=$(smtp_banner "$port")
        [[ $banner == 220* ]] && return 0
        sleep 0.5
    done
    PF_START_ERR="no 220 greeting on 127.0.0.1:$port within 20 s"
    return 1
}


# Check $1: within $4 s the maillog $2 shows <$3> sent to listgate's LMTP
# port (which listgate answers 250 only once the mail is delivered or
# spooled).
pf_check_sent() {
    check_line_within "$1" "$4" pf_sent_line "$2" "$3"
}

# The maillog $1's first line that shows <$2> sent to listgate's LMTP port.
pf_sent_line() {
    grep -F "to=<$2>" "$1" 2>/dev/null | grep -F "relay=127.0.0.1[127.0.0.1]:$LMTP_PORT," | grep -F 'status=sent' | head -n1
}
