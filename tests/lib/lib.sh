# tests/lib/lib.sh - the helpers every shell test shares.  Source it:
#
#	. "$CP_SOURCE_DIR/tests/lib/lib.sh"	(meson's test_env sets it)
#
# POSIX sh (dash) and bash alike; it defines functions and nothing else.

# fail MESSAGE...: says "$fail_name: MESSAGE" on stderr, then the last
# $fail_lines (default 40) lines of each file named in $fail_show that
# exists, and exits 1.
fail() {
	echo "${fail_name:-${0##*/}}: $*" >&2
	for f_ in ${fail_show:-}; do
		[ -f "$f_" ] || continue
		echo "--- $f_ (last lines):" >&2
		tail -n "${fail_lines:-40}" "$f_" >&2
	done
	exit 1
}

# wait_for COMMAND [ARG...]: runs COMMAND every 50 ms until it succeeds;
# returns 1 after $wait_seconds (default 20) seconds.  Only a bound
# against hangs: no test may depend on how fast things are.
wait_for() {
	w_=0
	while ! "$@"; do
		w_=$((w_ + 1))
		[ "$w_" -lt $((${wait_seconds:-20} * 20)) ] || return 1
		sleep 0.05
	done
}

# count_lines PATTERN FILE: how many lines of FILE match the extended regex
# PATTERN (0 when FILE is missing).
count_lines() {
	c_=$(grep -cE -- "$1" "$2" 2>/dev/null || true)
	echo "${c_:-0}"
}

# at_least N PATTERN FILE: whether N lines of FILE match PATTERN.
at_least() {
	[ "$(count_lines "$2" "$3")" -ge "$1" ]
}

# wait_lines PATTERN N FILE [PID]: waits until N lines of FILE match
# PATTERN, looking every 10 ms (a line may announce something short-lived);
# fails (fail) after $wait_seconds (default 60) or, when PID is given, as
# soon as that process has gone.
wait_lines() {
	l_=0
	while ! at_least "$2" "$1" "$3"; do
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			fail "process $4 ended while waiting for '$1' in $3"
		fi
		l_=$((l_ + 1))
		[ "$l_" -le $((${wait_seconds:-60} * 100)) ] ||
		    fail "timed out waiting for $2 x '$1' in $3"
		sleep 0.01
	done
}

# term_wait PID: sends TERM to PID (a child of this shell) and fails
# unless it then exits 0.
term_wait() {
	kill -TERM "$1"
	t_=0
	wait "$1" || t_=$?
	[ "$t_" -eq 0 ] || fail "process $1 exited with $t_ after TERM"
}

# end_bg SIG PID: for a cleanup trap: if PID (may be empty) is still
# running, sends it SIG and reaps it (when it is our child), whatever its
# status.
end_bg() {
	if [ -n "$2" ] && kill -0 "$2" 2>/dev/null; then
		kill -"$1" "$2" 2>/dev/null || true
		wait "$2" 2>/dev/null || true
	fi
}

# alive PID: whether process PID is still running (a zombie counts as gone).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	s_=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$s_" ] && [ "$s_" != Z ]
}

dead() {
	! alive "$1"
}

# json FILE EXPR: EXPR (JavaScript, on the value r read from FILE, one JSON
# text) evaluated by node: a string as it is, anything else as JSON
# (undefined as "undefined"); "<not JSON>" or "<error>" when it cannot be
# had.
json() {
	node -e '
		let r, v;
		try {
			r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		} catch (e) {
			process.stdout.write("<not JSON>");
			process.exit(0);
		}
		try {
			v = eval(process.argv[2]);
		} catch (e) {
			v = "<error>";
		}
		process.stdout.write(typeof v === "string" ? v :
		    v === undefined ? "undefined" : JSON.stringify(v));
	' "$1" "$2"
}
