#!/usr/bin/env bash
# qemu-img (QEMU's libiscsi block driver) against one LUN: the LUN's size as
# qemu sees it, random data written in with `convert`, read back with `dd`,
# byte-identical. Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

image_mib=256
expect_size=$TARGET_DISK_BYTES
step_timeout=300

usage() {
    cat <<EOF
usage: $0 [target selection] [options]

$(target_common_usage)

Options:
  --image-mib N         size of the random image written in (default $image_mib)
  --expect-size BYTES   LUN size qemu-img info must report (default $expect_size)
  --timeout S           limit for each qemu-img step (default $step_timeout)
EOF
}

while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --image-mib) image_mib=$2; shift 2 ;;
        --expect-size) expect_size=$2; shift 2 ;;
        --timeout) step_timeout=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
command -v qemu-img >/dev/null || { echo "error: qemu-img not found (qemu-utils, qemu-block-extra)" >&2; exit 2; }
if ((image_mib * 1048576 > expect_size)); then
    echo "error: a ${image_mib} MiB image does not fit a LUN of $expect_size bytes" >&2
    exit 2
fi

target_setup
work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-qemu-img.XXXXXX")
server_cleanup_add "$work"
echo "qemu-img: $TARGET_URL, ${image_mib} MiB image"

if check_run "qemu-img info opens the LUN" "$work/info.log" \
    timeout "$step_timeout" qemu-img info --output=json "$TARGET_URL"; then
    size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["virtual-size"])' "$work/info.log" 2>/dev/null || echo unparsable)
    check_eq "qemu-img info virtual size" "$expect_size" "$size"
fi

head -c "$((image_mib * 1048576))" /dev/urandom >"$work/in.img"

progress=()
if [[ -t 1 ]]; then
    progress=(-p)
fi
start=$SECONDS
# -n: the LUN exists; qemu-img must not try to create it.
if check_run "qemu-img convert writes ${image_mib} MiB into the LUN" "$work/convert.log" \
    timeout "$step_timeout" qemu-img convert "${progress[@]}" -n -f raw -O raw "$work/in.img" "$TARGET_URL"; then
    echo "   convert took $((SECONDS - start)) s"
    start=$SECONDS
    if check_run "qemu-img dd reads ${image_mib} MiB back" "$work/dd.log" \
        timeout "$step_timeout" qemu-img dd -f raw -O raw bs=1M count="$image_mib" \
        if="$TARGET_URL" of="$work/out.img"; then
        echo "   dd took $((SECONDS - start)) s"
        check_eq "read-back length" "$((image_mib * 1048576))" "$(stat -c %s "$work/out.img")"
        if cmp_out=$(cmp "$work/in.img" "$work/out.img" 2>&1); then
            check_ok "read-back is byte-identical"
        else
            check_fail "read-back differs: $cmp_out"
        fi
    fi
fi

# Thin provisioning, on lunard's default LUN (a sparse file): qemu's iSCSI
# driver deallocates with UNMAP, the range reads back as zeros, and
# qemu-img map finds it through GET LBA STATUS.
if [[ $SERVER_KIND == lunard ]] &&
    check_run "qemu-io discards 1 MiB and reads zeros there" "$work/discard.log" \
        timeout "$step_timeout" qemu-io -f raw -c "discard 1M 1M" -c "read -P 0 1M 1M" "$TARGET_URL"; then
    hole=$(timeout "$step_timeout" qemu-img map --output=json -f raw "$TARGET_URL" 2>/dev/null |
        python3 -c 'import json,sys; print(any(e["start"] <= 1048576 and e["start"] + e["length"] >= 2097152 and not e["data"] for e in json.load(sys.stdin)))' 2>/dev/null || echo unparsable)
    check_eq "qemu-img map shows the discarded MiB as a hole" True "$hole"
fi

if [[ -n $SERVER_KIND ]] && ! server_alive; then
    check_fail "$SERVER_KIND still running after the test"
fi
if ((CHECK_FAILED > 0)); then
    server_show_tail_once
fi
check_summary
