# shellcheck shell=bash disable=SC2154,SC2034 # work and TOOL are the caller's; rc is for it
# A session held open across a change to lunard, for the manage tests:
# lunar-manage-tool's hold logs in, reads the capacity ("ready blocks=N"),
# waits for the go, then sends TEST UNIT READY ("tur=...") and reads the
# capacity again ("after blocks=N"), all into $work/NAME.out.
# Sourced, after tests/lib/check.sh; TOOL is lunar-manage-tool.
#   hold_start NAME URL   logged in to URL and waiting (a failed check if
#                         it does not log in within 10 s)
#   hold_go NAME          lets it go on and waits for it; its status in rc

hold_start() {
    local name=$1 url=$2 i fd
    mkfifo "$work/$name.fifo"
    timeout 60 "$TOOL" hold "$url" <"$work/$name.fifo" >"$work/$name.out" 2>&1 &
    printf -v "${name}_pid" %s "$!"
    exec {fd}>"$work/$name.fifo"
    printf -v "${name}_fd" %s "$fd"
    for ((i = 0; i < 100; i++)); do
        grep -q '^ready' "$work/$name.out" && return 0
        sleep 0.1
    done
    check_fail "$name: the session did not log in: $(tr '\n' ' ' <"$work/$name.out")"
}

hold_go() {
    local pid=${1}_pid fd=${1}_fd
    local n=${!fd}
    echo go >&"$n"
    exec {n}>&-
    rc=0
    wait "${!pid}" || rc=$?
}
