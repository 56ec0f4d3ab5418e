#!/usr/bin/env bash
# The data-plane threads: where they run and which one a session goes to.
#   - cpu_affinity pins each lunar-dp thread to its CPU in turn
#     (/proc/PID/task/TID/status Cpus_allowed_list) and leaves the control
#     thread unpinned; --cpu-affinity replaces the config's list;
#   - a CPU that does not exist, or one outside lunard's affinity mask
#     (taskset), is refused at start with a message naming it;
#   - sessions go to the thread with the fewest: with 2 threads, 4
#     sessions in, the 2 on thread 1 out, 2 more in: 2 and 2 (round robin
#     would make it 3 and 1).
# Usage: tests/manage/threads.sh --lunard PATH --tool PATH --lunarctl PATH
#   (--tool: lunar-manage-tool, which holds a session open)
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

usage() {
    echo "usage: $0 --lunard PATH --tool PATH --lunarctl PATH"
}
LUNARD='' TOOL='' LUNARCTL=''
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --lunard) LUNARD=$(realpath "$2"); shift 2 ;;
        --tool) TOOL=$(realpath "$2"); shift 2 ;;
        --lunarctl) LUNARCTL=$(realpath "$2"); shift 2 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ -x $LUNARD && -x $TOOL && -x $LUNARCTL ]] || { usage >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-threads.XXXXXX")
server_cleanup_add "$work"
# server_kill (server.sh) stops SERVER_PID as a lunard
# shellcheck disable=SC2034
SERVER_KIND=lunard
sock=$work/lunar.sock
ntargets=6

# The CPUs this process may run on, one per line.
allowed=()
while read -r cpu; do allowed+=("$cpu"); done < <(python3 -c '
import os
for c in sorted(os.sched_getaffinity(0)): print(c)')
first=${allowed[0]}
last=${allowed[${#allowed[@]} - 1]}

# write_config EXTRA: 2 threads, one 1 MiB memory LUN per target t0..t5.
write_config() {
    {
        echo "threads = 2;"
        echo "$1"
        echo "management = { socket = \"$sock\"; };"
        echo "targets = ("
        for ((t = 0; t < ntargets; t++)); do
            echo "  { name = \"iqn.2026-11.org.lunar:t$t\"; open = true;"
            echo "    luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); }$( ((t < ntargets - 1)) && echo ,)"
        done
        echo ");"
    } >"$work/lunar.conf"
}

# start ARGS...: lunard in the background on a fresh port; SERVER_PID.
start() {
    port=$(server_free_port)
    "$LUNARD" --foreground --listen "127.0.0.1:$port" --state-dir "$work" --config "$work/lunar.conf" \
        --log-level info "$@" >"$work/lunard.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 100; i++)); do
        server_port_open "$port" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# cpus_of NAME: "TID-name:list" of each thread whose comm is NAME*.
cpus_of() {
    local task
    for task in /proc/"$SERVER_PID"/task/*; do
        local comm
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        [[ $comm == "$1"* ]] || continue
        echo "$comm:$(awk '/^Cpus_allowed_list:/ { print $2 }' "$task/status")"
    done | sort
}

# refused WHAT EXPECT ARGS...: lunard exits non-zero at start, saying EXPECT.
refused() {
    local what=$1 expect=$2 rc=0
    shift 2
    timeout 20 "$@" --foreground --listen "127.0.0.1:$(server_free_port)" --state-dir "$work" \
        --config "$work/lunar.conf" >"$work/refused.log" 2>&1 || rc=$?
    if ((rc != 0 && rc != 124)) && grep -qF -- "$expect" "$work/refused.log"; then
        check_ok "$what is refused at start: $(head -1 "$work/refused.log")"
    else
        check_fail "$what: exit $rc, wanted a message with '$expect': $(head -3 "$work/refused.log")"
    fi
}

# ---- pinning ----
write_config "cpu_affinity = [ $first, $last ];"
if start; then
    check_eq "lunar-dp0 and lunar-dp1 pinned to cpu_affinity in turn" \
        "lunar-dp0:$first lunar-dp1:$last" "$(cpus_of lunar-dp | xargs)"
    main=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/"$SERVER_PID"/status)
    check_eq "the control thread stays on every allowed CPU" \
        "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/$$/status)" "$main"
    if grep -q "data-plane thread 1: pinned to CPU $last" "$work/lunard.log"; then
        check_ok "the log says where each thread is pinned"
    else
        check_fail "no 'pinned to' line: $(grep -i pinned "$work/lunard.log" || true)"
    fi
else
    check_fail "lunard with cpu_affinity did not start: $(tail -3 "$work/lunard.log")"
fi
server_kill

if start --cpu-affinity "$last"; then
    check_eq "--cpu-affinity replaces the config's list" \
        "lunar-dp0:$last lunar-dp1:$last" "$(cpus_of lunar-dp | xargs)"
else
    check_fail "lunard with --cpu-affinity did not start: $(tail -3 "$work/lunard.log")"
fi
server_kill

write_config "cpu_affinity = [ $first, 100000 ];"
refused "a CPU that does not exist" "key 'cpu_affinity.[1]': CPU 100000 does not exist" "$LUNARD"
write_config ""
refused "--cpu-affinity with a CPU that does not exist" "--cpu-affinity 100000: CPU 100000 does not exist" \
    "$LUNARD" --cpu-affinity 100000
if ((${#allowed[@]} >= 2)); then
    write_config "cpu_affinity = [ $last ];"
    refused "a CPU outside lunard's affinity mask" \
        "CPU $last is not one lunard may run on (its allowed CPUs: $first)" taskset -c "$first" "$LUNARD"
else
    check_skip "a CPU outside lunard's affinity mask: this process may run on one CPU only"
fi

# ---- placement ----
write_config ""
start || check_fail "lunard did not start: $(tail -3 "$work/lunard.log")"
for ((i = 0; i < 50; i++)); do
    [[ -S $sock ]] && break
    sleep 0.1
done

# hold N: a session to target tN, kept until release N; waits until it is in.
declare -A fifo_fd hold_pid
hold() {
    mkfifo "$work/in$1"
    "$TOOL" hold "iscsi://127.0.0.1:$port/iqn.2026-11.org.lunar:t$1/0" <"$work/in$1" >"$work/out$1" 2>&1 &
    hold_pid[$1]=$!
    local fd
    exec {fd}>"$work/in$1"
    fifo_fd[$1]=$fd
    for ((i = 0; i < 100; i++)); do
        grep -q '^ready' "$work/out$1" && return 0
        sleep 0.1
    done
    check_fail "session to t$1 never got in: $(cat "$work/out$1")"
}
release() {
    echo >&"${fifo_fd[$1]}"
    wait "${hold_pid[$1]}" || check_fail "session to t$1 did not end cleanly: $(cat "$work/out$1")"
    local fd=${fifo_fd[$1]}
    exec {fd}>&-
}

# threads: "target=thread ..." for every session, by target.
threads() {
    timeout 30 "$LUNARCTL" --socket "$sock" --json session list >"$work/sessions.json"
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc if isinstance(doc, list) else doc.get("sessions", [])
print(" ".join(sorted("%s=%d" % (r["target"].rsplit(":", 1)[1], r["thread"]) for r in rows)))
' "$work/sessions.json"
}

for t in 0 1 2 3; do hold $t; done
check_eq "4 sessions alternate between the 2 threads" "t0=0 t1=1 t2=0 t3=1" "$(threads)"
release 1
release 3
# A session leaves the table on its loop; wait for both to be gone.
for ((i = 0; i < 50; i++)); do
    [[ $(threads) == "t0=0 t2=0" ]] && break
    sleep 0.1
done
check_eq "the 2 on thread 1 ended" "t0=0 t2=0" "$(threads)"
hold 4
hold 5
check_eq "the 2 new sessions both go to the emptied thread" "t0=0 t2=0 t4=1 t5=1" "$(threads)"
for t in 0 2 4 5; do release $t; done
server_kill

check_summary
