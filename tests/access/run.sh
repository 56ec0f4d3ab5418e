#!/usr/bin/env bash
# Access control end to end, against a lunard this script starts with its
# own configuration (docs/CONFIG.md "Access control"), through libiscsi's
# tools and QEMU's libiscsi driver, each naming its initiator:
#   - an initiator not on a target's acl list gets login status 0202 and
#     does not see the target in discovery (SendTargets=All);
#   - two listed initiators each see their own LUNs: REPORT LUNS
#     (iscsi-ls -s) in their own numbering, and each mapped LUN reads the
#     data of the target LUN behind it;
#   - a LUN outside an initiator's view is LOGICAL UNIT NOT SUPPORTED;
#   - a target that is neither open nor has an acl refuses everyone, and
#     lunard warns about it at start; an open target admits anyone;
#   - session reinstatement (RFC 7143 §6.3.5) with writes of the old
#     session in flight: the new session works, and no old write lands
#     after its first read (--tool, lunar-access-tool).
# Usage: tests/access/run.sh --lunard PATH --tool PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

TOOL_NAME=lunar-access-tool
target_parse_with_tool "$@"
server_need_lunard "the test configures the target"
server_need_tools "libiscsi-bin, qemu-utils" iscsi-ls iscsi-inq iscsi-readcapacity16 qemu-io
step_timeout=30

t_acl=iqn.2026-11.org.lunar:acl
t_closed=iqn.2026-11.org.lunar:closed
t_open=iqn.2026-11.org.lunar:open
host1=iqn.2026-11.org.test:host1
host2=iqn.2026-11.org.test:host2
nobody=iqn.2026-11.org.test:nobody

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-access.XXXXXX")
server_cleanup_add "$work"

# Target LUN n is 1 MiB of the byte 0x41 + n ('A', 'B', 'C'): which LU a
# read reaches shows in its data. host1 sees target LUN 2 as its LUN 0 and
# target LUN 0 as its LUN 1; host2 (listed in upper case: names compare
# case-insensitively) sees every LUN as numbered.
for n in 0 1 2; do
    head -c 1048576 /dev/zero | tr '\0' "\\$(printf '%03o' $((0x41 + n)))" >"$work/lun$n.img"
done
cat >"$work/lunar.conf" <<CONF
targets = (
  { name = "$t_acl";
    luns = ( { lun = 0; backend = "file"; path = "$work/lun0.img"; size = "1M"; },
             { lun = 1; backend = "file"; path = "$work/lun1.img"; size = "1M"; },
             { lun = 2; backend = "file"; path = "$work/lun2.img"; size = "1M"; } );
    acl = ( { initiator = "$host1"; luns = ( { lun = 0; target_lun = 2; }, { lun = 1; target_lun = 0; } ); },
            { initiator = "${host2^^}"; } ); },
  { name = "$t_closed"; luns = ( { lun = 0; backend = "memory"; size = "1M"; } ); },
  { name = "$t_open"; open = true; luns = ( { lun = 0; backend = "memory"; size = "1M"; } ); }
);
CONF
server_start_on "$work/lunar.conf" --log-level info
portal=$TARGET_PORTAL

# run NAME TOOL ARGS...: the tool's output in $work/NAME.out; its status in $rc.
run() {
    local name=$1
    shift
    rc=0
    timeout "$step_timeout" "$@" >"$work/$name.out" 2>&1 || rc=$?
}

# The LUN lines of iscsi-ls -s for target, as "0 1 2".
luns_of() {
    awk -v t="Target:$2 " 'index($0, t) == 1 { on = 1; next } /^Target:/ { on = 0 }
        on && $1 ~ /^Lun:/ { sub(/^Lun:/, "", $1); printf "%s%s", sep, $1; sep = " " }' "$work/$1.out"
}

# check_read INITIATOR LUN PATTERN WHAT: qemu-io reads 4 KiB at the
# middle of LUN as INITIATOR and every byte is PATTERN.
check_read() {
    local initiator=$1 lun=$2 pattern=$3 what=$4 name=read-$1-$2
    run "$name" qemu-io -r --image-opts \
        "driver=iscsi,transport=tcp,portal=$portal,target=$t_acl,lun=$lun,initiator-name=$initiator" \
        -c "read -P $pattern 512k 4k"
    if ((rc == 0)) && grep -q '^read 4096/4096 bytes' "$work/$name.out" &&
        ! grep -q 'Pattern verification failed' "$work/$name.out"; then
        check_ok "$what"
    else
        check_fail "$what: exit $rc: $(tail -2 "$work/$name.out" | tr '\n' ' ')"
    fi
}

# 1. Start-up: the warning about the target that refuses everyone.
if grep -q "target $t_closed: no acl and not open: every login is refused" "$SERVER_LOG"; then
    check_ok "lunard warns that $t_closed refuses every login"
else
    check_fail "no start-up warning about $t_closed"
fi

# 2. Discovery.
for who in host1 host2 nobody; do
    run "ls-$who" iscsi-ls -s -i "${!who}" "iscsi://$portal"
done
check_eq "host1: REPORT LUNS of $t_acl in its own numbering" "0 1" "$(luns_of ls-host1 "$t_acl")"
check_eq "host2: REPORT LUNS of $t_acl, every LUN" "0 1 2" "$(luns_of ls-host2 "$t_acl")"
if grep -q "^Target:$t_acl " "$work/ls-nobody.out"; then
    check_fail "SendTargets lists $t_acl to an initiator not on its acl"
else
    check_ok "SendTargets does not list $t_acl to an initiator not on its acl"
fi
if grep -q "^Target:$t_closed " "$work/ls-host1.out" "$work/ls-nobody.out"; then
    check_fail "SendTargets lists $t_closed"
else
    check_ok "SendTargets lists $t_closed to nobody"
fi
check_eq "everyone discovers the open target (REPORT LUNS)" "0" "$(luns_of ls-nobody "$t_open")"

# 3. Logins refused with 0202 (libiscsi: "Authorization failure(514)").
refused() {
    run "$1" iscsi-inq -i "$2" "iscsi://$portal/$3/0"
    if ((rc != 0)) && grep -q 'Authorization failure(514)' "$work/$1.out"; then
        check_ok "$2 at $3: login refused with 0202"
    else
        check_fail "$2 at $3: expected status 0202, got exit $rc: $(tr '\n' ' ' <"$work/$1.out")"
    fi
}
refused inq-nobody "$nobody" "$t_acl"
refused inq-closed "$host1" "$t_closed"
run inq-open iscsi-inq -i "$nobody" "iscsi://$portal/$t_open/0"
check_eq "anyone logs in to the open target" 0 "$rc"

# 4. Each initiator reads its own mapping.
check_read "$host1" 0 0x43 "host1 LUN 0 reads target LUN 2 ('C')"
check_read "$host1" 1 0x41 "host1 LUN 1 reads target LUN 0 ('A')"
for n in 0 1 2; do
    check_read "$host2" "$n" "$(printf '0x%x' $((0x41 + n)))" "host2 LUN $n reads target LUN $n"
done

# 5. A masked LUN is LOGICAL UNIT NOT SUPPORTED (05h/25h/00h); libiscsi
# reports the sense of the TEST UNIT READY it sends after login.
run masked iscsi-readcapacity16 -i "$host1" "iscsi://$portal/$t_acl/2"
if ((rc != 0)) && grep -q 'ILLEGAL_REQUEST(5) ASCQ:LOGICAL_UNIT_NOT_SUPPORTED(0x2500)' "$work/masked.out"; then
    check_ok "host1 LUN 2 (masked) is LOGICAL UNIT NOT SUPPORTED"
else
    check_fail "host1 LUN 2: expected LOGICAL UNIT NOT SUPPORTED, got exit $rc: $(tr '\n' ' ' <"$work/masked.out")"
fi

# 6. Session reinstatement with the old session's writes in flight.
run reinstate "$TOOL" reinstate --portal "$portal" --target "$t_acl" --initiator "$host2" --lun 1
if ((rc == 0)); then
    check_ok "reinstatement: $(tail -1 "$work/reinstate.out")"
else
    check_fail "reinstatement (exit $rc): $(tail -3 "$work/reinstate.out" | tr '\n' ' ')"
fi
if grep -q "reinstated by a new login" "$SERVER_LOG"; then
    check_ok "lunard logged the reinstatement"
else
    check_fail "lunard did not log a reinstatement"
fi

server_check_summary
