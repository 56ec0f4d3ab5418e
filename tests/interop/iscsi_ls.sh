#!/usr/bin/env bash
# libiscsi's command-line tools against one target: discovery and LUN listing
# (iscsi-ls -s), standard INQUIRY (iscsi-inq), READ CAPACITY(16)
# (iscsi-readcapacity16), each answer parsed and checked. Ends with
# "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

expect_vendor=
expect_size=$TARGET_DISK_BYTES
step_timeout=30

usage() {
    cat <<EOF
usage: $0 [target selection] [options]

$(target_common_usage)

Options:
  --expect-vendor V     INQUIRY vendor (default LUNAR; with --tgtd: IET)
  --expect-size BYTES   LUN capacity (default $expect_size)
  --timeout S           limit for each tool run (default $step_timeout)
EOF
}

while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --expect-vendor) expect_vendor=$2; shift 2 ;;
        --expect-size) expect_size=$2; shift 2 ;;
        --timeout) step_timeout=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
for tool in iscsi-ls iscsi-inq iscsi-readcapacity16; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (libiscsi-bin)" >&2; exit 2; }
done
if [[ -z $expect_vendor ]]; then
    if [[ $SERVER_KIND == tgtd ]]; then expect_vendor=IET; else expect_vendor=LUNAR; fi
fi

target_setup
work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-iscsi-ls.XXXXXX")
server_cleanup_add "$work"
echo "iscsi-ls: $TARGET_URL, expecting vendor '$expect_vendor', $expect_size bytes"

# Value of "Key:value" in a tool's output, trailing blanks dropped.
field() {
    awk -v key="$2" 'index($0, key ":") == 1 { sub(/^[^:]*:/, ""); sub(/[[:space:]]+$/, ""); print; exit }' "$1"
}

# READ CAPACITY(16) first: its block length is needed to predict iscsi-ls.
block_len=
if check_run "iscsi-readcapacity16 answers" "$work/rc16.out" \
    timeout "$step_timeout" iscsi-readcapacity16 "$TARGET_URL"; then
    check_eq "READ CAPACITY(16) total size" "$expect_size" "$(field "$work/rc16.out" 'Total size')"
    block_len=$(field "$work/rc16.out" 'LOGICAL BLOCK LENGTH IN BYTES')
    last_lba=$(field "$work/rc16.out" 'RETURNED LOGICAL BLOCK ADDRESS')
    if [[ $block_len =~ ^[0-9]+$ && $last_lba =~ ^[0-9]+$ ]]; then
        check_eq "last LBA x block length + 1 block = size" "$expect_size" "$(((last_lba + 1) * block_len))"
    else
        check_fail "READ CAPACITY(16) block length/last LBA unparsable: '$block_len' '$last_lba'"
        block_len=
    fi
fi

if check_run "iscsi-inq answers" "$work/inq.out" \
    timeout "$step_timeout" iscsi-inq "$TARGET_URL"; then
    check_eq "INQUIRY vendor" "$expect_vendor" "$(field "$work/inq.out" Vendor)"
    check_eq "INQUIRY peripheral device type" DIRECT_ACCESS "$(field "$work/inq.out" 'Peripheral Device Type')"
fi

# iscsi-ls prints READ CAPACITY(10)'s last LBA times the block length (one
# block short of the capacity), divided by 1024 while above 1024, with a
# unit letter per division.
iscsi_ls_size() {
    local size=$1 units=(" " k M G T) i=0
    while ((i < 4 && size > 1024)); do
        size=$((size / 1024))
        i=$((i + 1))
    done
    echo "$size${units[$i]}"
}

if check_run "iscsi-ls -s (discovery and LUN listing) answers" "$work/ls.out" \
    timeout "$step_timeout" iscsi-ls -s "iscsi://$TARGET_PORTAL"; then
    target_line=$(grep -F "Target:$TARGET_IQN " "$work/ls.out" | head -n 1 || true)
    if [[ -n $target_line ]]; then
        check_ok "SendTargets lists $TARGET_IQN"
        portal=${target_line#*Portal:}
        check_eq "SendTargets portal (address:port,tpgt) of $TARGET_IQN" "$TARGET_PORTAL" "${portal%,*}"
    else
        check_fail "SendTargets does not list $TARGET_IQN: $(tr '\n' ' ' <"$work/ls.out")"
    fi
    lun_line=$(awk -v lun="$TARGET_LUN" '$1 == "Lun:" lun' "$work/ls.out" | head -n 1)
    if [[ -z $lun_line ]]; then
        check_fail "REPORT LUNS has no LUN $TARGET_LUN: $(tr '\n' ' ' <"$work/ls.out")"
    else
        check_ok "REPORT LUNS lists LUN $TARGET_LUN"
        lun_type=$(sed -n 's/.*Type:\([A-Z_]*\).*/\1/p' <<<"$lun_line")
        check_eq "LUN $TARGET_LUN type" DIRECT_ACCESS "$lun_type"
        if [[ -n $block_len ]]; then
            ls_size=$(sed -n 's/.*(Size:\([^)]*\)).*/\1/p' <<<"$lun_line")
            check_eq "LUN $TARGET_LUN size as iscsi-ls prints it" \
                "$(iscsi_ls_size $((expect_size - block_len)))" "$ls_size"
        fi
    fi
fi

if [[ -n $SERVER_KIND ]] && ! server_alive; then
    check_fail "$SERVER_KIND still running after the test"
fi
if ((CHECK_FAILED > 0)); then
    server_show_tail_once
fi
check_summary
