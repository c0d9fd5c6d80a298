#!/bin/sh
# extract-example.sh PAGE NAME OUTPUT
#
# Copies the example NAME out of a man page: the ".Bd -literal" block that
# follows the roff comment '.\" example: NAME', with the roff escapes the
# examples use (\e \& \(dq \(aq) turned back into plain text.
set -eu

awk -v name="$2" '
	$0 == ".\\\" example: " name { want = 1; next }
	want && /^\.Bd / { on = 1; want = 0; found = 1; next }
	on && /^\.Ed/ { exit }
	on {
		gsub(/\\e/, "\001")
		gsub(/\\&/, "")
		gsub(/\\\(dq/, "\"")
		gsub(/\\\(aq/, "\047")
		gsub(/\001/, "\\")
		print
	}
	END { if (!found) exit 1 }
' "$1" >"$3.tmp" || { rm -f "$3.tmp"; echo "$1: no example '$2'" >&2; exit 1; }
mv "$3.tmp" "$3"
