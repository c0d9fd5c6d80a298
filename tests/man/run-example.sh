#!/bin/sh
# run-example.sh parent|child|pool PROGRAM PAGE
#
# Runs an example of childproc(3) against real node, with the Node side
# taken from the same page:
#   parent: PROGRAM (the C parent) forks the page's sub.js;
#   child:  the page's parent.js forks PROGRAM (the C child) with execPath;
#   pool:   PROGRAM (a pool of two) runs the page's worker.js.
# Both directions must carry their message, and everything must exit 0.
set -eu

mode=$1 prog=$2 page=$3
case $prog in /*) ;; *) prog=$PWD/$prog ;; esac
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "node not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

expect() {
	if ! grep -Fqx -- "$1" "$tmp/out"; then
		echo "missing line: $1"
		fail=1
	fi
}

fail=0
case $mode in
parent)
	sh "$here/extract-example.sh" "$page" sub.js "$tmp/sub.js"
	(cd "$tmp" && "$prog" sub.js) >"$tmp/out" 2>"$tmp/err" || {
		echo "parent exited with $?"; fail=1; }
	expect 'parent got message: {"foo":"bar"}'
	expect "child get message { hello: 'world' }"
	;;
child)
	sh "$here/extract-example.sh" "$page" parent.js "$tmp/parent.js"
	ln -s "$prog" "$tmp/child"
	(cd "$tmp" && node parent.js) >"$tmp/out" 2>"$tmp/err" || {
		echo "node parent.js exited with $?"; fail=1; }
	expect 'child got message: {"hello":"world"}'
	expect "parent get message: { foo: 'bar' }"
	expect 'child exited with code 0'
	;;
pool)
	sh "$here/extract-example.sh" "$page" worker.js "$tmp/worker.js"
	(cd "$tmp" && "$prog") >"$tmp/out" 2>"$tmp/err" || {
		echo "pool exited with $?"; fail=1; }
	expect 'worker 1 says {"slot":"1"}'
	expect 'worker 2 says {"slot":"2"}'
	expect 'worker 1 exited with code 0'
	expect 'worker 2 exited with code 0'
	;;
*)
	echo "usage: $0 parent|child|pool PROGRAM PAGE" >&2
	exit 2
	;;
esac
echo "--- stdout"; cat "$tmp/out"
echo "--- stderr"; cat "$tmp/err"
# A sanitizer report in the C program fails the test even if it exited 0.
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/err"; then
	fail=1
fi
exit "$fail"
