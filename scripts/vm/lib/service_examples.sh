# Sourced by scripts/vm/suites/40-examples: the examples with a privileged service
# (examples/delegated-service, examples/counter-sets), each service running as an
# ordinary uid that is a member of the module's acct_gid group, its clients as other
# uids. Their printed numbers are checked against the stats file by check_*.py.
#
#   delegated_example RESULTS WORK PYTHON...     counter_sets_example RESULTS WORK PYTHON...
#
# PYTHON...: how to run a python3 that imports qtag. Needs profile_load (profile_example.sh).

SERVICE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACCT_GID=3007

# start_daemon DIR NAME UID SOCKET CMD...: CMD as UID in group ACCT_GID, in the background
# (pid in DAEMON_PID, stderr in DAEMON_ERR); waits until it listens on SOCKET. Fails if it
# exits first.
start_daemon() {
    local dir=$1 name=$2 uid=$3 sock=$4; shift 4
    DAEMON_ERR=$dir/$name.err
    setpriv --reuid "$uid" --regid "$uid" --groups $ACCT_GID "$@" 2>"$DAEMON_ERR" &
    DAEMON_PID=$!
    local i
    for i in $(seq 600); do
        [ -S "$sock" ] && return 0
        kill -0 $DAEMON_PID 2>/dev/null || break
        sleep 0.1
    done
    cat "$DAEMON_ERR"
    return 1
}

# stop_daemon RESULTS NAME: SIGTERM to DAEMON_PID; it must exit 0 (test NAME-stops).
stop_daemon() {
    kill -TERM $DAEMON_PID
    local rc=0
    wait $DAEMON_PID || rc=$?
    cat "$DAEMON_ERR"
    if [ $rc = 0 ]; then echo "ok $2-stops" >>"$1"; else echo "fail $2-stops (exit $rc)" >>"$1"; fi
}

# expect_refusal RESULTS NAME UID CMD...: CMD as UID without the group exits 4 and says why.
expect_refusal() {
    local res=$1 name=$2 uid=$3; shift 3
    local rc=0
    setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@" >/dev/null 2>"$WORK_DIR/$name.err" || rc=$?
    cat "$WORK_DIR/$name.err"
    if [ $rc = 4 ] && grep -q 'refusing to start.*acct_gid' "$WORK_DIR/$name.err"; then
        echo "ok $name" >>"$res"
    else
        echo "fail $name (exit $rc: $(head -c 200 "$WORK_DIR/$name.err"))" >>"$res"
    fi
}

delegated_example() {
    local res=$1; WORK_DIR=$2/delegated; shift 2
    local d=$WORK_DIR ex=$QTAG_ROOT/examples/delegated-service svc_uid=4300
    mkdir -p "$d"; chmod 777 "$d"
    if ! profile_load acct_gid=$ACCT_GID; then
        echo "fail delegated-insmod" >>"$res"; return 1
    fi
    ip link set lo up 2>/dev/null
    if ! start_daemon "$d" service $svc_uid "$d/svc.sock" "$@" "$ex/service.py" --socket "$d/svc.sock"; then
        echo "fail delegated-service-starts" >>"$res"; return 1
    fi
    echo "ok delegated-service-starts" >>"$res"
    # Two clients at once, each as its own uid.
    local pids=() uid
    for uid in 5001 5002; do
        local files="medium.bin"
        [ $uid = 5001 ] && files="large.bin small.bin"
        # shellcheck disable=SC2086
        setpriv --reuid $uid --regid $uid --clear-groups "$@" "$ex/client.py" --socket "$d/svc.sock" \
            --json $files >"$d/client-$uid.json" 2>"$d/client-$uid.err" &
        pids+=($!)
    done
    for uid in 5001 5002; do
        if wait "${pids[0]}"; then echo "ok delegated-client-$uid-runs" >>"$res"
        else echo "fail delegated-client-$uid-runs ($(head -c 200 "$d/client-$uid.err"))" >>"$res"; fi
        pids=("${pids[@]:1}")
        cat "$d/client-$uid.err" "$d/client-$uid.json"
    done
    "${QTAG_PYTHON:-python3}" "$SERVICE_LIB/check_delegated.py" $svc_uid "$d"/client-*.json >>"$res"
    # What a person sees.
    if setpriv --reuid 5003 --regid 5003 --clear-groups "$@" "$ex/client.py" --socket "$d/svc.sock" \
        small.bin >"$d/client-text.out" 2>&1 && grep -q 'billed to uid 5003, tag 0x2001' "$d/client-text.out"; then
        echo "ok delegated-client-text" >>"$res"
    else
        echo "fail delegated-client-text ($(head -c 200 "$d/client-text.out"))" >>"$res"
    fi
    cat "$d/client-text.out"
    stop_daemon "$res" delegated-service
    # A copy of the service without the group may not bill others: it says so and exits 4.
    expect_refusal "$res" delegated-unprivileged-refused 4301 "$@" "$ex/service.py" --socket "$d/other.sock"
}

counter_sets_example() {
    local res=$1; WORK_DIR=$2/counter-sets; shift 2
    local d=$WORK_DIR ex=$QTAG_ROOT/examples/counter-sets
    mkdir -p "$d"; chmod 777 "$d"
    if ! profile_load acct_gid=$ACCT_GID; then
        echo "fail counter-sets-insmod" >>"$res"; return 1
    fi
    ip link set lo up 2>/dev/null
    if ! start_daemon "$d" setd 4310 "$d/setd.sock" "$@" "$ex/setd.py" --socket "$d/setd.sock"; then
        echo "fail counter-sets-setd-starts" >>"$res"; return 1
    fi
    local rc=0
    setpriv --reuid 4243 --regid 4243 --clear-groups "$@" "$ex/app.py" --socket "$d/setd.sock" --json \
        >"$d/app.json" 2>"$d/app.err" || rc=$?
    cat "$d/app.err" "$d/app.json"
    if [ $rc = 0 ]; then echo "ok counter-sets-app-runs" >>"$res"; else echo "fail counter-sets-app-runs (exit $rc)" >>"$res"; fi
    "${QTAG_PYTHON:-python3}" "$SERVICE_LIB/check_counter_sets.py" "$d/app.json" >>"$res"
    # The text table, as a person sees it (another uid: its own fresh rows).
    rc=0
    setpriv --reuid 4244 --regid 4244 --clear-groups "$@" "$ex/app.py" --socket "$d/setd.sock" \
        >"$d/app.txt" 2>&1 || rc=$?
    cat "$d/app.txt"
    if [ $rc = 0 ] && grep -q '^1 (foreground) *browse (0x3001)' "$d/app.txt"; then
        echo "ok counter-sets-text" >>"$res"
    else
        echo "fail counter-sets-text (exit $rc)" >>"$res"
    fi
    stop_daemon "$res" counter-sets-setd
    expect_refusal "$res" counter-sets-unprivileged-setd-refused 4311 "$@" "$ex/setd.py" --socket "$d/other.sock"
    rmmod xt_qtaguid
}
