#!/bin/sh
# Signals: INT, TERM, HUP and QUIT sent to a command reach its child;
# --kill-after sends SIGKILL to a child that outlives the kill signal;
# --kill-tree signals the child's whole process group; --detached lets a
# grandchild outlive everything.  Each child writes a file once its traps
# are set, and the test waits for that file before signalling: no sleeps
# stand in for synchronisation.
. "$(dirname "$0")/lib.sh"

chmod 755 "$tmp"
cd "$tmp"

# start NAME CMD...: CMD in the background, output to NAME.out/NAME.err.
start() {
	bgname=$1
	shift
	cmdline="$*"
	rm -f ready gc.pid
	"$@" > "$bgname.out" 2> "$bgname.err" < /dev/null &
	bgpid=$!
	cleanup_pids="$cleanup_pids $bgpid"
}

# The child is ready, or the command is gone (then waiting is pointless).
ready() { [ -e ready ] || dead "$bgpid"; }

# finish NAME WANT-STATUS WANT-STDOUT WANT-STDERR: waits for the command
# started by start and checks it as t does.
finish() {
	# Bounded: a command that never ends is killed and fails the test.
	hung=""
	if ! wait_for dead "$bgpid"; then
		hung=" (hung: killed)"
		kill -KILL "$bgpid" 2>/dev/null || true
		[ ! -s ready ] || kill -KILL "$(cat ready)" 2>/dev/null || true
	fi
	set +e
	wait "$bgpid"
	status=$?
	set -e
	out=$bgname.out
	err=$bgname.err
	check "$1" "$2" "$3" "$4" "$hung"
	out=$tmp/out
	err=$tmp/err
}

# signal_when_ready NAME SIG: waits for the child's ready file, then sends
# SIG to the command.
signal_when_ready() {
	if wait_for ready && [ -e ready ]; then
		kill -"$2" "$bgpid"
	else
		not_ok "$1: the child never got ready" "$(cat "$bgname.err")"
		kill -KILL "$bgpid" 2>/dev/null || true
	fi
}

# gc_read NAME: sets gc to the grandchild's pid (from gc.pid), or fails
# test NAME and returns 1 when there is none.
gc_read() {
	if [ ! -s gc.pid ]; then
		not_ok "$1" "no grandchild pid was written"
		return 1
	fi
	gc=$(cat gc.pid)
}

# gc_gone NAME: the grandchild in gc.pid is (or soon is) gone.
gc_gone() {
	gc_read "$1" || return 0
	if wait_for dead "$gc"; then
		ok "$1 (pid $gc)"
	else
		not_ok "$1 (pid $gc)" "still running"
		kill -KILL "$gc" 2>/dev/null || true
	fi
}

# gc_alive NAME: the grandchild in gc.pid is still running; then kills it.
gc_alive() {
	gc_read "$1" || return 0
	cleanup_pids="$cleanup_pids $gc"
	if alive "$gc"; then
		ok "$1 (pid $gc)"
		kill -KILL "$gc"
	else
		not_ok "$1 (pid $gc)" "it is gone"
	fi
}

# The ready file holds the child's pid, so that a hung test can end it.
TRAP_LOOP='; echo $$ > ready; while :; do sleep 0.1; done'

# Forwarding: the child's trap runs and its exit code is the command's.
for sig in TERM INT HUP QUIT; do
	start fwd childproc-spawn sh -c "trap 'echo got-$sig; exit 7' $sig$TRAP_LOOP"
	signal_when_ready "spawn forwards $sig" $sig
	finish "spawn forwards $sig" 7 "got-$sig\n" ''
done
start fwd childproc-exec "trap 'echo got-TERM; exit 7' TERM$TRAP_LOOP"
signal_when_ready "exec forwards TERM" TERM
finish "exec forwards TERM" 7 'got-TERM\n' ''
start fwd childproc-execfile sh -c "trap 'echo got-INT; exit 7' INT$TRAP_LOOP"
signal_when_ready "execfile forwards INT" INT
finish "execfile forwards INT" 7 'got-INT\n' ''
# A child without a trap dies of the forwarded signal: 128 + signal.
start fwd childproc-spawn sh -c "echo \$\$ > ready; while :; do sleep 0.1; done"
signal_when_ready "spawn: forwarded TERM kills the child" TERM
finish "spawn: forwarded TERM kills the child" 143 '' ''

# --kill-after: the child ignores TERM, so SIGKILL follows.
start ka childproc-spawn -k 300ms sh -c "trap '' TERM$TRAP_LOOP"
signal_when_ready "spawn -k after a forwarded TERM" TERM
finish "spawn -k after a forwarded TERM: SIGKILL, 137" 137 '' ''
start ka childproc-execfile --kill-after=200 sh -c "trap '' TERM$TRAP_LOOP"
signal_when_ready "execfile --kill-after after a forwarded TERM" TERM
finish "execfile --kill-after after a forwarded TERM: SIGKILL, 137" 137 '' ''
# After a timeout: still 124 ("124 when the timeout fired"; GNU timeout
# would say 137 here), and --json shows that SIGKILL ended the child.
# The child ignores TERM, so without -k these would never end: timeout(1)
# with SIGKILL bounds them (137 then, a failure) and the child writes its
# pid to gc.pid so that it can be ended too.
IGNORE_TERM="echo \$\$ > gc.pid; trap '' TERM; while :; do sleep 0.1; done"
bounded() {
	rm -f gc.pid
	timeout -s KILL 60 "$@"
}
end_child() {
	[ ! -s gc.pid ] || kill -KILL "$(cat gc.pid)" 2>/dev/null || true
}
t "spawn -t -k: timeout status 124" 124 '' '' -- \
    bounded childproc-spawn -t 1s -k 300ms sh -c "$IGNORE_TERM"
end_child
t "spawn --json -t -k: ETIMEDOUT, ended by SIGKILL" '*' '*' '' -- \
    bounded childproc-spawn --json -t 1s -k 300ms sh -c "$IGNORE_TERM"
end_child
got=$(json "$out" '[r.error.code, r.status, r.signal].join(" ")')
if [ "$got" = "ETIMEDOUT  SIGKILL" ]; then
	ok "spawn --json -t -k: result fields"
else
	not_ok "spawn --json -t -k: result fields" "got: $got" "$(cat "$out")"
fi
t "execfile --json -t -k: killed by SIGKILL" '*' '*' '' -- \
    bounded childproc-execfile --json -t 1s -k 300ms sh -c "$IGNORE_TERM"
end_child
got=$(json "$out" '[r.error.killed, r.error.code, r.error.signal].join(" ")')
if [ "$got" = "true  SIGKILL" ]; then
	ok "execfile --json -t -k: error fields"
else
	not_ok "execfile --json -t -k: error fields" "got: $got" "$(cat "$out")"
fi

# --kill-tree: the shell's background grandchild dies with it.  Without
# it, only the direct child is signalled (as Node does) and the
# grandchild lives on: that control shows the check can tell.
GC='sleep 30 > /dev/null 2>&1 & echo $! > gc.pid; : > ready; wait'
start tree childproc-spawn --kill-tree sh -c "$GC"
signal_when_ready "spawn --kill-tree" TERM
finish "spawn --kill-tree: the child dies of TERM" 143 '' ''
gc_gone "spawn --kill-tree: the grandchild is gone"

start tree childproc-spawn sh -c "$GC"
signal_when_ready "spawn without --kill-tree" TERM
finish "spawn without --kill-tree: the child dies of TERM" 143 '' ''
gc_alive "spawn without --kill-tree: the grandchild lives on"

start tree childproc-exec --kill-tree "$GC"
signal_when_ready "exec --kill-tree" TERM
finish "exec --kill-tree: the shell dies of TERM" 143 '' ''
gc_gone "exec --kill-tree: the grandchild is gone"

# --kill-tree with a timeout: the group gets the kill signal.  The 2 s
# timeout only has to outlast a fork in the shell.
rm -f gc.pid
t "spawn --kill-tree -t: 124" 124 '' '' -- \
    childproc-spawn --kill-tree -t 2s sh -c 'sleep 30 > /dev/null 2>&1 & echo $! > gc.pid; wait'
gc_gone "spawn --kill-tree -t: the grandchild is gone"

# --detached (Node's test-child-process-detached): the grandchild of a
# detached child outlives the command.
t "spawn --detached: returns while its grandchild runs" 0 '*' '' -- \
    childproc-spawn --detached sh -c 'sleep 30 > /dev/null 2>&1 & echo $!'
cp "$out" gc.pid
gc_alive "spawn --detached: the grandchild outlives the command"

done_testing
