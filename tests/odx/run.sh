#!/usr/bin/env bash
# ODX token copy (POPULATE TOKEN, WRITE USING TOKEN, RECEIVE ROD TOKEN
# INFORMATION) and EXTENDED COPY end to end, against a lunard this script
# starts with two targets: the first with two LUNs, the second with one
# (for a token of another target). The checks are the tool's
# (tests/odx/odx_tool.c): copies within and between LUNs byte for byte,
# overlapping copies, the inactivity timeout, a source written before the
# copy, a foreign token, the zero ROD token, RECEIVE ROD TOKEN
# INFORMATION, the token limit, reservations, and EXTENDED COPY's
# overlapping and reserved copies.
# Usage: tests/odx/run.sh --lunard PATH --tool PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

TOOL_NAME=lunar-odx-tool
target_parse_with_tool "$@"
server_need_lunard "the test configures the target"

t1=iqn.2026-11.org.lunar:odx
t2=iqn.2026-11.org.lunar:odx-other
work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-odx.XXXXXX")
server_cleanup_add "$work"
cat >"$work/lunar.conf" <<CONF
targets = (
  { name = "$t1"; open = true;
    luns = ( { lun = 0; backend = "memory"; size = "64M"; },
             { lun = 1; backend = "memory"; size = "64M"; } ); },
  { name = "$t2"; open = true; luns = ( { lun = 0; backend = "memory"; size = "16M"; } ); }
);
CONF
server_start_on "$work/lunar.conf"

rc=0
timeout 240 "$TOOL" --portal "$TARGET_PORTAL" --target "$t1" --other-target "$t2" \
    >"$work/tool.out" 2>&1 || rc=$?
# The tool's checks count as this script's.
while read -r line; do
    case $line in
        "ok - "*) check_ok "${line#ok - }" ;;
        "FAIL - "*) check_fail "${line#FAIL - }" ;;
    esac
done < <(grep -E '^(ok|FAIL) - ' "$work/tool.out")
if ((rc != 0 && CHECK_FAILED == 0)); then
    check_fail "the tool exited $rc: $(tail -3 "$work/tool.out" | tr '\n' ' ')"
fi
server_check_summary
