#!/usr/bin/env bash
# Soak: lunard under a mixed load for minutes, its memory and descriptors
# sampled all along. After a warm-up its anonymous resident set must stay
# within a bound, and once every session has ended its open descriptors must be back
# where they started. Prints a table and a verdict; exits non-zero on
# growth, on a failed or wrong read, or on a sanitizer report.
# See bench/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/soak.sh [options]
  --build DIR        build with lunard and bench/ (default: first build*/ that has both)
  --lunard PATH      the lunard to soak (default: the build's)
  --bench-dir DIR    where lunar-bench is (default: the build's bench/)
  --minutes M        length of the load, decimals allowed (default 10, max 120)
  --seconds S        the same in seconds (at least 12)
  --interval S       seconds between samples (default 10)
  --warmup S         seconds before the RSS baseline (default 60, or a third
                     of a shorter run)
  --rss-bound-mib N  growth allowed after the warm-up (default 8)
  --leak-bytes B     the run must be long enough that a leak of B bytes per
                     command would outgrow the bound (default 1024)
  --port P           lunard's portal, 127.0.0.1:P (default: a free port)
  --dir DIR          where the work directory goes (default /dev/shm)
EOF
}

die() { echo "soak.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

build= lunard= bench_dir= minutes=10 seconds= interval=10 warmup= bound_mib=8
leak_bytes=1024 port= dir=/dev/shm
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--lunard) lunard=$2; shift 2 ;;
	--bench-dir) bench_dir=$2; shift 2 ;;
	--minutes) minutes=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--interval) interval=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--rss-bound-mib) bound_mib=$2; shift 2 ;;
	--leak-bytes) leak_bytes=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
if [[ -z $seconds ]]; then
	[[ $minutes =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--minutes must be a number"
	seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 0.5 }')
fi
is_uint "$seconds" && ((seconds >= 12 && seconds <= 7200)) || die "the run must last 12 s to 120 min"
is_uint "$interval" && ((interval >= 1 && interval <= 60)) || die "--interval must be 1..60"
[[ -n $warmup ]] || warmup=$((seconds / 3 < 60 ? seconds / 3 : 60))
is_uint "$warmup" && ((warmup >= interval && warmup < seconds)) ||
	die "--warmup must be at least one --interval and shorter than the run"
is_uint "$bound_mib" && ((bound_mib >= 1 && bound_mib <= 4096)) || die "--rss-bound-mib must be 1..4096"
is_uint "$leak_bytes" && ((leak_bytes >= 1)) || die "--leak-bytes must be a positive number"

if [[ -z $build && ( -z $lunard || -z $bench_dir ) ]]; then
	for d in "$root"/build*/; do
		[[ -x $d/src/daemon/lunard && -x $d/bench/lunar-bench ]] && { build=${d%/}; break; }
	done
fi
[[ -n $lunard ]] || lunard=$build/src/daemon/lunard
[[ -n $bench_dir ]] || bench_dir=$build/bench
[[ -x $lunard ]] || die "no lunard at '$lunard' (--build or --lunard)"
bench=$bench_dir/lunar-bench
[[ -x $bench ]] || die "no lunar-bench at '$bench' (--build or --bench-dir)"

port_taken() { [[ -n $(ss -Htan "sport = :$1") ]]; }
if [[ -z $port ]]; then
	# Below the ephemeral range, so no outgoing connection takes it meanwhile.
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + RANDOM % 12000))
		port_taken "$port" || break
	done
fi
is_uint "$port" && ((port >= 1024 && port <= 65535)) || die "--port must be 1024..65535"
port_taken "$port" && die "port $port is in use"
[[ -d $dir && -w $dir ]] || die "--dir $dir is not a writable directory"

iqn=iqn.2026-11.org.lunar:soak
url=iscsi://127.0.0.1:$port/$iqn/0
span_mib=64
steady_sessions=16
# The steady mix: 16 sessions of 2 commands, 70% reads, each read checked.
steady_args=(--rw randrw --rwmix-read 70 --bs 4k --qd 2 --connections "$steady_sessions")
burst_period=15
churn_period=1

work=$(mktemp -d "$dir/lunar-soak.XXXXXX")
lunar_pid=
loop_pids=()

stop_loops() {
	local p
	for p in "${loop_pids[@]}"; do
		# The loop's lunar-bench runs under timeout, which passes the
		# signal on; then the loop itself.
		pkill -TERM -P "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${loop_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	loop_pids=()
}

stop_lunard() {
	[[ -n $lunar_pid ]] || return 0
	local i
	kill -TERM "$lunar_pid" 2>/dev/null || true
	# lunard gives initiators 10 s to log out before it stops.
	for ((i = 0; i < 150; i++)); do
		kill -0 "$lunar_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$lunar_pid" 2>/dev/null || true
	wait "$lunar_pid" 2>/dev/null || true
	lunar_pid=
}

cleanup() {
	local rc=$?
	trap '' PIPE
	set +e
	stop_loops
	stop_lunard
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

truncate -s $((2 * span_mib))M "$work/lun.img"
cat >"$work/lunard.conf" <<EOF
state_dir = "$work";
threads = 2;
portals = [ "127.0.0.1:$port" ];
management = { socket = "$work/lunar.sock"; };
targets = (
  { name = "$iqn"; open = true;
    luns = ( { lun = 0; backend = "file"; path = "$work/lun.img"; size = "$((2 * span_mib))M"; } ); }
);
EOF
# With AddressSanitizer, freed memory waits in a quarantine (256 MiB by
# default) before reuse, which would read as growth: a small one makes RSS
# mean what it means without it. Other builds ignore the variable.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 \
	"$lunard" --foreground --config "$work/lunard.conf" >"$work/lunard.log" 2>&1 &
lunar_pid=$!
for ((i = 0; i < 200; i++)); do
	kill -0 "$lunar_pid" 2>/dev/null || { cat "$work/lunard.log" >&2; die "lunard exited"; }
	[[ -n $(ss -Hltn "sport = :$port") ]] && break
	sleep 0.1
done
((i < 200)) || { cat "$work/lunard.log" >&2; die "lunard does not listen on 127.0.0.1:$port"; }

# rss_kib KEY: VmRSS or RssAnon of lunard, in KiB.
rss_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$lunar_pid/status"; }
fd_count() { find "/proc/$lunar_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
conn_count() { ss -Htn state established "sport = :$port" | wc -l; }

fd_baseline=$(fd_count)
echo "soak: lunard $("$lunard" --version 2>&1 | head -1 | awk '{print $NF}') (pid $lunar_pid) on 127.0.0.1:$port," \
	"file LUN in $work; $seconds s of load, samples every $interval s, warm-up $warmup s," \
	"RSS bound $bound_mib MiB; $fd_baseline descriptors open at rest"

# run_bench LOG ARGS...: one bounded lunar-bench run with every read
# checked; appends "start_ms end_ms ios sessions" to $work/ios, its line
# to LOG.
run_bench() {
	local log=$1 start line rc=0
	shift
	start=$(now_ms)
	line=$(timeout --kill-after=5 120 "$bench" --url "$url" --span "${span_mib}M" --verify \
		--cpu-pid "$lunar_pid" "$@" 2>>"$work/bench.err") || rc=$?
	echo "$line" >>"$log"
	if ((rc != 0)); then
		echo "lunar-bench $* failed (exit $rc)" >>"$work/bench.err"
		return 1
	fi
	echo "$start $(now_ms) $(sed -n 's/.* conns=\([0-9]*\) ios=\([0-9]*\) .*/\2 \1/p' <<<"$line")" >>"$work/ios"
}

# Every block of the span written with its stamp, so any later read checks.
run_bench "$work/fill.log" --rw write --bs 1M --qd 4 --max-ios "$span_mib" --seconds 60 ||
	{ cat "$work/bench.err" >&2; die "the fill failed"; }
: >"$work/ios"

t0=$(now_ms)
end_ms=$((t0 + seconds * 1000))
left_s() { echo $(((end_ms - $(now_ms)) / 1000)); }

# Each loop stops at the deadline, after a bounded number of runs, or at its
# first failure (recorded in $work/failed).
steady_loop() {
	local n s
	for ((n = 0; n < 200; n++)); do
		s=$(left_s)
		((s >= 1)) || return 0
		run_bench "$work/steady.log" "${steady_args[@]}" --seconds $((s < 60 ? s : 60)) ||
			{ echo steady >>"$work/failed"; return 1; }
	done
}

# 1 MiB sequential bursts over the whole span, writes and reads in turn.
burst_loop() {
	local n rw
	sleep 3
	for ((n = 0; n < 1000; n++)); do
		(($(left_s) >= 3)) || return 0
		rw=write
		((n % 2)) && rw=read
		run_bench "$work/burst.log" --rw "$rw" --bs 1M --qd 4 --max-ios "$span_mib" --seconds 5 ||
			{ echo burst >>"$work/failed"; return 1; }
		sleep "$burst_period"
	done
}

# Sessions that log in, do a little and log out again.
churn_loop() {
	local n
	sleep 1
	for ((n = 0; n < 10000; n++)); do
		(($(left_s) >= 2)) || return 0
		run_bench "$work/churn.log" --rw randread --bs 4k --qd 1 --connections 4 \
			--max-ios 200 --seconds 1 || { echo churn >>"$work/failed"; return 1; }
		sleep "$churn_period"
	done
}

steady_loop & loop_pids+=($!)
burst_loop & loop_pids+=($!)
churn_loop & loop_pids+=($!)

# Kept as "t_s phase VmRSS_KiB RssAnon_KiB fds connections", and printed
# as a table row as it comes.
samples=$work/samples
: >"$samples"
sample() {
	local t=$(( ($(now_ms) - t0) / 1000 )) row
	row="$t $1 $(rss_kib VmRSS) $(rss_kib RssAnon) $(fd_count) $(conn_count)"
	echo "$row" >>"$samples"
	awk '{ printf "| %d | %s | %.1f | %.1f | %d | %d |\n", $1, $2, $3 / 1024, $4 / 1024, $5, $6 }' <<<"$row"
}
echo
echo "| t (s) | phase | VmRSS MiB | RssAnon MiB | open fds | connections |"
echo "|---|---|---|---|---|---|"
next=$((t0 + interval * 1000))
while (($(now_ms) < end_ms)); do
	kill -0 "$lunar_pid" 2>/dev/null || break
	[[ -s $work/failed ]] && break
	sleep 0.2
	if (($(now_ms) >= next)); then
		if (((next - t0) / 1000 <= warmup)); then sample warm-up; else sample load; fi
		next=$((next + interval * 1000))
	fi
done
# The loops end by themselves at the deadline; each run is bounded.
for p in "${loop_pids[@]}"; do
	wait "$p" 2>/dev/null || true
done
loop_pids=()
lunard_alive=1
kill -0 "$lunar_pid" 2>/dev/null || lunard_alive=0

# Every session has logged out: lunard's descriptors go back to rest.
fds_after=-1
if ((lunard_alive)); then
	for ((i = 0; i < 100; i++)); do
		fds_after=$(fd_count)
		((fds_after <= fd_baseline)) && break
		sleep 0.1
	done
	sample rest
fi

echo

# Baseline: the highest RSS of the warm-up, when every kind of load has run
# once; growth: the highest after it, under the same load, over that.
# Anonymous memory only (RssAnon, column 4): what lunard itself holds. A
# file LUN's reads are sent from its page cache mapped into lunard
# (zero_copy), which VmRSS counts as soon as a 1 MiB burst has touched it,
# though those pages are the kernel's cache, shared and reclaimable.
read -r base peak < <(awk '$2 == "warm-up" && $4 > b { b = $4 } $2 == "load" && $4 > p { p = $4 }
	END { print b + 0, p + 0 }' "$samples")
growth_kib=$((peak - base))
# After the warm-up: commands completed (runs across its end counted in
# part) and sessions logged in.
warm_end_ms=$((t0 + warmup * 1000))
read -r commands logins < <(awk -v w="$warm_end_ms" '$2 > w && $2 > $1 {
	f = ($1 >= w) ? 1 : ($2 - w) / ($2 - $1); n += $3 * f; if ($1 >= w) l += $4 }
	END { printf "%d %d\n", n, l }' "$work/ios")
runs=$(wc -l <"$work/ios")
catch_bytes=$(awk -v b=$((bound_mib * 1048576)) -v n="$commands" 'BEGIN { printf "%.1f", (n > 0) ? b / n : -1 }')
echo "after the warm-up: $commands commands and $logins logins in $runs runs of lunar-bench" \
	"(steady $steady_sessions sessions, 1 MiB bursts, 4-session logins and logouts)"
echo "RssAnon: highest in the warm-up $((base / 1024)) MiB, highest after it $((peak / 1024)) MiB:" \
	"growth $growth_kib KiB, bound $((bound_mib * 1024)) KiB"
if ((commands > 0)); then
	echo "a leak of $catch_bytes bytes or more per command would have outgrown the bound" \
		"$( ((logins > 0)) && echo "(or of $((bound_mib * 1024 / logins)) KiB per login)")"
fi
echo "descriptors: $fd_baseline at rest before the load, $fds_after after every session ended"

verdict=0
fail() { echo "FAIL: $*"; verdict=1; }
((lunard_alive)) || fail "lunard died"
if [[ -s $work/failed ]]; then
	fail "lunar-bench failed in the $(sort -u "$work/failed" | tr '\n' ' ')load:"
	tail -n 5 "$work/bench.err" | sed 's/^/    /'
fi
((base > 0 && peak > 0)) || fail "too few samples: need one in the warm-up and one after it"
((growth_kib <= bound_mib * 1024)) || fail "RssAnon grew by $growth_kib KiB after the warm-up (bound $((bound_mib * 1024)) KiB)"
((fds_after >= 0 && fds_after <= fd_baseline)) ||
	fail "descriptors did not return to $fd_baseline after the sessions ended: $fds_after"
awk -v c="$catch_bytes" -v l="$leak_bytes" 'BEGIN { exit !(c >= 0 && c <= l) }' ||
	fail "too few commands after the warm-up ($commands) for the bound to catch a leak of $leak_bytes bytes per command"
stop_lunard
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$work/lunard.log"; then
	fail "lunard's sanitizers reported:"
	grep -m 5 -E 'ERROR: |runtime error:' "$work/lunard.log" | sed 's/^/    /'
fi
if ((verdict != 0)); then
	echo "---- lunard's log, last 15 lines ----"
	tail -n 15 "$work/lunard.log"
else
	echo "PASS: no growth: RssAnon within $bound_mib MiB after the warm-up, descriptors back to rest"
fi
exit "$verdict"
