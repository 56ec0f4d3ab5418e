#!/usr/bin/env bash
# lunard under systemd's notify protocol, with a listener standing in for
# systemd (NOTIFY_SOCKET, WATCHDOG_USEC):
#   - READY=1 once it serves, and a STATUS= line saying what it serves;
#   - WATCHDOG=1 at half the watchdog interval while the data plane answers;
#   - STOPPING=1 on SIGTERM, then exit status 0.
# (The watchdog's refusal to ping for a stuck data-plane loop is
# util/liveness's unit test.)
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
watchdog_usec=400000
seconds=3

python3 "$here/notify.py" "$work/notify" 20 "$work/stop" >"$work/notes" &
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
sleep "$seconds"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
sleep 0.3
touch "$work/stop"
wait "$listener" || true

if grep -qx "READY=1" "$work/notes"; then
    check_ok "READY=1 sent"
else
    check_fail "READY=1 sent: $(head -5 "$work/notes")"
fi
if grep -qx "STATUS=serving 1 target, 0 sessions, 0 connections" "$work/notes"; then
    check_ok "STATUS= says what lunard serves"
else
    check_fail "STATUS= says what lunard serves: $(grep STATUS "$work/notes" || true)"
fi
# One ping every 200 ms for 3 s: about 15; allow for a loaded machine.
pings=$(grep -cx "WATCHDOG=1" "$work/notes" || true)
if ((pings >= 8)); then
    check_ok "WATCHDOG=1 at half the interval ($pings in $seconds s)"
else
    check_fail "WATCHDOG=1 at half the interval: $pings in $seconds s"
fi
if grep -qx "STOPPING=1" "$work/notes"; then
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
