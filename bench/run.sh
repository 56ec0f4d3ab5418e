#!/usr/bin/env bash
# Runs lunar and Debian's tgt side by side on loopback over identical backing
# files and prints per-workload medians and the lunar/tgt ratio.
# See bench/README.md for what the figures mean and how noisy they are.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [options]
  --lunard PATH      lunard binary (default: first build*/src/daemon/lunard)
  --bench PATH       lunar-bench binary (default: first build*/bench/lunar-bench)
  --reps R           repetitions per workload and target (default 5, max 20)
  --seconds S        seconds per run (default 5, max 60)
  --quick            1 repetition of 2 seconds: a smoke test
  --only lunar|tgt   run one target only (no ratio)
  --dir DIR          where the 1 GiB sparse backing files go (default /dev/shm)
  --lunar-port P     (default 3290)
  --tgt-port P       (default 3291; tgt's control port is the same number)
  --lunar-threads N  lunard data-plane threads (default 2)
  --raw FILE         also keep every run's result line in FILE
EOF
}

die() { echo "run.sh: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

first_existing() {
	local f
	for f in "$@"; do
		[[ -x $f ]] && { echo "$f"; return 0; }
	done
	return 0
}

lunard=$(first_existing "$root"/build*/src/daemon/lunard)
bench=$(first_existing "$root"/build*/bench/lunar-bench)
reps=5
seconds=5
only=
dir=/dev/shm
lunar_port=3290
tgt_port=3291
lunar_threads=2
raw_copy=

while [[ $# -gt 0 ]]; do
	case $1 in
	--lunard) lunard=$2; shift 2 ;;
	--bench) bench=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--quick) reps=1; seconds=2; shift ;;
	--only) only=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--lunar-port) lunar_port=$2; shift 2 ;;
	--tgt-port) tgt_port=$2; shift 2 ;;
	--lunar-threads) lunar_threads=$2; shift 2 ;;
	--raw) raw_copy=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$reps" && ((reps >= 1 && reps <= 20)) || die "--reps must be 1..20"
is_uint "$seconds" && ((seconds >= 1 && seconds <= 60)) || die "--seconds must be 1..60"
is_uint "$lunar_threads" && ((lunar_threads >= 1 && lunar_threads <= 64)) || die "--lunar-threads must be 1..64"
for p in "$lunar_port" "$tgt_port"; do
	is_uint "$p" && ((p >= 1024 && p <= 65535)) || die "port $p must be 1024..65535"
done
((lunar_port != tgt_port)) || die "--lunar-port and --tgt-port must differ"
case $only in
'') targets=(lunar tgt) ;;
lunar|tgt) targets=("$only") ;;
*) die "--only takes lunar or tgt" ;;
esac
[[ -n $bench && -x $bench ]] || die "lunar-bench not found; build it (ninja -C build-x bench/lunar-bench) or pass --bench"
if [[ " ${targets[*]} " == *" lunar "* ]]; then
	[[ -n $lunard && -x $lunard ]] || die "lunard not found; build it or pass --lunard (or --only tgt)"
fi
if [[ " ${targets[*]} " == *" tgt "* ]]; then
	command -v tgtd >/dev/null && command -v tgtadm >/dev/null || die "tgtd/tgtadm not installed (Debian package tgt)"
	((EUID == 0)) || die "tgtd needs root"
fi
[[ -d $dir && -w $dir ]] || die "--dir $dir is not a writable directory"

port_taken() { [[ -n $(ss -Hltn "sport = :$1") ]]; }
for t in "${targets[@]}"; do
	p=${t}_port
	port_taken "${!p}" && die "port ${!p} ($t) is already in use"
done

span=$((256 << 20))
lun_size=1G
lunar_iqn=iqn.2026-11.org.lunar:bench
tgt_iqn=iqn.2026-11.org.lunar:tgt-bench

# name | lunar-bench arguments.  The two-connection row keeps 32 commands in
# flight in total, like the first row, so the two are comparable.
workloads=(
	"randread-4k-qd32|--rw randread --bs 4k --qd 32"
	"randwrite-4k-qd32|--rw randwrite --bs 4k --qd 32"
	"read-128k-qd8|--rw read --bs 128k --qd 8"
	"write-128k-qd8|--rw write --bs 128k --qd 8"
	"randread-4k-2x16|--rw randread --bs 4k --qd 16 --connections 2"
)

# Login, capacity check and logout take well under a second per run; start
# and prefill a few seconds per target.
runs=$((${#workloads[@]} * reps * ${#targets[@]}))
estimate=$((runs * seconds + (runs + 1) / 2 + ${#targets[@]} * 5))
printf 'run.sh: %d runs of %d s (%s x %d reps x %d workloads); about %d min %d s in all\n' \
	"$runs" "$seconds" "${targets[*]}" "$reps" "${#workloads[@]}" $((estimate / 60)) $((estimate % 60))

work=$(mktemp -d "$dir/lunar-bench.XXXXXX")
lunar_pid=
tgt_pid=

stop_tgt() {
	[[ -n $tgt_pid ]] || return 0
	# tgtd ignores SIGTERM; it leaves only through its control socket.
	tgtadm -C "$tgt_port" --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
	tgtadm -C "$tgt_port" --op delete --mode system >/dev/null 2>&1 || true
	wait_gone "$tgt_pid" || kill -KILL "$tgt_pid" 2>/dev/null || true
	wait "$tgt_pid" 2>/dev/null || true
	rm -f "/var/run/tgtd/socket.$tgt_port" "/var/run/tgtd/socket.$tgt_port.lock"
	tgt_pid=
}

stop_lunar() {
	[[ -n $lunar_pid ]] || return 0
	kill -TERM "$lunar_pid" 2>/dev/null || true
	wait_gone "$lunar_pid" || kill -KILL "$lunar_pid" 2>/dev/null || true
	wait "$lunar_pid" 2>/dev/null || true
	lunar_pid=
}

cleanup() {
	local rc=$?
	stop_lunar
	stop_tgt
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

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

start_lunar() {
	mkdir -p "$work/lunar"
	truncate -s "$lun_size" "$work/lunar/lun0.img"
	cat >"$work/lunar/lunard.conf" <<EOF
state_dir = "$work/lunar";
threads = $lunar_threads;
portals = [ "127.0.0.1:$lunar_port" ];
targets = ( { name = "$lunar_iqn"; open = true; luns = ( { lun = 0; backend = "file"; path = "$work/lunar/lun0.img"; size = "$lun_size"; } ); } );
EOF
	"$lunard" --foreground --config "$work/lunar/lunard.conf" >"$work/lunar/lunard.log" 2>&1 &
	lunar_pid=$!
	wait_listening "$lunar_pid" "$lunar_port" "$work/lunar/lunard.log"
	lunar_url="iscsi://127.0.0.1:$lunar_port/$lunar_iqn/0"
}

start_tgt() {
	local tadm=(tgtadm -C "$tgt_port" --lld iscsi)
	mkdir -p "$work/tgt"
	truncate -s "$lun_size" "$work/tgt/lun1.img"
	tgtd -f -C "$tgt_port" --iscsi "portal=127.0.0.1:$tgt_port" >"$work/tgt/tgtd.log" 2>&1 &
	tgt_pid=$!
	wait_listening "$tgt_pid" "$tgt_port" "$work/tgt/tgtd.log"
	# LUN 0 of a tgt target is its controller; the disk is LUN 1.
	"${tadm[@]}" --op new --mode target --tid 1 -T "$tgt_iqn"
	"${tadm[@]}" --op new --mode logicalunit --tid 1 --lun 1 -b "$work/tgt/lun1.img" --bstype rdwr
	"${tadm[@]}" --op bind --mode target --tid 1 -I ALL
	tgt_url="iscsi://127.0.0.1:$tgt_port/$tgt_iqn/1"
}

url_of() { local u=${1}_url; echo "${!u}"; }

# Sequential 1 MiB writes over the span, so reads return real data.
prefill() {
	"$bench" --url "$(url_of "$1")" --rw write --bs 1M --qd 8 --span "$span" \
		--max-ios $((span >> 20)) --seconds 60 >/dev/null \
		|| die "prefill of $1 failed"
}

field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); backing files in $dir ($(stat -f -c %T "$dir"))"
for t in "${targets[@]}"; do
	"start_$t"
	prefill "$t"
done
if [[ -n $lunar_pid ]]; then
	echo "lunar: $lunard, threads = $lunar_threads in its config, $(ls /proc/"$lunar_pid"/task | wc -l) OS threads"
fi
if [[ -n $tgt_pid ]]; then
	echo "tgt: $(tgtd -V 2>/dev/null || echo '?'), defaults (rdwr backing store: 16 I/O threads per LUN), $(ls /proc/"$tgt_pid"/task | wc -l) OS threads;" \
		"$(tgtadm -C "$tgt_port" --lld iscsi --op show --mode target --tid 1 | grep -E '^(MaxRecvDataSegmentLength|FirstBurstLength|MaxBurstLength|InitialR2T|ImmediateData|MaxQueueCmd)=' | tr '\n' ' ')"
fi

raw=$work/results
: >"$raw"
for w in "${workloads[@]}"; do
	name=${w%%|*}
	read -r -a args <<<"${w#*|}"
	for ((r = 1; r <= reps; r++)); do
		for t in "${targets[@]}"; do
			line=$("$bench" --url "$(url_of "$t")" "${args[@]}" --seconds "$seconds" --span "$span" --seed "$r") \
				|| die "$name on $t (rep $r) failed"
			echo "$name $t $r $line" >>"$raw"
			printf '  %-18s %-5s rep %d: %s\n' "$name" "$t" "$r" "$line" >&2
		done
	done
done
[[ -z $raw_copy ]] || cp "$raw" "$raw_copy"

values_of() { # workload target key
	awk -v w="$1" -v t="$2" '$1 == w && $2 == t' "$raw" | while read -r l; do field "$3" " $l"; done
}

# (max - min) / median of a target's IOPS for one workload, in percent.
spread_of() {
	values_of "$1" "$2" iops | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) { print "-"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%d%%", (m > 0 ? 100 * (v[NR] - v[1]) / m : 0) }'
}

echo
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %11s %11s %9s %11s %11s %7s %7s\n' workload "lunar iops" "tgt iops" lunar/tgt \
	"lunar p50us" "tgt p50us" "l.sprd" "t.sprd"
for w in "${workloads[@]}"; do
	name=${w%%|*}
	li=$(values_of "$name" lunar iops | median); ti=$(values_of "$name" tgt iops | median)
	lp=$(values_of "$name" lunar lat_p50_us | median); tp=$(values_of "$name" tgt lat_p50_us | median)
	ratio=-
	[[ $li != - && $ti != - ]] && ratio=$(awk -v a="$li" -v b="$ti" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-18s %11s %11s %9s %11s %11s %7s %7s\n' "$name" "$li" "$ti" "$ratio" "$lp" "$tp" \
		"$(spread_of "$name" lunar)" "$(spread_of "$name" tgt)"
done
echo "(medians of $reps runs of $seconds s; iops over all connections; p50 latency in microseconds;"
echo " sprd = (max - min) / median of the iops runs: above ~20% the machine was busy, rerun)"
