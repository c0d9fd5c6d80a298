# tests/cli/lib.sh - sourced by the CLI tests; prints TAP.
#
#   t NAME STATUS STDOUT STDERR -- COMMAND [ARG...]
#
# runs COMMAND with stdin from $stdin (default /dev/null) and checks:
#   STATUS  a number, several separated by | (any of them), !0, or *
#   STDOUT, STDERR
#           the exact bytes, written as printf %b ('out\n');
#           ~TEXT: contains TEXT (a fixed string, \n allowed);
#           *: anything
# Every run's stderr is also checked for sanitizer reports.  What was run
# and what came out is printed as TAP diagnostics on failure.  $out, $err
# and $status keep the last run for extra checks with ok/not_ok.

set -eu

# wait_for, alive, dead, json and the rest (tests/lib/lib.sh).
. "$CP_SOURCE_DIR/tests/lib/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-cli.XXXXXX")
stdin=/dev/null
ntest=0
nfail=0
cleanup_pids=""

cleanup() {
	for p in $cleanup_pids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

out=$tmp/out
err=$tmp/err
status=0

ok() {
	ntest=$((ntest + 1))
	echo "ok $ntest - $1"
}

not_ok() {
	ntest=$((ntest + 1))
	nfail=$((nfail + 1))
	echo "not ok $ntest - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

# The last run, for a failure report.
show_run() {
	echo "command: $cmdline"
	echo "status: $status"
	echo "stdout:"
	head -c 2000 "$out" | od -c | head -20
	echo "stderr:"
	head -c 2000 "$err"
}

# match SPEC FILE: does FILE match a STDOUT/STDERR spec?
match() {
	case $1 in
	'*')
		return 0 ;;
	'~'*)
		printf '%b' "${1#\~}" > "$tmp/want"
		# A fixed string that may span lines: compare with a shell pattern
		# over the whole file.
		want=$(cat "$tmp/want")
		got=$(cat "$2")
		case $got in
		*"$want"*) return 0 ;;
		*) return 1 ;;
		esac ;;
	*)
		printf '%b' "$1" > "$tmp/want"
		cmp -s "$tmp/want" "$2" ;;
	esac
}

status_ok() {
	case $1 in
	'*') return 0 ;;
	'!0') [ "$status" -ne 0 ]; return ;;
	esac
	for s in $(printf '%s' "$1" | tr '|' ' '); do
		[ "$status" -eq "$s" ] && return 0
	done
	return 1
}

run() {
	cmdline="$*"
	set +e
	"$@" > "$out" 2> "$err" < "$stdin"
	status=$?
	set -e
}

sanitizer_clean() {
	! grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$1"
}

# check NAME STATUS STDOUT STDERR [WRONG]: the TAP line for the last run
# ($status, $out, $err) against t's specs; WRONG is what the caller has
# found wrong already.
check() {
	why=${5:-}
	status_ok "$2" || why="$why status (want $2)"
	match "$3" "$out" || why="$why stdout (want '$3')"
	match "$4" "$err" || why="$why stderr (want '$4')"
	sanitizer_clean "$err" || why="$why sanitizer report"
	if [ -z "$why" ]; then
		ok "$1"
	else
		not_ok "$1" "wrong:$why" "$(show_run)"
	fi
}

t() {
	name=$1 want_status=$2 want_out=$3 want_err=$4
	shift 4
	[ "$1" = "--" ] || { echo "t $name: missing --" >&2; exit 99; }
	shift
	run "$@"
	check "$name" "$want_status" "$want_out" "$want_err"
}

# bad NAME WANT-STDERR ARGS...: refused with status 125, the stderr line
# given, and the child not run (it would create the file ran).
bad() {
	name=$1 want=$2
	shift 2
	t "$name" 125 '' "$want" -- "$@"
	if [ -e ran ]; then
		not_ok "$name: the child was not run" "it ran"
		rm -f ran
	fi
}

done_testing() {
	echo "1..$ntest"
	[ "$nfail" -eq 0 ]
}
