#!/usr/bin/env bash
# lunarctl against a running lunard (docs/MANAGEMENT.md), with libiscsi as
# the initiator:
#   - the socket is 0600 in a 0755 directory; status and the lists answer;
#   - a target and a LUN created live are usable at once (iscsi-inq,
#     iscsi-ls), an acl entry added live shows in acl list;
#   - session list shows a libiscsi session (TSIH, ISID, initiator,
#     address, CID, negotiated parameters);
#   - a LUN in use is not deleted without --force, and is with it;
#   - resize shows the new capacity to READ CAPACITY, and never shrinks;
#   - export, import (unchanged and edited) and reload;
#   - a malformed request, an oversized one, an unknown method, a client
#     over the cap and a non-root client are refused, and lunard keeps
#     serving; lunarctl's exit codes say which failure it was.
# Usage: tests/manage/lunarctl.sh --lunard PATH --lunarctl PATH
# Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
# shellcheck source=../lib/check.sh
source "$here/../lib/check.sh"

usage() {
    echo "usage: $0 --lunard PATH --lunarctl PATH"
}
LUNARCTL=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --lunarctl) LUNARCTL=$(realpath "$2"); shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
server_need_lunard "the test configures the target"
[[ -x $LUNARCTL ]] || { echo "error: --lunarctl PATH needed" >&2; exit 2; }
server_need_tools "" iscsi-ls iscsi-inq iscsi-perf iscsi-readcapacity16 python3 setpriv

t_base=iqn.2026-11.org.lunar:base
t_new=iqn.2026-11.org.lunar:new
host1=iqn.2026-11.org.test:host1
watcher=iqn.2026-11.org.test:watcher

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-manage.XXXXXX")
server_cleanup_add "$work"
# The unprivileged client must reach the socket to be refused by lunard.
chmod 755 "$work"
sock=$work/run/lunar.sock
cat >"$work/lunar.conf" <<CONF
targets = ( { name = "$t_base"; open = true;
              luns = ( { lun = 0; backend = "memory"; size = "4M"; } ); } );
CONF
server_start_on "$work/lunar.conf" --mgmt-socket "$sock" --log-level info
portal=$TARGET_PORTAL
for ((i = 0; i < 50; i++)); do
    [[ -S $sock ]] && break
    sleep 0.1
done

# ctl ARGS...: lunarctl's output in $out, its stderr in $err, its status in $rc.
ctl() {
    rc=0
    timeout 30 "$LUNARCTL" --socket "$sock" "$@" >"$work/out" 2>"$work/err" || rc=$?
    out=$(cat "$work/out")
    err=$(cat "$work/err")
}

# raw: sends its standard input as it is (no newline added) and prints the
# answer line, or "closed" when lunard closed without one.
raw() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
try:
    s.sendall(sys.stdin.buffer.read())
except (ConnectionResetError, BrokenPipeError):
    pass

data = b""
try:
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except (ConnectionResetError, BrokenPipeError):
    pass
print(data.decode().strip() or "closed")
' "$sock"
}

alive() {
    ctl status
    if [[ $rc == 0 && $out == *version* ]]; then
        check_ok "$1: lunard still serves"
    else
        check_fail "$1: lunard does not answer (exit $rc: $err)"
    fi
}

# ---- the socket ----
check_eq "socket file mode" 600 "$(stat -c %a "$sock")"
check_eq "socket directory mode" 755 "$(stat -c %a "$(dirname "$sock")")"

# ---- showing ----
ctl status
check_eq "status exit" 0 "$rc"
[[ $out == *"targets      1"* ]] && check_ok "status counts one target" || check_fail "status: $out"
ctl target list
[[ $out == *TARGET*ACCESS* && $out == *"$t_base"*open* ]] && check_ok "target list is a table with the target" ||
    check_fail "target list: $out"
ctl --json lun list "$t_base"
[[ $out == *'"size": 4194304'* ]] && check_ok "lun list --json gives the size in bytes" || check_fail "lun list: $out"
ctl portal list
[[ $out == *"$portal"* ]] && check_ok "portal list shows $portal" || check_fail "portal list: $out"

# bash completion offers the running lunard's targets.
completion=$(PATH=$(dirname "$LUNARCTL"):$PATH bash -c '
    source "$1/dist/bash-completion/lunarctl"
    COMP_WORDS=(lunarctl --socket "$2" acl add "")
    COMP_CWORD=5
    _lunarctl
    echo "${COMPREPLY[*]}"' _ "$here/../.." "$sock" 2>/dev/null || true)
check_eq "bash completion of a target name" "$t_base" "$completion"

# ---- a target and a LUN live ----
ctl target create "$t_new" --open --alias new --backend file --path "$work/new.img" --size 8M
check_eq "target create" "0 added target $t_new" "$rc $out"
ctl lun create "$t_new" --backend memory --size 2M
check_eq "lun create takes the lowest free LUN" "0 added LUN 1 to target $t_new" "$rc $out"
ctl lun create "$t_new" --lun 1 --backend memory --size 2M
check_eq "lun create on a taken LUN is refused" 1 "$rc"
[[ $err == *"LUN 1 exists"* ]] && check_ok "and says why ($err)" || check_fail "message: $err"
if timeout 30 iscsi-inq "iscsi://$portal/$t_new/1" >"$work/inq.out" 2>&1; then
    check_ok "iscsi-inq reaches the new LUN 1"
else
    check_fail "iscsi-inq on the new LUN: $(tail -3 "$work/inq.out")"
fi
timeout 30 iscsi-ls -s "iscsi://$portal" >"$work/ls.out" 2>&1 || true
luns=$(awk -v t="Target:$t_new " 'index($0, t) == 1 { on = 1; next } /^Target:/ { on = 0 }
    on && $1 ~ /^Lun:/ { sub(/^Lun:/, "", $1); printf "%s%s", sep, $1; sep = " " }' "$work/ls.out")
check_eq "iscsi-ls lists the new target's LUNs" "0 1" "$luns"

# ---- acl ----
ctl acl add "$t_new" "$host1" --map 0=0
check_eq "acl add" 0 "$rc"
ctl acl list "$t_new"
[[ $out == *"$host1"*"0=0"* ]] && check_ok "acl list shows the entry and its map" || check_fail "acl list: $out"
echo "short" | "$LUNARCTL" --socket "$sock" chap add "$t_new" bob >"$work/out" 2>"$work/err" && rc=0 || rc=$?
check_eq "a short CHAP secret is refused by the loader" 1 "$rc"
grep -q "RFC 7143" "$work/err" && ! grep -q short "$work/err" &&
    check_ok "with the loader's reason, without the secret" || check_fail "chap add: $(cat "$work/err")"

# ---- sessions ----
timeout 60 iscsi-perf -i "$watcher" -x 0 "iscsi://$portal/$t_base/0" >"$work/perf1.out" 2>&1 &
perf1=$!
found=
for ((i = 0; i < 50; i++)); do
    ctl --json session list "$t_base"
    if [[ $out == *"$watcher"* ]]; then
        found=1
        break
    fi
    sleep 0.2
done
if [[ -n $found ]]; then
    check_ok "session list shows the libiscsi session"
    [[ $out == *'"tsih"'* && $out == *'"isid"'* && $out == *'"cid": 0'* && $out == *'"address": "127.0.0.1:'* &&
        $out == *'"max_burst_length"'* ]] && check_ok "with TSIH, ISID, address, CID and negotiated parameters" ||
        check_fail "session fields: $out"
else
    check_fail "session list never showed $watcher: $out"
fi
ctl session list
[[ $out == *TSIH*ISID*INITIATOR* && $out == *"$watcher"* ]] && check_ok "session list table" ||
    check_fail "session table: $out"
ctl stats "$t_base"
[[ $out == *INITIATOR*ISID* && $out == *"$watcher"* ]] && check_ok "stats shows the live session's counters" ||
    check_fail "stats while a session runs: $out"
kill "$perf1" 2>/dev/null || true
wait "$perf1" 2>/dev/null || true

# ---- stats (the counters behind the metrics endpoint) ----
ctl --json stats "$t_base" 0
reads=$(python3 -c 'import json, sys; l = json.load(sys.stdin)["luns"][0]; print(l["reads"] > 0 and l["bytes_read"] >= 512 * l["reads"])' <<<"$out" 2>&1)
check_eq "stats counts the reads iscsi-perf made on LUN 0" True "$reads"
ctl stats "$t_base"
[[ $out == *READS*WRITTEN*P99_US* && $out == *"$t_base"* ]] && check_ok "stats table" ||
    check_fail "stats table: $out"

# ---- deleting a LUN in use ----
timeout 60 iscsi-perf -i "$watcher" -x 0 "iscsi://$portal/$t_new/1" >"$work/perf2.out" 2>&1 &
perf2=$!
for ((i = 0; i < 50; i++)); do
    ctl --json session list "$t_new"
    [[ $out == *"$watcher"* ]] && break
    sleep 0.2
done
ctl lun delete "$t_new" 1
check_eq "deleting a LUN in use without --force is refused" 1 "$rc"
[[ $err == *"in use"* ]] && check_ok "because it is in use ($err)" || check_fail "message: $err"
ctl lun delete "$t_new" 1 --force
check_eq "with --force it goes" 0 "$rc"
ctl lun list "$t_new"
[[ $out != *"memory"* ]] && check_ok "lun list no longer shows it" || check_fail "lun list: $out"
kill "$perf2" 2>/dev/null || true
wait "$perf2" 2>/dev/null || true
alive "forced delete"

# ---- resize ----
ctl lun resize "$t_new" 0 16M
check_eq "lun resize" 0 "$rc"
bytes=$(timeout 30 iscsi-readcapacity16 -s "iscsi://$portal/$t_new/0" 2>/dev/null || true)
check_eq "READ CAPACITY shows the new size" 16777216 "${bytes:-none}"
ctl lun resize "$t_new" 0 8M
check_eq "a resize never shrinks" 1 "$rc"
[[ $err == *"only grows"* ]] && check_ok "and says so ($err)" || check_fail "message: $err"

# ---- export ----
ctl config export
[[ $out == *"$t_new"* && $out == *"$host1"* ]] && check_ok "config export has the live changes" ||
    check_fail "export: $out"
grep -q "$t_new" "$work/lunar.conf" && check_ok "and they were saved to the config file" ||
    check_fail "the config file lacks $t_new"
printf '%s\n' "$out" >"$work/export.conf"
ctl config import "$work/export.conf"
check_eq "importing the export changes nothing" "0 no change" "$rc $out"
sed "s/alias = \"new\"/alias = \"renamed\"/" "$work/export.conf" >"$work/renamed.conf"
ctl config import "$work/renamed.conf"
[[ $rc == 0 && $out == *"$t_new"* ]] && check_ok "an edited import applies ($out)" || check_fail "import: $rc $out $err"
ctl --json target list
[[ $out == *'"alias": "renamed"'* ]] && check_ok "target list shows the imported alias" || check_fail "after import: $out"
ctl reload
check_eq "reload of the saved file changes nothing" "0 no change" "$rc $out"

# ---- refusals ----
answer=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":' | raw)
[[ $answer == *'"code":-32700'* ]] && check_ok "malformed JSON: parse error -32700" || check_fail "malformed: $answer"
answer=$(printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"no.such"}' | raw)
[[ $answer == *'"code":-32601'* && $answer == *'"id":2'* ]] && check_ok "unknown method: -32601" ||
    check_fail "unknown method: $answer"
answer=$(printf '%s\n' '{"jsonrpc":"2.0","id":3,"method":"lun.list","params":{"target":5}}' | raw)
[[ $answer == *'"code":-32602'* ]] && check_ok "wrong param type: -32602" || check_fail "invalid params: $answer"
answer=$(head -c 1100000 /dev/zero | tr '\0' ' ' | raw)
[[ $answer == *'"code":-32006'* ]] && check_ok "oversized request: -32006 and closed" || check_fail "oversized: $answer"
alive "bad requests"
ctl nosuch thing
check_eq "lunarctl: an unknown command is a usage error" 2 "$rc"
"$LUNARCTL" --socket "$work/none.sock" status >/dev/null 2>&1 && rc=0 || rc=$?
check_eq "lunarctl: no lunard is exit 3" 3 "$rc"

# Clients over the cap get one refusal line.
answer=$(python3 - "$sock" <<'PY'
import socket, sys
held = []
for _ in range(16):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
extra = socket.socket(socket.AF_UNIX)
extra.settimeout(20)
extra.connect(sys.argv[1])
print(extra.recv(4096).decode().strip() or "closed")
PY
)
[[ $answer == *'"code":-32005'* ]] && check_ok "the 17th client is refused" || check_fail "client cap: $answer"
alive "client cap"

# A non-root client: the file mode keeps it out; with the file opened up,
# lunard's own check (SO_PEERCRED) refuses it.
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
"${nobody[@]}" "$LUNARCTL" --socket "$sock" status >/dev/null 2>"$work/err" && rc=0 || rc=$?
check_eq "non-root client vs mode 0600: cannot connect (exit 3)" 3 "$rc"
chmod 666 "$sock"
"${nobody[@]}" "$LUNARCTL" --socket "$sock" target delete "$t_base" >/dev/null 2>"$work/err" && rc=0 || rc=$?
check_eq "non-root client through an open socket file: refused by lunard (exit 1)" 1 "$rc"
grep -q "permission denied" "$work/err" && check_ok "with 'permission denied'" || check_fail "message: $(cat "$work/err")"
ctl target list
[[ $out == *"$t_base"* ]] && check_ok "the target it tried to delete is still there" || check_fail "targets: $out"
alive "non-root client"

check_summary
