#!/usr/bin/env bash
# Runs lunar-wire-test (malformed and out-of-window PDUs on a raw socket)
# against a target: one given with --portal/--target, or a lunard started
# here with --lunard PATH. Ends with the tool's "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

usage() {
    echo "usage: $0 --tool PATH (lunar-wire-test) [target selection]"
    target_common_usage
}

tool=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --tool) tool=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
[[ -x $tool ]] || { echo "error: --tool PATH (lunar-wire-test) needed" >&2; exit 2; }
target_setup
trap 'server_on_exit $?' EXIT

host=${TARGET_PORTAL%:*}
port=${TARGET_PORTAL##*:}
"$tool" --lun "$TARGET_LUN" "$host" "$port" "$TARGET_IQN"
