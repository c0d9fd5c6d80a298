#!/bin/sh
# exports.sh HEADER LIBRARY
# libchildproc.so must export exactly the cp_* functions that childproc.h
# declares with CP_API: no proto/ symbols, no cp__ internals, nothing the
# header does not promise.  The list comes from the header at test time.
set -eu
header=$1
lib=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cp-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Declarations may span lines: drop preprocessor lines (the CP_API
# definition), join the rest, take each cp_* name before "(".
grep -v '^[[:space:]]*#' "$header" | tr '\n' ' ' |
	grep -o 'CP_API[^;(]*[^A-Za-z0-9_]cp_[A-Za-z0-9_]*[[:space:]]*(' |
	sed 's/[[:space:]]*($//; s/.*[^A-Za-z0-9_]//' | sort -u >"$tmp/declared"
# With symbol versions shown (cp_x@@CHILDPROC_0.2); the version node
# itself is an absolute (A) symbol.
nm -D --defined-only --with-symbol-versions "$lib" |
	awk '$2 != "A" { print $2, $3 }' >"$tmp/nm"
nm -D --defined-only --with-symbol-versions "$lib" |
	awk '$2 == "A" { print $3 }' >"$tmp/nodes"
sed 's/@.*//' "$tmp/nm" | awk '{ print $2 }' | sort -u >"$tmp/exported"

n=$(wc -l <"$tmp/declared")
if [ "$n" -lt 10 ]; then
	echo "exports: only $n CP_API declarations found in $header" >&2
	exit 1
fi
status=0
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
	echo "exports: < declared in childproc.h, > exported by $lib:" >&2
	diff "$tmp/declared" "$tmp/exported" >&2 || true
	status=1
fi
# Every export is code (T), not data.
if awk '$1 != "T"' "$tmp/nm" | grep . >&2; then
	echo "exports: the symbols above are not functions" >&2
	status=1
fi
# Every export carries the one version node of core/childproc.map.
if awk '$2 !~ /@@?CHILDPROC_0\.2$/' "$tmp/nm" | grep . >&2; then
	echo "exports: the symbols above are not versioned CHILDPROC_0.2" >&2
	status=1
fi
if [ "$(cat "$tmp/nodes")" != "CHILDPROC_0.2" ]; then
	echo "exports: version nodes: $(cat "$tmp/nodes")" >&2
	status=1
fi
# Nothing but cp_ (the map's glob would let a cp_ internal through: the
# list above catches those).
if grep -v '^cp_' "$tmp/exported" >&2; then
	echo "exports: the symbols above are not cp_*" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "ok - $n functions exported, as declared, CHILDPROC_0.2"
exit "$status"
