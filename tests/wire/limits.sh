#!/usr/bin/env bash
# Runs lunar-wire-test's limits scenarios (NOP-In pings, idle discovery
# sessions, a peer that stops reading) against a lunard started here with
# short limits, so that each takes seconds. Ends with the tool's
# "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

TOOL_NAME=lunar-wire-test
target_parse_with_tool "$@"
if [[ $SERVER_KIND != lunard ]]; then
    echo "error: the limits scenarios need --lunard PATH (they read its memory use)" >&2
    exit 2
fi
# The values tests/wire/wire_limits.c expects; LUNARD_ARGS from the
# environment come last, to override one (e.g. tx_queue_bytes=0 to watch
# the stopped reader fail).
LUNARD_ARGS="--limit nop_interval_s=1 --limit nop_timeout_s=2
    --limit discovery_idle_s=2 --limit tx_stall_s=3
    --limit tx_queue_bytes=1048576 --limit data_out_timeout_s=1
    --limit session_data_bytes=16777216
    ${LUNARD_ARGS:-}"
target_setup

host=${TARGET_PORTAL%:*}
port=${TARGET_PORTAL##*:}
"$TOOL" --lun "$TARGET_LUN" --limits "$SERVER_PID" "$host" "$port" "$TARGET_IQN"
