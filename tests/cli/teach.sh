#!/bin/bash
# Errors that name the culprit and the fix, signal names in every spelling,
# options that do nothing saying so, a bad --cwd as env -C reports it, and
# a closed standard output ending us quietly (status 141).
. "$(dirname "$0")/lib.sh"

cd "$tmp"

D='a number with a unit ms, s, m or h (500ms, 2s, 1.5m, 1h), or a whole number of milliseconds (250)'
S='a number of bytes with an optional K, M or G suffix (1024-based: 64K, 1.5M, 2G), or Infinity'

# Durations and sizes: what is wrong, then the accepted forms.
for c in spawn exec execfile; do
	cmd=childproc-$c
	[ $c = exec ] && run_it='touch ran' || run_it='touch'
	[ $c = exec ] && arg= || arg=ran
	bad "$c: unknown unit" \
	    "$cmd: invalid --timeout '5x': unknown unit 'x'; expected $D\n" \
	    $cmd -t 5x $run_it $arg
	bad "$c: --kill-after not a duration" \
	    "$cmd: invalid --kill-after 'later': not a duration; expected $D\n" \
	    $cmd -k later $run_it $arg
	bad "$c: size with an unknown suffix" \
	    "$cmd: invalid --max-buffer '5T': unknown suffix 'T'; expected $S\n" \
	    $cmd --max-buffer=5T $run_it $arg
	bad "$c: size that is a word" \
	    "$cmd: invalid --max-buffer 'lots': not a size; expected $S\n" \
	    $cmd --max-buffer=lots $run_it $arg
	bad "$c: hex is not a duration" \
	    "$cmd: invalid --timeout '0x10': not a duration; expected $D\n" \
	    $cmd -t 0x10 $run_it $arg
done
# childproc-fork's durations inside values: the whole value, what is
# wrong, the option's forms, then the duration's.
echo "require('fs').writeFileSync('ran', '')" > ran.js
E='wait, replies, disconnect or idle:DURATION (idle:500ms)'
R="N, N/DURATION (10, 10/60s) or unlimited (or 0), N up to 100000, DURATION being $D"
bad "fork: --end idle: without a duration" \
    "childproc-fork: invalid --end 'idle:': no duration after 'idle:'; expected $E, DURATION being $D\n" \
    childproc-fork --end idle: ran.js
bad "fork: --end idle:5x" \
    "childproc-fork: invalid --end 'idle:5x': unknown unit 'x'; expected $E, DURATION being $D\n" \
    childproc-fork --end idle:5x ran.js
bad "fork: --end sometimes" \
    "childproc-fork: invalid --end 'sometimes': not a mode; expected $E\n" \
    childproc-fork --end sometimes ran.js
bad "fork: --max-restarts 100001" \
    "childproc-fork: invalid --max-restarts '100001': the number must be from 0 to 100000; expected $R\n" \
    childproc-fork --max-restarts 100001 ran.js
bad "fork: --max-restarts lots" \
    "childproc-fork: invalid --max-restarts 'lots': not a number of restarts; expected $R\n" \
    childproc-fork --max-restarts lots ran.js
bad "fork: --max-restarts 3/5x" \
    "childproc-fork: invalid --max-restarts '3/5x': unknown unit 'x'; expected $R\n" \
    childproc-fork --max-restarts 3/5x ran.js
bad "fork: --max-restarts 3/" \
    "childproc-fork: invalid --max-restarts '3/': no duration after '/'; expected $R\n" \
    childproc-fork --max-restarts 3/ ran.js
t "fork: --max-restarts 3/1.5s and --end idle:1.5s are accepted" 0 '' '' -- \
    childproc-fork --max-restarts 3/1.5s --end idle:1.5s ran.js
[ -e ran ] && ok "fork: ran with them" || not_ok "fork: ran with them" "no file ran"
rm -f ran

t "1.5s is a duration" 0 '' '' -- childproc-spawn -t 1.5s true
t "250 is a duration (ms)" 0 '' '' -- childproc-spawn -t 250 -k 0.5m true
t "64K is a size" 0 'x\n' '' -- childproc-execfile --max-buffer=64K echo x

# Signals: TERM, term, Term, SIGTERM, sigterm, 15, as GNU timeout takes them.
for s in TERM term Term SIGTERM sigterm SigTerm 15; do
	t "-s $s: the timeout sends SIGTERM" 124 '*' '' -- \
	    childproc-spawn --json -t 100ms -s "$s" sleep 10
	got=$(json "$out" r.signal)
	if [ "$got" = SIGTERM ]; then
		ok "-s $s is SIGTERM"
	else
		not_ok "-s $s is SIGTERM" "got $got"
	fi
done
t "execfile -s hup" 124 '*' '' -- childproc-execfile --json -t 100ms -s hup sleep 10
[ "$(json "$out" r.error.signal)" = SIGHUP ] && ok "hup is SIGHUP" ||
    not_ok "hup is SIGHUP" "$(cat "$out")"
t "exec --kill-signal=sigkill" 124 '*' '' -- \
    childproc-exec --json -t 100ms --kill-signal=sigkill 'exec sleep 10'
[ "$(json "$out" r.error.signal)" = SIGKILL ] && ok "sigkill is SIGKILL" ||
    not_ok "sigkill is SIGKILL" "$(cat "$out")"
t "unknown signal says the forms" 125 '' \
    "childproc-spawn: Unknown signal: TERMINATE (expected a name with or without SIG, in any case (TERM, term, SIGTERM), or a number (15); kill -l lists them)\n" \
    -- childproc-spawn -s TERMINATE true

# --uid and --gid take names (running as another user needs root).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	want_uid=$(id -u nobody)
	want_gid=$(getent group nogroup | cut -d: -f3)
	t "--uid=nobody" 0 "$want_uid\n" '' -- childproc-spawn --uid=nobody id -u
	t "--gid=nogroup" 0 "$want_gid\n" '' -- childproc-execfile --gid=nogroup id -g
	t "--uid=nobody on exec" 0 "$want_uid\n" '' -- childproc-exec --uid=nobody 'id -u'
else
	echo "# skipped: --uid/--gid by name need root"
fi
bad "numeric --uid that is not int32 keeps Node's words" \
    "childproc-spawn: The \"options.uid\" property must be int32. Received 99999999999\n" \
    childproc-spawn --uid=99999999999 touch ran

# Options that do nothing here say so, on stderr; the child still runs.
t "exec --argv0 warns" 0 '/bin/sh\n' \
    "childproc-exec: warning: --argv0 does nothing here: Node's exec and execFile ignore argv0 (childproc-spawn honours it)\n" \
    -- childproc-exec --argv0=XX 'echo $0'
t "execfile --detached warns" 0 'x\n' \
    "childproc-execfile: warning: --detached does nothing here: Node's exec and execFile ignore it (childproc-spawn honours it)\n" \
    -- childproc-execfile --detached echo x
t "execfile --stdio warns" 0 'x\n' \
    "childproc-execfile: warning: --stdio does nothing here: Node's exec and execFile ignore stdio (childproc-spawn honours it)\n" \
    -- childproc-execfile --stdio=inherit echo x
t "spawn --serialization warns" 0 'x\n' \
    "childproc-spawn: warning: --serialization does nothing here: spawnSync has no IPC channel\n" \
    -- childproc-spawn --serialization=json echo x
t "spawn --max-buffer without captured output warns" 0 'x\n' \
    "childproc-spawn: warning: --max-buffer does nothing here: the child's output is not captured (see --stdio and --json)\n" \
    -- childproc-spawn --max-buffer=1K echo x
# stdin is at EOF at once, so a loaded machine may add the "waiting for the
# child" notice (after 2 s) to stderr: the warning is looked for in it.
t "fork --tag without a pool warns" 0 '' \
    "~childproc-fork: warning: --tag does nothing here: it says which worker of a pool sent a message, and there is one child (see -n)" \
    -- childproc-fork --tag ran.js
[ -e ran ] && ok "fork --tag: the child ran" || not_ok "fork --tag: the child ran" "no file ran"
rm -f ran
t "fork --balance without --listen warns" 0 '' \
    "~childproc-fork: warning: --balance does nothing here: it says how workers share the --listen socket (cluster servers: see --sched)" \
    -- childproc-fork --balance=reuseport ran.js
rm -f ran
t "fork -n 1 --tag: no warning" 0 '*' '~worker 1 pid' -- childproc-fork -n 1 --end disconnect --tag ran.js
[ "$(count_lines warning "$err")" -eq 0 ] && ok "fork -n 1 --tag: not a word of warning" ||
    not_ok "fork -n 1 --tag: not a word of warning" "$(cat "$err")"
rm -f ran
t "spawn --max-buffer with --json: no warning" 0 '*' '' -- \
    childproc-spawn --json --max-buffer=1K echo x
echo data > data
bad "--input and --input-file together" \
    "childproc-execfile: --input and --input-file both give the child's standard input; use one of them\n" \
    childproc-execfile --input=x --input-file=data touch ran
bad "--input-file and --input together" \
    "~--input and --input-file both give the child's standard input" \
    childproc-spawn --input-file=data --input=x touch ran
t "--input twice: the last one" 0 'b' '' -- childproc-execfile --input=a --input=b cat

# A bad --cwd is our caller's mistake: 125 as env -C, with Node's words.
t "exec -C /nonexistent is 125" 125 '' \
    "childproc-exec: spawn /bin/sh ENOENT: directory '$tmp/no-such-dir' does not exist\n" \
    -- childproc-exec -C "$tmp/no-such-dir" true
t "execfile -C /nonexistent is 125" 125 '' \
    "childproc-execfile: spawn true ENOENT: directory '$tmp/no-such-dir' does not exist\n" \
    -- childproc-execfile -C "$tmp/no-such-dir" true
t "spawn -C /nonexistent is 125" 125 '' \
    "childproc-spawn: spawnSync true ENOENT: directory '$tmp/no-such-dir' does not exist\n" \
    -- childproc-spawn -C "$tmp/no-such-dir" true
t "spawn -C a file is 125" 125 '' \
    "childproc-spawn: spawnSync true ENOTDIR: '$tmp/data' is not a directory\n" \
    -- childproc-spawn -C "$tmp/data" true
t "exec --json -C /nonexistent is 125, Node's JSON" 125 \
    '~"message":"spawn /bin/sh ENOENT"' '' \
    -- childproc-exec --json -C "$tmp/no-such-dir" true
t "fork -C /nonexistent is 125" 125 '' \
    "childproc-fork: spawn node ENOENT: directory '$tmp/no-such-dir' does not exist\n" \
    -- childproc-fork -C "$tmp/no-such-dir" ran.js
t "fork -n 2 -C /nonexistent is 125" 125 '' \
    "~childproc-fork: spawn node ENOENT: directory '$tmp/no-such-dir' does not exist\n" \
    -- childproc-fork -n 2 -C "$tmp/no-such-dir" ran.js
t "fork -C a file is 125" 125 '' \
    "childproc-fork: spawn ENOTDIR: '$tmp/data' is not a directory\n" \
    -- childproc-fork -C "$tmp/data" ran.js
t "fork: a missing node is still 127" 127 '' \
    "~childproc-fork: cannot run '$tmp/no-such-node': " \
    -- childproc-fork --exec-path "$tmp/no-such-node" ran.js
t "a missing command is still 127" 127 '' '*' -- \
    childproc-execfile -C "$tmp" ./no-such-command

# closed NAME WANT-STATUS WANT-STDOUT PIPELINE: the pipeline's first stage
# ends with WANT-STATUS and writes nothing on stderr; bounded in time.
closed() {
	name=$1 want=$2 want_out=$3 line=$4
	cmdline=$line
	rm -f pipestatus
	set +e
	timeout -k 5 60 bash -c "$line"' 2> err1; echo "${PIPESTATUS[0]}" > pipestatus' \
	    > "$out" 2> "$err" < /dev/null
	set -e
	why=""
	status=$(cat pipestatus 2>/dev/null || echo hung)
	[ "$status" = "$want" ] || why="$why status $status (want $want)"
	match "$want_out" "$out" || why="$why stdout"
	[ ! -s err1 ] || why="$why stderr: $(head -c 300 err1)"
	if [ -z "$why" ]; then
		ok "$name"
	else
		not_ok "$name" "wrong:$why"
	fi
}
closed "execfile seq | head -1: 141, quietly" 141 '1\n' \
    'childproc-execfile seq 1000000 | head -1'
closed "exec seq | head -1: 141, quietly" 141 '1\n' \
    "childproc-exec 'seq 1000000' | head -1"
closed "execfile --max-buffer=Infinity | head -c 5" 141 '1\n2\n3' \
    'childproc-execfile --max-buffer=Infinity seq 1000000 | head -c 5'
closed "execfile --encoding=hex | head -c 4" 141 '310a' \
    'childproc-execfile --encoding=hex seq 1000000 | head -c 4'
closed "exec --json | head -c 9" 141 '{"error":' \
    "childproc-exec --json 'seq 100000' | head -c 9"
closed "spawn --stdio=pipe | head -1" 141 '1\n' \
    'childproc-spawn --max-buffer=Infinity --stdio=pipe,pipe,inherit seq 1000000 | head -1'
closed "spawn (inherited stdout) | head -1: the child's SIGPIPE" 141 '1\n' \
    'childproc-spawn seq 1000000 | head -1'

# childproc-fork | head -1.  A child sending in a loop, as fast as send()
# lets it, never sees the disconnect (send() on the closed channel fails
# without a word and returns true): it is killed after --grace (5s), the
# bridge ends quietly with 141, and nothing is left running.
cat > spam.js <<'EOF'
require('fs').writeFileSync('spam.pid', String(process.pid));
process.on('error', () => {});
let i = 0;
(function go() { while (process.send({ i: i++ })) {} setImmediate(go); })();
EOF
closed "fork spam.js | head -1: 141, quietly" 141 '{"i":0}\n' \
    'childproc-fork spam.js | head -1'
if [ -s spam.pid ] && wait_for dead "$(cat spam.pid)"; then
	ok "fork spam.js | head -1: the child is gone"
else
	not_ok "fork spam.js | head -1: the child is gone" \
	    "pid $(cat spam.pid 2>/dev/null) still running"
	kill -KILL "$(cat spam.pid)" 2>/dev/null || true
fi
# One that leaves when disconnected ends at once, as quietly.
cat > leaves.js <<'EOF'
process.on('error', () => {});
process.on('disconnect', () => process.exit(0));
let i = 0;
setInterval(() => process.send({ i: i++ }), 1);
EOF
closed "fork leaves.js | head -1: 141, quietly" 141 '{"i":0}\n' \
    'childproc-fork leaves.js | head -1'

# SIGTERM while the reader of our stdout has stopped reading: forwarded to
# the child at once (the bridge is not stuck in a write), and once the
# reader reads again every message the bridge took comes out, whole and in
# order, and the bridge exits with the child's status.
cat > stall.js <<'EOF'
const fs = require('fs');
process.on('SIGTERM', () => { fs.writeFileSync('got-term', ''); process.exit(7); });
let i = 0, told = false;
(function go() {
	while (process.send({ i: i++ })) {}
	// send() said false well past what a pipe holds: we are held back.
	if (!told && i > 20000) { told = true; fs.writeFileSync('stalled', ''); }
	setTimeout(go, 10);
})();
EOF
rm -f fifo go got stalled got-term
mkfifo fifo
sh -c 'while [ ! -e go ]; do sleep 0.05; done; exec cat' < fifo > got &
reader=$!
childproc-fork --end wait stall.js > fifo 2> stall.err &
bridge=$!
cleanup_pids="$cleanup_pids $reader $bridge"
wait_seconds=60
if wait_for [ -e stalled ]; then
	kill -TERM "$bridge"
	if wait_for [ -e got-term ]; then
		ok "fork: TERM with a stalled stdout reader reaches the child"
	else
		not_ok "fork: TERM with a stalled stdout reader reaches the child" \
		    "not forwarded in 60s"
	fi
else
	not_ok "fork: TERM with a stalled stdout reader reaches the child" \
	    "the child never saw send() return false"
fi
touch go
if wait_for dead "$bridge"; then
	st=0
	wait "$bridge" || st=$?
	wait "$reader" || true
	[ "$st" -eq 7 ] && [ ! -s stall.err ] &&
	    ok "fork: then the output drains, and the child's status" ||
	    not_ok "fork: then the output drains, and the child's status" \
		"status $st (want 7), stderr: $(head -c 300 stall.err)"
	if node -e '
		const l = require("fs").readFileSync("got", "utf8").split("\n");
		if (l.pop() !== "" || l.length < 1000) process.exit(1);
		l.forEach((x, k) => { if (JSON.parse(x).i !== k) process.exit(1); });'
	then
		ok "fork: every message it took, whole and in order"
	else
		not_ok "fork: every message it took, whole and in order" \
		    "$(wc -l < got) lines; $(head -c 200 got)"
	fi
else
	not_ok "fork: then the output drains, and the child's status" \
	    "still running 60s after the reader read again"
	kill -KILL "$bridge" 2>/dev/null || true
fi
wait_seconds=20

# childproc-fork: input over, --end not given, the child still listening:
# it waits as Node does, but says so on stderr (timeout ends the wait).
printf '%s\n' "process.on('message', (m) => process.send(m));" > echo.js
echo '{"x":1}' > one
stdin=one
t "fork: waiting after input says so" 124 '{"x":1}\n' \
    "childproc-fork: standard input has ended; waiting for the child to exit or disconnect, as Node does (--end wait).  To stop once input ends: --end replies, --end idle:500ms or --end disconnect\n" \
    -- timeout 8 childproc-fork echo.js
t "fork: --end wait given, no notice" 124 '{"x":1}\n' '' \
    -- timeout 5 childproc-fork --end wait echo.js
t "fork: --end replies ends, no notice" 0 '{"x":1}\n' '' \
    -- timeout 60 childproc-fork --end replies echo.js
stdin=/dev/null

done_testing
