# Sourced by scripts/vm/suites/40-examples: the checks every profiling example
# (examples/*-profile, same options, exit codes and --json schema) goes through.
#
#   profile_example NAME RESULTS WORK UID CMD...
#
# runs CMD (the example; the module is loaded fresh first) as UID four times and appends
# ok/fail lines to RESULTS: its table equals the kernel's stats (exact, via
# check_profile.py) on a fresh module (--json), on a second run (the text table: this
# run's traffic only) and with --cumulative (--json); without the module it exits 3 with
# the command that loads it. Leaves the module unloaded. Uses QTAG_KO and QTAG_PYTHON.

PROFILE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

profile_load() {
    if [ -d /sys/module/xt_qtaguid ]; then rmmod xt_qtaguid || return 1; fi
    modprobe -a nf_socket_ipv4 nf_socket_ipv6 && insmod "$QTAG_KO" "$@"
}

profile_example() {
    local name=$1 res=$2 work=$3 uid=$4
    shift 4
    local as=(setpriv --reuid "$uid" --regid "$uid" --clear-groups)
    if ! profile_load; then
        echo "fail $name-insmod" >>"$res"
        return 1
    fi
    ip link set lo up 2>/dev/null

    # run RUN ARGS...: the example as uid; records RUN-runs.
    _profile_run() {
        local run=$1; shift
        (cd "$work" && "${as[@]}" "$@") >"$work/$run.out" 2>"$work/$run.err"
        local rc=$?
        cat "$work/$run.err" "$work/$run.out"
        if [ $rc = 0 ]; then echo "ok $run-runs" >>"$res"; else echo "fail $run-runs (exit $rc)" >>"$res"; fi
    }
    _profile_check() {
        "${QTAG_PYTHON:-python3}" "$PROFILE_LIB/check_profile.py" "$1" "$work/$1.out" "$uid" "$work" \
            ${2:+"$2"} >>"$res"
    }

    # 1. Fresh module: this run's traffic is all the uid has.
    _profile_run "$name" "$@" --json --svg "$work/$name.svg"
    _profile_check "$name"
    # 2. Again, as the text table: it shows this run only, i.e. the growth since run 1.
    _profile_run "$name-text" "$@" --svg "$work/$name-text.svg"
    _profile_check "$name-text" "$work/$name.rows.json"
    # 3. --cumulative: everything since the module was loaded (both runs and this one).
    _profile_run "$name-cumulative" "$@" --json --cumulative --svg "$work/$name-cumulative.svg"
    _profile_check "$name-cumulative"

    # Without the module: the core's clear error and exit code 3.
    rmmod xt_qtaguid
    local rc=0
    (cd "$work" && "${as[@]}" "$@" --json --svg "$work/$name-unloaded.svg") >/dev/null \
        2>"$work/$name-unloaded.err" || rc=$?
    if [ $rc = 3 ] && grep -q 'module is not loaded' "$work/$name-unloaded.err"; then
        echo "ok $name-module-not-loaded" >>"$res"
    else
        echo "fail $name-module-not-loaded (exit $rc: $(head -c 200 "$work/$name-unloaded.err"))" >>"$res"
    fi
}
