#!/bin/sh
# check-api.sh HEADER PAGE
#
# Every function the public header exports (CP_API) is documented in the
# library's page: listed in NAME, declared in SYNOPSIS and described (named
# with .Fn) in the text; and the page names no function the header lacks.
set -eu

header=$1 page=$2
[ -f "$page" ] || { echo "$page is not written yet"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Declarations may span lines: join each CP_API one up to its "(".
awk '/^CP_API/ { d = $0; while (d !~ /\(/ && (getline l) > 0) d = d " " l;
	sub(/\(.*/, "", d); n = split(d, w, /[ *]+/); print w[n] }' \
    "$header" | sort -u >"$tmp/api"
[ -s "$tmp/api" ] || { echo "no CP_API functions in $header"; exit 1; }
sed -n 's/^\.Nm \(cp_[a-z0-9_]*\).*/\1/p' "$page" | sort -u >"$tmp/name"
# The text after SYNOPSIS, where each function must be described.
sed -n '/^\.Sh DESCRIPTION/,$p' "$page" >"$tmp/body"

fail=0
while read -r f; do
	grep -qx "$f" "$tmp/name" || { echo "$f: not in NAME"; fail=1; }
	grep -Eq "^\.(Fn|Fo) $f( |\$)" "$page" ||
	    { echo "$f: not in SYNOPSIS"; fail=1; }
	grep -Eq "Fn $f( |\$)" "$tmp/body" ||
	    { echo "$f: not described"; fail=1; }
done <"$tmp/api"
while read -r f; do
	grep -qx "$f" "$tmp/api" ||
	    { echo "$f: in NAME but not in $header"; fail=1; }
done <"$tmp/name"
[ "$fail" -eq 0 ] && echo "ok: $(wc -l <"$tmp/api") functions documented"
exit "$fail"
