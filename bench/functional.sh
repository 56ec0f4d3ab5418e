#!/usr/bin/env bash
# lunar-bench's modes against a real lunard, so they do not rot: every
# pattern with --verify (each block stamped with its offset, every read
# checked), the 70/30 mix, 4, 16 and 64 sessions, --cpu-pid (CPU time and
# RSS), the TCP round-trip tool, the report, and a 30-second soak.sh (no RSS
# growth, descriptors back to rest). Asserts that I/O completes and reads
# return what was written; measures nothing else. Ends with "N passed, N failed".
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/lib/server.sh
source "$here/../tests/lib/server.sh"
# shellcheck source=../tests/lib/check.sh
source "$here/../tests/lib/check.sh"

bench_dir=
step_timeout=60

usage() {
	echo "usage: $0 --lunard PATH --bench-dir DIR (the build's bench/)"
	target_common_usage
}

while (($#)); do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--bench-dir) bench_dir=$2; shift 2 ;;
	*) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
	esac
done
for tool in lunar-bench lunar-tcp-rtt lunar-bench-report; do
	[[ -x $bench_dir/$tool ]] || { echo "error: $bench_dir/$tool not found (--bench-dir)" >&2; exit 2; }
done
[[ $SERVER_KIND == lunard ]] || { echo "error: --lunard PATH is needed (its CPU time is read)" >&2; exit 2; }

# 64 sessions from one address is lunard's default cap, and the last step's
# sessions may still be closing when the next logs in.
LUNARD_ARGS="${LUNARD_ARGS:-} --max-conns-per-address 256"
target_setup
work=$(mktemp -d "${TMPDIR:-/tmp}/lunar-bench-functional.XXXXXX")
server_cleanup_add "$work"
span=64M

# Value of key= in a result line.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"; }

# bench NAME ARGS...: one bounded lunar-bench run with data checks; its
# line is kept for the report step.
bench() {
	local name=$1
	shift
	if check_run "$name completes, every read as written" "$work/$name.out" \
		timeout "$step_timeout" "$bench_dir/lunar-bench" --url "$TARGET_URL" --span "$span" \
		--verify --cpu-pid "$SERVER_PID" "$@"; then
		line=$(tail -n 1 "$work/$name.out")
		echo "round=1 workload=$name target=lunard $line" >>"$work/raw"
		return 0
	fi
	line=
	return 1
}

: >"$work/raw"
# Every block of the span written first, so any later read can be checked.
if bench fill --rw write --bs 1M --qd 4 --max-ios 64 --seconds 60; then
	check_eq "fill wrote the whole span in 1 MiB commands" 64 "$(field ios "$line")"
	cpu=$(field target_cpu_s "$line")
	[[ $cpu =~ ^[0-9.]+$ ]] && check_ok "--cpu-pid reports lunard's CPU time ($cpu s)" ||
		check_fail "--cpu-pid gave no target_cpu_s: $line"
	rss=$(field target_rss_kib_before "$line")/$(field target_rss_kib_logged_in "$line")/$(field target_rss_kib_end "$line")
	[[ $rss =~ ^[1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*$ ]] &&
		check_ok "--cpu-pid reports lunard's RSS before, logged in, at the end ($rss KiB)" ||
		check_fail "--cpu-pid gave no target_rss_kib_*: $line"
fi
if bench read-128k --rw read --bs 128k --qd 8 --max-ios 512 --seconds 60; then
	check_eq "sequential 128 KiB reads cover the span" 512 "$(field reads "$line")"
fi
if bench randrw70 --rw randrw --rwmix-read 70 --bs 4k --qd 32 --seconds 2; then
	ios=$(field ios "$line") reads=$(field reads "$line")
	if ((reads > 0 && ios > reads)); then
		pct=$((100 * reads / ios))
		((pct >= 60 && pct <= 80)) && check_ok "70/30 mix: $pct% reads of $ios" ||
			check_fail "70/30 mix: $pct% reads of $ios"
	else
		check_fail "70/30 mix did both reads and writes: ios=$ios reads=$reads"
	fi
fi
# Per session, lunard holds its connection and login state; 4 MiB is far
# above that (about 150 KiB, more under ASan) and far below a data buffer of
# the largest burst for each.
session_rss_bound_kib=4096
for sessions in 4 16 64; do
	qd=$((32 / sessions))
	if bench "sessions-$sessions" --rw randread --bs 4k --qd $((qd > 0 ? qd : 1)) \
		--connections "$sessions" --seconds 2; then
		check_eq "$sessions sessions reported" "$sessions" "$(field conns "$line")"
		share=$(field sess_min_pct "$line")
		((share > 0)) && check_ok "every one of $sessions sessions completed commands (least: $share%)" ||
			check_fail "a session of $sessions completed nothing: $line"
		per=$((($(field target_rss_kib_logged_in "$line") - $(field target_rss_kib_before "$line")) / sessions))
		((per <= session_rss_bound_kib)) &&
			check_ok "lunard's RSS grew by $per KiB per session at $sessions logins (bound $session_rss_bound_kib)" ||
			check_fail "lunard's RSS grew by $per KiB per session at $sessions logins (bound $session_rss_bound_kib): $line"
	fi
done
# Random writes after the mix: still stamped right where the reads land.
bench randwrite --rw randwrite --bs 4k --qd 16 --seconds 1 || true
bench randread-after --rw randread --bs 4k --qd 16 --seconds 1 || true

if check_run "lunar-tcp-rtt measures the loopback round trip" "$work/rtt.out" \
	timeout 30 "$bench_dir/lunar-tcp-rtt" --seconds 1; then
	rtt=$(head -n 1 "$work/rtt.out")
	echo "round=1 ceiling=$rtt" >>"$work/raw"
	trips=$(field round_trips "$rtt")
	((${trips:-0} > 0)) && check_ok "round trips counted: $rtt" ||
		check_fail "no round trip counted: $rtt"
fi
if check_run "lunar-bench-report reads the results" "$work/report.md" \
	timeout 30 "$bench_dir/lunar-bench-report" "$work/raw"; then
	grep -q '^| randrw70 IOPS | ' "$work/report.md" && check_ok "report has the mix row" ||
		check_fail "report lacks the mix row: $(head -c 600 "$work/report.md")"
	[[ $(grep -c '^| sessions-64 | ' "$work/report.md") -ge 5 ]] &&
		check_ok "report has the 64-session row in the latency, CPU, least-served and both RSS tables" ||
		check_fail "report lacks 64-session rows: $(grep 'sessions-64' "$work/report.md")"
fi

# The soak starts its own lunard (the same binary). 16 MiB: ASan's heap is
# larger and noisier than a plain one (8 MiB in a full soak); a leak of
# 1 KiB per command would still outgrow it many times over, and soak.sh
# fails by itself when too few commands ran for that to hold.
if check_run "soak: 30 s of mixed load, RssAnon within 16 MiB after the warm-up, descriptors back to rest" \
	"$work/soak.out" timeout 150 "$here/soak.sh" --lunard "$SERVER_BIN" --bench-dir "$bench_dir" \
	--seconds 30 --interval 2 --rss-bound-mib 16; then
	sed -n '/^after the warm-up/,$p' "$work/soak.out" | sed 's/^/    /'
fi

server_alive && check_ok "lunard still running" || check_fail "lunard died"
((CHECK_FAILED == 0)) || server_show_tail_once
check_summary
