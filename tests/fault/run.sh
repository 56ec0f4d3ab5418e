#!/usr/bin/env bash
# Fault tests against a lunard this script starts (and kills):
#   - killed mid-write: FUA writes acknowledged before a SIGKILL are all
#     there after a restart on the same state directory;
#   - connections dropped mid-transfer, 100 times (enough that a receive
#     still in flight into freed task memory shows within a run): the
#     daemon keeps serving;
#   - a client silent during login is disconnected after --login-timeout;
#   - orderly shutdown: SIGTERM exits 0, with no sanitizer report.
# Usage: tests/fault/run.sh --lunard PATH --tool PATH
# Ends with "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

TOOL_NAME=lunar-fault-tool
target_parse_with_tool "$@"
[[ $SERVER_KIND == lunard ]] || { echo "error: --lunard PATH needed: this test kills the target" >&2; exit 2; }
login_timeout=2
export LUNARD_ARGS="--login-timeout $login_timeout ${LUNARD_ARGS:-}"
target_setup

passed=0
failed=0
check() {
    local name=$1 ok=$2 why=${3:-}
    if [[ $ok == 1 ]]; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name${why:+: $why}"
        failed=$((failed + 1))
    fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-fault.XXXXXX")
server_cleanup_add "$work"

# 1. Killed mid-write.
"$TOOL" write --url "$TARGET_URL" --log "$work/acked" --seconds 10 >"$work/write.out" 2>&1 &
writer=$!
sleep 2
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
wait "$writer" || true
acked=$(wc -l <"$work/acked")
echo "# $(cat "$work/write.out"); $acked blocks acknowledged before SIGKILL"
server_start
if "$TOOL" verify --url "$TARGET_URL" --log "$work/acked" >"$work/verify.out" 2>&1 && ((acked > 0)); then
    check killed_mid_write_acked_fua_writes_survive 1
else
    check killed_mid_write_acked_fua_writes_survive 0 "$(tail -3 "$work/verify.out")"
fi
echo "# $(tail -1 "$work/verify.out")"

# 2. Connections dropped mid-transfer.
if "$TOOL" drop --url "$TARGET_URL" --rounds 100 >"$work/drop.out" 2>&1 && server_alive; then
    check dropped_connections_then_new_session_reads 1
else
    check dropped_connections_then_new_session_reads 0 "$(tail -3 "$work/drop.out")"
fi

# 3. A connection that never sends a Login Request is closed by the target
# after the login timeout; a logged-in, idle session is not.
host=${TARGET_PORTAL%:*}
port=${TARGET_PORTAL##*:}
start=$SECONDS
if timeout $((login_timeout + 5)) bash -c "exec 3<>/dev/tcp/$host/$port; cat <&3 >/dev/null" &&
    ((SECONDS - start >= login_timeout - 1)); then
    check silent_login_closed_after_timeout 1
else
    check silent_login_closed_after_timeout 0 "not closed within $((login_timeout + 5)) s"
fi
if "$TOOL" idle --url "$TARGET_URL" --seconds $((login_timeout * 2)) >"$work/idle.out" 2>&1; then
    check idle_full_feature_session_kept 1
else
    check idle_full_feature_session_kept 0 "$(tail -2 "$work/idle.out")"
fi

# 4. Orderly shutdown after all that.
kill -TERM "$SERVER_PID"
status=0
for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    check sigterm_exits_cleanly 0 "still running 10 s after SIGTERM"
else
    wait "$SERVER_PID" || status=$?
    SERVER_PID=
    if ((status == 0)) && ! grep -qE "Sanitizer|runtime error" "$SERVER_LOG"; then
        check sigterm_exits_cleanly 1
    else
        check sigterm_exits_cleanly 0 "exit status $status; $(grep -m3 -E "Sanitizer|runtime error" "$SERVER_LOG" || true)"
    fi
fi
echo "$passed passed, $failed failed"
((failed == 0))
