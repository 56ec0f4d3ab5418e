# shellcheck shell=bash
# Tiny assertion helpers for the test scripts: each check prints one
# "ok - ...", "FAIL - ..." or "skip - ..." line; check_summary prints the
# closing "N passed, N failed" (", N skipped" when a check could not run
# here: a skip is not a pass) and returns non-zero if anything failed.
# Sourced.

CHECK_PASSED=0
CHECK_FAILED=0
CHECK_SKIPPED=0

check_ok() {
    CHECK_PASSED=$((CHECK_PASSED + 1))
    echo "ok - $1"
}

check_fail() {
    CHECK_FAILED=$((CHECK_FAILED + 1))
    echo "FAIL - $1"
}

# A check this machine cannot run, and why.
check_skip() {
    CHECK_SKIPPED=$((CHECK_SKIPPED + 1))
    echo "skip - $1"
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
    if [[ $2 == "$3" ]]; then
        check_ok "$1 ($3)"
    else
        check_fail "$1: expected '$2', got '$3'"
    fi
}

# check_run DESCRIPTION LOG COMMAND...: the command succeeds (its output goes
# to LOG, whose tail is shown on failure).
check_run() {
    local desc=$1 log=$2 rc=0
    shift 2
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc == 0)); then
        check_ok "$desc"
        return 0
    fi
    if ((rc == 124)); then
        check_fail "$desc (timed out)"
    else
        check_fail "$desc (exit $rc)"
    fi
    tail -n 15 "$log" | sed 's/^/    /'
    return 1
}

check_summary() {
    if ((CHECK_SKIPPED > 0)); then
        echo "$CHECK_PASSED passed, $CHECK_FAILED failed, $CHECK_SKIPPED skipped"
    else
        echo "$CHECK_PASSED passed, $CHECK_FAILED failed"
    fi
    ((CHECK_FAILED == 0))
}
