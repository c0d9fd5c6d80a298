#!/bin/sh
# check-options.sh PAGE COMMAND
#
# Checks that a command's man page and its --help agree:
#   1. every long option COMMAND --help lists (which the command's option
#      tables print, the same tables getopt_long is given) is documented in
#      PAGE;
#   2. every option PAGE lists (SYNOPSIS and the .It lines of its option
#      list) is in the output of COMMAND --help.
# A new option shows up here as soon as it is added to one side and not the
# other.
set -eu

page=$1 cmd=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

"$cmd" --help >"$tmp/help"
# The option lines: "  -C, --cwd=DIR ..." or "      --json ...".
sed -n 's/^  \(-[A-Za-z0-9], \|    \)--\([a-z0-9][a-z0-9-]*\).*/\2/p' \
    "$tmp/help" >"$tmp/long"
[ -s "$tmp/long" ] || { echo "no long options in '$cmd --help'"; exit 1; }

# 1. In mdoc, --name is written "Fl -name".
for opt in $(sort -u "$tmp/long"); do
	if ! grep -Eq "Fl -$opt([^A-Za-z0-9-]|\$)" "$page"; then
		echo "$page: --$opt (in '$cmd --help') is not documented"
		fail=1
	fi
done

# 2. The flags the page lists: SYNOPSIS lines and ".It" lines of DESCRIPTION.
#    "Fl -name" is one long option; "Fl abc" is the short options a, b, c.
awk '
	/^\.Sh / { sec = $2; next }
	sec == "SYNOPSIS" || (sec == "DESCRIPTION" && /^\.It /) {
		for (i = 1; i < NF; i++)
			if ($i == "Fl")
				print $(i + 1)
	}
' "$page" | sed 's/[,;:.)]*$//' | sort -u >"$tmp/flags"
[ -s "$tmp/flags" ] || { echo "$page lists no options"; exit 1; }
while read -r flag; do
	case $flag in
	-*)
		if ! grep -Eq -- "-$flag([^A-Za-z0-9-]|\$)" "$tmp/help"; then
			echo "$page: -$flag is not in '$cmd --help'"
			fail=1
		fi
		;;
	*)
		for c in $(printf '%s\n' "$flag" | sed 's/./& /g'); do
			if ! grep -Eq -- "(^|[[:space:],])-$c([,= ]|\$)" \
			    "$tmp/help"; then
				echo "$page: -$c is not in '$cmd --help'"
				fail=1
			fi
		done
		;;
	esac
done <"$tmp/flags"

[ "$fail" -eq 0 ] && echo "ok: $(sort -u "$tmp/long" | wc -l) long options," \
    "$(wc -l <"$tmp/flags") page flags checked"
exit "$fail"
