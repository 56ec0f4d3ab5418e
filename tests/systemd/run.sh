#!/usr/bin/env bash
# lunard under systemd's notify protocol, with a listener standing in for
# systemd (NOTIFY_SOCKET, WATCHDOG_USEC):
#   - READY=1 once it serves, and a STATUS= line saying what it serves;
#   - WATCHDOG=1 at half the watchdog interval while the data plane answers;
#   - a data-plane thread stopped for a while (ptrace, freeze.py) stops the
#     pings, which start again once it runs (skipped where ptrace is not
#     allowed);
#   - STOPPING=1 on SIGTERM, then exit status 0.
# Usage: tests/systemd/run.sh --lunard PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

[[ ${1:-} == --lunard && -x ${2:-} ]] || { echo "usage: tests/systemd/run.sh --lunard PATH" >&2; exit 2; }
lunard=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-systemd.XXXXXX")
server_cleanup_add "$work"
watchdog_usec=400000   # pings every 200 ms
frozen_s=2

python3 "$here/notify.py" "$work/notify" 30 "$work/stop" >"$work/notes" &
listener=$!
for ((i = 0; i < 50; i++)); do
    [[ -e $work/notify.ready ]] && break
    sleep 0.1
done
port=$(server_free_port)
NOTIFY_SOCKET=$work/notify WATCHDOG_USEC=$watchdog_usec \
    "$lunard" --foreground --listen "127.0.0.1:$port" --state-dir "$work/state" --threads 2 \
    >"$work/lunard.log" 2>&1 &
pid=$!
sleep 2
# The second data-plane thread stands still for frozen_s seconds.
tid=$(grep -lx lunar-dp1 /proc/"$pid"/task/*/comm 2>/dev/null | cut -d/ -f5 || true)
freeze=0
if [[ -n $tid ]]; then
    python3 "$here/freeze.py" "$tid" "$frozen_s" >"$work/freeze.out" 2>&1 || freeze=$?
else
    echo "no thread lunar-dp1 in lunard $pid" >"$work/freeze.out"
    freeze=1
fi
sleep 2
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
sleep 0.3
touch "$work/stop"
wait "$listener" || true

has_note() {
    awk '{ $1 = ""; sub(/^ /, ""); print }' "$work/notes" | grep -qx "$1"
}
if has_note "READY=1"; then
    check_ok "READY=1 sent"
else
    check_fail "READY=1 sent: $(head -5 "$work/notes")"
fi
if has_note "STATUS=serving 1 target, 0 sessions, 0 connections"; then
    check_ok "STATUS= says what lunard serves"
else
    check_fail "STATUS= says what lunard serves: $(grep STATUS "$work/notes" || true)"
fi
# About 10 pings in the first 2 s; allow for a loaded machine.
pings=$(grep -c " WATCHDOG=1$" "$work/notes" || true)
if ((pings >= 8)); then
    check_ok "WATCHDOG=1 at half the interval ($pings in all)"
else
    check_fail "WATCHDOG=1 at half the interval: $pings in all"
fi
if ((freeze == 3)); then
    check_skip "stuck data-plane thread stops the pings: $(cat "$work/freeze.out")"
else
    # The longest silence between pings, and the pings after it.
    read -r gap after < <(awk '$2 == "WATCHDOG=1" { if (last != "" && $1 - last > gap) { gap = $1 - last; n = 0 }
        else n++; last = $1 } END { printf "%.1f %d\n", gap, n }' "$work/notes")
    if awk -v g="$gap" -v f="$frozen_s" 'BEGIN { exit !(g >= f - 0.5) }' && ((after >= 3)) &&
        grep -q "watchdog: data-plane thread 1 does not answer" "$work/lunard.log" &&
        grep -q "watchdog: every data-plane thread answers again" "$work/lunard.log"; then
        check_ok "stuck data-plane thread stops the pings (${gap} s without), $after after it runs again"
    else
        check_fail "stuck data-plane thread stops the pings: longest gap $gap s, $after after; $(grep watchdog "$work/lunard.log" || true)"
    fi
fi
if has_note "STOPPING=1"; then
    check_ok "STOPPING=1 on SIGTERM"
else
    check_fail "STOPPING=1 on SIGTERM"
fi
check_eq "exit status after SIGTERM" 0 "$status"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work/lunard.log"; then
    check_fail "no sanitizer report: $(grep -m3 -E "Sanitizer|runtime error" "$work/lunard.log")"
else
    check_ok "no sanitizer report"
fi
check_summary
