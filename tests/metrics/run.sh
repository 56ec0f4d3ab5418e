#!/usr/bin/env bash
# The Prometheus endpoint end to end (docs/METRICS.md), against a lunard
# this script starts with its own configuration:
#   - GET /metrics answers the text format 0.0.4, every series under a
#     HELP and TYPE of its family; other paths get 404, other methods 405;
#   - reads one after another from one session (iscsi-perf, one in
#     flight) make the data-plane thread poll for the next command
#     (lunar_dataplane_polls_total);
#   - bytes written and read through qemu-io (libiscsi) move the LU's
#     counters by exactly what was moved, commands by kind count, and the
#     latency histogram counts the commands;
#   - a refused login moves lunar_login_failures_total by its reason
#     (a wrong CHAP secret: authentication, and
#     lunar_authentication_failures_total; an initiator off the ACL:
#     authorization; an unknown target: not_found), a good one
#     lunar_logins_total;
#   - a session held open on a raw socket (raw_session.py) shows in the
#     gauges and has its initiator's series; the Reject its bad opcode
#     gets counts;
#   - --metrics ADDR:PORT serves it too; a wildcard address is refused
#     without allow_remote; with neither, nothing listens.
# Usage: tests/metrics/run.sh --lunard PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

usage() {
    echo "usage: $0 --lunard PATH"
    target_common_usage
}
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
server_need_lunard "the test configures the target"
server_need_tools "libiscsi-bin, qemu-utils, python3" iscsi-ls iscsi-inq iscsi-perf qemu-io python3
step_timeout=30

t_open=iqn.2026-11.org.lunar:metrics
t_acl=iqn.2026-11.org.lunar:metrics-acl
t_chap=iqn.2026-11.org.lunar:metrics-chap
host=iqn.2026-11.org.test:metrics-host
stranger=iqn.2026-11.org.test:stranger
user=metrics-user
secret=metrics-secret-0123

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-metrics.XXXXXX")
server_cleanup_add "$work"

# conf FILE [METRICS-GROUP]: LUN 0 and 1 of 1 MiB in memory on an open
# target, a target for one initiator only, and one that requires CHAP.
conf() {
    cat >"$1" <<CONF
poll_us = 1000;
targets = (
  { name = "$t_open"; open = true;
    luns = ( { lun = 0; backend = "memory"; size = "1M"; },
             { lun = 1; backend = "memory"; size = "1M"; } ); },
  { name = "$t_acl"; luns = ( { lun = 0; backend = "memory"; size = "1M"; } );
    acl = ( { initiator = "$host"; } ); },
  { name = "$t_chap"; open = true; luns = ( { lun = 0; backend = "memory"; size = "1M"; } );
    chap = { users = ( { user = "$user"; secret = "$secret"; } ); required = true; }; }
);
${2:-}
CONF
}

mport=$(server_free_port)
conf "$work/lunar.conf" "metrics = { listen = \"127.0.0.1:$mport\"; };"
base_args=${LUNARD_ARGS:-}
server_start_on "$work/lunar.conf"
portal=$TARGET_PORTAL

# fetch METHOD PORT PATH OUT: the body in OUT, "STATUS CONTENT-TYPE" on stdout
# ("000 -" when nothing answers).
fetch() {
    timeout "$step_timeout" python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, port, path, out = sys.argv[1:5]
req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, ctype, body = r.status, r.headers.get("Content-Type", "-"), r.read()
except urllib.error.HTTPError as e:
    status, ctype, body = e.code, e.headers.get("Content-Type", "-"), e.read()
except OSError:
    status, ctype, body = 0, "-", b""
open(out, "wb").write(body)
print(f"{status:03d} {ctype}")
PY
}

# scrape NAME: the exposition in $work/NAME.prom; fails the check if not 200.
scrape() {
    local got
    got=$(fetch GET "$mport" /metrics "$work/$1.prom")
    [[ ${got%% *} == 200 ]] || { check_fail "scrape $1: HTTP ${got%% *}"; return 1; }
}

# value FILE SERIES: the value of the series (name and labels exactly as
# printed), or "none".
value() {
    awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF; found = 1 } END { if (!found) print "none" }' "$1"
}

# delta NAME SERIES: the series' value in scrape "after" minus "before".
delta() {
    local a b
    b=$(value "$work/before.prom" "$1")
    a=$(value "$work/after.prom" "$1")
    [[ $b == none ]] && b=0
    [[ $a == none ]] && { echo none; return; }
    echo $((a - b))
}

# ---- the endpoint itself ----
got=$(fetch GET "$mport" /metrics "$work/first.prom")
check_eq "GET /metrics answers 200" 200 "${got%% *}"
check_eq "its content type is the text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" "${got#* }"
got=$(fetch GET "$mport" /other "$work/other.out")
check_eq "another path is 404" 404 "${got%% *}"
got=$(fetch GET "$mport" /metrics/x "$work/other2.out")
check_eq "a path below /metrics is 404" 404 "${got%% *}"
got=$(fetch POST "$mport" /metrics "$work/post.out")
check_eq "POST /metrics is 405" 405 "${got%% *}"

# Every sample belongs to a family announced with HELP and TYPE, every
# name is lunar_*, counters end in _total, and values are numbers.
if python3 - "$work/first.prom" >"$work/format.out" 2>&1 <<'PY'
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+)$')
help_, types, errors = set(), {}, []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        help_.add(line.split()[2])
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        types[name] = kind
        if kind == "counter" and not name.endswith("_total"):
            errors.append(f"{n}: counter {name} does not end in _total")
        continue
    m = sample.match(line)
    if not m:
        errors.append(f"{n}: not a sample: {line}")
        continue
    name = m.group(1)
    family = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
    if not name.startswith("lunar_"):
        errors.append(f"{n}: {name} is not lunar_*")
    if family not in types or family not in help_:
        errors.append(f"{n}: {name} has no HELP and TYPE")
    float(m.group(5))
print("\n".join(errors) or "well formed")
sys.exit(1 if errors else 0)
PY
then
    check_ok "the exposition is well formed ($(grep -c '^# TYPE' "$work/first.prom") families)"
else
    check_fail "the exposition is not well formed: $(head -5 "$work/format.out" | tr '\n' ' ')"
fi

# ---- I/O moves the LU counters by what moved ----
lu0="target=\"$t_open\",lun=\"0\""
lu1="target=\"$t_open\",lun=\"1\""
io() { # io NAME LUN COMMAND
    check_run "$1" "$work/$1.out" timeout "$step_timeout" qemu-io -f raw \
        -c "$3" "iscsi://$portal/$t_open/$2"
}
# QEMU reads blocks GET LBA STATUS calls deallocated as zeros without a
# READ: write LUN 1's blocks before counting the read of them.
io "qemu-io fills LUN 1" 1 "write -P 0x33 0 65536" || true
scrape before || true
io "qemu-io writes 192 KiB to LUN 0" 0 "write -P 0x5a 65536 196608" || true
io "qemu-io reads 40 KiB from LUN 1" 1 "read 4096 40960" || true
scrape after || true
check_eq "LUN 0 written bytes moved by 196608" 196608 "$(delta "lunar_lu_written_bytes_total{$lu0}")"
check_eq "LUN 0 read bytes did not move" 0 "$(delta "lunar_lu_read_bytes_total{$lu0}")"
check_eq "LUN 1 read bytes moved by 40960" 40960 "$(delta "lunar_lu_read_bytes_total{$lu1}")"
check_eq "LUN 1 written bytes did not move" 0 "$(delta "lunar_lu_written_bytes_total{$lu1}")"
writes=$(delta "lunar_lu_commands_total{$lu0,kind=\"write\"}")
if [[ $writes != none ]] && ((writes >= 1 && writes <= 3)); then
    check_ok "LUN 0 counted its WRITE commands ($writes)"
else
    check_fail "LUN 0 write commands moved by $writes, wanted 1..3"
fi
check_eq "LUN 1 counted one READ command" 1 "$(delta "lunar_lu_commands_total{$lu1,kind=\"read\"}")"
check_eq "LUN 0 counted no READ" 0 "$(delta "lunar_lu_commands_total{$lu0,kind=\"read\"}")"
total=0
for k in read write other; do
    d=$(delta "lunar_lu_commands_total{$lu0,kind=\"$k\"}")
    [[ $d == none ]] || total=$((total + d))
done
check_eq "LUN 0's latency histogram counted every command" "$total" \
    "$(delta "lunar_lu_command_latency_seconds_count{$lu0}")"
check_eq "LUN 0's +Inf bucket is its count" \
    "$(value "$work/after.prom" "lunar_lu_command_latency_seconds_count{$lu0}")" \
    "$(value "$work/after.prom" "lunar_lu_command_latency_seconds_bucket{$lu0,le=\"+Inf\"}")"
check_eq "nothing is in flight once the sessions are gone" 0 \
    "$(value "$work/after.prom" "lunar_lu_commands_in_flight{$lu0}")"
check_eq "two normal logins counted" 2 "$(delta 'lunar_logins_total{type="normal"}')"

# ---- polls for an initiator that sends one command at a time ----
# iscsi-perf with one request in flight for a second sends each read once
# the one before is answered: after 16 such, the data-plane thread polls
# for the next (poll_us is 1000 µs here, so that a busy machine's
# initiator still comes within it).
scrape before || true
check_run "iscsi-perf reads one block at a time for a second" "$work/qd1.out" \
    timeout "$step_timeout" iscsi-perf -m 1 -t 1 "iscsi://$portal/$t_open/1" || true
scrape after || true
found=$(delta 'lunar_dataplane_polls_total{outcome="found_work"}')
if [[ $found != none ]] && ((found >= 1)); then
    check_ok "the thread polled for the next command and found it ($found times)"
else
    check_fail "lunar_dataplane_polls_total{outcome=\"found_work\"} moved by $found, wanted at least 1"
fi
polled_before=$(value "$work/before.prom" lunar_dataplane_poll_seconds_total)
polled_after=$(value "$work/after.prom" lunar_dataplane_poll_seconds_total)
if awk -v a="$polled_after" -v b="$polled_before" 'BEGIN { exit !(a > b) }'; then
    check_ok "lunar_dataplane_poll_seconds_total grew ($polled_before -> $polled_after)"
else
    check_fail "lunar_dataplane_poll_seconds_total: $polled_before -> $polled_after"
fi

# ---- refused logins, by reason ----
scrape before || true
run_refused() { # run_refused NAME COMMAND...: the tool must fail to log in
    local name=$1 rc=0
    shift
    timeout "$step_timeout" "$@" >"$work/$name.out" 2>&1 || rc=$?
    ((rc != 0 && rc != 124)) || check_fail "$name: the tool exited $rc"
}
run_refused wrong-secret iscsi-inq "iscsi://$user%wrong-secret-000@$portal/$t_chap/0"
run_refused stranger iscsi-inq -i "$stranger" "iscsi://$portal/$t_acl/0"
run_refused unknown iscsi-inq "iscsi://$portal/iqn.2026-11.org.lunar:no-such-target/0"
check_run "the listed initiator logs in" "$work/listed.out" \
    timeout "$step_timeout" iscsi-inq -i "$host" "iscsi://$portal/$t_acl/0" || true
scrape after || true
check_eq "a wrong CHAP secret counts as an authentication failure" 1 \
    "$(delta 'lunar_login_failures_total{reason="authentication"}')"
check_eq "and in lunar_authentication_failures_total" 1 "$(delta lunar_authentication_failures_total)"
check_eq "an initiator off the ACL counts as an authorization failure" 1 \
    "$(delta 'lunar_login_failures_total{reason="authorization"}')"
check_eq "an unknown target counts as not found" 1 "$(delta 'lunar_login_failures_total{reason="not_found"}')"
check_eq "no other failure counted" 0 "$(delta 'lunar_login_failures_total{reason="other"}')"
check_eq "the good login counted" 1 "$(delta 'lunar_logins_total{type="normal"}')"
# A session ends on the target a moment after the initiator has its
# Logout Response.
sessions_left() {
    local i v
    for ((i = 0; i < 50; i++)); do
        fetch GET "$mport" /metrics "$work/left.prom" >/dev/null
        v=$(value "$work/left.prom" 'lunar_sessions{type="normal"}')
        [[ $v == 0 ]] && break
        sleep 0.1
    done
    echo "$v"
}
check_eq "no session is left" 0 "$(sessions_left)"

# ---- a session held open on a raw socket: gauges, its series, a Reject ----
raw_initiator=iqn.2026-11.org.test:metrics-raw
scrape before || true
coproc RAW { timeout "$step_timeout" python3 "$here/raw_session.py" 127.0.0.1 "${portal##*:}" "$t_open" "$raw_initiator" 2>&1; }
# shellcheck disable=SC2153  # RAW_PID is set by coproc
raw_pid=$RAW_PID
exec {raw_out}<&"${RAW[0]}" {raw_in}>&"${RAW[1]}"
line=
read -r -t "$step_timeout" line <&"$raw_out" || true
if [[ $line == logged-in ]]; then
    check_ok "a raw session logged in"
    scrape held || true
    check_eq "it shows in lunar_sessions" 1 "$(value "$work/held.prom" 'lunar_sessions{type="normal"}')"
    check_eq "and in lunar_connections" 1 "$(value "$work/held.prom" lunar_connections)"
    check_eq "its initiator has its series" 0 \
        "$(value "$work/held.prom" "lunar_initiator_commands_in_flight{target=\"$t_open\",initiator=\"$raw_initiator\"}")"
    echo go >&"$raw_in"
    line=
    read -r -t "$step_timeout" line <&"$raw_out" || true
    check_eq "a vendor-specific opcode is rejected as not supported" "reject 0x05" "$line"
else
    check_fail "the raw session did not log in: $line"
fi
exec {raw_in}>&- {raw_out}<&-
wait "$raw_pid" 2>/dev/null || true
scrape after || true
check_eq "the Reject counted" 1 "$(delta lunar_rejects_sent_total)"

# ---- how it is switched on, and off ----
server_kill
conf "$work/plain.conf"
oport=$(server_free_port)
LUNARD_ARGS="--config $work/plain.conf --metrics 127.0.0.1:$oport $base_args"
server_start
got=$(fetch GET "$oport" /metrics "$work/option.prom")
check_eq "--metrics ADDR:PORT serves /metrics" 200 "${got%% *}"
got=$(fetch GET "$mport" /metrics "$work/gone.out")
check_eq "the config's address is not served without its group" 000 "${got%% *}"
server_kill
LUNARD_ARGS="--config $work/plain.conf $base_args"
server_start
got=$(fetch GET "$oport" /metrics "$work/off.out")
check_eq "without metrics configured nothing listens" 000 "${got%% *}"
server_kill
rc=0
timeout "$step_timeout" "$SERVER_BIN" --foreground --config "$work/plain.conf" --listen "127.0.0.1:$SERVER_PORT" \
    --metrics "0.0.0.0:$oport" >"$work/wild.out" 2>&1 || rc=$?
if ((rc == 2)) && grep -q 'allow_remote' "$work/wild.out" && ! grep -q 'Sanitizer' "$work/wild.out"; then
    check_ok "a wildcard --metrics address is refused without allow_remote"
else
    check_fail "a wildcard --metrics address: exit $rc, $(head -3 "$work/wild.out" | tr '\n' ' ')"
fi

check_summary
