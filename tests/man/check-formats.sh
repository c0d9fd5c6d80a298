#!/bin/sh
# check-formats.sh PAGE...: the DURATION FORMAT, SIZE FORMAT and SIGNAL
# FORMAT sections are the same, word for word, in every command's page, so
# that the forms are described once (and change everywhere together).
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
first=$1
for sec in 'DURATION FORMAT' 'SIZE FORMAT' 'SIGNAL FORMAT'; do
	for page in "$@"; do
		awk -v s=".Sh $sec" '
			$0 == s { on = 1; print; next }
			on && /^\.Sh / { exit }
			on' "$page" >"$tmp/${page##*/}"
		if [ ! -s "$tmp/${page##*/}" ]; then
			echo "$page: no $sec section"
			fail=1
		elif ! cmp -s "$tmp/${first##*/}" "$tmp/${page##*/}"; then
			echo "$page: $sec differs from $first's:"
			diff "$tmp/${first##*/}" "$tmp/${page##*/}" || true
			fail=1
		fi
	done
done
[ "$fail" -eq 0 ] && echo "ok: $# pages, 3 sections alike"
exit "$fail"
