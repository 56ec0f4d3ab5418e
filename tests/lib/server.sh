# shellcheck shell=bash disable=SC2034 # its variables are the interface
# Shared helpers for the conformance and interop scripts: pick the target to
# test (given on the command line, or started here: lunard or Debian's tgtd),
# wait until it accepts connections, and always stop what we started.
#
# Sourced, not run. The caller sets `set -euo pipefail` and then:
#   target_take_arg "$@"   consumes one common option; 0 = taken, shift by
#                          $TARGET_ARG_SHIFT; 1 = not a common option
#   target_setup           validates the choice, starts a server if asked;
#                          sets TARGET_PORTAL TARGET_IQN TARGET_LUN TARGET_URL
#   server_alive / server_restart / server_log_tail / server_show_tail_once
#   server_stop
# For a script that starts lunard on a configuration of its own:
#   server_need_lunard / server_need_tools / server_start_on CONF [OPTION...] /
#   server_reload / server_wait_port / server_at_exit / server_check_summary
# A started server is stopped on exit; a non-zero exit prints its stderr tail.
# Set SERVER_KEEP_LOG=FILE to keep a copy of its stderr.
#
# Environment defaults (options win): LUNAR_PORTAL, LUNAR_TARGET, LUNAR_LUN,
# LUNARD (path to lunard: start it), LUNAR_WAIT_S (start-up wait, default 20),
# LUNARD_ARGS (extra lunard options).

TARGET_DEFAULT_IQN=iqn.2026-11.org.lunar:default
TARGET_TGT_IQN=iqn.2026-11.org.lunar:tgt
TARGET_DISK_BYTES=1073741824

TARGET_PORTAL=${LUNAR_PORTAL:-}
TARGET_IQN=${LUNAR_TARGET:-}
TARGET_LUN=${LUNAR_LUN:-}
TARGET_URL=
SERVER_KIND=
SERVER_BIN=${LUNARD:-}
SERVER_PID=
SERVER_DIR=
SERVER_LOG=
SERVER_PORT=
# 0: lunard listens where its configuration says; the caller sets
# SERVER_PORT to one of those portals (the one to wait for).
SERVER_LISTEN=1
SERVER_CTL=
SERVER_WAIT_S=${LUNAR_WAIT_S:-20}
SERVER_STARTS=0
TARGET_ARG_SHIFT=1
SERVER_KEEP_LOG=${SERVER_KEEP_LOG:-}
if [[ -n $SERVER_BIN ]]; then
    SERVER_KIND=lunard
fi

target_common_usage() {
    cat <<'EOF'
Target selection (one of):
  --portal HOST:PORT      test a running target (env LUNAR_PORTAL)
  --lunard PATH           start lunard on a free loopback port with a fresh
                          state dir, stop it afterwards (env LUNARD)
  --tgtd                  start Debian's tgtd the same way (reference target;
                          its disk is LUN 1, LUN 0 is its controller)
  --target IQN            target name (env LUNAR_TARGET;
                          default iqn.2026-11.org.lunar:default, tgtd: ...:tgt)
  --lun N                 LUN under test (env LUNAR_LUN; default 0, tgtd: 1)
EOF
}

# For scripts that run one tool against the target: parses --tool PATH
# (sets TOOL) and the common options; the caller then calls target_setup.
# TOOL_NAME names the tool in messages.
target_parse_with_tool() {
    TOOL=
    while (($#)); do
        case $1 in
            -h|--help) tool_usage; exit 0 ;;
            --tool) TOOL=$2; shift 2 ;;
            *) target_take_arg_or_die tool_usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
        esac
    done
    [[ -x $TOOL ]] || { echo "error: --tool PATH ($TOOL_NAME) needed" >&2; exit 2; }
}

tool_usage() {
    echo "usage: $0 --tool PATH ($TOOL_NAME) [target selection]"
    target_common_usage
}

# For a script's option loop: `*) target_take_arg_or_die USAGE_FN "$@";
# shift "$TARGET_ARG_SHIFT" ;;` takes a common option or exits with usage.
target_take_arg_or_die() {
    local usage_fn=$1
    shift
    if ! target_take_arg "$@"; then
        echo "error: unknown option: $1" >&2
        "$usage_fn" >&2
        exit 2
    fi
}

target_take_arg() {
    TARGET_ARG_SHIFT=2
    case ${1:-} in
        --portal|--target|--lun|--lunard)
            if (($# < 2)); then
                echo "error: $1 needs a value" >&2
                exit 2
            fi ;;
    esac
    case ${1:-} in
        --portal) TARGET_PORTAL=$2 ;;
        --target) TARGET_IQN=$2 ;;
        --lun) TARGET_LUN=$2 ;;
        --lunard) SERVER_KIND=lunard; SERVER_BIN=$2 ;;
        --tgtd) SERVER_KIND=tgtd; TARGET_ARG_SHIFT=1 ;;
        *) return 1 ;;
    esac
    return 0
}

target_setup() {
    if [[ -n $SERVER_KIND && -n $TARGET_PORTAL ]]; then
        echo "error: give either --portal or --lunard/--tgtd, not both" >&2
        exit 2
    fi
    if [[ -z $SERVER_KIND && -z $TARGET_PORTAL ]]; then
        echo "error: no target: give --portal, --lunard PATH or --tgtd" >&2
        exit 2
    fi
    case $SERVER_KIND in
        lunard)
            : "${TARGET_IQN:=$TARGET_DEFAULT_IQN}"
            : "${TARGET_LUN:=0}" ;;
        tgtd)
            : "${TARGET_IQN:=$TARGET_TGT_IQN}"
            : "${TARGET_LUN:=1}" ;;
        *)
            : "${TARGET_IQN:=$TARGET_DEFAULT_IQN}"
            : "${TARGET_LUN:=0}" ;;
    esac
    if ! [[ $TARGET_LUN =~ ^[0-9]+$ ]]; then
        echo "error: --lun must be a number, got '$TARGET_LUN'" >&2
        exit 2
    fi
    # One EXIT trap for every script: it stops the server and removes what
    # server_cleanup_add listed, however the script ends.
    trap 'server_on_exit $?' EXIT
    trap 'exit 130' INT TERM
    if [[ -n $SERVER_KIND ]]; then
        SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lunar-test.XXXXXX")
        SERVER_LOG=$SERVER_DIR/server.log
        [[ -n $SERVER_PORT ]] || SERVER_PORT=$(server_free_port)
        server_start
        TARGET_PORTAL=127.0.0.1:$SERVER_PORT
    fi
    TARGET_URL=iscsi://$TARGET_PORTAL/$TARGET_IQN/$TARGET_LUN
}

# A random loopback port no socket uses. Racy by nature; the bounded wait
# in server_start catches a port taken between this check and the bind.
# Below the kernel's ephemeral range (ip_local_port_range, 32768 up by
# default): a port there can be taken at any moment by an outgoing
# connection of another test, which makes the bind fail.
server_free_port() {
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 12000))
        if [[ -z $(ss -Htan "sport = :$port") ]]; then
            echo "$port"
            return 0
        fi
    done
    echo "error: no free loopback port found" >&2
    return 1
}

server_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

server_alive() {
    [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null
}

server_log_tail() {
    local lines=${1:-30}
    [[ -n $SERVER_LOG && -s $SERVER_LOG ]] || return 0
    echo "---- $SERVER_KIND stderr (last $lines lines of $SERVER_LOG) ----"
    tail -n "$lines" "$SERVER_LOG"
    echo "---- end of $SERVER_KIND stderr ----"
}

server_start() {
    SERVER_STARTS=$((SERVER_STARTS + 1))
    case $SERVER_KIND in
        lunard) server_start_lunard ;;
        tgtd) server_start_tgtd ;;
    esac
}

server_start_lunard() {
    if [[ ! -x $SERVER_BIN ]]; then
        echo "error: lunard not executable: $SERVER_BIN" >&2
        exit 2
    fi
    mkdir -p "$SERVER_DIR/state"
    local listen=(--listen "127.0.0.1:$SERVER_PORT")
    ((SERVER_LISTEN)) || listen=()
    # shellcheck disable=SC2086  # LUNARD_ARGS: extra options, split on spaces
    "$SERVER_BIN" --foreground "${listen[@]}" \
        --state-dir "$SERVER_DIR/state" --log-level warn ${LUNARD_ARGS:-} \
        >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    server_wait_listening
}

# tgtd's control socket is /var/run/tgtd/socket.N with N <= 32767; deriving
# N from the (free) iSCSI port keeps parallel instances apart.
server_start_tgtd() {
    SERVER_CTL=$((SERVER_PORT % 32000 + 700))
    [[ -f $SERVER_DIR/disk.img ]] || truncate -s "$TARGET_DISK_BYTES" "$SERVER_DIR/disk.img"
    tgtd -C "$SERVER_CTL" --iscsi "portal=127.0.0.1:$SERVER_PORT" -f \
        >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    server_wait_listening
    local tgtadm=(tgtadm -C "$SERVER_CTL" --lld iscsi)
    {
        "${tgtadm[@]}" --op new --mode target --tid 1 -T "$TARGET_IQN"
        "${tgtadm[@]}" --op new --mode logicalunit --tid 1 --lun "$TARGET_LUN" \
            -b "$SERVER_DIR/disk.img"
        "${tgtadm[@]}" --op bind --mode target --tid 1 -I ALL
    } >>"$SERVER_LOG" 2>&1
}

server_wait_listening() {
    local tries=$((SERVER_WAIT_S * 10))
    while ! server_port_open "$SERVER_PORT"; do
        if ! server_alive; then
            echo "error: $SERVER_KIND exited before listening on port $SERVER_PORT" >&2
            exit 1
        fi
        if ((--tries <= 0)); then
            echo "error: $SERVER_KIND not listening on 127.0.0.1:$SERVER_PORT after ${SERVER_WAIT_S}s" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# Stop what we started: SIGTERM, a bounded grace period, then SIGKILL.
# tgtd ignores SIGTERM, and its state is a throwaway file: kill it at once.
server_kill() {
    # The redirect on the whole body silences bash's "Killed" job report.
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        if [[ $SERVER_KIND == tgtd ]]; then
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        else
            kill -TERM "$SERVER_PID" 2>/dev/null || true
        fi
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    if [[ $SERVER_KIND == tgtd && -n $SERVER_CTL ]]; then
        rm -f "/var/run/tgtd/socket.$SERVER_CTL" "/var/run/tgtd/socket.$SERVER_CTL.lock"
    fi
} 2>/dev/null

# After a crash: start again on the same port and state, so the rest of a
# run still measures something. Bounded by the caller.
server_restart() {
    server_kill
    echo "==== restart #$SERVER_STARTS ====" >>"$SERVER_LOG"
    server_start
}

# On a failing exit, show why the server may have misbehaved; once, so a
# script can show it before its closing "N passed, N failed" line instead.
SERVER_TAIL_SHOWN=0
server_show_tail_once() {
    if ((!SERVER_TAIL_SHOWN)); then
        SERVER_TAIL_SHOWN=1
        server_log_tail 30
    fi
}

server_on_exit() {
    # A reader that went away (| head) must not stop the clean-up below:
    # no SIGPIPE, and a failed echo must not trip errexit.
    trap '' PIPE
    set +e
    local cmd
    for cmd in ${SERVER_AT_EXIT[@]+"${SERVER_AT_EXIT[@]}"}; do
        eval "$cmd"
    done
    server_kill
    if (($1 != 0)); then
        server_show_tail_once >&2
    fi
    server_stop
    if ((${#SERVER_CLEANUP[@]})); then
        rm -rf "${SERVER_CLEANUP[@]}"
    fi
}

# server_cleanup_add PATH...: removed at exit, after the server has
# stopped (a test's work directory with the server's files in it), also
# when the script ends before target_setup.
SERVER_CLEANUP=()
server_cleanup_add() {
    SERVER_CLEANUP+=("$@")
    trap 'server_on_exit $?' EXIT
}

# server_at_exit COMMAND: run at exit, before the server stops (a daemon
# of the test's own beside it), also when the script ends before
# target_setup.
SERVER_AT_EXIT=()
server_at_exit() {
    SERVER_AT_EXIT+=("$1")
    trap 'server_on_exit $?' EXIT
}

server_stop() {
    server_kill
    if [[ -n $SERVER_KEEP_LOG && -f $SERVER_LOG ]]; then
        cp "$SERVER_LOG" "$SERVER_KEEP_LOG"
    fi
    if [[ -n $SERVER_DIR && -d $SERVER_DIR ]]; then
        rm -rf "$SERVER_DIR"
        SERVER_DIR=
    fi
}

# ---- For a script that starts lunard on a configuration of its own ----

# server_need_lunard WHY: exits 2 unless --lunard PATH was given.
server_need_lunard() {
    [[ $SERVER_KIND == lunard ]] || { echo "error: --lunard PATH needed: $1" >&2; exit 2; }
}

# server_need_tools PACKAGES TOOL...: exits 2 naming the first TOOL not
# found, and the PACKAGES that have them (may be empty).
server_need_tools() {
    local packages=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null ||
            { echo "error: $tool not found${packages:+ ($packages)}" >&2; exit 2; }
    done
}

# server_start_on CONF [OPTION...]: target_setup with lunard on the
# configuration file CONF and the OPTIONs, ahead of LUNARD_ARGS.
server_start_on() {
    local conf=$1
    shift
    export LUNARD_ARGS="--config $conf${*:+ $*} ${LUNARD_ARGS:-}"
    target_setup
}

# server_reload: SIGHUP, then waits (10 s at most) for lunard to log the
# outcome of this reload ("configuration reloaded" or "not reloaded");
# 1 when it does not.
SERVER_RELOADS=0
server_reload() {
    SERVER_RELOADS=$((SERVER_RELOADS + 1))
    kill -HUP "$SERVER_PID"
    local i
    for ((i = 0; i < 100; i++)); do
        if (($(grep -cE 'SIGHUP: configuration (reloaded|not reloaded)' "$SERVER_LOG") >= SERVER_RELOADS)); then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# server_wait_port PORT: "open" once 127.0.0.1:PORT accepts (10 s at the
# most), else "closed".
server_wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        if server_port_open "$1"; then echo open; return; fi
        sleep 0.1
    done
    echo closed
}

# server_check_summary: a script's last line (with tests/lib/check.sh):
# one more check, that lunard is still running, lunard's stderr tail when
# anything failed, then check_summary.
server_check_summary() {
    if ! server_alive; then
        check_fail "lunard still running after the test"
    fi
    if ((CHECK_FAILED > 0)); then
        server_show_tail_once
    fi
    check_summary
}
