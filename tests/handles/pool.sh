#!/bin/bash
# pool.sh CASE - childproc-fork as the master of a pool of Node HTTP workers
# sharing one listening socket, against a load client on 127.0.0.1.
#
#   seed        the seed's scenario: -n 4 --listen 127.0.0.1:0, the seed's
#               worker pattern; every request answered, several pids seen
#   listen      the same with http.createServer().listen(server), address
#               read from stderr instead of --status-fd
#   unix        --listen unix:PATH
#   kill        a worker SIGKILLed under load is replaced; no refusal, and
#               no request accepted by a surviving worker is lost
#   hup         HUP rolling restart under load: not one failed request
#   crash-loop  a module that exits at once: the master gives up, and says so
#   reuseport   --balance reuseport spreads connections over every worker
#   stop        TERM waits --grace then SIGKILLs; QUIT kills at once
#   backoff     a worker that crashes soon after it is ready is restarted
#               after growing delays (readiness does not reset them)
#   signals     USR1, ALRM, PROF, a real-time signal: the master says so
#               and keeps serving (they used to kill it; USR2 upgrades the
#               master now: tests/ops usr2)
#   status-write  each status line is one write(2) (traced with strace),
#               so workers writing to the same stderr cannot split it
#
# Needs CP_BUILD_DIR and CP_SOURCE_DIR (meson's test_env), node and
# childproc-fork on PATH.  Leaves no process or file behind.
set -eu

case=$1
src=$CP_SOURCE_DIR/tests/handles
loadgen=$CP_BUILD_DIR/tests/handles/loadgen
worker=$src/node/worker.js
tmp=$(mktemp -d /tmp/cp-pool.XXXXXX)
master=
load=

. "$CP_SOURCE_DIR/tests/lib/lib.sh"
fail_name="pool.sh $case: FAIL"
fail_show="$tmp/status $tmp/err"
fail_lines=20

cleanup() {
	local rc=$?
	end_bg TERM "$load"
	end_bg QUIT "$master"	# QUIT: it SIGKILLs its workers and exits
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT

# start_master ARGS...: childproc-fork in the background, status lines in
# $tmp/status (fd 3), its and its workers' stderr in $tmp/err.
start_master() {
	: >"$tmp/status"
	: >"$tmp/err"
	childproc-fork --status-fd 3 "$@" </dev/null >"$tmp/out" 2>"$tmp/err" \
	    3>"$tmp/status" &
	master=$!
}

# wait_master PATTERN N [FILE]: until N lines of FILE (the master's status
# lines) match, failing if the master dies.
wait_master() {
	wait_lines "$1" "$2" "${3:-$tmp/status}" "$master"
}

# The address from "listening on HOST:PORT (...)".
address() {
	wait_master 'listening on ' 1 "${1:-$tmp/status}"
	sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "${1:-$tmp/status}" | head -n 1
}

# pid_of SLOT: the pid of the last worker started in SLOT.
pid_of() {
	sed -nE "s/^(childproc-fork: )?worker $1 pid ([0-9]*) started$/\2/p" \
	    "$tmp/status" | tail -n 1
}

# load_bg ADDR: a load client that runs until TERM, results in $tmp/load.
load_bg() {
	"$loadgen" -c 8 "$1" >"$tmp/load" &
	load=$!
}

load_stop() {
	kill -TERM "$load"
	wait "$load" || fail "the load client failed"
	load=
	cat "$tmp/load" | cut -c 1-400 >&2
}

# stop_master: TERM, and the master must exit 0 with every worker gone.
stop_master() {
	term_wait "$master"
	master=
	grep -qE '^(childproc-fork: )?SIGTERM: stopping' "$tmp/status" ||
	    fail "no stop status line"
}

# check_all_served FILE N WORKERS: N requests, all answered by WORKERS.
check_all_served() {
	local r=$1
	[ "$(json "$r" 'r.ok')" -eq "$2" ] || fail "answered $(json "$r" 'r.ok') of $2"
	[ "$(json "$r" 'r.refused + r.reset + r.timeout + r.other')" -eq 0 ] ||
	    fail "failed requests: $(json "$r" 'r')"
	local pids
	pids=$(json "$r" 'Object.keys(r.pids).join(" ")')
	for p in $pids; do
		echo " $3 " | grep -q " $p " || fail "pid $p is not a worker ($3)"
	done
	[ "$(json "$r" 'Object.keys(r.pids).length')" -ge 2 ] ||
	    fail "only one worker answered: $(json "$r" 'r.pids')"
}

# check_nonblocking PORT PIDS: every worker's copy of the listening socket
# is non-blocking.  The flag belongs to the socket's open file description,
# which the master and all workers share; libuv in a Node worker assumes it
# and loops on accept(2) until EAGAIN, so a blocking listener leaves a worker
# stuck in accept(2) with requests it already took unanswered.
check_nonblocking() {
	local port inode p fd n=0
	port=$(printf '%04X' "$1")
	inode=$(awk -v p=":$port" '$2 ~ p"$" && $4 == "0A" { print $10 }' \
	    /proc/net/tcp | head -n 1)
	[ -n "$inode" ] || fail "no listening socket on port $1"
	for p in $2; do
		for fd in /proc/"$p"/fd/*; do
			[ "$(readlink "$fd")" = "socket:[$inode]" ] || continue
			n=$((n + 1))
			flags=$(awk '/^flags:/ { print $2 }' \
			    /proc/"$p"/fdinfo/"${fd##*/}")
			[ $((8#$flags & 8#4000)) -ne 0 ] ||
			    fail "worker $p: the listening socket is blocking (flags $flags)"
		done
	done
	[ $n -gt 0 ] || fail "no worker holds the listening socket"
}

# fds PID: how many fds PID has open.
fds() {
	ls /proc/"$1"/fd | wc -l
}

# settled_fds: the master's fds once every worker has answered a request
# (so every server handle was ACKed and the library's copy closed).
settled_fds() {
	local p
	for p in $(workers); do
		wait_master "^got [0-9]+ $p\$" 1 "$tmp/err"
	done
	fds "$master"
}

# same_fds N: the master is back to N open fds (10 s at most): what it
# opened for a worker that is gone is closed.
same_fds() {
	local i=0
	while [ "$(fds "$master")" -ne "$1" ]; do
		i=$((i + 1))
		[ $i -lt 1000 ] || fail "the master has $(fds "$master") fds, not $1"
		sleep 0.01
	done
}

# The pids of every worker started so far, in order.
workers() {
	sed -nE 's/^(childproc-fork: )?worker [0-9]* pid ([0-9]*) started$/\2/p' \
	    "$tmp/status" | tr '\n' ' '
}

case $case in
seed | listen)
	if [ "$case" = seed ]; then
		start_master -n 4 --listen 127.0.0.1:0 "$worker" seed
		addr=$(address)
	else
		# Status lines on stderr this time, as without --status-fd.
		: >"$tmp/status"
		childproc-fork -n 4 --listen 127.0.0.1:0 "$worker" listen \
		    </dev/null >"$tmp/out" 2>"$tmp/status" &
		master=$!
		addr=$(address)
	fi
	case $addr in
	127.0.0.1:0 | 127.0.0.1:) fail "no port in '$addr'" ;;
	127.0.0.1:*) ;;
	*) fail "bad address '$addr'" ;;
	esac
	wait_master '^(childproc-fork: )?worker [0-9] pid [0-9]+ started$' 4
	"$loadgen" -c 8 -n 2000 "$addr" >"$tmp/r1"
	check_nonblocking "${addr##*:}" "$(workers)"
	cut -c 1-300 "$tmp/r1" >&2
	check_all_served "$tmp/r1" 2000 "$(workers)"
	stop_master
	# Each worker closed its server when the master let go, and exited 0.
	[ "$(count_lines '^(childproc-fork: )?worker [1-4] pid [0-9]+ exited with code 0$' \
	    "$tmp/status")" -eq 4 ] ||
	    fail "not every worker exited 0"
	;;

unix)
	sock=$tmp/http.sock
	start_master -n 2 --listen "unix:$sock" "$worker" seed
	[ "$(address)" = "unix:$sock" ] || fail "address '$(address)'"
	wait_master '^worker [0-9] pid [0-9]+ started$' 2
	for i in $(seq 1 40); do
		curl -sS --max-time 30 --unix-socket "$sock" "http://w/$i"
		echo
	done >"$tmp/pids"
	[ "$(grep -cE '^[0-9]+$' "$tmp/pids")" -eq 40 ] || fail "not 40 answers"
	for p in $(sort -u "$tmp/pids"); do
		echo " $(workers) " | grep -q " $p " || fail "pid $p is not a worker"
	done
	stop_master
	[ ! -e "$sock" ] || fail "the socket file was left behind"
	;;

kill)
	export WORKER_LOG=1 WORKER_DELAY=5
	start_master -n 4 --restart on-failure --listen 127.0.0.1:0 "$worker" seed
	addr=$(address)
	wait_master '^worker [0-9] pid [0-9]+ started$' 4
	load_bg "$addr"
	wait_master '^got ' 300 "$tmp/err"
	nfds=$(settled_fds)
	victim=$(pid_of 2)
	kill -KILL "$victim"
	wait_master "^worker 2 pid $victim killed by SIGKILL\$" 1
	wait_master '^worker 2 pid [0-9]+ started$' 2
	new=$(pid_of 2)
	[ "$new" != "$victim" ] || fail "worker 2 was not replaced"
	# The replacement serves too.
	wait_master "^got [0-9]+ $new\$" 50 "$tmp/err"
	load_stop
	r=$tmp/load
	[ "$(json "$r" 'r.refused + r.timeout + r.other')" -eq 0 ] ||
	    fail "refused or timed out: $(json "$r" 'r')"
	[ "$(json "$r" 'r.ok')" -gt 300 ] || fail "too few answers"
	# Only what the killed worker held may be lost: every failed request
	# was either never seen by a worker or seen by the victim.
	for id in $(json "$r" 'r.failed.join(" ")'); do
		if grep -E "^got $id [0-9]+\$" "$tmp/err" | grep -vq " $victim\$"; then
			fail "request $id, accepted by a surviving worker, was lost"
		fi
	done
	[ "$(json "$r" 'r.failed.length')" -le 8 ] ||
	    fail "more failures than requests in flight"
	[ "$(json "$r" "r.pids['$new'] || 0")" -gt 0 ] || fail "no answer from $new"
	same_fds "$nfds"
	stop_master
	;;

hup)
	export WORKER_LOG=1 WORKER_DELAY=5
	start_master -n 4 --grace 60s --listen 127.0.0.1:0 "$worker" seed
	addr=$(address)
	wait_master '^worker [0-9] pid [0-9]+ started$' 4
	old=$(workers)
	load_bg "$addr"
	wait_master '^got ' 300 "$tmp/err"
	nfds=$(settled_fds)
	kill -HUP "$master"
	wait_master '^rolling restart done$' 1
	[ "$(count_lines '^worker [0-9] pid [0-9]+ started$' "$tmp/status")" -eq 8 ] ||
	    fail "not 4 new workers"
	# The old ones left gracefully, one at a time.
	wait_master '^worker [0-9] pid [0-9]+ exited with code 0$' 4
	new=$(workers | cut -d' ' -f5-8)
	n0=$(count_lines '^got ' "$tmp/err")
	wait_master '^got ' $((n0 + 300)) "$tmp/err"
	load_stop
	r=$tmp/load
	[ "$(json "$r" 'r.refused + r.reset + r.timeout + r.other')" -eq 0 ] ||
	    fail "failed requests during the rolling restart: $(json "$r" 'r')"
	served_new=0
	for p in $new; do
		served_new=$((served_new + $(json "$r" "r.pids['$p'] || 0")))
	done
	[ $served_new -gt 0 ] || fail "the new workers served nothing"
	echo "old: $old new: $new" >&2
	same_fds "$nfds"
	stop_master
	;;

crash-loop)
	rc=0
	childproc-fork -n 2 --restart on-failure --max-restarts 3/60s \
	    --listen 127.0.0.1:0 "$worker" exit </dev/null >"$tmp/out" \
	    2>"$tmp/err" || rc=$?
	cat "$tmp/err" >&2
	[ $rc -ne 0 ] || fail "the master exited 0"
	grep -q 'workers restarted 3 times within 60000ms (--max-restarts); giving up after worker' "$tmp/err" ||
	    fail "no clear message"
	# Restarts were backed off and counted: no more than the limit.
	[ "$(count_lines 'started$' "$tmp/err")" -le 5 ] || fail "too many restarts"
	# always: even a clean exit is restarted, and limited the same way.
	echo 'process.exit(0)' >"$tmp/exit0.js"
	rc=0
	childproc-fork -n 1 --restart always --max-restarts 2/60s \
	    "$tmp/exit0.js" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ $rc -ne 0 ] || fail "--restart always: the master exited 0"
	grep -q 'workers restarted 2 times within 60000ms (--max-restarts); giving up after worker' "$tmp/err" ||
	    fail "--restart always: no clear message"
	;;

reuseport | shared)
	start_master -n 4 --balance "$case" --listen 127.0.0.1:0 "$worker" seed
	addr=$(address)
	grep -q "listening on $addr ($case)" "$tmp/status" || fail "mode"
	wait_master '^worker [0-9] pid [0-9]+ started$' 4
	"$loadgen" -c 8 -n 2000 "$addr" >"$tmp/r1"
	cut -c 1-300 "$tmp/r1" >&2
	check_all_served "$tmp/r1" 2000 "$(workers)"
	echo "$case: per-worker requests: $(json "$tmp/r1" \
	    'Object.values(r.pids).sort((a, b) => b - a).join(" ")')"
	if [ "$case" = reuseport ]; then
		# One accept queue each: the kernel hashes connections over the
		# four sockets, so every worker gets a fair share (25% +- noise).
		[ "$(json "$tmp/r1" 'Object.keys(r.pids).length')" -eq 4 ] ||
		    fail "not every worker served"
		[ "$(json "$tmp/r1" 'Math.min(...Object.values(r.pids))')" -ge 300 ] ||
		    fail "uneven: $(json "$tmp/r1" 'r.pids')"
	fi
	stop_master
	;;

stop)
	# TERM: workers that ignore the disconnect are killed after --grace.
	start_master -n 2 --grace 500ms --listen 127.0.0.1:0 "$worker" stubborn
	wait_master '^worker [0-9] pid [0-9]+ started$' 2
	stop_master
	[ "$(count_lines 'outlived --grace; SIGKILL$' "$tmp/status")" -eq 2 ] ||
	    fail "no SIGKILL after --grace"
	[ "$(count_lines 'killed by SIGKILL$' "$tmp/status")" -eq 2 ] || fail "not killed"
	# QUIT: at once, whatever --grace says.
	: >"$tmp/status"
	start_master -n 2 --grace 1h --listen 127.0.0.1:0 "$worker" seed
	wait_master '^worker [0-9] pid [0-9]+ started$' 2
	kill -QUIT "$master"
	rc=0
	wait "$master" || rc=$?
	master=
	[ $rc -eq 0 ] || fail "QUIT: the master exited with $rc"
	[ "$(count_lines 'killed by SIGKILL$' "$tmp/status")" -eq 2 ] ||
	    fail "QUIT did not kill the workers"
	;;

backoff)
	# Ready (it sends a message), then dead 300ms later, again and again.
	printf '%s\n' "process.send('up');" \
	    'setTimeout(() => process.exit(1), 300);' >"$tmp/crash.js"
	start_master -n 1 --restart on-failure --max-restarts 100/60s \
	    "$tmp/crash.js"
	wait_master '^worker 1 restarting in [0-9]+ms$' 5
	delays=$(sed -nE 's/^worker 1 restarting in ([0-9]+)ms$/\1/p' \
	    "$tmp/status" | head -n 5 | tr '\n' ' ')
	[ "$delays" = "100 200 400 800 1600 " ] ||
	    fail "the delays do not double: $delays"
	stop_master
	;;

signals)
	start_master -n 2 --listen 127.0.0.1:0 "$worker" seed
	addr=$(address)
	wait_master '^worker [0-9] pid [0-9]+ started$' 2
	rt=$(($(kill -l RTMIN) + 3))
	for sig in USR1 ALRM PROF $rt; do
		kill -s "$sig" "$master"
	done
	for sig in SIGUSR1 SIGALRM SIGPROF "signal $rt"; do
		wait_master "^$sig: ignored\$" 1
	done
	kill -0 "$master" || fail "the master died"
	for i in 1 2 3 4; do
		curl -sS --max-time 30 "http://$addr/$i" >/dev/null ||
		    fail "request $i after the signals"
	done
	[ "$(count_lines 'exited|killed' "$tmp/status")" -eq 0 ] ||
	    fail "a worker went away"
	stop_master
	;;

status-write)
	command -v strace >/dev/null || { echo "no strace: skipped"; exit 77; }
	# Status lines on stderr (with their prefix), then on --status-fd.
	rc=0
	strace -qq -e trace=write -e signal=none -s 512 -o "$tmp/trace" \
	    childproc-fork -n 2 --restart on-failure --max-restarts 3/60s \
	    "$worker" exit </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ $rc -ne 0 ] || fail "the master exited 0"
	n=$(grep -c '^write(2, "childproc-fork: ' "$tmp/trace" || true)
	[ "$n" -ge 6 ] || fail "only $n status writes traced"
	if grep '^write(2, ' "$tmp/trace" |
	    grep -v '\\n", [0-9]*) = [0-9]*$' | grep -q .; then
		grep '^write(2, ' "$tmp/trace" | head -n 5 >&2
		fail "a status line took more than one write"
	fi
	rc=0
	strace -qq -e trace=write -e signal=none -s 512 -o "$tmp/trace" \
	    childproc-fork --status-fd 3 -n 2 --restart on-failure \
	    --max-restarts 3/60s "$worker" exit </dev/null >"$tmp/out" \
	    2>"$tmp/err" 3>"$tmp/status" || rc=$?
	# The master's own dup of fd 3: the fd of its first status line.
	sfd=$(sed -nE 's/^write\(([0-9]+), "worker 1 pid.*/\1/p' "$tmp/trace" |
	    head -n 1)
	[ -n "$sfd" ] || fail "no --status-fd write traced"
	n=$(grep -c "^write($sfd, " "$tmp/trace" || true)
	[ "$n" -ge 6 ] || fail "only $n --status-fd writes traced"
	if grep "^write($sfd, " "$tmp/trace" |
	    grep -v '\\n", [0-9]*) = [0-9]*$' | grep -q .; then
		grep "^write($sfd, " "$tmp/trace" | head -n 5 >&2
		fail "a --status-fd line took more than one write"
	fi
	;;

*)
	echo "pool.sh: unknown case $case" >&2
	exit 2
	;;
esac
echo "pool.sh $case: ok"
