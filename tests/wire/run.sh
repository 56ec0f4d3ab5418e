#!/usr/bin/env bash
# Runs lunar-wire-test (malformed and out-of-window PDUs, and the transport's
# data paths, on a raw socket) against a target: one given with
# --portal/--target, or a lunard started here with --lunard PATH. A lunard
# started here also listens on EXTRA_PORTALS more loopback addresses, so its
# SendTargets answer is longer than the 512 bytes the Text-continuation
# check declares. Ends with the tool's "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

TOOL_NAME=lunar-wire-test
target_parse_with_tool "$@"

# 127.0.0.0/8 is loopback as a whole. lunard takes at most 16 --listen
# portals: 16 addresses of ~33 bytes each need two 512-byte Text parts.
EXTRA_PORTALS=15
listed=()
# Small login limits, so that the tool can reach them: a dribbled login
# is closed after LOGIN_DEADLINE_S, a source address holds PER_ADDRESS_CAP
# connections (every scenario uses fewer at once).
LOGIN_DEADLINE_S=5
PER_ADDRESS_CAP=8
limits=()
if [[ $SERVER_KIND == lunard ]]; then
    LUNARD_ARGS="${LUNARD_ARGS:-} --login-timeout $LOGIN_DEADLINE_S --max-conns-per-address $PER_ADDRESS_CAP"
    limits=(--login-deadline "$LOGIN_DEADLINE_S" --per-address-cap "$PER_ADDRESS_CAP")
    extra_port=$(server_free_port)
    for ((i = 2; i < 2 + EXTRA_PORTALS; i++)); do
        LUNARD_ARGS="${LUNARD_ARGS:-} --listen 127.0.0.$i:$extra_port"
        listed+=(--listed-portal "127.0.0.$i:$extra_port")
    done
fi
target_setup
if [[ $SERVER_KIND == lunard ]]; then
    listed+=(--listed-portal "$TARGET_PORTAL")
fi

host=${TARGET_PORTAL%:*}
port=${TARGET_PORTAL##*:}
"$TOOL" --lun "$TARGET_LUN" "${listed[@]}" "${limits[@]}" "$host" "$port" "$TARGET_IQN"
