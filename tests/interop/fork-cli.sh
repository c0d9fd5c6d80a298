#!/bin/sh
# fork-cli.sh CASE FDLIST - childproc-fork from a shell, against real node.
# childproc-fork is found in PATH (the build's cmd/ comes first).
set -eu

case_=$1
fdlist=$2
here=$(cd "$(dirname "$0")" && pwd)
bridge=$here/node/bridge.js
sub=$here/../examples/sub.js
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# sh runs no EXIT trap when a signal kills it: turn those into an exit.
trap 'exit 1' HUP INT TERM PIPE

. "$CP_SOURCE_DIR/tests/lib/lib.sh"
fail_name="fork-cli $case_"
fail_show="$tmp/out $tmp/err"

# run INPUT ARGS...: childproc-fork ARGS with INPUT (printf format) on
# stdin; stdout, stderr and the status go to $tmp/out, $tmp/err, $st.
run() {
	input=$1
	shift
	set +e
	# shellcheck disable=SC2059
	printf "$input" | childproc-fork "$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	set -e
}

expect_status() {
	[ "$st" -eq "$1" ] || fail "exit status $st, expected $1"
}

# expect_out LINE...: stdout is exactly these lines.
expect_out() {
	printf '%s\n' "$@" >"$tmp/want"
	cmp -s "$tmp/want" "$tmp/out" || fail "stdout differs from: $*"
}

expect_err() {
	grep -q -e "$1" "$tmp/err" || fail "stderr lacks: $1"
}

# Starts childproc-fork ARGS in the background (stdin /dev/null) and waits
# for its first line of output; $pid is its pid.
start_bg() {
	# Not the last run's output: the redirection below happens later.
	rm -f "$tmp/out"
	childproc-fork "$@" </dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	while [ ! -s "$tmp/out" ]; do
		kill -0 "$pid" 2>/dev/null || fail "ended before its first message"
		sleep 0.05
	done
}

command -v childproc-fork >/dev/null || fail "childproc-fork is not in PATH"

case $case_ in
seed)
	# The seed article's demo, from a shell.
	run '{"hello":"world"}\n' --end idle:500ms "$sub"
	expect_status 0
	expect_out '{"foo":"bar"}'
	expect_err "child get message { hello: 'world' }"
	;;
end-wait)
	# Input ends at once; the child decides when it is over.
	run '{"a":1}\n{"a":2}\n{"exit":0}\n' "$bridge" echo
	expect_status 0
	expect_out '{"got":{"a":1}}' '{"got":{"a":2}}' '{"got":{"exit":0}}'
	;;
end-replies)
	# Every answer comes after input has ended; none is cut off.
	run '1\n2\n3\n4\n5\n' --end replies "$bridge" delayed
	expect_status 0
	expect_out '{"got":1}' '{"got":2}' '{"got":3}' '{"got":4}' '{"got":5}'
	expect_err '^received 5$'
	;;
end-idle)
	# The idle time counts from the child's last message.
	run '"x"\n"y"\n' --end idle:3s "$bridge" late
	expect_status 0
	expect_out '{"got":"x"}' '{"got":"y"}' '{"late":true}'
	expect_err '^received 2$'
	;;
end-disconnect)
	# We hang up once the input is written: the child gets all of it.
	run '{"n":1}\n{"n":2}\n{"n":3}\n' --end disconnect "$bridge" echo
	expect_status 0
	expect_err '^received 3$'
	# Answers it managed to send before our close are complete lines.
	printf '%s\n' '{"got":{"n":1}}' '{"got":{"n":2}}' '{"got":{"n":3}}' \
	    | head -n "$(wc -l <"$tmp/out")" >"$tmp/want"
	cmp -s "$tmp/want" "$tmp/out" || fail "answers are not a prefix"
	;;
end-message)
	# --end-message goes after every input line.
	run '"a"\n"b"\n' --end-message '{"exit":5}' "$bridge" echo
	expect_status 5
	expect_out '{"got":"a"}' '{"got":"b"}' '{"got":{"exit":5}}'
	;;
many)
	# 10 000 lines each way, in order, in the replies and wait modes.
	seq 0 9999 | sed 's/.*/{"n":&}/' >"$tmp/in"
	seq 0 9999 | sed 's/.*/{"got":{"n":&}}/' >"$tmp/want"
	childproc-fork --end replies "$bridge" echo <"$tmp/in" >"$tmp/out" \
	    2>"$tmp/err" || fail "replies: exit status $?"
	cmp -s "$tmp/want" "$tmp/out" || fail "replies: messages lost or reordered"
	echo '{"exit":0}' >>"$tmp/in"
	echo '{"got":{"exit":0}}' >>"$tmp/want"
	childproc-fork "$bridge" echo <"$tmp/in" >"$tmp/out" 2>"$tmp/err" ||
	    fail "wait: exit status $?"
	cmp -s "$tmp/want" "$tmp/out" || fail "wait: messages lost or reordered"
	;;
bad-lines)
	# Bad lines are named and not sent; blank lines are skipped.
	run '{"a":1}\nnot json\n\n   \n{"b":2}\n{"c":\n[1,2]\n' --end replies \
	    "$bridge" echo
	expect_status 0
	expect_out '{"got":{"a":1}}' '{"got":{"b":2}}' '{"got":[1,2]}'
	expect_err '^childproc-fork: line 2: invalid JSON'
	expect_err '^childproc-fork: line 6: invalid JSON'
	expect_err '^received 3$'
	if grep -q -e 'line [1345]:' -e 'line 7:' "$tmp/err"; then
		fail "a good or blank line was reported"
	fi
	;;
status-code)
	run '{"exit":7}\n' "$bridge" echo
	expect_status 7
	;;
status-signal)
	run '{"kill":"SIGKILL"}\n' "$bridge" echo
	expect_status 137
	run '{"kill":"SIGTERM"}\n' "$bridge" echo
	expect_status 143
	;;
status-timeout)
	run '' --timeout 1s "$bridge" hang
	expect_status 124
	;;
status-bad-option)
	run '' --no-such-option "$bridge" echo
	expect_status 125
	expect_err '^childproc-fork: '
	expect_err "childproc-fork --help"
	run '' --end sometimes "$bridge" echo
	expect_status 125
	expect_err "^childproc-fork: invalid --end 'sometimes': not a mode; expected "
	;;
status-notfound)
	run '' --exec-path "$tmp/no-such-node" x
	expect_status 127
	expect_err "^childproc-fork: cannot run '$tmp/no-such-node': "
	;;
status-noexec)
	: >"$tmp/not-executable"
	chmod 644 "$tmp/not-executable"
	run '' --exec-path "$tmp/not-executable" x
	expect_status 126
	expect_err "^childproc-fork: cannot run '$tmp/not-executable': "
	;;
signals)
	# SIGINT, SIGTERM and SIGHUP sent to us reach the child.
	for sig in INT TERM HUP; do
		start_bg "$bridge" signals
		kill -"$sig" "$pid"
		set +e
		wait "$pid"
		st=$?
		set -e
		expect_status 3
		expect_out '{"ready":true}' "{\"signal\":\"SIG$sig\"}"
	done
	;;
help)
	run '' --help
	expect_status 0
	grep -q '^usage: childproc-fork ' "$tmp/out" || fail "no usage line"
	grep -q -e '--end=MODE' "$tmp/out" || fail "--end is not described"
	[ ! -s "$tmp/err" ] || fail "--help wrote to stderr"
	;;
fds)
	# The child gets 0, 1, 2 and the channel, nothing else we hold
	# (fd 7 here is open without close-on-exec).
	exec 7</dev/null
	run '' --exec-path "$fdlist" x
	exec 7<&-
	expect_status 0
	expect_out '{"fds":[0,1,2,3],"NODE_CHANNEL_FD":"3","NODE_CHANNEL_SERIALIZATION_MODE":"json"}'
	;;
*)
	fail "unknown case"
	;;
esac
echo "fork-cli $case_: ok"
