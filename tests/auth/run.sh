#!/usr/bin/env bash
# CHAP end to end with libiscsi's tools (which speak MD5 only): lunard runs
# a config whose target requires CHAP with mutual CHAP configured, and
# whose discovery sessions require CHAP too. Right credentials log in;
# wrong secret, unknown user, no credentials and a wrong target secret
# (mutual) fail. The failures lunard sees come last: they are exactly the
# per-address limit, so the last checks find a right login refused at
# once. Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

step_timeout=30
iqn=iqn.2026-11.org.lunar:chap
user=host1
secret=host1-secret-0123
tuser=lunar-target
tsecret=lunar-secret-4567
duser=discover
dsecret=discovery-secret-89
# A second target whose ACL binds its one initiator to one CHAP user.
acl_iqn=iqn.2026-11.org.lunar:chap-acl
acl_initiator=iqn.2026-11.org.lunar:auth-test
auser=alice
asecret=alice-secret-0123

wire_tool=

usage() {
    echo "usage: $0 --lunard PATH [--wire-tool PATH] [--timeout S]"
    echo "  --wire-tool: lunar-wire-chap, for SHA-1/SHA-256/SHA3-256 and malformed exchanges"
    echo "Starts lunard with this test's config (CHAP required) and checks CHAP logins."
}

while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --timeout) step_timeout=$2; shift 2 ;;
        --wire-tool) wire_tool=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
server_need_tools libiscsi-bin iscsi-ls iscsi-inq
server_need_lunard "the test configures the target"

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-auth.XXXXXX")
server_cleanup_add "$work"
printf '%s\n' \
    'targets = ( {' \
    "  name = \"$iqn\";" \
    '  open = true;   # CHAP is the gate here; tests/access covers ACLs' \
    '  luns = ( { lun = 0; backend = "memory"; size = "16M"; } );' \
    "  chap = { users = ( { user = \"$user\"; secret = \"$secret\"; } );" \
    "           mutual = { user = \"$tuser\"; secret = \"$tsecret\"; }; };" \
    '}, {' \
    "  name = \"$acl_iqn\";" \
    '  luns = ( { lun = 0; backend = "memory"; size = "16M"; } );' \
    "  chap = { users = ( { user = \"$user\"; secret = \"$secret\"; }," \
    "                     { user = \"$auser\"; secret = \"$asecret\"; } ); };" \
    "  acl = ( { initiator = \"$acl_initiator\"; chap_user = \"$auser\"; } );" \
    '} );' \
    "discovery = { chap = { users = ( { user = \"$duser\"; secret = \"$dsecret\"; } ); }; };" \
    >"$work/lunar.conf"
TARGET_IQN=$iqn
server_start_on "$work/lunar.conf"
echo "auth: CHAP against $TARGET_PORTAL"

url() { # url [USER%SECRET@] [?ARGS]
    echo "iscsi://${1:-}$TARGET_PORTAL/$iqn/0${2:-}"
}

# check_refused DESCRIPTION LOG COMMAND...: the command fails.
check_refused() {
    local desc=$1 log=$2 rc=0
    shift 2
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc == 124)); then
        check_fail "$desc (timed out)"
    elif ((rc != 0)); then
        check_ok "$desc"
    else
        check_fail "$desc (it logged in)"
    fi
}

inq() { timeout "$step_timeout" iscsi-inq "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

if check_run "right user and secret log in (MD5)" "$work/ok.out" inq "$(url "$user%$secret@")"; then
    if grep -q 'Vendor:LUNAR' "$work/ok.out"; then
        check_ok "INQUIRY answered after CHAP"
    else
        check_fail "no INQUIRY data after CHAP: $(tr '\n' ' ' <"$work/ok.out")"
    fi
fi
check_run "mutual CHAP with the right target secret logs in" "$work/mutual.out" \
    inq "$(url "$user%$secret@" "?target_user=$tuser&target_password=$tsecret")" || true
if check_run "discovery with its CHAP account answers" "$work/disc.out" \
    timeout "$step_timeout" iscsi-ls "iscsi://$duser%$dsecret@$TARGET_PORTAL"; then
    if grep -qF "Target:$iqn " "$work/disc.out"; then
        check_ok "SendTargets lists $iqn"
    else
        check_fail "SendTargets does not list $iqn: $(tr '\n' ' ' <"$work/disc.out")"
    fi
fi
# An ACL entry bound to a CHAP user: that user logs in; another user with a
# right secret is refused with 0202 (authorization, not authentication).
acl_url() { echo "iscsi://$1$TARGET_PORTAL/$acl_iqn/0"; }
check_run "the ACL's CHAP user logs in" "$work/acl-ok.out" \
    inq -i "$acl_initiator" "$(acl_url "$auser%$asecret@")" || true
check_refused "another CHAP user is not authorized by the ACL" "$work/acl-other.out" \
    inq -i "$acl_initiator" "$(acl_url "$user%$secret@")"
if grep -q 'Authorization failure' "$work/acl-other.out"; then
    check_ok "the refusal is 0202 (authorization failure)"
else
    check_fail "the refusal is not 0202: $(tr '\n' ' ' <"$work/acl-other.out")"
fi

# A wrong target secret: lunard accepts the initiator, which refuses lunard.
check_refused "mutual CHAP with a wrong target secret fails" "$work/mutual-bad.out" \
    inq "$(url "$user%$secret@" "?target_user=$tuser&target_password=wrong-secret-000")"
if grep -q 'Invalid CHAP_R' "$work/mutual-bad.out"; then
    check_ok "the initiator refused lunard's CHAP_R"
else
    check_fail "mutual failure not on lunard's CHAP_R: $(tr '\n' ' ' <"$work/mutual-bad.out")"
fi

# What libiscsi cannot send, from other loopback addresses (their failures
# do not count against 127.0.0.1); the tool's own checks count here.
if [[ -n $wire_tool ]]; then
    wire_rc=0
    "$wire_tool" 127.0.0.1 "${TARGET_PORTAL##*:}" "$iqn" "$user" "$secret" "$tuser" "$tsecret" \
        >"$work/wire.out" 2>&1 || wire_rc=$?
    grep -E '^(ok|FAIL) ' "$work/wire.out" | sed 's/^ok /ok - wire: /; s/^FAIL /FAIL - wire: /' || true
    CHECK_PASSED=$((CHECK_PASSED + $(grep -c '^ok ' "$work/wire.out" || true)))
    CHECK_FAILED=$((CHECK_FAILED + $(grep -c '^FAIL ' "$work/wire.out" || true)))
    if ((wire_rc != 0)) && ! grep -q '^FAIL ' "$work/wire.out"; then
        check_fail "lunar-wire-chap exited $wire_rc: $(tail -n 3 "$work/wire.out" | tr '\n' ' ')"
    fi
fi

# Five failures, each answered 0201 after lunard's one-second delay.
start=$(now_ms)
check_refused "wrong secret is refused" "$work/bad-secret.out" inq "$(url "$user%not-the-secret-1@")"
elapsed=$(($(now_ms) - start))
if ((elapsed >= 900)); then
    check_ok "a failed authentication is answered after the delay (${elapsed} ms)"
else
    check_fail "a failed authentication was answered after ${elapsed} ms, not about 1000"
fi
check_refused "unknown user is refused" "$work/bad-user.out" inq "$(url "mallory%$secret@")"
check_refused "no credentials are refused" "$work/none.out" inq "$(url)"
check_refused "discovery without credentials is refused" "$work/disc-none.out" \
    timeout "$step_timeout" iscsi-ls "iscsi://$TARGET_PORTAL"
check_refused "discovery with a target's account is refused" "$work/disc-bad.out" \
    timeout "$step_timeout" iscsi-ls "iscsi://$user%$secret@$TARGET_PORTAL"
failed_logs=$(grep -c 'connection 127.0.0.1:[0-9]*: authentication failed for' "$SERVER_LOG" || true)
check_eq "lunard logged each failed authentication" 5 "$failed_logs"

# Five failures from 127.0.0.1 within a minute: now even the right
# credentials are refused, at once.
start=$(now_ms)
check_refused "after 5 failures the address is refused" "$work/throttled.out" inq "$(url "$user%$secret@")"
elapsed=$(($(now_ms) - start))
if ((elapsed < 900)); then
    check_ok "a throttled address is refused without the delay (${elapsed} ms)"
else
    check_fail "a throttled address waited ${elapsed} ms"
fi
if grep -q 'too many failed authentications' "$SERVER_LOG"; then
    check_ok "lunard logs the throttled login"
else
    check_fail "lunard did not log the throttled login"
fi
if grep -qF -e "$secret" -e "$tsecret" -e "$dsecret" "$SERVER_LOG"; then
    check_fail "a secret appears in lunard's log"
else
    check_ok "no secret in lunard's log"
fi

server_check_summary
