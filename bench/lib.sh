# shellcheck shell=bash disable=SC2034
# Helpers shared by bench/compare.sh and bench/targets.sh (sourced, not run).
# Everything listens on 127.0.0.1; every wait is bounded; every process
# started here is recorded in LG_PIDS and stopped by lg_cleanup (EXIT trap).

LG_PIDS=()
LG_TMP=""
CLK_TCK=$(getconf CLK_TCK)

lg_say() { printf '%s: %s\n' "${LG_NAME:-bench}" "$*" >&2; }
lg_die() { lg_say "error: $*"; exit 1; }

lg_cleanup() {
    local pid i
    for pid in "${LG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${LG_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    LG_PIDS=()
    if [[ -n $LG_TMP && -d $LG_TMP && -z ${KEEP:-} ]]; then
        rm -rf "$LG_TMP"
    fi
}

# Stop one process we started (SIGTERM, then SIGKILL after 5 s); its exit status in LG_STOP_RC.
lg_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    LG_STOP_RC=0
    wait "$pid" 2>/dev/null || LG_STOP_RC=$?
    local keep=() p
    for p in "${LG_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    LG_PIDS=("${keep[@]}")
}

# Binaries of build dir $1; builds them when missing.
lg_binaries() {
    local dir=$1
    LISTGATE=$dir/src/app/listgate
    LGBENCH=$dir/bench/load/listgate-bench
    LGSINK=$dir/bench/sink/listgate-sink
    if [[ ! -x $LISTGATE || ! -x $LGBENCH || ! -x $LGSINK ]]; then
        [[ -d $dir ]] || meson setup "$dir" --buildtype=release >&2 || lg_die "meson setup $dir"
        lg_say "building bench-load bench-fanout in $dir"
        timeout 1800 ninja -C "$dir" bench-load bench-fanout >&2 || lg_die "ninja -C $dir bench-load bench-fanout"
    fi
}

# Postfix's smtp-sink/smtp-source, installed non-interactively when missing
# (as tests/postfix/run.sh does).
lg_ensure_postfix_tools() {
    command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null && return 0
    [[ -x /usr/sbin/smtp-sink && -x /usr/sbin/smtp-source ]] && { PATH=$PATH:/usr/sbin; return 0; }
    lg_say "installing postfix (for smtp-sink and smtp-source)"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    local apt=(env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q postfix)
    if ! "${apt[@]}" >"$LG_TMP/apt.log" 2>&1; then
        lg_say "apt-get install failed, refreshing the package lists"
        timeout 600 apt-get update -q >>"$LG_TMP/apt.log" 2>&1 || true
        "${apt[@]}" >>"$LG_TMP/apt.log" 2>&1 || { cat "$LG_TMP/apt.log" >&2; lg_die "apt-get install postfix"; }
    fi
    PATH=$PATH:/usr/sbin
    command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null || lg_die "smtp-sink/smtp-source missing after install"
}

# utime+stime of PID in microseconds (all threads).
lg_cpu_us() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }          # fields after the command name; field 3 is first
    local f=($stat)
    echo $(((f[11] + f[12]) * 1000000 / CLK_TCK))
}

lg_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
lg_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
lg_now_ns() { date +%s%N; }

# Wait (at most $3 s) until file $1 has a line matching regex $2; print the line.
lg_wait_line() {
    local file=$1 re=$2 limit=$3 i line
    for ((i = 0; i < limit * 20; i++)); do
        line=$(grep -m1 -E "$re" "$file" 2>/dev/null) && { echo "$line"; return 0; }
        sleep 0.05
    done
    return 1
}

lg_port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

lg_free_port() {
    local i port
    for ((i = 0; i < 100; i++)); do
        port=$((10000 + RANDOM % 20000))  # below the ephemeral range (32768-60999)
        lg_port_open "$port" || { echo "$port"; return 0; }
    done
    lg_die "no free port"
}

# listgate-sink on CPU $1 with io $2; sets SINK_PID, SINK_PORT.
lg_start_sink() {
    local cpu=$1 io=$2 log=$LG_TMP/sink-$RANDOM.log
    taskset -c "$cpu" "$LGSINK" --listen 127.0.0.1:0 --control 127.0.0.1:0 --io "$io" >"$log" 2>&1 &
    SINK_PID=$!
    LG_PIDS+=("$SINK_PID")
    local line
    line=$(lg_wait_line "$log" 'sink listening smtp=' 10) || { cat "$log" >&2; lg_die "listgate-sink did not start"; }
    SINK_PORT=$(sed -E 's/.*smtp=[^ ]*:([0-9]+).*/\1/' <<<"$line")
}

# listgate serve on CPU $1; $2 = config file; rest = extra flags.
# Sets LG_PID, LG_PORT, LG_METRICS, LG_LOG, LG_IO.
lg_start_listgate() {
    local cpu=$1 cfg=$2
    shift 2
    LG_LOG=$LG_TMP/listgate-$RANDOM.log
    taskset -c "$cpu" "$LISTGATE" serve -c "$cfg" "$@" >"$LG_LOG" 2>&1 &
    LG_PID=$!
    LG_PIDS+=("$LG_PID")
    local line
    line=$(lg_wait_line "$LG_LOG" 'event=listening' "${LG_START_WAIT:-60}") || { cat "$LG_LOG" >&2; lg_die "listgate did not start"; }
    LG_PORT=$(sed -E 's/.*lmtp=[^ ]*:([0-9]+).*/\1/' <<<"$line")
    LG_METRICS=$(sed -E 's/.*metrics=([^ ]+).*/\1/' <<<"$line")
    LG_IO=$(grep -m1 'event=io_backend' "$LG_LOG" | sed -E 's/.*backend=([^ ]+).*/\1/')
}

# Postfix smtp-sink -L on CPU $1; sets PFSINK_PID, PFSINK_PORT. smtp-sink
# takes no port 0, so a free port below the ephemeral range is tried, and
# another one when the bind fails.
lg_start_smtp_sink() {
    local cpu=$1 i attempt
    for ((attempt = 0; attempt < 10; attempt++)); do
        PFSINK_PORT=$(lg_free_port)
        taskset -c "$cpu" smtp-sink -L -u nobody "127.0.0.1:$PFSINK_PORT" 1024 >"$LG_TMP/smtp-sink.log" 2>&1 &
        PFSINK_PID=$!
        LG_PIDS+=("$PFSINK_PID")
        for ((i = 0; i < 100; i++)); do
            lg_port_open "$PFSINK_PORT" && kill -0 "$PFSINK_PID" 2>/dev/null && return 0
            kill -0 "$PFSINK_PID" 2>/dev/null || break
            sleep 0.05
        done
        lg_stop "$PFSINK_PID"
        lg_say "smtp-sink on port $PFSINK_PORT: $(tail -1 "$LG_TMP/smtp-sink.log"); trying another port"
    done
    lg_die "smtp-sink did not start"
}

# A config for listgate in $LG_TMP: $1 = file, $2 = table, $3 = smtp port (or empty), $4 = max_connections.
lg_write_config() {
    local file=$1 table=$2 smtp=$3 maxc=${4:-10000}
    {
        # No MTA maps: rewriting them on each of the reloads would be measured too.
        printf '[mta]\nlmtp_host: 127.0.0.1\nlmtp_port: 0\nincoming: mailman.mta.null.NullMTA\n'
        [[ -n $smtp ]] && printf 'smtp_host: 127.0.0.1\nsmtp_port: %s\n' "$smtp"
        printf '\n[listgate]\ntable = %s\nspool_dir = %s/spool\nbounce_log = %s/bounces.jsonl\n' "$table" "$LG_TMP" "$LG_TMP"
        printf 'metrics = 127.0.0.1:0\nmax_connections = %s\n' "$maxc"
    } >"$file"
}

lg_metric() {  # $1 = metrics address, $2 = regex of the metric line; prints the value
    curl -s --max-time 5 "http://$1/metrics" | grep -E "^$2" | awk '{print $2}' | head -1
}

# Machine description, one line.
lg_machine() {
    local model
    model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')
    printf 'nproc %s, %s, kernel %s' "$(nproc)" "$model" "$(uname -r)"
}
