#!/usr/bin/env bash
# Portal groups and a block device that grows (docs/CONFIG.md "Portal
# groups"), against a lunard this script starts on its own config file
# (no --listen: the file's groups are the portals):
#   - SendTargets lists each target with the portals of its groups and
#     their tags ("addr:port,tag");
#   - a login through a portal of a group that does not serve the target
#     fails with 0203 (Not found), and succeeds through one that does;
#   - VPD 83h reports the port the command came through: relative port
#     and target port group = the portal group's tag, and the port name
#     "<iqn>,t,0x<tag>";
#   - SIGHUP moving a target off a group ends its sessions through that
#     group and refuses new ones there; a group added opens its portal;
#   - lunarctl: portal-group list/create/delete, portal add --group,
#     target set --portal-groups, param set/get --target (a target's own
#     MaxRecvDataSegmentLength, seen in session list);
#   - a blockdev LUN over a loop device that grows (truncate + losetup -c)
#     is noticed at READ CAPACITY and at SIGHUP: CAPACITY DATA HAS CHANGED
#     and the new size. Without loop devices these checks are skipped,
#     and counted as skipped, not passed.
# Usage: tests/manage/portal_groups.sh --lunard PATH --tool PATH --lunarctl PATH
# Ends with "N passed, N failed, N skipped".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"
# shellcheck source=hold.sh
source "$here/hold.sh"

usage() {
    echo "usage: $0 --lunard PATH --tool PATH --lunarctl PATH"
}
TOOL=
LUNARCTL=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --tool) TOOL=$2; shift 2 ;;
        --lunarctl) LUNARCTL=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
server_need_lunard "the test configures the target"
[[ -x $TOOL && -x $LUNARCTL ]] || { usage >&2; exit 2; }
server_need_tools libiscsi-bin iscsi-ls iscsi-inq iscsi-readcapacity16

t_one=iqn.2026-11.org.lunar:one
t_two=iqn.2026-11.org.lunar:two
t_all=iqn.2026-11.org.lunar:all
t_dev=iqn.2026-11.org.lunar:dev

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-groups.XXXXXX")
server_cleanup_add "$work"
conf=$work/lunar.conf
loopdev=
detach_loopdev() {
    [[ -z $loopdev ]] || losetup -d "$loopdev" 2>/dev/null
}
server_at_exit detach_loopdev

# A loop device over an 8 MiB file, if this environment has them.
if [[ $(id -u) == 0 ]] && command -v losetup >/dev/null && truncate -s 8M "$work/dev.img" &&
    loopdev=$(losetup -f --show "$work/dev.img" 2>/dev/null); then
    :
else
    loopdev=
fi

p1=$(server_free_port)
p2=$(server_free_port)
p3=$(server_free_port)
p4=$(server_free_port)
while [[ $p2 == "$p1" ]]; do p2=$(server_free_port); done
while [[ $p3 == "$p1" || $p3 == "$p2" ]]; do p3=$(server_free_port); done
while [[ $p4 == "$p1" || $p4 == "$p2" || $p4 == "$p3" ]]; do p4=$(server_free_port); done
sock=$work/lunar.sock
ctl() {
    "$LUNARCTL" --socket "$sock" "$@"
}

# write_conf ONE_GROUPS [WITH_GROUP3]: t_one in ONE_GROUPS, t_two in 2,
# t_all in every group; group 3 (port p3) when asked.
write_conf() {
    local one=$1 three=${2:-0}
    {
        echo "state_dir = \"$work\";"
        echo "portal_groups = ("
        echo "  { tag = 1; portals = [ \"127.0.0.1:$p1\" ]; },"
        echo -n "  { tag = 2; portals = [ \"127.0.0.1:$p2\" ]; }"
        if ((three)); then
            echo ", { tag = 3; portals = [ \"127.0.0.1:$p3\" ]; }"
        else
            echo
        fi
        echo ");"
        echo "targets = ("
        echo "  { name = \"$t_one\"; open = true; portal_groups = [ $one ];"
        echo "    luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); },"
        echo "  { name = \"$t_two\"; open = true; portal_groups = [ 2 ];"
        echo "    luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); },"
        echo -n "  { name = \"$t_all\"; open = true; luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); }"
        if [[ -n $loopdev ]]; then
            echo ","
            echo "  { name = \"$t_dev\"; open = true; luns = ( { lun = 0; backend = \"blockdev\"; path = \"$loopdev\"; } ); }"
        else
            echo
        fi
        echo ");"
    } >"$conf"
}

write_conf 1
# No --listen: the file's groups are the portals.
SERVER_LISTEN=0
SERVER_PORT=$p1
server_start_on "$conf" --mgmt-socket "$sock" --log-level info
check_eq "lunard listens on group 1's portal" open "$(server_wait_port "$p1")"
check_eq "and on group 2's" open "$(server_wait_port "$p2")"

run() {
    local name=$1
    shift
    rc=0
    timeout 30 "$@" >"$work/$name.out" 2>&1 || rc=$?
}

reload() {
    server_reload || check_fail "$1: lunard did not answer SIGHUP"
}

# 1. SendTargets: each target with its groups' portals and tags, through
# either portal.
run ls1 iscsi-ls "iscsi://127.0.0.1:$p1"
listing() {
    awk '/^Target:/ { print $1, $2 }' "$work/$1.out" | sed 's/Target://; s/Portal://' | sort | tr '\n' ' '
}
want="$t_all 127.0.0.1:$p1,1|$t_all 127.0.0.1:$p2,2|$t_one 127.0.0.1:$p1,1|$t_two 127.0.0.1:$p2,2"
if [[ -n $loopdev ]]; then
    want="$want|$t_dev 127.0.0.1:$p1,1|$t_dev 127.0.0.1:$p2,2"
fi
want=$(tr '|' '\n' <<<"$want" | sort | tr '\n' ' ')
check_eq "SendTargets through group 1 lists each target at its groups' portals" "$want" "$(listing ls1)"
run ls2 iscsi-ls "iscsi://127.0.0.1:$p2"
check_eq "and the same through group 2" "$want" "$(listing ls2)"

# 2. Logins: only through a portal of the target's groups.
run inq-one-p1 iscsi-inq "iscsi://127.0.0.1:$p1/$t_one/0"
check_eq "$t_one logs in through group 1" 0 "$rc"
# refused NAME URL DESCRIPTION: a login that must fail with 0203, which
# libiscsi reports as "Target not found" or its number (0x0203 = 515).
refused() {
    run "$1" iscsi-inq "$2"
    if ((rc != 0)) && grep -qiE 'not found|0x0203|\(515\)' "$work/$1.out"; then
        check_ok "$3: Not found (0203)"
    else
        check_fail "$3: exit $rc: $(tr '\n' ' ' <"$work/$1.out")"
    fi
}
refused inq-one-p2 "iscsi://127.0.0.1:$p2/$t_one/0" "$t_one through group 2 is refused"
refused inq-two-p1 "iscsi://127.0.0.1:$p1/$t_two/0" "$t_two through group 1 is refused"
run inq-two-p2 iscsi-inq "iscsi://127.0.0.1:$p2/$t_two/0"
check_eq "$t_two logs in through group 2" 0 "$rc"

# 3. VPD 83h: the port the command came through. iscsi-inq prints the
# port's SCSI name; its relative port and group (binary) are the same
# number (tests/unit/scsi/spc_test.c checks them).
vpd_port() {
    run "vpd-$1" iscsi-inq -e 1 -c 131 "iscsi://127.0.0.1:$2/$t_all/0"
    echo "rc=$rc $(grep -m1 -oE "\[$t_all,t,0x[0-9a-f]+\]" "$work/vpd-$1.out" || true)"
}
check_eq "VPD 83h through group 1 names port 1" "rc=0 [$t_all,t,0x0001]" "$(vpd_port g1 "$p1")"
check_eq "VPD 83h through group 2 names port 2" "rc=0 [$t_all,t,0x0002]" "$(vpd_port g2 "$p2")"

# 4. Live: t_one moves from group 1 to group 2 while a session through
# group 1 is logged in; group 3 is added.
hold_start hold "iscsi://127.0.0.1:$p1/$t_one/0"
check_eq "a session to $t_one through group 1" "ready blocks=2048" "$(grep '^ready' "$work/hold.out" || true)"
write_conf 2 1
reload "move"
for what in "changed the portal groups of target $t_one" "opened portal 127.0.0.1:$p3" "added portal group 3"; do
    if grep -q "configuration: $what" "$SERVER_LOG"; then
        check_ok "lunard reported \"$what\""
    else
        check_fail "lunard did not report \"$what\""
    fi
done
if grep -q "target $t_one: ending 1 session through portal groups" "$SERVER_LOG"; then
    check_ok "the session through the group $t_one left is ended"
else
    check_fail "the session through the group $t_one left: no report in the log"
fi
hold_go hold
if ((rc != 0)) && ! grep -q '^tur=none' "$work/hold.out"; then
    check_ok "and its next command finds the connection closed"
else
    check_fail "the session through the group $t_one left still works: $(tr '\n' ' ' <"$work/hold.out")"
fi
refused inq-one-p1b "iscsi://127.0.0.1:$p1/$t_one/0" "$t_one through group 1 is now refused"
run inq-one-p2b iscsi-inq "iscsi://127.0.0.1:$p2/$t_one/0"
check_eq "$t_one logs in through group 2 now" 0 "$rc"
check_eq "group 3's portal opened" open "$(server_wait_port "$p3")"
check_eq "VPD 83h through the new group 3 names port 3" "rc=0 [$t_all,t,0x0003]" "$(vpd_port g3 "$p3")"

# 5. lunarctl: groups, portals and a target's own parameters.
check_eq "portal-group list" "1 127.0.0.1:$p1 $t_all 2 127.0.0.1:$p2 $t_one,$t_two,$t_all 3 127.0.0.1:$p3 $t_all " \
    "$(ctl portal-group list | awk 'NR > 1 { printf "%s %s %s ", $1, $2, $3 }' | sed "s/$t_dev,\{0,1\}//g; s/,\( \|$\)/\1/g")"
run pg-create "$LUNARCTL" --socket "$sock" portal-group create 4
check_eq "portal-group create 4" "rc=0 added portal group 4" "rc=$rc $(cat "$work/pg-create.out")"
run p-add "$LUNARCTL" --socket "$sock" portal add "127.0.0.1:$p4" --group 4
check_eq "portal add --group 4" "rc=0 opened portal 127.0.0.1:$p4" "rc=$rc $(cat "$work/p-add.out")"
check_eq "the new portal opened" open "$(server_wait_port "$p4")"
check_eq "portal list shows its group" "127.0.0.1:$p4 4" "$(ctl portal list | awk -v a="127.0.0.1:$p4" '$1 == a { print $1, $2 }')"
refused inq-two-p4 "iscsi://127.0.0.1:$p4/$t_two/0" "$t_two through group 4 is refused before it joins it"
run t-set "$LUNARCTL" --socket "$sock" target set "$t_two" --portal-groups 2,4
check_eq "target set --portal-groups 2,4" "rc=0 changed the portal groups of target $t_two: apply to new logins" \
    "rc=$rc $(cat "$work/t-set.out")"
run inq-two-p4b iscsi-inq "iscsi://127.0.0.1:$p4/$t_two/0"
check_eq "$t_two logs in through group 4 now" 0 "$rc"
check_eq "target list shows its groups" "2,4" "$(ctl target list | awk -v t="$t_two" '$1 == t { print $NF }')"
run pg-del-used "$LUNARCTL" --socket "$sock" portal-group delete 4
if ((rc == 1)) && grep -q "no portal group has tag 4" "$work/pg-del-used.out"; then
    check_ok "a group a target names is not deleted: $(tr '\n' ' ' <"$work/pg-del-used.out")"
else
    check_fail "deleting a group in use: rc=$rc $(tr '\n' ' ' <"$work/pg-del-used.out")"
fi
run param-set "$LUNARCTL" --socket "$sock" param set max_recv_data_segment_length 16384 --target "$t_two"
check_eq "param set --target" "rc=0 changed the iscsi parameters of target $t_two: apply to new logins" \
    "rc=$rc $(cat "$work/param-set.out")"
check_eq "param get --target shows the target's value" 16384 \
    "$(ctl --json param get max_recv_data_segment_length --target "$t_two" | sed -n 's/^ *"value": \([0-9]*\).*/\1/p')"
check_eq "the global value is unchanged" 262144 \
    "$(ctl --json param get max_recv_data_segment_length | sed -n 's/^ *"value": \([0-9]*\).*/\1/p')"
run param-limits "$LUNARCTL" --socket "$sock" param set nop_interval_s 5 --target "$t_two"
if ((rc == 1)); then
    check_ok "a limits key is not per target"
else
    check_fail "param set nop_interval_s --target: rc=$rc"
fi
hold_start hold4 "iscsi://127.0.0.1:$p2/$t_two/0"
check_eq "a session to $t_two negotiated the target's MaxRecvDataSegmentLength" 16384 \
    "$(ctl --json session list "$t_two" | sed -n 's/^ *"max_recv_data_segment_length": \([0-9]*\).*/\1/p' | head -1)"
hold_go hold4
run t-all "$LUNARCTL" --socket "$sock" target set "$t_two" --portal-groups all
run pg-del "$LUNARCTL" --socket "$sock" portal-group delete 4
check_eq "with no target naming it, portal-group delete 4" \
    "rc=0 closed portal 127.0.0.1:$p4 removed portal group 4" "rc=$rc $(tr '\n' ' ' <"$work/pg-del.out" | sed 's/ $//')"
sleep 0.3
if server_port_open "$p4"; then
    check_fail "the deleted group's portal still accepts"
else
    check_ok "the deleted group's portal is closed"
fi

# 6. A block device that grows.
if [[ -z $loopdev ]]; then
    check_skip "no loop device here (losetup -f failed): a growing block device is not tested"
else
    blocks() {
        run "cap-$1" iscsi-readcapacity16 "iscsi://127.0.0.1:$p1/$t_dev/0"
        grep -oE 'RETURNED LOGICAL BLOCK ADDRESS:[0-9]+' "$work/cap-$1.out" | grep -oE '[0-9]+$' || echo "none(rc=$rc)"
    }
    check_eq "the blockdev LUN serves the 8 MiB device" 16383 "$(blocks before)"
    # grown, noticed by a READ CAPACITY of another session: this one gets
    # the unit attention
    hold_start hold2 "iscsi://127.0.0.1:$p1/$t_dev/0"
    truncate -s 12M "$work/dev.img"
    losetup -c "$loopdev"
    check_eq "READ CAPACITY sees the grown device" 24575 "$(blocks grown)"
    hold_go hold2
    check_eq "the other session gets CAPACITY DATA HAS CHANGED (6/2a/09)" "tur=6/2a/09" \
        "$(grep '^tur=' "$work/hold2.out" || true)"
    check_eq "and reads the new capacity" "after blocks=24576" "$(grep '^after' "$work/hold2.out" || true)"
    # grown again, noticed by a reload
    hold_start hold3 "iscsi://127.0.0.1:$p1/$t_dev/0"
    truncate -s 16M "$work/dev.img"
    losetup -c "$loopdev"
    reload "grown device"
    hold_go hold3
    check_eq "after SIGHUP the session gets CAPACITY DATA HAS CHANGED" "tur=6/2a/09" \
        "$(grep '^tur=' "$work/hold3.out" || true)"
    check_eq "and reads 16 MiB" "after blocks=32768" "$(grep '^after' "$work/hold3.out" || true)"
fi

if ! server_alive; then
    check_fail "lunard still running after the test"
fi
server_kill
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SERVER_LOG"; then
    check_fail "sanitizers: $(grep -m1 -E 'ERROR|runtime error' "$SERVER_LOG")"
fi
if ((CHECK_FAILED > 0)); then
    server_show_tail_once
fi
check_summary
