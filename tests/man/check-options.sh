#!/bin/sh
# check-options.sh PAGE SOURCE COMMON_H COMMAND
#
# Checks that a command's man page and its code agree:
#   1. every long option in the getopt_long table of SOURCE (with the
#      CMD_*_LONGOPTS macros of COMMON_H expanded) is documented in PAGE;
#   2. every option PAGE lists (SYNOPSIS and the .It lines of its option
#      list) is in the output of COMMAND --help.
# The lists are read from the files each time, so a new option shows up here
# as soon as it is added to one side and not the other.
set -eu

page=$1 src=$2 common=$3 cmd=$4
[ -f "$page" ] || { echo "$page is not written yet"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# The body of the "struct option ...[] = { ... };" table.
awk '/struct option/ && /\[\]/ { on = 1; next } on && /^};/ { exit } on' \
    "$src" >"$tmp/table"
[ -s "$tmp/table" ] || { echo "no getopt_long table in $src"; exit 1; }

# Long names written in the table itself, then those of each macro it uses.
sed -n 's/^[[:space:]]*{[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/table" \
    >"$tmp/long"
for macro in $(grep -o 'CMD_[A-Z_]*LONGOPTS' "$tmp/table" | sort -u); do
	awk -v m="$macro" '
		$1 == "#define" && $2 == m { on = 1; next }
		on { print; if ($0 !~ /\\[[:space:]]*$/) exit }
	' "$common" | sed -n 's/^[[:space:]]*{[[:space:]]*"\([^"]*\)".*/\1/p' \
	    >>"$tmp/long"
	grep -q "#define $macro" "$common" ||
	    { echo "$macro is not defined in $common"; fail=1; }
done
[ -s "$tmp/long" ] || { echo "no long options found in $src"; exit 1; }

# 1. In mdoc, --name is written "Fl -name".
for opt in $(sort -u "$tmp/long"); do
	if ! grep -Eq "Fl -$opt([^A-Za-z0-9-]|\$)" "$page"; then
		echo "$page: --$opt (in $src) is not documented"
		fail=1
	fi
done

# 2. The flags the page lists: SYNOPSIS lines and ".It" lines of DESCRIPTION.
#    "Fl -name" is one long option; "Fl abc" is the short options a, b, c.
"$cmd" --help >"$tmp/help"
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
