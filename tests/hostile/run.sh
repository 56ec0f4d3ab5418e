#!/usr/bin/env bash
# Hostile-peer suite: starts a lunard with a small task-data budget and runs
# each attack of lunar-hostile against it for a few seconds, while a good
# session does 4 KiB WRITE/READ pairs and a second peer logs in afresh every
# 250 ms. One line per attack with the target's resident-set growth, the
# good session's IOPS and latencies and the login times; an attack passes
# when the growth stays within the budget plus 32 MiB (RSS_SLACK_MIB in
# hostile.c), neither peer goes 2 s without a completion, the guard region
# the attackers addressed is unchanged and lunard still runs. Each attack
# gets a freshly started lunard. Ends with "N passed, N failed".
#
# Usage: tests/hostile/run.sh --lunard PATH --tool PATH [--seconds S] [--only NAME,...]
# Environment:
#   HOSTILE_BUDGET      task-data budget to give lunard (default 64M)
#   HOSTILE_BUDGET_KEY  the config key that sets it (default memory_budget;
#                       GROUP.KEY for a key in a group); a lunard that
#                       refuses the key runs with its default budget (an
#                       eighth of RAM, 64 MiB to 4 GiB), and the RSS limit
#                       follows that budget
#   HOSTILE_SECONDS     seconds per attack (default 6)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

TOOL_NAME=lunar-hostile
budget=${HOSTILE_BUDGET:-64M}
budget_key=${HOSTILE_BUDGET_KEY:-memory_budget}
seconds=${HOSTILE_SECONDS:-6}
only=

usage() {
    echo "usage: $0 --lunard PATH --tool PATH [--seconds S] [--only NAME,...]"
}

TOOL=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --tool) TOOL=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
[[ -x $TOOL ]] || { echo "error: --tool PATH ($TOOL_NAME) needed" >&2; exit 2; }
[[ $SERVER_KIND == lunard ]] || { echo "error: --lunard PATH needed: the suite samples its memory" >&2; exit 2; }
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 60)); then
    echo "error: --seconds 1..60" >&2
    exit 2
fi

# "64M", "1G" or a number of bytes, in MiB.
size_mib() {
    local s=${1^^}
    case $s in
        *G) echo $((${s%G} * 1024)) ;;
        *M) echo "${s%M}" ;;
        *K) echo $((${s%K} / 1024)) ;;
        *) echo $((s >> 20)) ;;
    esac
}

# dataplane_budget() in src/daemon/dataplane.c: an eighth of RAM, 64 MiB to 4 GiB.
default_budget_mib() {
    local mib
    mib=$(($(getconf _PHYS_PAGES) * $(getconf PAGESIZE) / 8 >> 20))
    ((mib < 64)) && mib=64
    ((mib > 4096)) && mib=4096
    echo "$mib"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-hostile.XXXXXX")
server_cleanup_add "$work"
mkdir -p "$work/state" "$work/probe"

# A file LUN: its blocks live in the page cache, not in lunard's resident set.
write_config() {
    local file=$1 dir=$2 budget_line=${3:-}
    cat >"$file" <<EOF
state_dir = "$dir";
threads = 2;
portals = [ "127.0.0.1:3260" ];
$budget_line
targets = (
  {
    name = "$TARGET_DEFAULT_IQN";
    open = true;
    luns = ( { lun = 0; backend = "file"; path = "hostile.img"; size = "1G"; } );
  }
);
EOF
}

# A config error stops lunard at once; one that listens took the key.
lunard_takes_config() {
    local conf=$1 port pid i ok=0
    port=$(server_free_port)
    "$SERVER_BIN" --foreground --config "$conf" --listen "127.0.0.1:$port" --log-level warn \
        >"$work/probe.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        if server_port_open "$port"; then
            ok=1
            break
        fi
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ((ok))
}

# The key's line: a size as a string ("64M") or a plain number, and a
# dotted key ("limits.memory_budget") as a group of its own.
budget_value=$budget
[[ $budget =~ ^[0-9]+$ ]] || budget_value="\"$budget\""
if [[ $budget_key == *.* ]]; then
    budget_line="${budget_key%%.*} = { ${budget_key#*.} = $budget_value; };"
else
    budget_line="$budget_key = $budget_value;"
fi
write_config "$work/probe.conf" "$work/probe" "$budget_line"
if lunard_takes_config "$work/probe.conf"; then
    budget_mib=$(size_mib "$budget")
    echo "# task-data budget $budget_mib MiB ($budget_line)"
else
    budget_line=
    budget_mib=$(default_budget_mib)
    echo "# task-data budget $budget_mib MiB: lunard's default (it refused $budget_key: $(tail -1 "$work/probe.log"))"
fi
write_config "$work/lunard.conf" "$work/state" "$budget_line"
export LUNARD_ARGS="--config $work/lunard.conf ${LUNARD_ARGS:-}"
target_setup

host=${TARGET_PORTAL%:*}
port=${TARGET_PORTAL##*:}
mapfile -t attacks < <("$TOOL" --list | awk '{print $1}')
if [[ -n $only ]]; then
    IFS=, read -r -a attacks <<<"$only"
fi

passed=0
failed=0
first=1
for attack in "${attacks[@]}"; do
    # A fresh lunard for each attack: what an earlier one left behind (a
    # crash, cached chunks) must not blur the next one's figures.
    ((first)) || server_restart
    first=0
    rc=0
    timeout -k 5 $((seconds + 120)) "$TOOL" --attack "$attack" --pid "$SERVER_PID" \
        --budget-mib "$budget_mib" --seconds "$seconds" --lun "$TARGET_LUN" \
        "$host" "$port" "$TARGET_IQN" >"$work/out" 2>&1 || rc=$?
    cat "$work/out"
    if grep -q '^ok ' "$work/out" && ((rc == 0)); then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        grep -q '^FAIL ' "$work/out" || echo "FAIL $attack: lunar-hostile exited $rc"
    fi
    if ! server_alive; then
        echo "# lunard died during $attack"
        server_log_tail 10
    fi
done
echo "$passed passed, $failed failed"
((failed == 0))
