#!/bin/sh
# example.sh PARENT - runs the example C parent (tests/examples/parent.c)
# on the seed's sub.js, as the README's quick start does.
set -eu

parent=$1
sub=$(cd "$(dirname "$0")/../examples" && pwd)/sub.js
out=$(mktemp)
trap 'rm -f "$out"' EXIT
trap 'exit 1' HUP INT TERM PIPE

"$parent" "$sub" >"$out" 2>&1 || {
	echo "example: exit status $?" >&2
	cat "$out" >&2
	exit 1
}
# The two processes share the terminal: check each line, not their order.
for line in 'parent got message: {"foo":"bar"}' \
    "child get message { hello: 'world' }"; do
	grep -qxF "$line" "$out" || {
		echo "example: missing line: $line" >&2
		cat "$out" >&2
		exit 1
	}
done
[ "$(wc -l <"$out")" -eq 2 ] || { cat "$out" >&2; exit 1; }
cat "$out"
