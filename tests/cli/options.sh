#!/bin/sh
# --help, --version, and bad option values: refused up front with Node's
# wording ("NAME: <Node's message>") and status 125, the child never run.
. "$(dirname "$0")/lib.sh"

cd "$tmp"

for c in spawn exec execfile; do
	cmd=childproc-$c
	t "$c --help: exit 0, help on stdout" 0 "~$cmd" '' -- $cmd --help
	# Every shared option is documented, spelled as in the issue.
	missing=""
	for o in --cwd --env --unset --ignore-environment --argv0 --uid --gid \
	    --detached --timeout --kill-signal --kill-after --kill-tree \
	    --max-buffer --encoding --input --input-file --json --shell \
	    --help --version ' -C' ' -e' ' -u' ' -i' ' -t' ' -s' ' -k'; do
		grep -q -e "$o" "$out" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "$c --help names every shared option"
	else
		not_ok "$c --help names every shared option" "missing:$missing"
	fi
	t "$c -h" 0 "~$cmd" '' -- $cmd -h
	t "$c --version" 0 "~$cmd" '' -- $cmd --version
	if grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' "$out"; then
		ok "$c --version prints a version number"
	else
		not_ok "$c --version prints a version number" "$(cat "$out")"
	fi
done
t "spawn --help lists --stdio" 0 '~--stdio' '' -- childproc-spawn --help

for c in spawn execfile; do
	cmd=childproc-$c
	bad "$c: unknown signal" "$cmd: Unknown signal: SIGFOO (expected a name with or without SIG, in any case (TERM, term, SIGTERM), or a number (15); kill -l lists them)\n" \
	    $cmd -s SIGFOO touch ran
	bad "$c: unknown signal without SIG" "~$cmd: Unknown signal: FOO (expected" \
	    $cmd --kill-signal=FOO touch ran
	bad "$c: unknown signal number" "~$cmd: Unknown signal: 99 (expected" \
	    $cmd -s 99 touch ran
	bad "$c: negative timeout" \
	    "$cmd: invalid --timeout '-1': negative; expected a number with a unit ms, s, m or h (500ms, 2s, 1.5m, 1h), or a whole number of milliseconds (250)\n" \
	    $cmd -t -1 touch ran
	bad "$c: fractional milliseconds" \
	    "$cmd: invalid --timeout '1.5': a fraction of a millisecond; expected a number with a unit ms, s, m or h (500ms, 2s, 1.5m, 1h), or a whole number of milliseconds (250)\n" \
	    $cmd --timeout=1.5 touch ran
	bad "$c: timeout that is not a number" "~invalid --timeout 'soon': not a duration; expected" \
	    $cmd -t soon touch ran
	bad "$c: negative max-buffer" \
	    "$cmd: invalid --max-buffer '-1': negative; expected a number of bytes with an optional K, M or G suffix (1024-based: 64K, 1.5M, 2G), or Infinity\n" \
	    $cmd --max-buffer=-1 touch ran
	bad "$c: unknown encoding" "$cmd: Unknown encoding: bogus\n" \
	    $cmd --encoding=bogus touch ran
	bad "$c: uid not an int32" '~The "options.uid" property must be int32' \
	    $cmd --uid=2147483648 touch ran
	bad "$c: no such user" "$cmd: invalid --uid 'no-such-user-xyz': no such user; expected a user name or a number\n" \
	    $cmd --uid=no-such-user-xyz touch ran
	bad "$c: no such group" "$cmd: invalid --gid 'no-such-group-xyz': no such group; expected a group name or a number\n" \
	    $cmd --gid=no-such-group-xyz touch ran
	bad "$c: gid not an int32" '~The "options.gid" property must be int32' \
	    $cmd --gid=4294967296 touch ran
	bad "$c: missing option argument" '~requires an argument' $cmd -t
	bad "$c: --env without =" '~NOEQUALS' $cmd --env=NOEQUALS touch ran
	bad "$c: unreadable --input-file" '~no-such-input' \
	    $cmd --input-file=./no-such-input touch ran
	bad "$c: unknown option" "~Try '$cmd --help'" $cmd --frobnicate touch ran
done
bad "exec: unknown signal" "~childproc-exec: Unknown signal: SIGFOO (expected" \
    childproc-exec -s SIGFOO 'touch ran'
bad "exec: negative timeout" \
    "~childproc-exec: invalid --timeout '-1': negative; expected" \
    childproc-exec -t -1 'touch ran'
bad "exec: unknown encoding" "childproc-exec: Unknown encoding: bogus\n" \
    childproc-exec --encoding=bogus 'touch ran'
bad "spawn: bad --stdio word" \
    "childproc-spawn: The argument 'stdio' is invalid. Received 'bogus'\n" \
    childproc-spawn --stdio=bogus touch ran
bad "spawn: two ipc entries" \
    "childproc-spawn: Child process can have only one IPC pipe\n" \
    childproc-spawn --stdio=pipe,pipe,pipe,ipc,ipc touch ran
bad "spawn: bad --serialization" \
    "childproc-spawn: The property 'options.serialization' must be one of: undefined, 'json', 'advanced'. Received 'xml'\n" \
    childproc-spawn --serialization=xml touch ran

# Good spellings are accepted.
t "signal by name with SIG" 0 '' '' -- childproc-spawn -s SIGKILL true
t "signal by name without SIG" 0 '' '' -- childproc-spawn -s HUP true
t "signal by number" 0 '' '' -- childproc-spawn -s 9 true
t "timeout in minutes" 0 '' '' -- childproc-spawn -t 1m true
t "timeout in hours" 0 '' '' -- childproc-execfile -t 2h true
t "max-buffer with G" 0 '' '' -- childproc-execfile --max-buffer=1G true
t "max-buffer Infinity" 0 '' '' -- childproc-exec --max-buffer=Infinity true

done_testing
