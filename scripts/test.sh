#!/usr/bin/env bash
# Installs what the tests need (Debian packages), builds lunar three ways
# (normal with -Werror, ASan+UBSan, libFuzzer) and runs every test:
#   unit      cmocka unit tests, normal and sanitizer builds
#   wire      malformed PDUs on a raw socket            (sanitizer lunard)
#   wire-limits  pings, idle and stopped peers, short limits (sanitizer lunard)
#   conformance  libiscsi iscsi-test-cu with the ratchet (sanitizer lunard;
#             file LUN, 512-byte blocks)
#   conformance-file512e, -file4k, -mem512, -mem4k  the SCSI families on
#             the other LUs of the matrix (normal lunard, for time)
#   fault     SIGKILL mid-write, dropped connections    (sanitizer lunard)
#   auth      CHAP with libiscsi and on the wire         (sanitizer lunard)
#   access    initiator ACLs, LUN mapping, reinstatement (sanitizer lunard)
#   odx       ODX token copy and EXTENDED COPY end to end (sanitizer lunard)
#   metrics   the Prometheus endpoint: counters follow I/O and logins (sanitizer lunard)
#   isns      registration with isnsd, discovery domains (sanitizer lunard)
#   systemd   READY, STATUS, watchdog pings, STOPPING   (sanitizer lunard)
#   manage-reload  SIGHUP reconfiguration, live and persistent (sanitizer lunard)
#   manage-lunarctl  lunarctl on the management socket, refusals (sanitizer lunard)
#   manage-portal-groups  portal groups (logins, SendTargets, VPD 83h, live moves) and a
#                    growing block device on a loop device (sanitizer lunard)
#   manage-threads  cpu_affinity pinning and its refusals, session placement
#                    on the least-loaded thread (sanitizer lunard)
#   bench-modes  lunar-bench's modes with every read checked (1 to 64
#             sessions); the round-trip tool, the report, and a 30 s soak
#             (no memory growth, descriptors back)  (sanitizer lunard and bench)
#   interop   qemu-img and iscsi-ls                     (normal lunard)
#   hostile   hostile peers beside a good session: memory, stalls, writes
#             that must not happen                      (normal lunard: RSS
#             figures under ASan would measure its shadow and quarantine)
#   fuzz      every libFuzzer target for a short while
# Each stage ends in "N passed, N failed"; the last line sums them.
# Logs: test-logs/. Options: --quick (skip fuzzing), --fuzz-seconds N.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/deps.sh

fuzz_seconds=20
run_fuzz=1
while (($#)); do
	case $1 in
		--quick) run_fuzz=0; shift ;;
		--fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
		*) echo "usage: $0 [--quick] [--fuzz-seconds N]" >&2; exit 2 ;;
	esac
done

# shellcheck disable=SC2086
lunar_install $LUNAR_BUILD_PKGS $LUNAR_TEST_PKGS || { echo "0 passed, 1 failed"; exit 1; }

logs=$top/test-logs
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

total_passed=0
total_failed=0
total_skipped=0
summary=()

# record STAGE PASSED FAILED [SKIPPED]: a skip is counted apart, never as
# a pass.
record() {
	local stage=$1 p=$2 f=$3 s=${4:-0}
	local skips=""
	((s > 0)) && skips=", $s skipped"
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	total_skipped=$((total_skipped + s))
	summary+=("$(printf '%-14s %5d passed, %d failed%s' "$stage" "$p" "$f" "$skips")")
	echo "== $stage: $p passed, $f failed$skips"
}

# Records stage NAME from its log: the last "N passed, N failed" line; a
# non-zero exit RC with no failure counted is one failure (the stage itself
# broke). START is when it began ($SECONDS).
stage_result() {
	local name=$1 rc=$2 start=$3
	local log=$logs/$name.log
	local line p=0 f=0 s=0
	line=$(grep -aE '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[4]:-0}
	fi
	((rc != 0 && f == 0)) && f=1
	if ((f > 0)); then
		echo "-- $name failed (exit $rc); last lines of $log:"
		tail -n 40 "$log"
	fi
	echo "   ($((SECONDS - start)) s)"
	record "$name" "$p" "$f" "$s"
}

# Runs a command whose output ends with "N passed, N failed".
stage() {
	local name=$1
	shift
	local start=$SECONDS
	echo "== $name: $*"
	"$@" >"$logs/$name.log" 2>&1
	stage_result "$name" $? "$start"
}

# build DIR [meson options]: configures (once) and builds; BUILD_TARGETS
# names the ninja targets when the default set is not the one wanted.
build() {
	local dir=$1
	shift
	local log=$logs/build-$dir.log
	# shellcheck disable=SC2086
	if ! { [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@"; } >"$log" 2>&1 ||
		! ninja -C "$dir" ${BUILD_TARGETS:-} >>"$log" 2>&1; then
		echo "-- build $dir failed:"
		tail -n 40 "$log"
		record "build-$dir" 0 1
		return 1
	fi
	record "build-$dir" 1 0
}

# Meson's own test summary, as "N passed, N failed".
unit() {
	local dir=$1
	meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2
	local rc=$?
	local ok fail
	ok=$(grep -E '^Ok:' "$dir/meson-logs/testlog.txt" | awk '{print $2}')
	fail=$(grep -E '^(Fail|Timeout|Unexpected Pass):' "$dir/meson-logs/testlog.txt" |
		awk '{s += $NF} END {print s + 0}')
	echo "${ok:-0} passed, ${fail:-0} failed"
	return $rc
}

sanitizer_clean() {
	local log=$1
	# A stage that kept no log proves nothing about its lunard.
	if [[ ! -s $log ]]; then
		echo "no lunard log at $log"
		echo "0 passed, 1 failed"
		return 1
	fi
	if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log" 2>/dev/null; then
		grep -m5 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"
		echo "0 passed, 1 failed"
		return 1
	fi
	echo "1 passed, 0 failed"
}

have_ci=0
have_asan=0
build build-ci -Dwerror=true --buildtype=debugoptimized && have_ci=1
build build-asan -Dwerror=true --buildtype=debug -Db_sanitize=address,undefined \
	-Db_lundef=false && have_asan=1

if ((have_ci)); then
	stage unit unit build-ci
fi
if ((have_asan)); then
	asan=build-asan
	stage unit-asan unit build-asan
	SERVER_KEEP_LOG=$logs/wire-lunard.log \
		stage wire tests/wire/run.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/wire/lunar-wire-test
	stage wire-sanitizers sanitizer_clean "$logs/wire-lunard.log"
	SERVER_KEEP_LOG=$logs/wire-limits-lunard.log \
		stage wire-limits tests/wire/limits.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/wire/lunar-wire-test
	stage wire-limits-sanitizers sanitizer_clean "$logs/wire-limits-lunard.log"
	SERVER_KEEP_LOG=$logs/conformance-lunard.log \
		stage conformance tests/conformance/run.sh --lunard $asan/src/daemon/lunard \
		--log-dir "$logs/conformance"
	stage conformance-sanitizers sanitizer_clean "$logs/conformance-lunard.log"
	SERVER_KEEP_LOG=$logs/fault-lunard.log \
		stage fault tests/fault/run.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/fault/lunar-fault-tool
	stage fault-sanitizers sanitizer_clean "$logs/fault-lunard.log"
	SERVER_KEEP_LOG=$logs/auth-lunard.log \
		stage auth tests/auth/run.sh --lunard $asan/src/daemon/lunard \
		--wire-tool $asan/tests/wire/lunar-wire-chap
	stage auth-sanitizers sanitizer_clean "$logs/auth-lunard.log"
	SERVER_KEEP_LOG=$logs/access-lunard.log \
		stage access tests/access/run.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/access/lunar-access-tool
	stage access-sanitizers sanitizer_clean "$logs/access-lunard.log"
	SERVER_KEEP_LOG=$logs/odx-lunard.log \
		stage odx tests/odx/run.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/odx/lunar-odx-tool
	stage odx-sanitizers sanitizer_clean "$logs/odx-lunard.log"
	SERVER_KEEP_LOG=$logs/metrics-lunard.log \
		stage metrics tests/metrics/run.sh --lunard $asan/src/daemon/lunard
	stage metrics-sanitizers sanitizer_clean "$logs/metrics-lunard.log"
	SERVER_KEEP_LOG=$logs/isns-lunard.log \
		stage isns tests/isns/run.sh --lunard $asan/src/daemon/lunard
	stage isns-sanitizers sanitizer_clean "$logs/isns-lunard.log"
	stage systemd tests/systemd/run.sh --lunard $asan/src/daemon/lunard
	SERVER_KEEP_LOG=$logs/manage-lunard.log \
		stage manage-reload tests/manage/reload.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/manage/lunar-manage-tool --bench $asan/bench/lunar-bench
	stage manage-sanitizers sanitizer_clean "$logs/manage-lunard.log"
	SERVER_KEEP_LOG=$logs/manage-lunarctl-lunard.log \
		stage manage-lunarctl tests/manage/lunarctl.sh --lunard $asan/src/daemon/lunard \
		--lunarctl $asan/src/cli/lunarctl
	stage manage-lunarctl-sanitizers sanitizer_clean "$logs/manage-lunarctl-lunard.log"
	SERVER_KEEP_LOG=$logs/manage-portal-groups-lunard.log \
		stage manage-portal-groups tests/manage/portal_groups.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/manage/lunar-manage-tool --lunarctl $asan/src/cli/lunarctl
	stage manage-portal-groups-sanitizers sanitizer_clean "$logs/manage-portal-groups-lunard.log"
	stage manage-threads tests/manage/threads.sh --lunard $asan/src/daemon/lunard \
		--tool $asan/tests/manage/lunar-manage-tool --lunarctl $asan/src/cli/lunarctl
	SERVER_KEEP_LOG=$logs/bench-modes-lunard.log \
		stage bench-modes bench/functional.sh --lunard $asan/src/daemon/lunard --bench-dir $asan/bench
	stage bench-modes-sanitizers sanitizer_clean "$logs/bench-modes-lunard.log"
fi
if ((have_ci)); then
	# Two at a time: each run has its own lunard, port and files, and much
	# of a run is waiting (Sanitize.Reset alone sleeps a minute).
	for pair in "file512e file4k" "mem512 mem4k"; do
		pids=()
		start=$SECONDS
		for lu in $pair; do
			echo "== conformance-$lu: tests/conformance/run.sh --lu $lu (SCSI families)"
			SERVER_KEEP_LOG=$logs/conformance-$lu-lunard.log \
				tests/conformance/run.sh --lunard build-ci/src/daemon/lunard --lu "$lu" \
				--tests '^SCSI\.' --log-dir "$logs/conformance-$lu" \
				>"$logs/conformance-$lu.log" 2>&1 &
			pids+=($!)
		done
		i=0
		for lu in $pair; do
			wait "${pids[i]}"
			stage_result "conformance-$lu" $? "$start"
			i=$((i + 1))
		done
	done
	stage interop-qemu tests/interop/qemu_img.sh --lunard build-ci/src/daemon/lunard
	stage interop-iscsi-ls tests/interop/iscsi_ls.sh --lunard build-ci/src/daemon/lunard
	stage hostile tests/hostile/run.sh --lunard build-ci/src/daemon/lunard \
		--tool build-ci/tests/hostile/lunar-hostile
fi
if ((run_fuzz)); then
	if CC=clang BUILD_TARGETS=fuzz build build-fuzz -Dfuzz=true -Dtests=disabled -Dbench=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized; then
		fuzz_all() {
			local p=0 f=0 t
			for t in build-fuzz/tests/fuzz/fuzz_*; do
				[[ -x $t && ! -d $t ]] || continue
				local corpus name regress
				name=$(basename "$t")
				corpus=$(mktemp -d)
				# Inputs that once crashed a target run first, every time.
				regress=tests/fuzz/regress/$name
				if { [[ ! -d $regress ]] || "$t" "$regress"/*; } >"$logs/$name.log" 2>&1 &&
					"$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=4096 "$corpus" \
					>>"$logs/$name.log" 2>&1; then
					echo "ok $name"
					p=$((p + 1))
				else
					echo "FAIL $name: see $logs/$name.log"
					tail -n 30 "$logs/$name.log"
					f=$((f + 1))
				fi
				rm -rf "$corpus"
			done
			# No target built is a broken stage, not a clean one.
			((p + f > 0)) || { echo "no fuzz target found in build-fuzz/tests/fuzz"; f=1; }
			echo "$p passed, $f failed"
			((f == 0))
		}
		stage fuzz fuzz_all
	fi
fi

echo
echo "summary:"
printf '  %s\n' "${summary[@]}"
if ((total_skipped > 0)); then
	echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
	echo "$total_passed passed, $total_failed failed"
fi
((total_failed == 0))
