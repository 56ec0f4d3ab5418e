#!/usr/bin/env bash
# Fault tests against a lunard this script starts (and kills):
#   - killed mid-write: FUA writes acknowledged before a SIGKILL are all
#     there after a restart on the same state directory;
#   - connections dropped mid-transfer, 100 times (enough that a receive
#     still in flight into freed task memory shows within a run): the
#     daemon keeps serving;
#   - a client silent during login is disconnected after --login-timeout;
#   - orderly shutdown: SIGTERM exits 0, with no sanitizer report;
#   - graceful shutdown: an initiator that honours the Async Message's
#     logout request logs out and lunard exits 0 well before the timeout;
#     one that ignores it is closed at --shutdown-timeout;
#   - a file LUN's file truncated while reads sent from its page cache
#     wait to be sent: lunard survives and serves on.
# Usage: tests/fault/run.sh --lunard PATH --tool PATH
# Ends with "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

TOOL_NAME=lunar-fault-tool
target_parse_with_tool "$@"
server_need_lunard "this test kills the target"
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
# 5. Graceful shutdown (RFC 7143 §11.9.1 AsyncEvent 1). sigterm_and_time
# sends SIGTERM and sets elapsed_ms and status once lunard has exited
# (at most 20 s later).
shutdown_timeout=4
sigterm_and_time() {
    local t0 t1 i
    t0=$(date +%s%N)
    kill -TERM "$SERVER_PID"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    t1=$(date +%s%N)
    elapsed_ms=$(((t1 - t0) / 1000000))
    status=0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        status=timeout
        server_kill
    else
        wait "$SERVER_PID" || status=$?
        SERVER_PID=
    fi
}
# Waits (at most 10 s) for the tool's "logged in" line in file.
wait_logged_in() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "logged in" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
LUNARD_ARGS="--shutdown-timeout $shutdown_timeout ${LUNARD_ARGS:-}"
server_start
log_from=$(wc -l <"$SERVER_LOG")
"$TOOL" hold --url "$TARGET_URL" --seconds 20 >"$work/hold.out" 2>&1 &
holder=$!
if wait_logged_in "$work/hold.out"; then
    sigterm_and_time
    hold_status=0
    wait "$holder" || hold_status=$?
    if [[ $status == 0 && $hold_status == 0 ]] && ((elapsed_ms < shutdown_timeout * 1000 / 2)) &&
        ! tail -n +"$((log_from + 1))" "$SERVER_LOG" | grep -q "did not log out"; then
        check sigterm_initiator_logs_out_on_async_message 1
    else
        check sigterm_initiator_logs_out_on_async_message 0 \
            "exit $status after $elapsed_ms ms; $(tail -1 "$work/hold.out")"
    fi
else
    kill "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    check sigterm_initiator_logs_out_on_async_message 0 "no login: $(tail -1 "$work/hold.out")"
fi

server_start
log_from=$(wc -l <"$SERVER_LOG")
"$TOOL" deaf --url "$TARGET_URL" --seconds $((shutdown_timeout + 8)) >"$work/deaf.out" 2>&1 &
deaf=$!
if wait_logged_in "$work/deaf.out"; then
    sigterm_and_time
    if [[ $status == 0 ]] && ((elapsed_ms >= shutdown_timeout * 1000 - 100)) &&
        ((elapsed_ms < shutdown_timeout * 1000 + 5000)) &&
        tail -n +"$((log_from + 1))" "$SERVER_LOG" | grep -q "did not log out"; then
        check sigterm_deaf_initiator_closed_at_timeout 1
    else
        check sigterm_deaf_initiator_closed_at_timeout 0 "exit $status after $elapsed_ms ms"
    fi
else
    check sigterm_deaf_initiator_closed_at_timeout 0 "no login: $(tail -1 "$work/deaf.out")"
fi
kill "$deaf" 2>/dev/null || true
wait "$deaf" 2>/dev/null || true
if grep -qE "Sanitizer|runtime error" "$SERVER_LOG"; then
    check graceful_shutdown_no_sanitizer_report 0 "$(grep -m3 -E "Sanitizer|runtime error" "$SERVER_LOG")"
else
    check graceful_shutdown_no_sanitizer_report 1
fi

# 6. The file shrinks under reads lent from its page cache (zero_copy).
# Their Data-In waits in lunard (the initiator reads none of it) when the
# file is cut to 1 MiB, so the kernel's copy of vanished pages into the
# socket fails with EFAULT (lunard never touches them itself: no SIGBUS).
# The connection may close; lunard, the LUN's first MiB and another
# target serve on.
shrink_img=$work/shrink.img
# (yes ends on SIGPIPE, which pipefail would count as a failure.)
{ yes "lunar fault test: a file LUN that shrinks while it is read" || true; } | head -c 64M >"$shrink_img"
cat >"$work/shrink.conf" <<EOF
targets = (
  { name = "$TARGET_DEFAULT_IQN"; open = true;
    luns = ( { lun = 0; backend = "file"; path = "$shrink_img"; } ); },
  { name = "$TARGET_DEFAULT_IQN.other"; open = true;
    luns = ( { lun = 0; backend = "memory"; size = "16M"; } ); }
);
EOF
LUNARD_ARGS="${LUNARD_ARGS:-} --config $work/shrink.conf"
server_start
"$TOOL" stall --url "$TARGET_URL" --seconds 2 >"$work/stall.out" 2>&1 &
staller=$!
for ((i = 0; i < 100; i++)); do
    grep -q holding "$work/stall.out" && break
    sleep 0.1
done
truncate -s 1M "$shrink_img"
wait "$staller" || true
echo "# $(tail -1 "$work/stall.out")"
other_url=iscsi://$TARGET_PORTAL/$TARGET_DEFAULT_IQN.other/0
if server_alive && "$TOOL" drop --url "$other_url" --rounds 0 >"$work/other.out" 2>&1 &&
    "$TOOL" drop --url "$TARGET_URL" --rounds 0 >"$work/shrunk.out" 2>&1 && server_alive; then
    check file_truncated_under_lent_reads_lunard_serves_on 1
else
    check file_truncated_under_lent_reads_lunard_serves_on 0 \
        "$(tail -1 "$work/stall.out"); $(cat "$work/other.out" "$work/shrunk.out" 2>/dev/null | tail -2)"
fi
if grep -qE "Sanitizer|runtime error" "$SERVER_LOG"; then
    check file_truncated_no_sanitizer_report 0 "$(grep -m3 -E "Sanitizer|runtime error" "$SERVER_LOG")"
else
    check file_truncated_no_sanitizer_report 1
fi

echo "$passed passed, $failed failed"
((failed == 0))
