#!/usr/bin/env bash
# iSNS (RFC 4171) end to end, against Debian's isnsd (open-isns) on a
# loopback port with its own configuration and database in a temporary
# directory, and a lunard this script starts with an isns group:
#   - lunard registers its entity, its portal and both targets, each with
#     its portal group (isnsadm --query);
#   - with the initiator and only one target in a discovery domain
#     (isnsadm --dd-register), SendTargets (iscsi-ls -s) lists only that
#     target to that initiator, and nothing to an initiator in no domain;
#   - after SIGTERM the targets are gone from the server;
#   - with the server unreachable, lunard serves logins as usual and stops
#     promptly (the iSNS client never holds the control loop).
# Usage: tests/isns/run.sh --lunard PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

while (($#)); do
    if target_take_arg "$@"; then
        shift "$TARGET_ARG_SHIFT"
    else
        echo "usage: tests/isns/run.sh --lunard PATH" >&2
        exit 2
    fi
done
server_need_lunard "the test configures the target"
server_need_tools "open-isns-server, open-isns-utils, libiscsi-bin" isnsd isnsadm iscsi-ls

t_one=iqn.2026-11.org.lunar:isns-one
t_two=iqn.2026-11.org.lunar:isns-two
member=iqn.2026-11.org.test:isns-member
stranger=iqn.2026-11.org.test:isns-stranger

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-isns.XXXXXX")
server_cleanup_add "$work"
isns_port=$(server_free_port)
mkdir "$work/db"
# No DSA keys (Security = 0): lunard's client does not authenticate. A
# registration period of 6 s makes lunard refresh within the test. The
# default discovery domain lets the administrator's queries see the
# targets outside lunar-test.
cat >"$work/isnsd.conf" <<CONF
SourceName = iqn.2026-11.org.test:isnsd
BindAddress = 127.0.0.1:$isns_port
ControlSocket = $work/control
PIDFile = $work/isnsd.pid
Database = $work/db
Security = 0
RegistrationPeriod = 6
DefaultDiscoveryDomain = 1
ESIRetries = 0
CONF
cat >"$work/isnsadm.conf" <<CONF
SourceName = iqn.2026-11.org.test:isnsadm
ServerAddress = 127.0.0.1:$isns_port
ControlSocket = $work/control
Security = 0
CONF
isnsd -c "$work/isnsd.conf" -f >"$work/isnsd.log" 2>&1 &
isnsd_pid=$!
stop_isnsd() {
    kill "$isnsd_pid" 2>/dev/null || true
    wait "$isnsd_pid" 2>/dev/null || true
}
server_at_exit stop_isnsd
for ((i = 0; i < 50; i++)); do
    [[ -S $work/control ]] && break
    sleep 0.1
done
[[ -S $work/control ]] || { echo "error: isnsd did not start: $(tail -3 "$work/isnsd.log")" >&2; stop_isnsd; exit 1; }

cat >"$work/lunar.conf" <<CONF
targets = (
  { name = "$t_one"; open = true; luns = ( { lun = 0; backend = "memory"; size = "1M"; } ); },
  { name = "$t_two"; open = true; luns = ( { lun = 0; backend = "memory"; size = "1M"; } ); }
);
isns = { server = "127.0.0.1:$isns_port"; dd_refresh_s = 1; };
CONF
server_start_on "$work/lunar.conf" --log-level info
portal=$TARGET_PORTAL
portal_port=${portal##*:}

# isnsadm as the administrator, over the control socket.
adm() {
    timeout 20 isnsadm -c "$work/isnsadm.conf" --local "$@"
}

# Waits (at most 10 s) until the server knows target, with a portal group
# of lunard's portal and tag 1.
registered() {
    local i
    for ((i = 0; i < 100; i++)); do
        adm --query "iscsi-name=$1" >"$work/query.out" 2>&1 || true
        if grep -q "iSCSI name = \"$1\"" "$work/query.out" &&
            grep -q "Portal group port = $portal_port/tcp" "$work/query.out" &&
            grep -q "Portal group tag = 1" "$work/query.out"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

for t in "$t_one" "$t_two"; do
    if registered "$t"; then
        check_ok "target $t registered with its portal group"
    else
        check_fail "target $t registered with its portal group: $(head -20 "$work/query.out")"
    fi
done

# A discovery domain holding the member initiator and the first target only.
if adm --dd-register dd-name=lunar-test "member-name=$member" "member-name=$t_one" >"$work/dd.out" 2>&1; then
    check_ok "discovery domain registered"
else
    check_fail "discovery domain registered: $(tail -3 "$work/dd.out")"
fi

# iscsi-ls -s as initiator, until it lists what is expected (lunard reads
# the domains every second), at most 10 s; the targets listed in $listed.
discover_until() {
    local initiator=$1 want=$2 i
    for ((i = 0; i < 20; i++)); do
        listed=$(timeout 20 iscsi-ls -i "$initiator" "iscsi://$portal" 2>&1 |
            sed -n 's/^Target:\([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
        [[ $listed == "$want" ]] && return 0
        sleep 0.5
    done
    return 1
}
if discover_until "$member" "$t_one "; then
    check_ok "SendTargets lists only the target sharing a domain with the initiator"
else
    check_fail "SendTargets to $member: want '$t_one ', got '$listed'"
fi
if discover_until "$stranger" ""; then
    check_ok "SendTargets lists nothing to an initiator in no domain"
else
    check_fail "SendTargets to $stranger: want nothing, got '$listed'"
fi

# The registration outlives the server's registration period (refreshed).
# The administrator sees the second target only: the first one is in
# lunar-test now, outside the default domain.
sleep 8
if registered "$t_two"; then
    check_ok "registration refreshed past the registration period"
else
    check_fail "registration expired: $(head -5 "$work/query.out")"
fi

# Shutdown deregisters the entity (server_kill: SIGTERM, keeping the log).
server_kill
adm --query "iscsi-name=$t_two" >"$work/after.out" 2>&1 || true
if grep -q "iSCSI name" "$work/after.out"; then
    check_fail "targets deregistered at shutdown: $(head -5 "$work/after.out")"
else
    check_ok "targets deregistered at shutdown"
fi
if grep -q "isns: deregistered entity" "$SERVER_LOG"; then
    check_ok "lunard logged the deregistration"
else
    check_fail "lunard logged the deregistration: $(grep isns "$SERVER_LOG" | tail -3)"
fi
stop_isnsd

# The server gone: a port nothing listens on.
dead_port=$(server_free_port)
sed -i "s/127.0.0.1:$isns_port/127.0.0.1:$dead_port/" "$work/lunar.conf"
server_start
sleep 1
if timeout 10 iscsi-ls -i "$member" "iscsi://$portal" >"$work/down.out" 2>&1; then
    check_ok "discovery answered while the iSNS server is unreachable"
else
    check_fail "discovery answered while the iSNS server is unreachable: $(tail -2 "$work/down.out")"
fi
start=$SECONDS
server_kill
if ((SECONDS - start <= 5)); then
    check_ok "shutdown does not wait for an unreachable iSNS server ($((SECONDS - start)) s)"
else
    check_fail "shutdown took $((SECONDS - start)) s with the iSNS server unreachable"
fi
check_summary
