#!/usr/bin/env bash
# Compares lunar with tgt and istgt in one run, fairly: identical fully
# written 1 GiB tmpfs files, interleaved rounds, the machine's own ceilings
# measured beside them, medians, ratios and the targets' CPU time per I/O.
# See bench/README.md for what the figures mean and how noisy they are.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [options]
  --build DIR        build with lunard and bench/ (default: first build*/ that has both)
  --rounds R         interleaved rounds (default 3, max 20)
  --seconds S        seconds per measurement (default 5, max 60)
  --quick            1 round of 2 seconds: a smoke test (about 5 min)
  --targets LIST     comma-separated subset of
                     lunar-file,lunar-mem,tgt,tgt-256k,tgt-null,istgt (default all;
                     the first is the reference of the ratios)
  --dir DIR          where the backing files go (default /dev/shm; needs 3.2 GiB)
  --port-base P      lunar P, tgt P+1, istgt P+2 and P+3 (its control port),
                     iperf3 P+4 (default 3290)
  --lunar-threads N  lunard data-plane threads (default 2)
  --out PREFIX       keep PREFIX.raw and PREFIX.md (default /tmp/lunar-bench-DATE)
EOF
}

die() { echo "run.sh: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

build=
rounds=3
seconds=5
target_list=lunar-file,lunar-mem,tgt,tgt-256k,tgt-null,istgt
dir=/dev/shm
port_base=3290
lunar_threads=2
out=/tmp/lunar-bench-$(date -u +%Y%m%d-%H%M%S)

while [[ $# -gt 0 ]]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--quick) rounds=1; seconds=2; shift ;;
	--targets) target_list=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--port-base) port_base=$2; shift 2 ;;
	--lunar-threads) lunar_threads=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$rounds" && ((rounds >= 1 && rounds <= 20)) || die "--rounds must be 1..20"
is_uint "$seconds" && ((seconds >= 1 && seconds <= 60)) || die "--seconds must be 1..60"
is_uint "$lunar_threads" && ((lunar_threads >= 1 && lunar_threads <= 64)) || die "--lunar-threads must be 1..64"
# tgtd names its control socket after the port, and takes no number above 32767.
is_uint "$port_base" && ((port_base >= 1024 && port_base <= 32762)) || die "--port-base must be 1024..32762"
IFS=, read -r -a targets <<<"$target_list"
((${#targets[@]} >= 1)) || die "--targets is empty"
for t in "${targets[@]}"; do
	case $t in
	lunar-file|lunar-mem|tgt|tgt-256k|tgt-null|istgt) ;;
	*) die "unknown target '$t' in --targets" ;;
	esac
done
[[ $(printf '%s\n' "${targets[@]}" | sort | uniq -d) == "" ]] || die "a target is named twice in --targets"
((EUID == 0)) || die "run as root: tgtd and the package installation need it"

if [[ -z $build ]]; then
	for d in "$root"/build*/; do
		[[ -x $d/src/daemon/lunard && -x $d/bench/lunar-bench ]] && { build=${d%/}; break; }
	done
fi
[[ -n $build ]] || die "no build found with lunard and bench/lunar-bench; build one (meson setup build && ninja -C build) or pass --build"
lunard=$build/src/daemon/lunard
bench=$build/bench/lunar-bench
tcp_rtt=$build/bench/lunar-tcp-rtt
report=$build/bench/lunar-bench-report
for b in "$lunard" "$bench" "$tcp_rtt" "$report"; do
	[[ -x $b ]] || die "$b is missing; run ninja -C $build"
done

# shellcheck source=../scripts/deps.sh
. "$root/scripts/deps.sh"
# shellcheck disable=SC2016
timeout 900 bash -c '. "$1"; lunar_install $2' _ "$root/scripts/deps.sh" "$LUNAR_BENCH_PKGS" ||
	die "could not install $LUNAR_BENCH_PKGS"

uses() { [[ ",$target_list," == *",$1"* ]]; }
lunar_port=$port_base
tgt_port=$((port_base + 1))
istgt_port=$((port_base + 2))
istgt_ctl_port=$((port_base + 3))
iperf_port=$((port_base + 4))
ports=("$iperf_port")
uses lunar && ports+=("$lunar_port")
uses tgt && ports+=("$tgt_port")
uses istgt && ports+=("$istgt_port" "$istgt_ctl_port")
port_taken() { [[ -n $(ss -Hltn "sport = :$1") ]]; }
for p in "${ports[@]}"; do
	port_taken "$p" && die "port $p is already in use on this machine (choose --port-base)"
done

[[ -d $dir && -w $dir ]] || die "--dir $dir is not a writable directory"
lun_bytes=$((1 << 30))
((($(df -B1 --output=avail "$dir" | tail -1)) > 3 * lun_bytes + (200 << 20))) ||
	die "$dir has less than 3.2 GiB free for three 1 GiB backing files"

iqn=iqn.2026-11.org.lunar
# Every command is bounded: a measurement by its own time plus this margin,
# and 2 s for each session's login: istgt accepts one connection a second
# (it sleeps 1 s after starting each connection's thread).
run_margin=60
login_s=2

# name | lunar-bench arguments. The 4- and 16-session rows keep 32 commands
# in flight in total, like randread-4k-qd32, so they show what more sessions
# cost or gain; 64 sessions of one command each show whether each keeps its
# share when there are many (issue 9: 1, 4, 16 and 64 sessions).
workloads=(
	"randread-4k-qd1|--rw randread --bs 4k --qd 1"
	"randread-4k-qd32|--rw randread --bs 4k --qd 32"
	"randwrite-4k-qd32|--rw randwrite --bs 4k --qd 32"
	"randrw70-4k-qd32|--rw randrw --rwmix-read 70 --bs 4k --qd 32"
	"read-128k-qd8|--rw read --bs 128k --qd 8"
	"write-128k-qd8|--rw write --bs 128k --qd 8"
	"read-1m-qd4|--rw read --bs 1M --qd 4"
	"write-1m-qd4|--rw write --bs 1M --qd 4"
	"randread-4k-4x8|--rw randread --bs 4k --qd 8 --connections 4"
	"randread-4k-16x2|--rw randread --bs 4k --qd 2 --connections 16"
	"randread-4k-64x1|--rw randread --bs 4k --qd 1 --connections 64"
)

ceiling_seconds=$((seconds < 3 ? seconds : 3))
runs=$((${#workloads[@]} * rounds * ${#targets[@]}))
estimate=$((runs * seconds + runs / 2 + rounds * (2 * ceiling_seconds + 2) + 30))
# istgt's logins, one a second: a round's sessions in seconds.
if uses istgt; then
	for w in "${workloads[@]}"; do
		[[ $w =~ --connections\ ([0-9]+) ]] && estimate=$((estimate + rounds * BASH_REMATCH[1])) ||
			estimate=$((estimate + rounds))
	done
fi
printf 'run.sh: %d rounds x %d workloads x %d targets of %d s; about %d min %d s in all\n' \
	"$rounds" "${#workloads[@]}" "${#targets[@]}" "$seconds" $((estimate / 60)) $((estimate % 60))

work=$(mktemp -d "$dir/lunar-bench.XXXXXX")
lunar_pid=
tgt_pid=
istgt_pid=
iperf_pid=

wait_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# stop_pid PID [SIGNAL]: asks, then forces after 5 s.
stop_pid() {
	[[ -n $1 ]] || return 0
	kill "-${2:-TERM}" "$1" 2>/dev/null || true
	wait_gone "$1" || kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

stop_tgt() {
	[[ -n $tgt_pid ]] || return 0
	local tid
	# tgtd ignores SIGTERM; it leaves only through its control socket.
	for tid in 1 2 3; do
		timeout 10 tgtadm -C "$tgt_port" --lld iscsi --op delete --mode target --tid "$tid" --force >/dev/null 2>&1 || true
	done
	timeout 10 tgtadm -C "$tgt_port" --op delete --mode system >/dev/null 2>&1 || true
	stop_pid "$tgt_pid" KILL
	rm -f "/var/run/tgtd/socket.$tgt_port" "/var/run/tgtd/socket.$tgt_port.lock"
	tgt_pid=
}

cleanup() {
	local rc=$?
	stop_pid "$iperf_pid"
	stop_pid "$lunar_pid"
	stop_tgt
	stop_pid "$istgt_pid"
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to 5 s for a server we started to listen; fails if it died.
wait_listening() {
	local pid=$1 port=$2 log=$3 i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "server on port $port exited"; }
		port_taken "$port" && return 0
		sleep 0.1
	done
	cat "$log" >&2
	die "nothing listens on port $port after 5 s"
}

# One file fully written (tmpfs allocates every page now, not during the
# runs), copied for each server so none shares another's page cache or locks.
make_backing_files() {
	# shellcheck disable=SC2016
	timeout 120 bash -c 'set -o pipefail; { yes "lunar-bench backing file, every page written" || true; } |
		head -c "$1" >"$2"' _ "$lun_bytes" "$work/base.img" || die "cannot write $work/base.img"
	local f
	for f in lunar tgt istgt; do
		timeout 60 cp --sparse=never "$work/base.img" "$work/$f.img" || die "cannot copy $work/$f.img"
		(($(stat -c '%b * %B' "$work/$f.img") >= lun_bytes)) || die "$work/$f.img is not fully allocated"
	done
	rm -f "$work/base.img"
}

start_lunar() {
	cat >"$work/lunard.conf" <<EOF
state_dir = "$work";
threads = $lunar_threads;
portals = [ "127.0.0.1:$lunar_port" ];
management = { socket = "$work/lunar.sock"; };
# 64 sessions from one address is the default cap: room for a run's
# sessions while the last run's are still closing.
limits = { max_connections_per_address = 256; };
targets = (
  { name = "$iqn:file"; open = true;
    luns = ( { lun = 0; backend = "file"; path = "$work/lunar.img"; size = "1G"; } ); },
  { name = "$iqn:mem"; open = true;
    luns = ( { lun = 0; backend = "memory"; size = "1G"; } ); }
);
EOF
	"$lunard" --foreground --config "$work/lunard.conf" >"$work/lunard.log" 2>&1 &
	lunar_pid=$!
	wait_listening "$lunar_pid" "$lunar_port" "$work/lunard.log"
	echo "lunar: lunard $("$lunard" --version 2>&1 | head -1 | awk '{print $NF}'), threads = $lunar_threads," \
		"max_connections_per_address = 256, defaults otherwise; file LUN $work/lunar.img, memory LUN 1 GiB (filled before the runs);" \
		"$(ls /proc/"$lunar_pid"/task | wc -l) OS threads"
}

# tgt's best settings: the largest PDUs and bursts it accepts from its
# initiators, and unsolicited data without waiting for an R2T.
tgt_best_keys=(MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144
	FirstBurstLength=262144 MaxBurstLength=1048576 InitialR2T=No ImmediateData=Yes)

start_tgt() {
	local tadm=(timeout 10 tgtadm -C "$tgt_port" --lld iscsi) tid name store kv
	local names=(tgt tgt-256k tgt-null)
	tgtd -f -C "$tgt_port" --iscsi "portal=127.0.0.1:$tgt_port" >"$work/tgtd.log" 2>&1 &
	tgt_pid=$!
	wait_listening "$tgt_pid" "$tgt_port" "$work/tgtd.log"
	# LUN 0 of a tgt target is its controller; the disk is LUN 1. tid 1 keeps
	# every default; 2 and 3 take the best keys, 3 over the null store.
	for tid in 1 2 3; do
		name=${names[tid - 1]}
		store=(-b "$work/tgt.img" --bstype rdwr)
		((tid == 3)) && store=(-b /dev/null --bstype null)
		"${tadm[@]}" --op new --mode target --tid "$tid" -T "$iqn:$name"
		"${tadm[@]}" --op new --mode logicalunit --tid "$tid" --lun 1 "${store[@]}"
		"${tadm[@]}" --op bind --mode target --tid "$tid" -I ALL
		((tid == 1)) && continue
		for kv in "${tgt_best_keys[@]}"; do
			"${tadm[@]}" --op update --mode target --tid "$tid" --name "${kv%%=*}" --value "${kv#*=}"
		done
	done
	echo "tgt: tgtd $(tgtd -V 2>/dev/null || echo '?'), one process for three targets, $(ls /proc/"$tgt_pid"/task | wc -l) OS threads;"
	echo "  tgt      rdwr store (16 I/O threads per LUN), defaults: $("${tadm[@]}" --op show --mode target --tid 1 |
		grep -E '^(MaxRecvDataSegmentLength|FirstBurstLength|MaxBurstLength|InitialR2T|ImmediateData|MaxQueueCmd)=' | tr '\n' ' ')"
	echo "  tgt-256k rdwr store, ${tgt_best_keys[*]}"
	echo "  tgt-null null store (no data kept: tgt's transport alone), the same keys"
}

start_istgt() {
	: >"$work/istgt-auth.conf"
	# istgt refuses InitialR2T No; everything else at its largest, and
	# room for the 64-session row (its default MaxSessions is 32).
	cat >"$work/istgt.conf" <<EOF
[Global]
  NodeBase "$iqn"
  PidFile $work/istgt.pid
  AuthFile $work/istgt-auth.conf
  MediaDirectory $work
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod None
  MaxSessions 128
  MaxConnections 4
  FirstBurstLength 262144
  MaxBurstLength 1048576
  MaxRecvDataSegmentLength 262144
  InitialR2T Yes
  ImmediateData Yes
[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:$istgt_ctl_port
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:$istgt_port
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.1
[LogicalUnit1]
  TargetName istgt
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UseDigest Auto
  UnitType Disk
  QueueDepth 64
  LUN0 Storage $work/istgt.img Auto
EOF
	istgt -c "$work/istgt.conf" -D -q >"$work/istgt.log" 2>&1 &
	istgt_pid=$!
	wait_listening "$istgt_pid" "$istgt_port" "$work/istgt.log"
	echo "istgt: $(istgt -V 2>&1 | head -1), MaxRecvDataSegmentLength 262144, FirstBurstLength 262144," \
		"MaxBurstLength 1048576, ImmediateData Yes, InitialR2T Yes, QueueDepth 64, MaxSessions 128;" \
		"$(ls /proc/"$istgt_pid"/task | wc -l) OS threads"
}

url_of() {
	case $1 in
	lunar-file) echo "iscsi://127.0.0.1:$lunar_port/$iqn:file/0" ;;
	lunar-mem) echo "iscsi://127.0.0.1:$lunar_port/$iqn:mem/0" ;;
	tgt|tgt-256k|tgt-null) echo "iscsi://127.0.0.1:$tgt_port/$iqn:$1/1" ;;
	istgt) echo "iscsi://127.0.0.1:$istgt_port/$iqn:istgt/0" ;;
	esac
}

pid_of() {
	case $1 in
	lunar-*) echo "$lunar_pid" ;;
	tgt*) echo "$tgt_pid" ;;
	istgt) echo "$istgt_pid" ;;
	esac
}

# Sequential 1 MiB commands over the whole LUN: fills the memory LUN, and
# warms every target's own state (threads, buffers, page tables).
sweep() {
	timeout $((run_margin + 60)) "$bench" --url "$(url_of "$1")" --rw "$2" --bs 1M --qd 4 \
		--span "$lun_bytes" --max-ios $((lun_bytes >> 20)) --seconds 60 >/dev/null 2>"$work/sweep.err" ||
		{ cat "$work/sweep.err" >&2; die "$2 sweep of $1 failed"; }
}

raw=$work/results.raw
: >"$raw"

measure_ceilings() {
	local round=$1 line
	line=$(timeout $((ceiling_seconds + 20)) "$tcp_rtt" --seconds "$ceiling_seconds") ||
		die "lunar-tcp-rtt failed"
	echo "round=$round ceiling=$line" >>"$raw"
	iperf3 -s -1 -B 127.0.0.1 -p "$iperf_port" >"$work/iperf3-server.log" 2>&1 &
	iperf_pid=$!
	wait_listening "$iperf_pid" "$iperf_port" "$work/iperf3-server.log"
	timeout $((ceiling_seconds + 20)) iperf3 -c 127.0.0.1 -p "$iperf_port" -t "$ceiling_seconds" -J \
		>"$work/iperf3.json" 2>&1 || { cat "$work/iperf3.json" >&2; die "iperf3 failed"; }
	stop_pid "$iperf_pid"
	iperf_pid=
	local bps
	bps=$(grep -A12 '"sum_received"' "$work/iperf3.json" | sed -n 's/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' | head -1)
	[[ -n $bps ]] || die "no throughput in iperf3's answer"
	echo "round=$round ceiling=iperf3 mbps=$(awk -v b="$bps" 'BEGIN { printf "%.0f", b / 8e6 }')" >>"$raw"
	tail -n 2 "$raw" | sed 's/^/  /' >&2
}

# measure ROUND WORKLOAD TARGET ARGS...: one run; a failed run is recorded
# and the rounds go on, a dead server ends everything.
measure() {
	local round=$1 name=$2 t=$3 pid line sessions=1
	shift 3
	[[ "$*" =~ --connections\ ([0-9]+) ]] && sessions=${BASH_REMATCH[1]}
	pid=$(pid_of "$t")
	kill -0 "$pid" 2>/dev/null || die "the server of $t (pid $pid) is gone"
	if line=$(timeout --kill-after=5 $((seconds + run_margin + sessions * login_s)) "$bench" --url "$(url_of "$t")" "$@" \
		--seconds "$seconds" --span "$lun_bytes" --seed "$round" --cpu-pid "$pid" 2>"$work/bench.err"); then
		echo "round=$round workload=$name target=$t $line" >>"$raw"
		printf '  %-18s %-10s round %d: %s\n' "$name" "$t" "$round" "$line" >&2
	else
		echo "round=$round workload=$name target=$t failed=1" >>"$raw"
		printf '  %-18s %-10s round %d: FAILED: %s\n' "$name" "$t" "$round" "$(tr '\n' ' ' <"$work/bench.err")" >&2
	fi
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
	"$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); backing files in $dir ($(stat -f -c %T "$dir"))"
echo "uptime before: $(uptime)"
make_backing_files
uses lunar && start_lunar
uses tgt && start_tgt
uses istgt && start_istgt
uses lunar-mem && sweep lunar-mem write
for t in "${targets[@]}"; do
	sweep "$t" read
done

for ((r = 1; r <= rounds; r++)); do
	echo "round $r of $rounds" >&2
	measure_ceilings "$r"
	# Each round starts with another target, so none always runs first.
	order=("${targets[@]:$(((r - 1) % ${#targets[@]}))}" "${targets[@]:0:$(((r - 1) % ${#targets[@]}))}")
	for w in "${workloads[@]}"; do
		read -r -a args <<<"${w#*|}"
		for t in "${order[@]}"; do
			measure "$r" "${w%%|*}" "$t" "${args[@]}"
		done
	done
done
# Round 1 runs the targets in --targets order, so the report's columns
# (in order of first appearance) follow it: the reference first.
cp "$raw" "$out.raw"
echo
echo "uptime after: $(uptime)"
echo
"$report" "$out.raw" | tee "$out.md"
echo
echo "raw results: $out.raw; tables: $out.md"
