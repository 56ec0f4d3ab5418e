#!/usr/bin/env bash
# Live reconfiguration by SIGHUP (docs/CONFIG.md "Persistence and reload"),
# against a lunard this script starts with its own config file:
#   - a target and a LUN added to the file appear and are usable;
#   - a target removed while I/O runs on another: the I/O goes on without
#     an error (lunar-bench, bounded);
#   - removing a target a session is logged in to is refused (in use) and
#     the old configuration keeps serving; so is a file that does not load;
#   - a LUN's size made larger grows it: the logged-in session gets
#     CAPACITY DATA HAS CHANGED and reads the new capacity; a smaller size
#     is refused;
#   - a file grown by someone else is noticed at the next SIGHUP;
#   - a change that fails halfway (a store that cannot open) is undone;
#   - an initiator taken off a target's access list loses its session;
#   - portals opened and closed live (a second lunard without --listen);
#   - lunard restarted on the same file serves the same targets and data.
# Usage: tests/manage/reload.sh --lunard PATH --tool PATH [--bench PATH]
# (the bench is bench/lunar-bench; without it the I/O step is skipped).
# Ends with "N passed, N failed".
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
    echo "usage: $0 --lunard PATH --tool PATH [--bench PATH]"
}
TOOL=
BENCH=
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --tool) TOOL=$2; shift 2 ;;
        --bench) BENCH=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done
[[ -x $TOOL ]] || { echo "error: --tool PATH (lunar-manage-tool) needed" >&2; exit 2; }
server_need_lunard "the test configures the target"
server_need_tools "libiscsi-bin, qemu-utils" iscsi-ls iscsi-inq iscsi-readcapacity16 qemu-io
step_timeout=30

t_keep=iqn.2026-11.org.lunar:keep
t_gone=iqn.2026-11.org.lunar:gone
t_new=iqn.2026-11.org.lunar:new

work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-manage.XXXXXX")
server_cleanup_add "$work"
conf=$work/lunar.conf

# write_conf [KEEP_SIZE] [WITH_GONE] [WITH_NEW]: the config file.
write_conf() {
    local keep_size=${1:-8M} gone=${2:-1} new=${3:-0}
    {
        echo "# the test's configuration"
        echo "state_dir = \"$work\";"
        echo "targets = ("
        echo "  { name = \"$t_keep\"; open = true;"
        echo "    luns = ( { lun = 0; backend = \"file\"; path = \"keep0.img\"; size = \"$keep_size\"; }"
        if ((new)); then
            echo "           , { lun = 1; backend = \"memory\"; size = \"2M\"; }"
        fi
        echo "    ); }"
        if ((gone)); then
            echo "  , { name = \"$t_gone\"; open = true; luns = ( { lun = 0; backend = \"memory\"; size = \"4M\"; } ); }"
        fi
        if ((new)); then
            echo "  , { name = \"$t_new\"; open = true; luns = ( { lun = 0; backend = \"file\"; path = \"new0.img\"; size = \"4M\"; } ); }"
        fi
        echo ");"
    } >"$conf"
}

write_conf
server_start_on "$conf" --log-level info
portal=$TARGET_PORTAL

run() {
    local name=$1
    shift
    rc=0
    timeout "$step_timeout" "$@" >"$work/$name.out" 2>&1 || rc=$?
}

# reload WHAT: SIGHUP, and the outcome logged.
reload() {
    server_reload || check_fail "$1: lunard did not answer SIGHUP"
}

last_reload_line() {
    grep -E 'SIGHUP: configuration (reloaded|not reloaded)' "$SERVER_LOG" | tail -1
}

targets_listed() {
    run ls iscsi-ls "iscsi://$portal"
    awk '/^Target:/ { sub(/^Target:/, "", $1); print $1 }' "$work/ls.out" | sort | tr '\n' ' '
}

# 1. Data to find again after the restart.
run write qemu-io --image-opts "driver=iscsi,transport=tcp,portal=$portal,target=$t_keep,lun=0" \
    -c "write -P 0x5a 6M 64k"
check_eq "write 64 KiB of 0x5a to $t_keep LUN 0" 0 "$rc"
check_eq "targets at start" "$t_gone $t_keep " "$(targets_listed)"

# 2. Add a target and a LUN.
write_conf 8M 1 1
reload "add"
if last_reload_line | grep -q 'configuration reloaded, 2 changes'; then
    check_ok "SIGHUP applied the additions: $(last_reload_line | sed 's/.*SIGHUP: //')"
else
    check_fail "SIGHUP after adding: $(last_reload_line)"
fi
for what in "added target $t_new" "added LUN 1 to target $t_keep"; do
    if grep -q "configuration: $what" "$SERVER_LOG"; then
        check_ok "lunard reported \"$what\""
    else
        check_fail "lunard did not report \"$what\""
    fi
done
check_eq "targets after adding" "$t_gone $t_keep $t_new " "$(targets_listed)"
run inq-new iscsi-inq "iscsi://$portal/$t_new/0"
check_eq "the new target answers INQUIRY" 0 "$rc"
run cap-keep1 iscsi-readcapacity16 "iscsi://$portal/$t_keep/1"
if ((rc == 0)) && grep -q 'RETURNED LOGICAL BLOCK ADDRESS:4095' "$work/cap-keep1.out"; then
    check_ok "the new LUN 1 of $t_keep: 4096 blocks"
else
    check_fail "the new LUN 1 of $t_keep: exit $rc: $(tr '\n' ' ' <"$work/cap-keep1.out")"
fi

# 3. A target in use is not removed without force; the old
# configuration keeps serving.
hold_start hold_new "iscsi://$portal/$t_new/0"
write_conf 8M 1 0
reload "remove in use"
if last_reload_line | grep -q "not reloaded: target $t_new is in use by 1 session"; then
    check_ok "removing a target in use is refused: $(last_reload_line | sed 's/.*SIGHUP: //')"
else
    check_fail "removing a target in use: $(last_reload_line)"
fi
hold_go hold_new
check_eq "the session to the target in use goes on (TEST UNIT READY)" "tur=none" \
    "$(grep '^tur=' "$work/hold_new.out" || true)"
check_eq "targets after the refused removal" "$t_gone $t_keep $t_new " "$(targets_listed)"

# 4. A file that does not load is refused; the old configuration serves.
write_conf 8M 1 1
echo "targets = oops" >>"$conf"
reload "bad file"
if last_reload_line | grep -q 'not reloaded: .*lunar.conf:'; then
    check_ok "a bad file is refused with its line: $(last_reload_line | sed 's/.*SIGHUP: //')"
else
    check_fail "a bad file: $(last_reload_line)"
fi
run inq-after-bad iscsi-inq "iscsi://$portal/$t_new/0"
check_eq "the old configuration still serves" 0 "$rc"

# 5. Remove a target while I/O runs on another.
if [[ -n $BENCH ]]; then
    bench_rc=0
    timeout 60 "$BENCH" --url "iscsi://$portal/$t_keep/0" --rw randwrite --bs 4k --qd 8 --seconds 4 --span 4M \
        >"$work/bench.out" 2>&1 &
    bench_pid=$!
    sleep 1.5
    write_conf 8M 0 1
    reload "remove while I/O runs"
    wait "$bench_pid" || bench_rc=$?
    if ((bench_rc == 0)) && grep -q 'ios=[1-9]' "$work/bench.out"; then
        check_ok "I/O on $t_keep went on while $t_gone was removed: $(tail -1 "$work/bench.out")"
    else
        check_fail "I/O on $t_keep while $t_gone was removed: exit $bench_rc: $(tail -3 "$work/bench.out" | tr '\n' ' ')"
    fi
else
    write_conf 8M 0 1
    reload "remove"
    check_skip "no --bench: the removal runs without I/O beside it"
fi
if grep -q "configuration: removed target $t_gone" "$SERVER_LOG"; then
    check_ok "lunard reported \"removed target $t_gone\""
else
    check_fail "lunard did not report removing $t_gone"
fi
check_eq "targets after removing one" "$t_keep $t_new " "$(targets_listed)"

# 6. Grow a LUN under a logged-in session; a smaller size is refused.
hold_start hold_keep "iscsi://$portal/$t_keep/0"
write_conf 16M 0 1
reload "grow"
hold_go hold_keep
check_eq "the logged-in session's capacity before" "ready blocks=16384" "$(grep '^ready' "$work/hold_keep.out")"
check_eq "it gets CAPACITY DATA HAS CHANGED (6/2a/09)" "tur=6/2a/09" "$(grep '^tur=' "$work/hold_keep.out" || true)"
check_eq "and reads the new capacity" "after blocks=32768" "$(grep '^after' "$work/hold_keep.out" || true)"
check_eq "the file grew to 16 MiB" 16777216 "$(stat -c %s "$work/keep0.img")"
write_conf 4M 0 1
reload "shrink"
if last_reload_line | grep -q 'not reloaded: .*LUN 0: size 4194304 is below .* never shrunk'; then
    check_ok "a smaller size is refused: $(last_reload_line | sed 's/.*SIGHUP: //')"
else
    check_fail "a smaller size: $(last_reload_line)"
fi
write_conf 16M 0 1

# 6b. Another key of a LUN (its serial) replaces the store, here its own
# file again, which the old one held locked until it was closed.
sed -i 's|path = "new0.img"; size = "4M";|& serial = "replaced1";|' "$conf"
reload "replace"
if last_reload_line | grep -q 'configuration reloaded, 1 change$'; then
    check_ok "a LUN's serial changed: its store replaced ($(grep -c "configuration: replaced the store of LUN 0 of target $t_new" "$SERVER_LOG") report)"
else
    check_fail "replacing a LUN's store: $(last_reload_line)"
fi
run inq-serial iscsi-inq -e 1 -c 128 "iscsi://$portal/$t_new/0"
check_eq "the replaced LUN has the new serial" "Unit Serial Number:[replaced1]" "$(head -c 40 "$work/inq-serial.out")"

# 7. A file grown by someone else is noticed at the next reload.
hold_start hold_grown "iscsi://$portal/$t_keep/0"
truncate -s 20M "$work/keep0.img"
reload "grown file"
hold_go hold_grown
check_eq "a file grown under lunard: CAPACITY DATA HAS CHANGED at SIGHUP" "tur=6/2a/09" \
    "$(grep '^tur=' "$work/hold_grown.out" || true)"
check_eq "and the new capacity" "after blocks=40960" "$(grep '^after' "$work/hold_grown.out" || true)"

# 8. A change that fails halfway (a store that cannot open) is undone:
# the LUN added before the failure is gone again.
{
    sed '$d' "$conf"
    echo "  , { name = \"iqn.2026-11.org.lunar:broken\"; open = true;"
    echo "      luns = ( { lun = 0; backend = \"file\"; path = \"/nonexistent/lunar/x.img\"; size = \"1M\"; } ); }"
    echo ");"
} >"$work/broken.conf"
sed -i 's|{ lun = 1; backend = "memory"; size = "2M"; }|&, { lun = 2; backend = "memory"; size = "1M"; }|' "$work/broken.conf"
cp "$conf" "$work/good.conf"
cp "$work/broken.conf" "$conf"
reload "store that cannot open"
if last_reload_line | grep -q 'not reloaded: cannot apply "added target iqn.2026-11.org.lunar:broken"'; then
    check_ok "a store that cannot open is refused: $(last_reload_line | sed 's/.*SIGHUP: //')"
else
    check_fail "a store that cannot open: $(last_reload_line)"
fi
run ls-undone iscsi-ls -s "iscsi://$portal"
if grep -q '^Lun:2' "$work/ls-undone.out"; then
    check_fail "the LUN added before the failure is still served"
else
    check_ok "the LUN added before the failure was taken back"
fi
cp "$work/good.conf" "$conf"

# 8b. An initiator taken off a target's access list loses its session.
hold_start hold_revoked "iscsi://$portal/$t_keep/0"
sed -i "s|{ name = \"$t_keep\"; open = true;|{ name = \"$t_keep\"; acl = ( { initiator = \"iqn.2026-11.org.test:other\"; } );|" "$conf"
reload "revoke"
hold_go hold_revoked
if ((rc != 0)) && grep -q "initiator iqn.2026-11.org.test:manage is no longer allowed: ending its sessions" "$SERVER_LOG"; then
    check_ok "a revoked initiator's session is ended"
else
    check_fail "a revoked initiator's session: tool exit $rc: $(tr '\n' ' ' <"$work/hold_revoked.out")"
fi
cp "$work/good.conf" "$conf"
reload "allow again"

# 9. Restart on the same file: same targets, same data.
server_restart
portal=127.0.0.1:$SERVER_PORT
check_eq "targets after a restart" "$t_keep $t_new " "$(targets_listed)"
run read qemu-io -r --image-opts "driver=iscsi,transport=tcp,portal=$portal,target=$t_keep,lun=0" \
    -c "read -P 0x5a 6M 64k"
if ((rc == 0)) && grep -q '^read 65536/65536 bytes' "$work/read.out" &&
    ! grep -q 'Pattern verification failed' "$work/read.out"; then
    check_ok "the data written before the restart reads back"
else
    check_fail "reading back after the restart: exit $rc: $(tail -2 "$work/read.out" | tr '\n' ' ')"
fi
run cap-after iscsi-readcapacity16 "iscsi://$portal/$t_keep/0"
if grep -q 'RETURNED LOGICAL BLOCK ADDRESS:40959' "$work/cap-after.out"; then
    check_ok "the grown LUN keeps the size of its file after the restart"
else
    check_fail "the grown LUN after the restart: $(tr '\n' ' ' <"$work/cap-after.out")"
fi
if grep -q '^# the test' "$conf"; then
    check_ok "reloading did not rewrite the file (its comment is still there)"
else
    check_fail "the config file was rewritten by a reload"
fi

# 10. Portals, on a second lunard that takes them from its file.
p1=$(server_free_port)
p2=$(server_free_port)
pconf=$work/portals.conf
pstate=$work/pstate
mkdir -p "$pstate"
write_pconf() {
    printf 'state_dir = "%s";\nportals = [ %s ];\ntargets = ( { name = "%s"; open = true; luns = ( { lun = 0; backend = "memory"; size = "1M"; } ); } );\n' \
        "$pstate" "$1" "$t_keep" >"$pconf"
}
write_pconf "\"127.0.0.1:$p1\""
"$SERVER_BIN" --foreground --config "$pconf" --log-level info >"$work/portals.log" 2>&1 &
ppid_=$!
stop_portal_daemon() {
    kill -TERM "$ppid_" 2>/dev/null || true
    wait "$ppid_" 2>/dev/null || true
}
server_at_exit stop_portal_daemon
check_eq "second lunard listens on its file's portal" open "$(server_wait_port "$p1")"
write_pconf "\"127.0.0.1:$p2\""
kill -HUP "$ppid_"
check_eq "a portal added by SIGHUP opens" open "$(server_wait_port "$p2")"
sleep 0.3
if server_port_open "$p1"; then
    check_fail "the portal removed by SIGHUP still accepts"
else
    check_ok "the portal removed by SIGHUP is closed"
fi
write_pconf "\"127.0.0.1:$p1\", \"127.0.0.1:$p2\""
kill -HUP "$ppid_"
check_eq "the closed portal's address opens again" open "$(server_wait_port "$p1")"
run inq-p1 iscsi-inq "iscsi://127.0.0.1:$p1/$t_keep/0"
check_eq "and serves logins" 0 "$rc"
stop_portal_daemon
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work/portals.log"; then
    check_fail "the second lunard: $(grep -m1 -E 'ERROR|runtime error' "$work/portals.log")"
fi

server_check_summary
