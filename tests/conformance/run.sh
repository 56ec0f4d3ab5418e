#!/usr/bin/env bash
# libiscsi's iscsi-test-cu against one LUN, every test in its own process
# under `timeout`, judged against two ratchets: known failures and known
# skips.
#
# The run fails when a test outside known-failures.txt fails, when a listed
# test passes, or when a listed test no longer exists; likewise when a test
# outside known-skips.txt skips itself (a skip is not a pass), when a listed
# one no longer skips, or when a listed one no longer exists. The last line
# is "N passed, N failed, N skipped" of those ratchet checks: a listed
# skip is counted as skipped, not passed.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"

known_file=
skips_file=
lu_config=file512
update_skips=0
log_dir=
per_test_timeout=60
# Sanitize.Reset checks that an OVERWRITE outlives aborts, resets and a
# logout, then polls TEST UNIT READY once a minute until it is over.
slow_re='^SCSI\.Sanitize\.Reset$'
slow_timeout=150
# The whole run must fit in 20 minutes on 2 cores (CI budget).
budget_s=1080
initiator1=iqn.2026-11.org.lunar:conformance-1
initiator2=iqn.2026-11.org.lunar:conformance-2
test_filter=
update_ratchet=0
max_restarts=5

usage() {
    cat <<EOF
usage: $0 [target selection] [options]

Runs every iscsi-test-cu test (families SCSI, iSCSI; ALL and LINUX only
repeat those) with data-loss and sanitize tests enabled.

$(target_common_usage)

Options:
  --lu CONFIG             the LUN lunard serves the tests (default $lu_config):
                          file512   file, 512-byte blocks, atomic writes
                                    through a journal
                          file512e  the same on 4096-byte physical blocks
                          file4k    file, 4096-byte blocks, with the journal
                          mem512    memory, 512-byte blocks
                          mem4k     memory, 4096-byte blocks
  --known-failures FILE   ratchet file (default: tests/conformance/known-failures.txt
                          for file512, known-failures-CONFIG.txt for the others)
  --update-ratchet        rewrite the ratchet file from this run; keeps the
                          reasons of entries that still fail, new entries get
                          "unexplained (owning area: ...)" for a human to fill
  --known-skips FILE      skip ratchet (default: tests/conformance/known-skips.txt
                          for file512, known-skips-CONFIG.txt for the others;
                          "none": skips are not judged, e.g. for another target)
  --update-skips          rewrite the skip ratchet from this run: every test
                          that skipped, with the reason iscsi-test-cu printed
  --tests REGEX           run only tests whose name matches (bash regex)
  --log-dir DIR           keep per-test CUnit logs here (default: a new temp dir)
  --timeout S             per-test timeout (default $per_test_timeout)
  --budget S              stop starting tests after S seconds (default $budget_s)
  --initiator-name IQN    first initiator (default $initiator1)
  --initiator-name-2 IQN  second initiator (default $initiator2)

known-failures.txt: one test per line, "Name  # reason (owning area: X)".
A reason starting with "flaky" accepts either outcome.
known-skips.txt: one test per line, "Name  # what iscsi-test-cu printed".
EOF
}

while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --known-failures) known_file=$2; shift 2 ;;
        --update-ratchet) update_ratchet=1; shift ;;
        --known-skips) skips_file=$2; shift 2 ;;
        --lu) lu_config=$2; shift 2 ;;
        --update-skips) update_skips=1; shift ;;
        --tests) test_filter=$2; shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        --timeout) per_test_timeout=$2; shift 2 ;;
        --budget) budget_s=$2; shift 2 ;;
        --initiator-name) initiator1=$2; shift 2 ;;
        --initiator-name-2) initiator2=$2; shift 2 ;;
        *) target_take_arg_or_die usage "$@"; shift "$TARGET_ARG_SHIFT" ;;
    esac
done

# Each configuration is one LU of the matrix the SCSI families must pass
# on. What a test does depends on the LU (LBPPB > 1 only on 512e), so each
# configuration has its own pair of ratchet files.
case $lu_config in
    file512) lu_backend=file lu_block=512 lu_physical=512 ;;
    file512e) lu_backend=file lu_block=512 lu_physical=4096 ;;
    file4k) lu_backend=file lu_block=4096 lu_physical=4096 ;;
    mem512) lu_backend=memory lu_block=512 lu_physical=512 ;;
    mem4k) lu_backend=memory lu_block=4096 lu_physical=4096 ;;
    *) echo "error: --lu $lu_config: not one of file512, file512e, file4k, mem512, mem4k" >&2; exit 2 ;;
esac
lists_suffix=
if [[ $lu_config != file512 ]]; then
    lists_suffix=-$lu_config
fi
: "${known_file:=$here/known-failures$lists_suffix.txt}"
: "${skips_file:=$here/known-skips$lists_suffix.txt}"

for tool in iscsi-test-cu timeout awk; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 2; }
done

# Which part of lunar owns a failing suite; prefilled into new ratchet entries.
declare -A suite_area=(
    [CompareAndWrite]="COMPARE AND WRITE" [ExtendedCopy]="XCOPY"
    [ReceiveCopyResults]="XCOPY" [GetLBAStatus]="thin provisioning"
    [Unmap]="thin provisioning" [WriteSame10]="WRITE SAME"
    [WriteSame16]="WRITE SAME" [PrinReadKeys]="reservations"
    [PrinServiceactionRange]="reservations" [PrinReportCapabilities]="reservations"
    [ProutRegister]="reservations" [ProutReserve]="reservations"
    [ProutClear]="reservations" [ProutPreempt]="reservations"
    [Reserve6]="reservations (SPC-2)" [Sanitize]="SANITIZE"
    [PreventAllow]="PREVENT ALLOW MEDIUM REMOVAL" [StartStopUnit]="START STOP UNIT"
    [iSCSITMF]="TMF" [iSCSIcmdsn]="iSCSI sequencing" [iSCSIdatasn]="iSCSI sequencing"
    [iSCSIResiduals]="iSCSI residuals" [MultipathIO]="multi-session"
    [Inquiry]="INQUIRY/VPD" [Mandatory]="SCSI core" [ModeSense6]="MODE SENSE"
    [ReportSupportedOpcodes]="REPORT SUPPORTED OPCODES" [NoMedia]="SCSI core"
    [ReadOnly]="SCSI core" [WriteAtomic16]="WRITE ATOMIC" [OrWrite]="ORWRITE"
)
area_of() {
    local suite=${1#*.}
    suite=${suite%%.*}
    echo "${suite_area[$suite]:-SCSI core}"
}

# --- enumerate -------------------------------------------------------------
# ALL is SCSI+iSCSI and LINUX a subset of SCSI (same test functions), so each
# Suite.Test runs once, under the first family that lists it.
list_out=$(iscsi-test-cu --list)
declare -a tests=()
declare -A in_list=() seen_key=()
for family in SCSI iSCSI ALL LINUX; do
    while IFS= read -r name; do
        key=${name#*.}
        if [[ -n ${seen_key[$key]:-} ]]; then
            continue
        fi
        seen_key[$key]=1
        tests+=("$name")
        in_list[$name]=1
    done < <(awk -F. -v f="$family" 'NF == 3 && $1 == f' <<<"$list_out")
done
if ((${#tests[@]} == 0)); then
    echo "error: iscsi-test-cu --list gave no tests" >&2
    exit 2
fi

# --- ratchet file ----------------------------------------------------------
declare -A known_reason=()
declare -a known_order=() ratchet_errors=()
if [[ -f $known_file ]]; then
    lineno=0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        name=$(awk '{print $1}' <<<"$line")
        reason=
        if [[ $line == *"#"* ]]; then
            reason=${line#*#}
            reason=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<<"$reason")
        fi
        if [[ -z $reason ]]; then
            ratchet_errors+=("$known_file:$lineno: $name has no reason (\"Name  # reason (owning area: X)\")")
        fi
        if [[ -n ${known_reason[$name]+x} ]]; then
            ratchet_errors+=("$known_file:$lineno: $name listed twice")
        fi
        known_reason[$name]=$reason
        known_order+=("$name")
        if [[ -z ${in_list[$name]:-} ]]; then
            ratchet_errors+=("$known_file:$lineno: $name is not a test this runner runs (iscsi-test-cu --list, named SCSI.*/iSCSI.*): remove it")
        fi
    done <"$known_file"
elif ((!update_ratchet)); then
    echo "warning: $known_file does not exist: every failure is unexpected" >&2
fi

# --- skip ratchet file -----------------------------------------------------
# The reasons here are iscsi-test-cu's own words, rewritten by --update-skips.
declare -A skip_reason=()
declare -a skip_errors=()
if [[ $skips_file == none ]]; then
    if ((update_skips)); then
        echo "error: --update-skips needs a --known-skips file" >&2
        exit 2
    fi
elif [[ -f $skips_file ]]; then
    lineno=0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        name=$(awk '{print $1}' <<<"$line")
        if [[ -n ${skip_reason[$name]+x} ]]; then
            skip_errors+=("$skips_file:$lineno: $name listed twice")
        fi
        reason=${line#*#}
        skip_reason[$name]=${reason#"${reason%%[![:space:]]*}"}
        if [[ -z ${in_list[$name]:-} ]]; then
            skip_errors+=("$skips_file:$lineno: $name is not a test this runner runs: remove it")
        fi
    done <"$skips_file"
elif ((!update_skips)); then
    echo "warning: $skips_file does not exist: every skip is unexpected" >&2
fi

# --- a write-protected LUN --------------------------------------------------
# The ReadOnly tests need an LU served write-protected. When we start
# lunard, its configuration is the default target with LUN 0 of the chosen
# configuration (1 GiB; a file is sparse and has an atomic-write journal)
# plus a second target whose only LUN is readonly; those tests run against
# it, every other test against LUN 0.
readonly_re='^SCSI\.ReadOnly\.'
readonly_iqn=iqn.2026-11.org.lunar:readonly
readonly_url=
conf_dir=
if [[ $SERVER_KIND == lunard ]]; then
    conf_dir=$(mktemp -d "${TMPDIR:-/tmp}/lunar-conformance-conf.XXXXXX")
    server_cleanup_add "$conf_dir"
    # SANITIZE OVERWRITE paced at 128 MiB/s: 8 s a pass over 1 GiB, so
    # Sanitize.Reset finds it still running after its 4 s of resets.
    lu_store="size = \"1G\"; sanitize_rate = \"128M\";"
    if [[ $lu_backend == file ]]; then
        lu_store="path = \"$conf_dir/lun0.img\"; atomic_journal = \"$conf_dir/lun0.journal\"; $lu_store"
    fi
    cat >"$conf_dir/lunar.conf" <<EOF
targets = (
  { name = "$TARGET_DEFAULT_IQN"; open = true;
    luns = ( { lun = 0; backend = "$lu_backend"; $lu_store
               block_size = $lu_block; physical_block_size = $lu_physical; } ); },
  { name = "$readonly_iqn"; open = true;
    luns = ( { lun = 0; backend = "memory"; size = "64M"; block_size = $lu_block; readonly = true; } ); }
);
EOF
    # Sanitize.Reset sleeps 60 s without reading its socket, so it would
    # not answer a NOP-In ping in the default 15 s and lose its session
    # (and, with the session, the end of the sanitize to a new unit
    # attention). A peer that answers late is still dropped, after 90 s.
    LUNARD_ARGS="${LUNARD_ARGS:-} --config $conf_dir/lunar.conf --limit nop_timeout_s=90"
fi

# --- run -------------------------------------------------------------------
target_setup
if [[ -n $conf_dir ]]; then
    readonly_url=iscsi://$TARGET_PORTAL/$readonly_iqn/0
fi
if [[ -z $log_dir ]]; then
    log_dir=$(mktemp -d "${TMPDIR:-/tmp}/lunar-conformance.XXXXXX")
fi
mkdir -p "$log_dir"
if [[ -n $SERVER_KIND && -z $SERVER_KEEP_LOG ]]; then
    SERVER_KEEP_LOG=$log_dir/$SERVER_KIND.stderr.log
fi

echo "conformance: $TARGET_URL, LU $lu_config (${#tests[@]} tests listed, timeout ${per_test_timeout}s each, logs in $log_dir)"

declare -A outcome=() detail=()
declare -a selected=() server_crashes=()
start_s=$SECONDS
restarts=0

# One test in its own iscsi-test-cu under `timeout`. When we run the server,
# its death ends the test at once: libiscsi would otherwise retry the login
# until the timeout.
run_one_test() {
    local log=$1 name=$2 tpid done_pid rc=0 limit=$per_test_timeout
    shift 2
    if [[ $name =~ $slow_re ]]; then
        limit=$slow_timeout
    fi
    timeout -k 5 "$limit" iscsi-test-cu -d -S -v \
        -i "$initiator1" -I "$initiator2" -t "$name" "$@" \
        >"$log" 2>&1 </dev/null &
    tpid=$!
    if server_alive; then
        wait -n -p done_pid "$tpid" "$SERVER_PID" || true
        if [[ $done_pid != "$tpid" ]]; then
            kill -TERM "$tpid" 2>/dev/null || true
        fi
    fi
    wait "$tpid" || rc=$?
    return "$rc"
}

# CUnit's "tests Total Ran Passed Failed Inactive" row decides; no row means
# iscsi-test-cu itself died or could not log in.
classify() {
    local log=$1 rc=$2 row ran failed
    if ((rc == 124 || rc == 137)); then
        echo timeout
        return
    fi
    row=$(awk '$1 == "tests" && NF >= 6 {print $3, $5}' "$log" | tail -n 1)
    if [[ -z $row ]]; then
        if ((rc > 128)); then echo crash; else echo error; fi
        return
    fi
    read -r ran failed <<<"$row"
    if ((ran == 0)); then
        echo notrun
    elif ((failed > 0)); then
        echo fail
    elif test_body_skipped "$log"; then
        echo skip
    else
        echo pass
    fi
}

# Suite set-up and clean-up print [SKIPPED] probes of their own (e.g. "PERSISTENT
# RESERVE IN is not implemented"); only a skip between CUnit's verbose
# "Test: X ..." and its passed/FAILED verdict belongs to the test.
test_body_skipped() {
    awk '
        /^  Test: / { sub(/^  Test: .*\.\.\./, ""); inside = 1 }
        inside && /^(passed|FAILED)/ { exit }
        inside && /\[SKIPPED\]/ { skipped = 1; exit }
        END { exit !skipped }
    ' "$1"
}

# The [SKIPPED] text of the test's own body (see test_body_skipped).
skip_text() {
    awk '
        /^  Test: / { sub(/^  Test: .*\.\.\./, ""); inside = 1 }
        inside && /^(passed|FAILED)/ { exit }
        inside && /\[SKIPPED\]/ { sub(/.*\[SKIPPED\][[:space:]]*/, ""); print; exit }
    ' "$1"
}

# What the test said before its verdict, else the first assertion or error.
first_complaint() {
    local text
    text=$(awk '
        /^  Test: / { sub(/^  Test: .*\.\.\./, ""); inside = 1 }
        inside && /^(passed|FAILED)/ { exit }
        inside && NF { sub(/^[[:space:]]+/, ""); printf "%s%s", sep, $0; sep = " / " }
    ' "$1")
    if [[ -z $text ]]; then
        text=$(grep -m1 -E '\[FAILED\]|CU_ASSERT|[Ff]ailed|[Ee]rror' "$1" || true)
        text=${text#"${text%%[![:space:]]*}"}
    fi
    echo "${text:0:160}"
}

for name in "${tests[@]}"; do
    if [[ -n $test_filter && ! $name =~ $test_filter ]]; then
        continue
    fi
    selected+=("$name")
    log=$log_dir/$name.log
    if ((SECONDS - start_s >= budget_s)); then
        outcome[$name]=budget
        detail[$name]="not started: run budget of ${budget_s}s used up"
        continue
    fi
    urls=("$TARGET_URL")
    if [[ -n $readonly_url && $name =~ $readonly_re ]]; then
        urls=("$readonly_url")
    fi
    # The multipath tests need a second path; the same portal logged in as
    # the second initiator is one.
    if [[ $name == *.MultipathIO.* ]]; then
        urls+=("$TARGET_URL")
    fi
    rc=0
    run_one_test "$log" "$name" "${urls[@]}" || rc=$?
    result=$(classify "$log" "$rc")
    case $result in
        timeout) detail[$name]="timed out" ;;
        crash) detail[$name]="iscsi-test-cu died (exit $rc)" ;;
        error) detail[$name]="no CUnit summary (exit $rc): $(first_complaint "$log")" ;;
        notrun) detail[$name]="iscsi-test-cu ran no test for this name" ;;
        skip) detail[$name]=$(skip_text "$log") ;;
        fail) detail[$name]=$(first_complaint "$log") ;;
    esac
    if [[ -n $SERVER_KIND ]] && ! server_alive; then
        server_crashes+=("$name")
        detail[$name]="$SERVER_KIND exited during this test (test: $result)"
        result=server-died
        echo "!! $SERVER_KIND exited during $name" >&2
        server_log_tail 20 >&2
        if ((restarts < max_restarts)); then
            restarts=$((restarts + 1))
            server_restart
        fi
    fi
    outcome[$name]=$result
    if [[ $result != pass && $result != skip ]]; then
        tag=new
        if [[ -n ${known_reason[$name]+x} ]]; then
            tag=known
        fi
        printf '  %-8s %-52s (%s) %s\n' "$result" "$name" "$tag" "${detail[$name]:-}"
    fi
done
wall_s=$((SECONDS - start_s))

# --- per-suite summary -----------------------------------------------------
is_failure() { [[ ${outcome[$1]} != pass && ${outcome[$1]} != skip ]]; }
is_flaky() { [[ ${known_reason[$1]:-} == flaky* ]]; }

declare -A s_total=() s_pass=() s_skip=() s_fail=() s_known=()
declare -a suites=()
for name in "${selected[@]}"; do
    suite=${name%.*}
    if [[ -z ${s_total[$suite]:-} ]]; then
        suites+=("$suite")
        s_total[$suite]=0 s_pass[$suite]=0 s_skip[$suite]=0 s_fail[$suite]=0 s_known[$suite]=0
    fi
    s_total[$suite]=$((s_total[$suite] + 1))
    case ${outcome[$name]} in
        pass) s_pass[$suite]=$((s_pass[$suite] + 1)) ;;
        skip) s_skip[$suite]=$((s_skip[$suite] + 1)) ;;
        *)
            s_fail[$suite]=$((s_fail[$suite] + 1))
            if [[ -n ${known_reason[$name]+x} ]]; then
                s_known[$suite]=$((s_known[$suite] + 1))
            fi ;;
    esac
done

echo
printf '%-36s %5s %5s %5s %5s %5s\n' suite tests pass skip fail known
declare -A f_total=() f_pass=() f_skip=() f_fail=() f_known=()
declare -a families=()
for suite in "${suites[@]}"; do
    printf '%-36s %5d %5d %5d %5d %5d\n' "$suite" "${s_total[$suite]}" \
        "${s_pass[$suite]}" "${s_skip[$suite]}" "${s_fail[$suite]}" "${s_known[$suite]}"
    fam=${suite%%.*}
    if [[ -z ${f_total[$fam]:-} ]]; then
        families+=("$fam")
        f_total[$fam]=0 f_pass[$fam]=0 f_skip[$fam]=0 f_fail[$fam]=0 f_known[$fam]=0
    fi
    f_total[$fam]=$((f_total[$fam] + s_total[$suite]))
    f_pass[$fam]=$((f_pass[$fam] + s_pass[$suite]))
    f_skip[$fam]=$((f_skip[$fam] + s_skip[$suite]))
    f_fail[$fam]=$((f_fail[$fam] + s_fail[$suite]))
    f_known[$fam]=$((f_known[$fam] + s_known[$suite]))
done
for fam in "${families[@]}"; do
    printf '%-36s %5d %5d %5d %5d %5d\n' "family $fam" "${f_total[$fam]}" \
        "${f_pass[$fam]}" "${f_skip[$fam]}" "${f_fail[$fam]}" "${f_known[$fam]}"
done

# --- ratchet ---------------------------------------------------------------
declare -a unexpected_fail=() unexpected_pass=()
n_pass=0 n_fail=0 n_known=0 n_skip=0
for name in "${selected[@]}"; do
    if is_failure "$name"; then
        n_fail=$((n_fail + 1))
        if [[ -n ${known_reason[$name]+x} ]]; then
            n_known=$((n_known + 1))
        else
            unexpected_fail+=("$name")
        fi
    else
        n_pass=$((n_pass + 1))
        if [[ ${outcome[$name]} == skip ]]; then
            n_skip=$((n_skip + 1))
        fi
        if [[ -n ${known_reason[$name]+x} ]] && ! is_flaky "$name"; then
            unexpected_pass+=("$name")
        fi
    fi
done

if ((update_ratchet)); then
    tmp=$(mktemp "${known_file}.XXXXXX")
    {
        if [[ -f $known_file ]]; then
            grep -E '^[[:space:]]*#' "$known_file" || true
        else
            echo "# iscsi-test-cu tests known to fail: \"Name  # reason (owning area: X)\"."
            echo "# Maintained by tests/conformance/run.sh; see --update-ratchet."
        fi
        for name in "${tests[@]}"; do
            keep=0
            if [[ -n ${outcome[$name]:-} ]]; then
                if is_failure "$name" || { is_flaky "$name" && [[ -n ${known_reason[$name]+x} ]]; }; then
                    keep=1
                fi
            elif [[ -n ${known_reason[$name]+x} ]]; then
                keep=1
            fi
            ((keep)) || continue
            reason=${known_reason[$name]:-}
            if [[ -z $reason ]]; then
                reason="unexplained (owning area: $(area_of "$name"))"
                echo "ratchet: NEW $name: ${outcome[$name]}: ${detail[$name]:-}" >&2
            fi
            printf '%-52s # %s\n' "$name" "$reason"
        done
    } >"$tmp"
    mv "$tmp" "$known_file"
    for name in "${unexpected_pass[@]}"; do
        echo "ratchet: removed $name (now passes)" >&2
    done
    for line in "${ratchet_errors[@]}"; do
        echo "ratchet: dropped: $line" >&2
    done
    echo "ratchet: rewrote $known_file; give every \"unexplained\" entry a real reason"
    unexpected_fail=() unexpected_pass=() ratchet_errors=()
fi

# --- skip ratchet ----------------------------------------------------------
declare -a unexpected_skip=() no_longer_skips=()
if [[ $skips_file != none ]]; then
    for name in "${selected[@]}"; do
        if [[ ${outcome[$name]} == skip && -z ${skip_reason[$name]+x} ]]; then
            unexpected_skip+=("$name")
        elif [[ ${outcome[$name]} == pass && -n ${skip_reason[$name]+x} ]]; then
            no_longer_skips+=("$name")
        fi
    done
fi
if ((update_skips)); then
    tmp=$(mktemp "${skips_file}.XXXXXX")
    {
        if [[ -f $skips_file ]]; then
            grep -E '^[[:space:]]*#' "$skips_file" || true
        else
            echo "# iscsi-test-cu tests that skip themselves: \"Name  # what it printed\"."
            echo "# Maintained by tests/conformance/run.sh; see --update-skips."
        fi
        for name in "${tests[@]}"; do
            if [[ -n ${outcome[$name]:-} ]]; then
                [[ ${outcome[$name]} == skip ]] || continue
                reason=${detail[$name]:-}
            elif [[ -n ${skip_reason[$name]+x} ]]; then
                reason=${skip_reason[$name]}
            else
                continue
            fi
            printf '%-52s # %s\n' "$name" "${reason:-no reason printed}"
        done
    } >"$tmp"
    mv "$tmp" "$skips_file"
    for name in "${no_longer_skips[@]}"; do
        echo "skips: removed $name (now runs)" >&2
    done
    for name in "${unexpected_skip[@]}"; do
        echo "skips: added $name: ${detail[$name]:-}" >&2
    done
    echo "skips: rewrote $skips_file"
    for line in "${skip_errors[@]}"; do
        echo "skips: dropped: $line" >&2
    done
    unexpected_skip=() no_longer_skips=() skip_errors=()
fi

for name in "${unexpected_skip[@]}"; do
    echo "FAIL $name skipped: ${detail[$name]:-} (not in known-skips.txt; log: $log_dir/$name.log)"
done
for name in "${no_longer_skips[@]}"; do
    echo "FAIL $name no longer skips: remove it from known-skips.txt (or --update-skips)"
done
for line in "${skip_errors[@]}"; do
    echo "FAIL $line"
done
for name in "${unexpected_fail[@]}"; do
    echo "FAIL $name: ${outcome[$name]}: ${detail[$name]:-} (not in known-failures.txt; log: $log_dir/$name.log)"
done
for name in "${unexpected_pass[@]}"; do
    echo "FAIL $name now passes: remove it from known-failures.txt"
done
for line in "${ratchet_errors[@]}"; do
    echo "FAIL $line"
done
unexplained=$(grep -c '# *unexplained' "$known_file" 2>/dev/null || true)
if ((${unexplained:-0} > 0)); then
    echo "warning: $unexplained entries in $known_file are still \"unexplained\""
fi
if ((${#server_crashes[@]} > 0)); then
    echo "FAIL $SERVER_KIND exited during: ${server_crashes[*]} (restarted $restarts times)"
fi

# A server crash fails the run even on a listed test: no ratchet hides it.
declare -A counted=()
for name in "${unexpected_fail[@]}"; do
    counted[$name]=1
done
known_crashes=0
for name in "${server_crashes[@]}"; do
    if [[ -z ${counted[$name]:-} ]]; then
        known_crashes=$((known_crashes + 1))
    fi
done
skip_mismatches=$((${#unexpected_skip[@]} + ${#no_longer_skips[@]} + ${#skip_errors[@]}))
mismatches=$((${#unexpected_fail[@]} + ${#unexpected_pass[@]} + ${#ratchet_errors[@]} + known_crashes + skip_mismatches))
# A test that misses both ratchets (a listed failure that now skips) counts once.
declare -A mismatched=()
for name in "${unexpected_fail[@]}" "${unexpected_pass[@]}" "${server_crashes[@]}" \
    "${unexpected_skip[@]}" "${no_longer_skips[@]}"; do
    mismatched[$name]=1
done
# A listed skip matches its ratchet, but is no pass: it is counted apart.
matched_skips=0
for name in "${selected[@]}"; do
    if [[ ${outcome[$name]:-} == skip && -z ${mismatched[$name]:-} ]]; then
        matched_skips=$((matched_skips + 1))
    fi
done
matched=$((${#selected[@]} - ${#mismatched[@]} - matched_skips))
if ((mismatches > 0)); then
    server_show_tail_once
fi
echo "conformance: wall time ${wall_s}s, $n_skip tests skipped, logs in $log_dir"
echo "iscsi-test-cu: $n_pass passed or skipped, $n_fail failed ($n_known known)"
echo "$matched passed, $mismatches failed, $matched_skips skipped"
((mismatches == 0))
