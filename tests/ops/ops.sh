#!/bin/bash
# ops.sh CASE - childproc-fork as operators run it: under systemd, as a
# container's PID 1, driven by signals and its control socket; checked
# from outside with real clients.
#
#   systemd       socket activation by systemd's own systemd-socket-activate
#                 (two unix sockets with names): the first request, which
#                 started us, is answered; both sockets serve; the workers
#                 see none of LISTEN_*/NOTIFY_SOCKET/WATCHDOG_*; a
#                 NOTIFY_SOCKET listener gets READY=1, WATCHDOG=1 pings,
#                 RELOADING=1 with MONOTONIC_USEC then READY=1 on HUP, and
#                 STOPPING=1 on TERM; the sockets are left to systemd
#   pid1-reap     as PID 1 of a new PID namespace (unshare --pid --fork),
#                 a grandchild orphaned by a worker's shell is reaped
#   pid1-signals  as PID 1 with one child (bridge mode), USR1, USR2 and
#                 WINCH are forwarded to the child, TERM ends it
#   subreaper     without a PID namespace, the master is the subreaper of
#                 its workers' orphans and reaps them
#
# Needs CP_BUILD_DIR and CP_SOURCE_DIR (meson's test_env), node and
# childproc-fork on PATH.  Leaves no process or file behind.
set -eu

case=$1
src=$CP_SOURCE_DIR/tests/ops
app=$src/node/app.js
tmp=$(mktemp -d /tmp/cp-ops.XXXXXX)
master=
bg=
inner=		# a master under unshare (which ignores TERM while it waits)

. "$CP_SOURCE_DIR/tests/lib/lib.sh"
fail_name="ops.sh $case: FAIL"
fail_show="$tmp/err $tmp/notes $tmp/out"
fail_lines=30

cleanup() {
	local rc=$?
	if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
		kill -QUIT "$master" 2>/dev/null || true
		wait "$master" 2>/dev/null || true
	fi
	if [ -n "$inner" ] && kill -0 "$inner" 2>/dev/null; then
		kill -KILL "$inner" 2>/dev/null || true
	fi
	if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
		kill -TERM "$bg"
		wait "$bg" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT

# wait_master PATTERN N FILE: until N lines of FILE match, failing if the
# master (when there is one) dies.
wait_master() {
	wait_lines "$1" "$2" "$3" "$master"
}

# children PID: the pids of PID's children.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true
}

# state PID: one letter (R, S, Z...) or nothing once PID is gone.
state() {
	sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' /proc/"$1"/status 2>/dev/null || true
}

ppid_of() {
	sed -n 's/^PPid:[[:space:]]*//p' /proc/"$1"/status 2>/dev/null || true
}

# stop_master: TERM; the master must exit 0.
stop_master() {
	kill -TERM "$master"
	local rc=0
	wait "$master" || rc=$?
	master=
	[ $rc -eq 0 ] || fail "the master exited with $rc after TERM"
}

case $case in
systemd)
	command -v systemd-socket-activate >/dev/null ||
	    { echo "no systemd-socket-activate: skipped"; exit 77; }
	python3 "$src/notify.py" "$tmp/notify" "$tmp/notes" &
	bg=$!
	wait_master '^bound$' 1 "$tmp/notes"
	systemd-socket-activate -l "$tmp/web.sock" -l "$tmp/api.sock" \
	    --fdname=web:api -E NOTIFY_SOCKET="$tmp/notify" \
	    -E WATCHDOG_USEC=400000 \
	    childproc-fork -n 2 --restart on-failure "$app" listen \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master "^Listening on $tmp/api.sock" 1 "$tmp/err"
	# This request starts the service; it waits in the backlog meanwhile.
	curl -sS -m 60 --unix-socket "$tmp/web.sock" http://x/ >"$tmp/first" ||
	    fail "the request that activated the service failed"
	grep -qE '^[0-9]+$' "$tmp/first" || fail "bad answer: $(cat "$tmp/first")"
	wait_master "listening on unix:$tmp/web.sock \\(from systemd, fd 3, web\\)" \
	    1 "$tmp/err"
	wait_master "listening on unix:$tmp/api.sock \\(from systemd, fd 4, api\\)" \
	    1 "$tmp/err"
	wait_master "^$master READY=1 \\| STATUS=2 workers ready$" 1 "$tmp/notes"
	for s in web api; do
		for i in 1 2 3 4; do
			curl -sS -m 30 --unix-socket "$tmp/$s.sock" http://x/ \
			    >>"$tmp/$s.pids" || fail "request to $s failed"
			echo >>"$tmp/$s.pids"
		done
	done
	curl -sS -m 30 --unix-socket "$tmp/web.sock" http://x/env >"$tmp/env"
	[ "$(cat "$tmp/env")" = "{}" ] ||
	    fail "a worker sees systemd's variables: $(cat "$tmp/env")"
	# WATCHDOG_USEC=400ms: a ping every 200 ms.
	wait_master "^$master WATCHDOG=1$" 3 "$tmp/notes"
	kill -HUP "$master"
	wait_master "^$master RELOADING=1 \\| MONOTONIC_USEC=[0-9]+ \\| STATUS=" 1 \
	    "$tmp/notes"
	mono=$(sed -nE "s/^$master RELOADING=1 \\| MONOTONIC_USEC=([0-9]+).*/\\1/p" \
	    "$tmp/notes")
	up=$(awk '{ printf "%.0f", $1 * 1000000 }' /proc/uptime)
	# CLOCK_MONOTONIC is /proc/uptime without suspended time: close to it.
	[ "$mono" -le "$up" ] && [ "$mono" -gt $((up - 600000000)) ] ||
	    fail "MONOTONIC_USEC=$mono is not the monotonic clock (uptime $up us)"
	wait_master 'rolling restart done' 1 "$tmp/err"
	wait_master "^$master READY=1" 2 "$tmp/notes"
	# READY=1 came after RELOADING=1, as notify-reload wants.
	tail -n +2 "$tmp/notes" | grep -v WATCHDOG | tail -n 1 | grep -q 'READY=1' ||
	    fail "READY=1 not the last state after the reload"
	stop_master
	grep -q "STOPPING=1" "$tmp/notes" || fail "no STOPPING=1"
	[ -S "$tmp/web.sock" ] && [ -S "$tmp/api.sock" ] ||
	    fail "the master removed systemd's sockets"
	;;
pid1-reap)
	unshare --pid --fork --mount-proc true 2>/dev/null ||
	    { echo "cannot unshare a PID namespace here: skipped"; exit 77; }
	unshare --pid --fork --mount-proc --kill-child \
	    childproc-fork -n 1 --restart always "$app" orphan \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	bg=$!
	wait_master '^orphan [0-9]+$' 1 "$tmp/err"
	# unshare's one child is our master, PID 1 inside.
	m=$(children "$bg" | head -n 1)
	[ -n "$m" ] || fail "no master under unshare"
	inner=$m
	grep -q '^NSpid:.*[[:space:]]1$' /proc/"$m"/status ||
	    fail "the master is not PID 1 of its namespace"
	# The orphan (sleep 0.3) is the master's child now; once it exits it
	# must not stay a zombie.
	end=$((SECONDS + 10))
	while :; do
		z=0 n=0
		for c in $(children "$m"); do
			n=$((n + 1))
			[ "$(state "$c")" = Z ] && z=$((z + 1))
		done
		[ $z -eq 0 ] && [ $n -eq 1 ] && break
		[ $SECONDS -lt $end ] || fail "the master has $n children, $z zombies"
		sleep 0.01
	done
	grep -qi 'zombie\|defunct' "$tmp/err" && fail "unexpected output"
	kill -TERM "$m"
	wait "$bg" || fail "unshare exited with $?"
	bg=
	;;
pid1-signals)
	unshare --pid --fork --mount-proc true 2>/dev/null ||
	    { echo "cannot unshare a PID namespace here: skipped"; exit 77; }
	unshare --pid --fork --mount-proc --kill-child \
	    childproc-fork "$app" signals </dev/null >"$tmp/out" 2>"$tmp/err" &
	bg=$!
	wait_master '^signals ready$' 1 "$tmp/err"
	m=$(children "$bg" | head -n 1)
	inner=$m
	for s in USR1 USR2 WINCH; do
		kill -"$s" "$m"
		wait_master "^signal SIG$s\$" 1 "$tmp/err"
	done
	kill -TERM "$m"
	wait_master '^signal SIGTERM$' 1 "$tmp/err"
	rc=0
	wait "$bg" || rc=$?
	bg=
	[ $rc -eq 0 ] || fail "exit status $rc, expected the child's 0"
	;;
subreaper)
	childproc-fork -n 1 --restart always "$app" orphan \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master '^orphan [0-9]+$' 1 "$tmp/err"
	o=$(sed -nE 's/^orphan ([0-9]+)$/\1/p' "$tmp/err")
	p=$(ppid_of "$o")
	[ -z "$p" ] || [ "$p" = "$master" ] ||
	    fail "the orphan went to $p, not to the master $master"
	end=$((SECONDS + 10))
	while [ -n "$(state "$o")" ]; do
		[ $SECONDS -lt $end ] || fail "orphan $o not reaped (state $(state "$o"))"
		sleep 0.01
	done
	[ -n "$p" ] || fail "the orphan exited before it could be checked"
	stop_master
	;;
*)
	echo "ops.sh: unknown case $case" >&2
	exit 2
	;;
esac
echo "ops.sh $case: ok"
