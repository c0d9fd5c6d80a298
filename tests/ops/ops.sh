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
#   control       --control: the socket is mode 0600 and refuses another
#                 user; --ctl status (JSON) names every pid that answers a
#                 load, with /proc figures; reload replaces them and status
#                 follows; a second master on the same path is refused;
#                 bad commands are errors; stop ends the master (exit 0) and
#                 removes the socket
#   heartbeat     --heartbeat 1s: under a steady load no worker is killed;
#                 a worker whose event loop blocks for good is SIGKILLed
#                 within the heartbeat (plus a ping interval) and replaced,
#                 while the other keeps every request answered
#   roll          a rolling restart (HUP, --ctl reload) of a cluster primary
#                 under a steady load: onto code that throws 300 ms after it
#                 starts, then onto code that never gets ready
#                 (--ready-timeout), the roll stops at the first slot, the
#                 old workers keep serving and nothing restarts; onto good
#                 code every worker is replaced; not one request fails;
#                 each roll's end, failed or done, is READY=1 to systemd
#   roll-listen   the same with --no-cluster --listen (a shared socket)
#   max-requests  --max-requests 100 --max-requests-jitter 50 (cluster, rr):
#                 --ctl status counts each worker's connections; under a
#                 steady load each worker is replaced gracefully after 100
#                 to 150, not one request fails; refused (125) with
#                 --listen, --sched none or reuseport
#   crash-keep    --max-restarts unlimited: a worker that dies at once is
#                 restarted for ever, with delays doubling up to the
#                 --backoff cap (measured from outside too); never gives up
#   max-memory    --max-memory 150M: a worker that grows over it is replaced
#                 gracefully (its successor starts, it exits 0), the other
#                 is left alone
#   scale         TTIN/TTOU and --ctl scale N, under a steady load that
#                 must see no failed request: in cluster mode (rr) and
#                 with --no-cluster --listen; new slots are numbered on
#                 from the last, the highest goes first and gracefully
#                 (exit 0), TTOU at 1 worker keeps it, scale past
#                 --max-workers or to 0 is refused, status follows
#   connections   status counts each worker's connections under rr (the
#                 master hands them over): they match, pid by pid, what a
#                 load client was answered; null under --sched none
#   prefix        --prefix: three workers writing lines in pieces on stdout
#                 and stderr at once: every line comes out whole, "[SLOT] "
#                 first, none lost, a 100000-byte line cut at 65536, a line
#                 that is not UTF-8 as it is, the last line without a
#                 newline written at the end
#   prefix-json   the same with --status-format json: each worker line is a
#                 JSON object {time, master, slot, pid, stream, message}
#                 (bad UTF-8 read as U+FFFD), as the master's lines are
#   status-json   --status-format json: every line the master writes on
#                 stderr through starts, TTIN/TTOU, a reload, an ignored
#                 signal, a worker crash and a stop is one JSON object with
#                 time, level, master and message, and slot and pid for
#                 the workers'
#   usr2          USR2 under a steady load that must see no failed request:
#                 a new master whose workers exit at once leaves the old
#                 one serving (and its control socket answering); then a
#                 new master that works takes the socket and the control
#                 path over, the old master stops its workers gracefully
#                 and exits 0, its workers are gone, the new one serves
#                 and stops cleanly
#   usr2-cluster-rr, usr2-cluster-none, usr2-cluster-reuseport
#                 USR2 in the default cluster mode, after TTIN (3 workers
#                 for -n 2), status lines on --status-fd, under a steady
#                 load that must see no failed request: the new master
#                 takes the old one's server (same address, no new bind:
#                 the very sockets, under reuseport each slot's with its
#                 queue), starts 3 workers, writes on the same --status-fd; the
#                 old master stops its workers gracefully and exits 0; no
#                 process is left once the new one is stopped
#   master-policy a master runs SCHED_BATCH (its workers SCHED_OTHER) and
#                 serves; --master-policy keep leaves SCHED_OTHER; under
#                 chrt --idle master and workers stay SCHED_IDLE; the
#                 bridge (no -n) is left alone; a bad value exits 125 with
#                 a message
#   usr2-timeout  USR2 onto code whose workers never get ready: after
#                 --ready-timeout the old master stops the new one (its
#                 pid and workers gone, reaped), says so in a status line
#                 and to systemd (STATUS=), keeps serving with its own
#                 workers, not one request failing; a USR2 onto good code
#                 then works
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
other=		# a master that is not our child (USR2's new one)
notifier=	# notify.py

. "$CP_SOURCE_DIR/tests/lib/lib.sh"
fail_name="ops.sh $case: FAIL"
fail_show="$tmp/err $tmp/notes $tmp/out"
fail_lines=30

cleanup() {
	local rc=$?
	end_bg QUIT "$master"
	end_bg QUIT "$other"
	end_bg KILL "$inner"
	end_bg TERM "$bg"
	end_bg TERM "$notifier"
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

# policy PID: its scheduling policy as chrt names it.
policy() {
	chrt -p "$1" | sed -n 's/.*scheduling policy: //p'
}

ppid_of() {
	sed -n 's/^PPid:[[:space:]]*//p' /proc/"$1"/status 2>/dev/null || true
}

# stop_master: TERM; the master must exit 0 (its pid stays in master_pid).
stop_master() {
	term_wait "$master"
	master_pid=$master
	master=
}

loadgen=$CP_BUILD_DIR/tests/handles/loadgen

# started: the pids of the workers started so far, sorted, one line.
started() {
	sed -nE 's/^(childproc-fork: )?worker [0-9]+ pid ([0-9]+) started$/\2/p' \
	    "$tmp/err" | sort -n | tr '\n' ' '
}

# ctl COMMAND...: the control socket's answer (JSON) in $tmp/st.
ctl() {
	childproc-fork --ctl "$tmp/ctl" "$@" >"$tmp/st" 2>"$tmp/st.err" ||
	    fail "--ctl $*: $(cat "$tmp/st" "$tmp/st.err")"
}

# pool_is SLOTS: whether status shows the workers in exactly SLOTS ("1 2
# 3"), each ready.
pool_is() {
	ctl status
	[ "$(json "$tmp/st" 'r.workers.map(w => w.slot).join(" ")')" = "$1" ] &&
	    [ "$(json "$tmp/st" 'r.workers.every(w => w.state === "ready" && w.pid > 0)')" = true ] &&
	    [ "$(json "$tmp/st" 'r.workers_wanted')" = "$(echo $1 | wc -w)" ]
}

# wait_pool SLOTS: until pool_is SLOTS (a bound against hangs only).
wait_pool() {
	wait_for pool_is "$1" || fail "status never showed slots '$1' ready: $(cat "$tmp/st")"
}

# listening [PATTERN]: waits for the master's "listening on HOST:PORT
# (...)" line in $tmp/err (one that matches PATTERN, if given) and sets
# addr to HOST:PORT.
listening() {
	wait_master "${1:-listening on }" 1 "$tmp/err"
	addr=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$tmp/err" | head -n 1)
}

# load_end: stops the load client in $bg (TERM), which must exit 0, and
# shows the start of its report ($tmp/load).
load_end() {
	kill -TERM "$bg"
	wait "$bg" || fail "the load client failed"
	bg=
	cut -c 1-300 "$tmp/load"
}

# load_200: 200 requests to $addr, 4 at a time, must all be answered
# (the report in $tmp/load2).
load_200() {
	"$loadgen" -c 4 -n 200 "$addr" >"$tmp/load2" || fail "load failed"
	[ "$(json "$tmp/load2" 'r.ok')" -eq 200 ] || fail "load: $(cat "$tmp/load2")"
}

# answered FILE: the pids that answered in the load report FILE.
answered() {
	json "$1" 'Object.keys(r.pids).join(" ")'
}

# no_failures FILE: the load client's report shows answers and no failure.
no_failures() {
	[ "$(json "$1" 'r.refused + r.reset + r.timeout + r.other')" = 0 ] &&
	    [ "$(json "$1" 'r.ok')" -gt 0 ] || fail "failed requests: $(cut -c 1-400 "$1")"
}

# serving PATTERN: once the master says it listens (a line matching
# PATTERN) and its 2 workers are ready: $addr, $old (their pids), and a
# steady load ($bg, into $tmp/load).
serving() {
	listening "$1"
	wait_pool "1 2"
	old=$(started)
	"$loadgen" -c 4 "$addr" >"$tmp/load" &
	bg=$!
}

# upgrade_to SLOTS: USR2 to $master; the new master ($new, $other) is
# ready, the old one exits 0, its workers ($old) leave gracefully, and
# status shows SLOTS ready, every worker ($neww) the new master's child.
upgrade_to() {
	kill -USR2 "$master"
	wait_master 'SIGUSR2: new master pid [0-9]+ is ready; stopping the old workers' \
	    1 "$tmp/err"
	new=$(sed -nE 's/.*SIGUSR2: new master pid ([0-9]+) is ready.*/\1/p' \
	    "$tmp/err" | tail -n 1)
	other=$new
	rc=0
	wait "$master" || rc=$?
	[ $rc -eq 0 ] || fail "the old master exited with $rc"
	master=
	old_left "$old"
	wait_pool "$1"
	[ "$(json "$tmp/st" 'r.pid')" = "$new" ] || fail "status: $(cat "$tmp/st")"
	neww=$(json "$tmp/st" 'r.workers.map(w => w.pid).join(" ")')
	for p in $neww; do
		[ "$(ppid_of "$p")" = "$new" ] || fail "worker $p is not the new master's"
		[ "$(policy "$p")" = SCHED_OTHER ] ||
		    fail "new worker $p: $(policy "$p"), expected SCHED_OTHER"
	done
	# Started SCHED_OTHER, it made itself SCHED_BATCH as we had.
	[ "$(policy "$new")" = SCHED_BATCH ] ||
	    fail "new master: $(policy "$new"), expected SCHED_BATCH"
}

# old_left PIDS: each old worker left gracefully (exit 0) and is gone.
old_left() {
	for p in $1; do
		grep -qE "worker [0-9]+ pid $p exited with code 0\$" "$tmp/err" ||
		    fail "old worker $p did not leave gracefully"
		wait_for dead "$p" || fail "old worker $p still runs"
	done
}

# load_done: load_end, and the client must have seen no failure.
load_done() {
	load_end
	no_failures "$tmp/load"
}

# new_answered PIDS: some of PIDS (the new workers) answered the load.
new_answered() {
	n=0
	for p in $1; do
		n=$((n + $(json "$tmp/load" "r.pids['$p'] || 0")))
	done
	[ $n -gt 0 ] || fail "no answer from the new workers: $(cut -c 1-300 "$tmp/load")"
}

# stop_new PIDS: TERM to the new master ($new); it and its workers go.
stop_new() {
	kill -TERM "$new"
	wait_for dead "$new" || fail "the new master did not stop"
	other=
	for p in $1; do
		wait_for dead "$p" || fail "new worker $p still runs"
	done
}

case $case in
usr2)
	cp "$app" "$tmp/app.js"
	childproc-fork -n 2 --grace 30s --control "$tmp/ctl" \
	    --listen 127.0.0.1:0 "$tmp/app.js" listen </dev/null >"$tmp/out" \
	    2>"$tmp/err" &
	master=$!
	serving 'listening on '
	# 1. The new code exits at once: the new master's workers never get
	# ready, it ends, and the old master goes on.
	echo 'process.exit(3)' >"$tmp/app.js"
	kill -USR2 "$master"
	wait_master 'SIGUSR2: new master pid [0-9]+ ended before it was ready; this one goes on serving' \
	    1 "$tmp/err"
	wait_pool "1 2"
	[ "$(json "$tmp/st" 'r.pid')" = "$master" ] || fail "status: $(cat "$tmp/st")"
	# 2. Good code: the new master takes over.
	cp "$app" "$tmp/app.js"
	upgrade_to "1 2"
	sleep 1
	load_done
	# The new master's workers answered too (the load ran on a second
	# after they were all ready and the old ones had left).
	new_answered "$neww"
	stop_new "$neww"
	wait_master "SIGTERM: stopping 2 workers" 1 "$tmp/err"
	[ ! -e "$tmp/ctl" ] || fail "the control socket was left behind"
	# Not our child: its exit status is lost to us, but not what ASan says.
	! grep -q 'Sanitizer\|runtime error' "$tmp/err" || fail "sanitizer report"
	[ "$(count_lines 'killed by|exited with code [1-9]|warning' "$tmp/err")" -eq \
	    "$(count_lines 'exited with code 3' "$tmp/err")" ] ||
	    fail "a worker failed"
	;;
usr2-cluster-rr|usr2-cluster-none|usr2-cluster-reuseport)
	sched=${case##*-}
	cp "$app" "$tmp/app.js"
	# Status lines on fd 3, into $tmp/err (the helpers read it); the
	# masters' stderr must stay empty.
	# --grace 30s: a worker leaving gracefully may be slow at load 30
	# under ASan, and must not be killed for it.
	childproc-fork -n 2 --sched "$sched" --grace 30s --control "$tmp/ctl" \
	    --status-fd 3 "$tmp/app.js" cluster </dev/null >"$tmp/out" \
	    2>"$tmp/stderr" 3>"$tmp/err" &
	master=$!
	serving "listening on .* \\(tcp, $sched\\)\$"
	kill -TTIN "$master"
	wait_pool "1 2 3"
	old=$(started)
	# The listening sockets on the port, by inode (reuseport: 3).
	listeners() {
		ss -Hltne "sport = :${addr##*:}" | grep -o 'ino:[0-9]*' |
		    sort | tr '\n' ' '
	}
	socks=$(listeners)
	[ "$(echo $socks | wc -w)" -eq "$([ "$sched" = reuseport ] && echo 3 ||
	    echo 1)" ] || fail "listening sockets: $socks"
	upgrade_to "1 2 3"
	# The old master's socket, not a new one: one bind in all.
	grep -qE "^3 workers, as the old master had \\(-n 2\\)\$" "$tmp/err" ||
	    fail "the new master did not keep the 3 workers"
	grep -qE "^listening on $addr \\(from the old master, fd [0-9]+\\)\$" \
	    "$tmp/err" || fail "the new master did not take $addr over"
	[ "$(count_lines '^listening on .*\(tcp, ' "$tmp/err")" -eq 1 ] ||
	    fail "a server was bound anew"
	# The very sockets (reuseport: each slot's, with its queue).
	[ "$(listeners)" = "$socks" ] ||
	    fail "sockets before: $socks, after: $(listeners)"
	sleep 1
	load_done
	new_answered "$neww"
	stop_new "$neww"
	# The new master wrote on the --status-fd it inherited.
	wait_master "SIGTERM: stopping 3 workers" 1 "$tmp/err"
	[ ! -e "$tmp/ctl" ] || fail "the control socket was left behind"
	[ ! -s "$tmp/stderr" ] || fail "stderr: $(head -c 300 "$tmp/stderr")"
	[ "$(count_lines 'killed by|exited with code [1-9]' "$tmp/err")" -eq 0 ] ||
	    fail "a worker failed"
	;;
usr2-timeout)
	cp "$app" "$tmp/app.js"
	python3 "$src/notify.py" "$tmp/notify" "$tmp/notes" &
	notifier=$!
	wait_master '^bound$' 1 "$tmp/notes"
	# --ready-timeout: long enough for node to start at load 30 (or
	# under ASan), which good code must (the initial workers, the last
	# upgrade); the never-ready upgrade waits it out.  --grace: long
	# enough for the old workers to leave gracefully at the end.
	NOTIFY_SOCKET=$tmp/notify childproc-fork -n 2 --ready-timeout 30s \
	    --grace 20s --control "$tmp/ctl" "$tmp/app.js" cluster \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	serving 'listening on .* \(tcp, rr\)$'
	# Workers that never listen: never ready.
	echo 'setInterval(() => {}, 1000);' >"$tmp/app.js"
	kill -USR2 "$master"
	wait_master 'SIGUSR2: starting a new master, pid [0-9]+' 1 "$tmp/err"
	new=$(sed -nE 's/.*SIGUSR2: starting a new master, pid ([0-9]+).*/\1/p' "$tmp/err")
	other=$new
	wait_master "SIGUSR2: new master pid $new was not ready within 30000ms \\(--ready-timeout\\); stopping it, this one goes on serving" \
	    1 "$tmp/err"
	wait_master "^$master STATUS=upgrade failed: new master pid $new was not ready within 30000ms\$" \
	    1 "$tmp/notes"
	# Gone and reaped (no zombie), and its workers with it.
	gone() { [ ! -e "/proc/$1" ]; }
	# It has --grace (20s) to stop its workers, then SIGKILL.
	wait_seconds=60 wait_for gone "$new" ||
	    fail "the new master $new is still there: $(state "$new")"
	other=
	for p in $(started); do
		case " $old " in *" $p "*) continue ;; esac
		wait_for dead "$p" || fail "the new master's worker $p still runs"
	done
	wait_master "SIGUSR2: new master pid $new is gone; this one goes on serving" \
	    1 "$tmp/err"
	wait_pool "1 2"
	[ "$(json "$tmp/st" 'r.pid')" = "$master" ] || fail "status: $(cat "$tmp/st")"
	[ "$(json "$tmp/st" 'r.workers.map(w => w.pid).sort((a, b) => a - b).join(" ")') " = "$old" ] ||
	    fail "the old workers do not serve: $(cat "$tmp/st")"
	# Good code again: this upgrade works.
	cp "$app" "$tmp/app.js"
	upgrade_to "1 2"
	sleep 1
	load_done
	stop_new "$neww"
	! grep -q 'Sanitizer\|runtime error' "$tmp/err" || fail "sanitizer report"
	;;
prefix|prefix-json)
	fmt=text
	[ "$case" = prefix ] || fmt=json
	timeout 120 childproc-fork -n 3 --prefix --status-format "$fmt" "$app" \
	    chatter </dev/null >"$tmp/out" 2>"$tmp/err" || fail "exit status $?"
	python3 - "$tmp/err" "$fmt" <<'PY' || fail "prefixed output is wrong"
import json, re, sys
raw = open(sys.argv[1], 'rb').read()
lines = raw.decode('utf-8', 'replace').split('\n')
assert lines[-1] == '', 'no newline at the end'
seen = {}
pids = {}
def worker_line(l):
    """(slot, stream or None, text) of a worker's line; None for the master's."""
    if sys.argv[2] == 'text':
        if l.startswith('childproc-fork: '):
            return None
        m = re.fullmatch(r'\[([123])\] (.*)', l, re.S)
        assert m, 'not a prefixed line: %r' % l[:200]
        return m.group(1), None, m.group(2)
    o = json.loads(l)
    assert isinstance(o, dict), l[:200]
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['time']), l[:200]
    if 'stream' not in o:
        m = re.fullmatch(r'worker (\d) pid (\d+) started', o['message'])
        if m:
            pids[m.group(1)] = int(m.group(2))
        return None
    assert set(o) == {'time', 'master', 'slot', 'pid', 'stream', 'message'}, l[:200]
    assert o['stream'] in ('stdout', 'stderr'), l[:200]
    assert o['pid'] == pids[str(o['slot'])], 'pid of %r' % l[:200]
    return str(o['slot']), o['stream'], o['message']
for l in lines[:-1]:
    w = worker_line(l)
    if w is None:
        continue
    slot, stream, text = w
    m = re.fullmatch(r'(out|err) (\d) (\d+) (x*)', text)
    if m:
        assert m.group(2) == slot, 'slot %s wrote %r' % (slot, text)
        assert stream in (None, {'out': 'stdout', 'err': 'stderr'}[m.group(1)]), text
        assert len(m.group(4)) == int(m.group(3)) % 50, text
        key = (slot, m.group(1))
        assert seen.get(key, -1) + 1 == int(m.group(3)), 'order: %r' % text
        seen[key] = int(m.group(3))
    elif re.fullmatch(r'y+', text):
        seen[(slot, 'y')] = seen.get((slot, 'y'), []) + [len(text)]
    elif text == 'tail ' + slot:
        seen[(slot, 'tail')] = True
    elif text == 'bad \ufffd\ufffd utf-8 ' + slot:
        seen[(slot, 'bad')] = True
    else:
        raise AssertionError('unexpected line %r' % text[:200])
for s in '123':
    assert seen.get((s, 'out')) == 199 and seen.get((s, 'err')) == 199, seen
    assert seen.get((s, 'y')) == [65536, 100000 - 65536], seen.get((s, 'y'))
    assert seen.get((s, 'tail')), 'no tail for %s' % s
    assert seen.get((s, 'bad')), 'no bad UTF-8 line for %s' % s
print('%s: 3 x 403 lines whole and in order' % sys.argv[2])
PY
	if [ "$fmt" = text ]; then
		# The bytes as the worker wrote them.
		grep -qa "$(printf 'bad \377\376 utf-8')" "$tmp/err" ||
		    fail "bad UTF-8 was not passed on as it is"
	fi
	[ ! -s "$tmp/out" ] || fail "stdout: $(head -c 300 "$tmp/out")"
	;;
status-json)
	childproc-fork -n 2 --status-format json --control "$tmp/ctl" \
	    --restart on-failure --listen 127.0.0.1:0 "$app" listen \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master '"message":"listening on ' 1 "$tmp/err"
	wait_pool "1 2"
	kill -TTIN "$master"
	wait_pool "1 2 3"
	kill -TTOU "$master"
	wait_master '"message":"worker 3 pid [0-9]+ exited with code 0"' 1 "$tmp/err"
	kill -USR1 "$master"
	wait_master '"message":"SIGUSR1: ignored"' 1 "$tmp/err"
	kill -HUP "$master"
	wait_master '"message":"rolling restart done"' 1 "$tmp/err"
	wait_pool "1 2"
	kill -KILL "$(json "$tmp/st" 'r.workers[0].pid')"
	wait_master '"message":"worker 1 restarting in [0-9]+ms"' 1 "$tmp/err"
	wait_pool "1 2"
	stop_master
	python3 - "$tmp/err" "$master_pid" <<'PY' || fail "status lines are not all JSON"
import json, re, sys
raw = open(sys.argv[1], 'rb').read().decode()
assert raw.endswith('\n'), 'no newline at the end'
n = 0
starts = []
for l in raw.split('\n')[:-1]:
    o = json.loads(l)
    assert isinstance(o, dict), l
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['time']), l
    assert o['level'] in ('info', 'warning'), l
    assert o['master'] == int(sys.argv[2]), l
    m = re.match(r'worker (\d+)(?: pid (\d+))?', o['message'])
    if m:
        assert o['slot'] == int(m.group(1)), l
        if m.group(2):
            assert o['pid'] == int(m.group(2)), l
    if o['message'].startswith('SIG'):
        assert o['signal'] == o['message'].split(':')[0], l
    if o['message'].endswith(' started'):
        starts.append(o['slot'])
    n += 1
# 1 2 at start, 3 by TTIN, 1 2 by the reload, 1 after the crash
assert sorted(starts) == [1, 1, 1, 2, 2, 3], starts
print('status-json: %d lines, all JSON' % n)
PY
	;;
connections)
	childproc-fork -n 2 --control "$tmp/ctl" --sched rr "$app" cluster \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening 'listening on .*, rr\)$'
	wait_pool "1 2"
	[ "$(json "$tmp/st" 'r.workers.map(w => w.connections).join(" ")')" = "0 0" ] ||
	    fail "connections before any: $(cat "$tmp/st")"
	"$loadgen" -c 4 -n 300 "$addr" >"$tmp/load" || fail "load failed"
	[ "$(json "$tmp/load" 'r.ok')" -eq 300 ] || fail "load: $(cat "$tmp/load")"
	# The worker's acknowledgement may come after its answer: wait for it.
	conns_total() {
		ctl status
		[ "$(json "$tmp/st" 'r.workers.reduce((a, w) => a + w.connections, 0)')" -eq 300 ]
	}
	wait_for conns_total || fail "connections: $(cat "$tmp/st")"
	# Each worker's count is what the load client got from its pid.
	for i in 0 1; do
		p=$(json "$tmp/st" "r.workers[$i].pid")
		c=$(json "$tmp/st" "r.workers[$i].connections")
		l=$(json "$tmp/load" "r.pids['$p'] || 0")
		[ "$c" -eq "$l" ] || fail "pid $p: $c connections, answered $l"
		echo "worker $((i + 1)) pid $p: $c connections"
	done
	childproc-fork --ctl "$tmp/ctl" --status-format text >"$tmp/table"
	[ "$(grep -cE '^[12] +│ [0-9]+ +│ ready .*│ [0-9]+ *$' "$tmp/table")" -eq 2 ] ||
	    fail "table: $(cat "$tmp/table")"
	stop_master
	# Where the workers accept, the master cannot count: null.
	: >"$tmp/err"
	childproc-fork -n 2 --control "$tmp/ctl" --sched none "$app" cluster \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening 'listening on .*, none\)$'
	wait_pool "1 2"
	"$loadgen" -c 4 -n 40 "$addr" >"$tmp/load" || fail "load failed"
	ctl status
	[ "$(json "$tmp/st" 'r.workers.map(w => w.connections)')" = "[null,null]" ] ||
	    fail "connections under none: $(cat "$tmp/st")"
	stop_master
	;;
scale)
	# Cluster mode (the workers listen themselves; rr), then --no-cluster
	# with a socket of ours.
	for mode in cluster listen; do
		: >"$tmp/err"
		if [ $mode = cluster ]; then
			childproc-fork -n 2 --max-workers 4 --control "$tmp/ctl" \
			    "$app" cluster </dev/null >"$tmp/out" 2>"$tmp/err" &
		else
			childproc-fork -n 2 --max-workers 4 --control "$tmp/ctl" \
			    --no-cluster --listen 127.0.0.1:0 "$app" listen \
			    </dev/null >"$tmp/out" 2>"$tmp/err" &
		fi
		master=$!
		listening
		wait_pool "1 2"
		"$loadgen" -c 4 "$addr" >"$tmp/load" &
		bg=$!
		kill -TTIN "$master"
		wait_master 'SIGTTIN: 2 -> 3 workers$' 1 "$tmp/err"
		wait_master '^childproc-fork: worker 3 pid [0-9]+ started$' 1 "$tmp/err"
		wait_pool "1 2 3"
		ctl scale 4
		[ "$(cat "$tmp/st")" = '{"ok":true}' ] || fail "scale 4: $(cat "$tmp/st")"
		wait_pool "1 2 3 4"
		# Past --max-workers: TTIN says so, scale is refused.
		kill -TTIN "$master"
		wait_master 'SIGTTIN: 4 workers already \(--max-workers\); not adding one$' \
		    1 "$tmp/err"
		for n in 5 0; do
			rc=0
			childproc-fork --ctl "$tmp/ctl" scale $n >"$tmp/bad" 2>&1 || rc=$?
			[ $rc -eq 1 ] && grep -q "scale" "$tmp/bad" ||
			    fail "scale $n gave $rc: $(cat "$tmp/bad")"
		done
		# TTOU: the highest slot goes, gracefully.
		p4=$(json "$tmp/st" 'r.workers[3].pid')
		kill -TTOU "$master"
		wait_master "worker 4 pid $p4 stopping \\(SIGTTOU\\)\$" 1 "$tmp/err"
		wait_master "worker 4 pid $p4 exited with code 0\$" 1 "$tmp/err"
		wait_pool "1 2 3"
		p1=$(json "$tmp/st" 'r.workers[0].pid')
		ctl scale 1
		wait_master 'scale: 3 -> 1 worker$' 1 "$tmp/err"
		wait_master 'worker [23] pid [0-9]+ exited with code 0$' 2 "$tmp/err"
		wait_pool 1
		# The last worker stays.
		kill -TTOU "$master"
		wait_master 'SIGTTOU: 1 worker left, not removing it' 1 "$tmp/err"
		pool_is 1 || fail "TTOU at 1 worker: $(cat "$tmp/st")"
		[ "$(json "$tmp/st" 'r.workers[0].pid')" = "$p1" ] ||
		    fail "worker 1 changed: $(cat "$tmp/st")"
		# Back up: slot 2 is new (no restarts).
		kill -TTIN "$master"
		wait_pool "1 2"
		[ "$(json "$tmp/st" 'r.workers.map(w => w.restarts).join(" ")')" = "0 0" ] ||
		    fail "restarts: $(cat "$tmp/st")"
		# Every worker that answered the load was one of ours.
		load_end
		no_failures "$tmp/load"
		for p in $(answered "$tmp/load"); do
			grep -qE "worker [1-4] pid $p started\$" "$tmp/err" ||
			    fail "pid $p answered but is not a worker"
		done
		# Slots started: 1 2 (start), 3, 4, 2 again.
		[ "$(sed -nE 's/.*worker ([0-9]+) pid [0-9]+ started$/\1/p' "$tmp/err" | tr '\n' ' ')" = "1 2 3 4 2 " ] ||
		    fail "slots started: $(grep started "$tmp/err")"
		[ "$(count_lines 'killed by|exited with code [1-9]|restarting' "$tmp/err")" -eq 0 ] ||
		    fail "a worker failed"
		stop_master
	done
	;;
heartbeat)
	childproc-fork -n 2 --heartbeat 1s --listen 127.0.0.1:0 "$app" listen \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening
	wait_master 'worker [0-9]+ pid [0-9]+ started' 2 "$tmp/err"
	# Busy but alive: 3 s of load, no false alarm.
	"$loadgen" -c 8 -t 3 "$addr" >"$tmp/load" || fail "load failed"
	[ "$(json "$tmp/load" 'r.refused + r.reset + r.timeout + r.other')" -eq 0 ] ||
	    fail "load: $(cat "$tmp/load")"
	[ "$(count_lines 'missed its heartbeat' "$tmp/err")" -eq 0 ] ||
	    fail "a live worker was taken for a blocked one"
	"$loadgen" -c 4 "$addr" >"$tmp/load" &
	bg=$!
	# One worker gets stuck; the other must carry the load.
	curl -s -m 20 "http://$addr/block" >/dev/null 2>&1 &
	blocker=$!
	t0=$(date +%s%N)
	wait_master 'missed its heartbeat' 1 "$tmp/err"
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	# The master's own measure: since the unanswered ping was sent, which
	# is at most a ping interval (250 ms) after the loop blocked.
	late=$(sed -nE 's/.*no answer in ([0-9]+)ms.*/\1/p' "$tmp/err")
	echo "blocked worker killed ${late} ms after its last ping," \
	    "${ms} ms after the request (heartbeat 1000 ms)"
	[ "$late" -ge 1000 ] || fail "killed after $late ms, before the heartbeat"
	# The heartbeat and a timer tick (250 ms), with slack for a busy machine.
	[ "$late" -le 2000 ] || fail "killed only $late ms after the ping"
	[ $ms -le 15000 ] || fail "killed only $ms ms after the request"
	wait_master 'killed by SIGKILL' 1 "$tmp/err"
	wait_master 'worker [0-9]+ pid [0-9]+ started' 3 "$tmp/err"
	wait "$blocker" || true
	sleep 1
	load_end
	# Only requests the blocked worker had taken may fail (curl's own and
	# those in its backlog share); the pool kept answering.
	[ "$(json "$tmp/load" 'r.ok')" -gt 20 ] || fail "load: $(cat "$tmp/load")"
	stop_master
	;;
max-memory)
	childproc-fork -n 2 --max-memory 150M --listen 127.0.0.1:0 "$app" listen \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening
	wait_master 'worker [0-9]+ pid [0-9]+ started' 2 "$tmp/err"
	# Connection: close and one connection each: the same worker may or
	# may not answer; grow whichever answers until one is over.
	for i in 1 2 3 4 5 6 7 8; do
		p=$(curl -sS -m 30 "http://$addr/leak") || fail "leak request failed"
		echo "$p" >>"$tmp/leakers"
		[ "$(count_lines 'over --max-memory' "$tmp/err")" -gt 0 ] && break
		sleep 0.3
	done
	wait_master 'over --max-memory; replacing it' 1 "$tmp/err"
	# Both workers may have grown over the limit before the master's next
	# look (the shared socket spreads the requests unevenly): every worker
	# replaced must be one that grew (3 x 40 MB on its base is over 150M),
	# and each is replaced once and gracefully.
	sleep 1
	n=0
	for big in $(sed -nE 's/.*worker [0-9]+ pid ([0-9]+) uses [0-9]+MiB, over.*/\1/p' \
	    "$tmp/err"); do
		[ "$(grep -c "^$big\$" "$tmp/leakers")" -ge 3 ] ||
		    fail "pid $big replaced, but it did not grow"
		[ "$(count_lines "pid $big uses" "$tmp/err")" -eq 1 ] ||
		    fail "pid $big replaced more than once"
		wait_master "worker [0-9]+ pid $big exited with code 0" 1 "$tmp/err"
		n=$((n + 1))
	done
	[ "$n" -ge 1 ] || fail "no worker replaced"
	wait_master 'worker [0-9]+ pid [0-9]+ started' $((2 + n)) "$tmp/err"
	"$loadgen" -c 4 -n 40 "$addr" >"$tmp/load" || fail "load failed"
	[ "$(json "$tmp/load" 'r.ok')" -eq 40 ] || fail "load: $(cat "$tmp/load")"
	stop_master
	;;
control)
	childproc-fork --control "$tmp/ctl" -n 2 --listen 127.0.0.1:0 \
	    "$app" listen </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening
	# Ready, not only started: status says "ready" only once they settled.
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	[ "$(stat -c %a "$tmp/ctl")" = 600 ] ||
	    fail "the control socket has mode $(stat -c %a "$tmp/ctl")"
	if id nobody >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
		chmod 755 "$tmp"
		rc=0
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    childproc-fork --ctl "$tmp/ctl" status >"$tmp/other" \
		    2>"$tmp/other.err" || rc=$?
		[ $rc -eq 125 ] && grep -q 'Permission denied\|permission denied' \
		    "$tmp/other.err" || fail "another user got in ($rc):
$(cat "$tmp/other" "$tmp/other.err")"
	fi
	"$loadgen" -c 4 -n 40 "$addr" >"$tmp/load" || fail "load failed"
	[ "$(json "$tmp/load" 'r.ok')" -eq 40 ] || fail "load: $(cat "$tmp/load")"
	# Ready only once up --ready-settle after taking the socket.
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	childproc-fork --ctl "$tmp/ctl" status >"$tmp/st" 2>"$tmp/st.err" ||
	    fail "--ctl status failed: $(cat "$tmp/st.err")"
	[ "$(json "$tmp/st" 'r.ok')" = true ] || fail "status: $(cat "$tmp/st")"
	[ "$(json "$tmp/st" 'r.pid')" = "$master" ] || fail "wrong master pid"
	[ "$(json "$tmp/st" 'r.workers.map(w => w.slot).join(" ")')" = "1 2" ] ||
	    fail "slots: $(cat "$tmp/st")"
	[ "$(json "$tmp/st" 'r.workers.map(w => w.pid).sort((a, b) => a - b).join(" ") + " "')" = "$(started)" ] ||
	    fail "status pids are not the workers started ($(started)): $(cat "$tmp/st")"
	# Under a shared socket the kernel may give every connection to one
	# worker, so each pid that answered must be in status, not both.
	st_pids=" $(json "$tmp/st" 'r.workers.map(w => w.pid).join(" ")') "
	for p in $(answered "$tmp/load"); do
		case $st_pids in
		*" $p "*) ;;
		*) fail "pid $p answered but is not in status: $(cat "$tmp/st")" ;;
		esac
	done
	[ "$(json "$tmp/st" 'r.workers.every(w => w.state === "ready" && w.rss > 10e6 && w.cpu > 0 && w.uptime_ms >= 0 && w.restarts === 0)')" = true ] ||
	    fail "worker figures: $(cat "$tmp/st")"
	# rss is the kernel's figure for that pid.
	p=$(json "$tmp/st" 'r.workers[0].pid')
	kb=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$p"/status)
	[ "$(json "$tmp/st" "Math.abs(r.workers[0].rss / 1024 - $kb) < 4096")" = true ] ||
	    fail "rss $(json "$tmp/st" 'r.workers[0].rss') vs VmRSS $kb kB"
	# The table, as on a terminal.
	childproc-fork --ctl "$tmp/ctl" --status-format text >"$tmp/table" ||
	    fail "--ctl table failed"
	grep -q "^master pid $master, 2 workers$" "$tmp/table" ||
	    fail "table: $(cat "$tmp/table")"
	[ "$(grep -cE '^[12] +│ [0-9]+ +│ ready' "$tmp/table")" -eq 2 ] ||
	    fail "table: $(cat "$tmp/table")"
	# A second master on the same path is refused; the first is untouched.
	rc=0
	childproc-fork --control "$tmp/ctl" -n 1 "$app" listen </dev/null \
	    >/dev/null 2>"$tmp/second" || rc=$?
	[ $rc -eq 125 ] && grep -q "a master is running there already" \
	    "$tmp/second" || fail "second master: $rc $(cat "$tmp/second")"
	# Bad commands.
	for c in bogus "scale x" "status 1"; do
		rc=0
		childproc-fork --ctl "$tmp/ctl" $c >/dev/null 2>"$tmp/bad" || rc=$?
		[ $rc -eq 1 ] && [ -s "$tmp/bad" ] || fail "'$c' gave $rc"
	done
	timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"x" * 300); print(s.recv(4096).decode())' "$tmp/ctl" >"$tmp/long"
	grep -q '"command too long"' "$tmp/long" || fail "long: $(cat "$tmp/long")"
	old=$(started)
	childproc-fork --ctl "$tmp/ctl" reload >"$tmp/rl" || fail "reload failed"
	[ "$(cat "$tmp/rl")" = '{"ok":true}' ] || fail "reload: $(cat "$tmp/rl")"
	wait_master 'rolling restart done' 1 "$tmp/err"
	childproc-fork --ctl "$tmp/ctl" status >"$tmp/st2"
	for p in $old; do
		grep -q "\"pid\":$p," "$tmp/st2" && fail "old pid $p still in status"
	done
	[ "$(json "$tmp/st2" 'r.workers.map(w => w.restarts).join(" ")')" = "1 1" ] ||
	    fail "restarts after reload: $(cat "$tmp/st2")"
	childproc-fork --ctl "$tmp/ctl" stop >/dev/null || fail "stop failed"
	rc=0
	wait "$master" || rc=$?
	master=
	[ $rc -eq 0 ] || fail "the master exited with $rc after stop"
	[ ! -e "$tmp/ctl" ] || fail "the control socket was left behind"
	rc=0
	childproc-fork --ctl "$tmp/ctl" status 2>"$tmp/gone" || rc=$?
	[ $rc -eq 125 ] && grep -q 'cannot reach the master' "$tmp/gone" ||
	    fail "no master: $rc $(cat "$tmp/gone")"
	;;
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
	up=$(cut -d' ' -f1 /proc/uptime)	# "S.CC" (mawk's %d is 32-bit)
	up=$(( ${up%.*} * 1000000 + 10#${up#*.} * 10000 + 10000 ))
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
	# The orphan lives 2 s: time to see whose child it is, on a busy machine.
	childproc-fork -n 1 --restart always "$app" orphan 2 \
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
max-requests)
	# Where the workers accept for themselves nothing can be counted.
	for a in "--listen 127.0.0.1:0" "--sched none" "--sched reuseport"; do
		rc=0
		# shellcheck disable=SC2086
		childproc-fork -n 2 --max-requests 10 $a "$src/node/roll.js" \
		    "$tmp/mode" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
		[ $rc -eq 125 ] || fail "--max-requests with $a: exit $rc"
		grep -q '^childproc-fork: --max-requests needs cluster mode with --sched rr: with .* the workers accept the connections themselves and the master cannot count them$' \
		    "$tmp/err" || fail "--max-requests with $a: $(cat "$tmp/err")"
	done
	echo good >"$tmp/mode"
	childproc-fork -n 2 --max-requests 100 --max-requests-jitter 50 \
	    --control "$tmp/ctl" "$src/node/roll.js" "$tmp/mode" \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	# Counted by the master: status says how many each worker took.
	"$loadgen" -c 2 -n 20 "$addr" >"$tmp/load" || fail "load failed"
	# (A worker's word that it took one may come after the answer.)
	counted() {
		childproc-fork --ctl "$tmp/ctl" status >"$tmp/st" 2>&1 ||
		    fail "--ctl status: $(cat "$tmp/st")"
		[ "$(json "$tmp/st" 'r.workers.reduce((n, w) => n + w.connections, 0)')" = 20 ]
	}
	wait_for counted ||
	    fail "status does not count 20 connections: $(cat "$tmp/st")"
	# Under a steady load every worker is replaced, again and again,
	# gracefully: not one request fails.
	"$loadgen" -c 4 "$addr" >"$tmp/load" &
	bg=$!
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 6 "$tmp/err"
	wait_master 'exited with code 0$' 4 "$tmp/err"
	load_end
	no_failures "$tmp/load"
	[ "$(json "$tmp/load" 'Object.keys(r.pids).length')" -ge 4 ] ||
	    fail "not replaced: $(cat "$tmp/load")"
	# Each at its own limit, 100 to 150, once each.
	sed -nE 's/^childproc-fork: worker [12] pid ([0-9]+) accepted ([0-9]+) connections \(--max-requests\); replacing it$/\1 \2/p' \
	    "$tmp/err" >"$tmp/recycled"
	[ "$(wc -l <"$tmp/recycled")" -ge 4 ] || fail "fewer than 4 recycled"
	while read -r p n; do
		[ "$n" -ge 100 ] && [ "$n" -le 150 ] ||
		    fail "pid $p recycled at $n connections"
		[ "$(grep -c "^$p " "$tmp/recycled")" -eq 1 ] ||
		    fail "pid $p recycled twice"
	done <"$tmp/recycled"
	[ "$(count_lines 'killed by|outlived|restarting in|failed' "$tmp/err")" -eq 0 ] ||
	    fail "a worker did not leave gracefully"
	stop_master
	;;
crash-keep)
	# A worker that dies at once, for ever; each start stamps the time.
	printf '%s\n' "require('fs').appendFileSync(process.argv[2], Date.now() + '\\n');" \
	    'process.exit(1);' >"$tmp/crash.js"
	childproc-fork -n 1 --restart on-failure --max-restarts unlimited \
	    --backoff 100ms/800ms "$tmp/crash.js" "$tmp/starts" \
	    </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	# More restarts than the default limit (10) allows.
	wait_master 'worker 1 restarting in [0-9]+ms$' 13 "$tmp/err"
	delays=$(sed -nE 's/^childproc-fork: worker 1 restarting in ([0-9]+)ms$/\1/p' \
	    "$tmp/err" | head -n 13 | tr '\n' ' ')
	[ "$delays" = "100 200 400 800 800 800 800 800 800 800 800 800 800 " ] ||
	    fail "the delays do not double up to the cap: $delays"
	alive "$master" || fail "the master gave up"
	[ "$(count_lines 'giving up' "$tmp/err")" -eq 0 ] || fail "it gave up"
	# Measured from outside: each start came at least its delay after the
	# one before (the worker's own run time comes on top).
	i=0
	prev=
	for t in $(head -n 13 "$tmp/starts"); do
		if [ -n "$prev" ]; then
			d=$(echo "$delays" | cut -d' ' -f$i)
			gap=$((t - prev))
			echo "start $i: $gap ms after the last (delay $d ms)"
			[ $gap -ge $((d - 50)) ] ||
			    fail "start $i came $gap ms after the last, delay $d ms"
		fi
		prev=$t
		i=$((i + 1))
	done
	stop_master
	;;
roll | roll-listen)
	# A cluster primary (roll), or plain workers on --listen's shared
	# socket (roll-listen), under a steady load all along.
	echo good >"$tmp/mode"
	if [ "$case" = roll ]; then
		set --
	else
		set -- --no-cluster --listen 127.0.0.1:0
	fi
	# systemd hears of each roll's end, failed or done (notify-reload).
	python3 "$src/notify.py" "$tmp/notify" "$tmp/notes" &
	notifier=$!
	wait_lines '^bound$' 1 "$tmp/notes"
	# A settle time well over the 300 ms the broken code lives, and a
	# timeout no start-up on a loaded machine comes near.
	NOTIFY_SOCKET=$tmp/notify \
	    childproc-fork -n 2 --restart on-failure --ready-settle 2s \
	    --ready-timeout 15s --grace 3s --control "$tmp/ctl" "$@" \
	    "$src/node/roll.js" "$tmp/mode" </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	listening
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	old=$(started)
	"$loadgen" -c 4 "$addr" >"$tmp/load" &
	bg=$!
	# 1. New code that throws 300 ms after it starts: the roll stops at
	# the first slot, whose worker stays.
	echo crash >"$tmp/mode"
	kill -HUP "$master"
	wait_master 'rolling restart stopped at worker 1 of 2' 1 "$tmp/err"
	grep -qE '^childproc-fork: worker 1: replacement pid [0-9]+ exited with code 1 before it was ready; pid [0-9]+ keeps serving$' \
	    "$tmp/err" || fail "no replacement failure reported"
	failed_note="^$master READY=1 \\| STATUS=rolling restart failed at worker 1 of 2; the workers not replaced keep serving\$"
	wait_master "$failed_note" 1 "$tmp/notes"
	# 2. New code that never gets ready (asked through --control).
	echo never >"$tmp/mode"
	childproc-fork --ctl "$tmp/ctl" reload >"$tmp/ctl.out" 2>&1 ||
	    fail "--ctl reload: $(cat "$tmp/ctl.out")"
	wait_master 'rolling restart stopped at worker 1 of 2' 2 "$tmp/err"
	grep -qE '^childproc-fork: worker 1: replacement pid [0-9]+ was not ready within 15000ms \(--ready-timeout\); pid [0-9]+ keeps serving$' \
	    "$tmp/err" || fail "no timeout reported"
	wait_master "$failed_note" 2 "$tmp/notes"
	# It is stopped: it cannot leave gracefully, so SIGKILL after --grace.
	wait_master 'worker 1 pid [0-9]+ killed by SIGKILL' 1 "$tmp/err"
	# The master never gave up, nothing restarted, and only the old
	# workers serve.
	alive "$master" || fail "the master died"
	[ "$(count_lines 'restarting in|giving up' "$tmp/err")" -eq 0 ] ||
	    fail "something was restarted"
	for p in $old; do
		alive "$p" || fail "old worker $p is gone"
	done
	load_200
	for p in $(answered "$tmp/load2"); do
		case " $old " in
		*" $p "*) ;;
		*) fail "pid $p answered, not an old worker ($old)" ;;
		esac
	done
	childproc-fork --ctl "$tmp/ctl" status >"$tmp/st" 2>&1 ||
	    fail "--ctl status: $(cat "$tmp/st")"
	[ "$(json "$tmp/st" 'r.state')" = running ] || fail "status: $(cat "$tmp/st")"
	[ "$(json "$tmp/st" 'r.workers.map(w => w.pid).sort((a, b) => a - b).join(" ") + " "')" = "$old" ] ||
	    fail "status does not show the old workers ($old): $(cat "$tmp/st")"
	# 3. Good code: every worker replaced, the old ones leave gracefully.
	echo good >"$tmp/mode"
	kill -HUP "$master"
	wait_master '^childproc-fork: rolling restart done$' 1 "$tmp/err"
	wait_master "^$master READY=1 \\| STATUS=2 workers ready\$" 2 "$tmp/notes"
	[ "$(count_lines "^$master RELOADING=1 " "$tmp/notes")" -eq 3 ] ||
	    fail "not 3 RELOADING=1: $(cat "$tmp/notes")"
	for p in $old; do
		wait_master "^childproc-fork: worker [12] pid $p exited with code 0\$" \
		    1 "$tmp/err"
	done
	load_end
	no_failures "$tmp/load"
	load_200
	for p in $(answered "$tmp/load2"); do
		case " $old " in
		*" $p "*) fail "old worker $p still answers" ;;
		esac
	done
	stop_master
	;;
master-policy)
	# workers_policy: the policies of the master's workers, one line.
	workers_policy() {
		for p in $(children "$master"); do policy "$p"; done |
		    sort -u | tr '\n' ' '
	}
	# 1. A master (-n): SCHED_BATCH; its workers run SCHED_OTHER as they
	# would have, and answer.
	childproc-fork -n 2 "$app" cluster </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	listening
	[ "$(policy "$master")" = SCHED_BATCH ] ||
	    fail "master: $(policy "$master"), expected SCHED_BATCH"
	[ "$(workers_policy)" = "SCHED_OTHER " ] ||
	    fail "workers: $(workers_policy), expected SCHED_OTHER"
	load_200
	stop_master
	# 2. --master-policy keep: as it was started.
	childproc-fork -n 2 --master-policy keep "$app" cluster </dev/null \
	    >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	[ "$(policy "$master")" = SCHED_OTHER ] ||
	    fail "--master-policy keep: $(policy "$master"), expected SCHED_OTHER"
	stop_master
	# 3. A policy the operator chose (chrt) stays, for the workers too.
	: >"$tmp/err"
	chrt --idle 0 childproc-fork -n 2 "$app" cluster </dev/null \
	    >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master 'worker [0-9]+ pid [0-9]+ ready$' 2 "$tmp/err"
	[ "$(policy "$master")" = SCHED_IDLE ] ||
	    fail "under chrt --idle: $(policy "$master"), expected SCHED_IDLE"
	[ "$(workers_policy)" = "SCHED_IDLE " ] ||
	    fail "workers under chrt --idle: $(workers_policy), expected SCHED_IDLE"
	stop_master
	# 4. One child and no master (the bridge): left alone.
	: >"$tmp/err"
	childproc-fork "$app" signals </dev/null >"$tmp/out" 2>"$tmp/err" &
	master=$!
	wait_master '^signals ready$' 1 "$tmp/err"
	[ "$(policy "$master")" = SCHED_OTHER ] ||
	    fail "the bridge: $(policy "$master"), expected SCHED_OTHER"
	stop_master
	# 5. A bad value: refused, 125.
	rc=0
	childproc-fork -n 2 --master-policy fifo "$app" cluster </dev/null \
	    >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ $rc -eq 125 ] || fail "--master-policy fifo: exit $rc, expected 125"
	grep -qx "childproc-fork: invalid --master-policy 'fifo': batch or keep" \
	    "$tmp/err" || fail "--master-policy fifo: $(cat "$tmp/err")"
	;;
*)
	echo "ops.sh: unknown case $case" >&2
	exit 2
	;;
esac
echo "ops.sh $case: ok"
