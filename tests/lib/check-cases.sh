#!/bin/sh
# check-cases.sh DRIVER NAME... - the cases DRIVER has (DRIVER --list) are
# exactly the NAMEs meson registered from its CASE(" lines: a case written
# so that meson missed it, or a name given twice, fails here.
set -eu
driver=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$driver" --list | sort >"$tmp/has"
printf '%s\n' "$@" | sort >"$tmp/registered"
if ! cmp -s "$tmp/has" "$tmp/registered"; then
	echo "${driver##*/}: its cases (<) and the tests meson registered (>):" >&2
	diff "$tmp/has" "$tmp/registered" >&2 || true
	exit 1
fi
if [ -n "$(uniq -d "$tmp/has")" ]; then
	echo "${driver##*/}: a case name is given twice: $(uniq -d "$tmp/has")" >&2
	exit 1
fi
echo "${driver##*/}: $# cases, all registered"
