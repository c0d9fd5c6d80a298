#!/bin/bash
# The bash completion script: options from each command's --help, values
# for the options that take words, and operands after the options.
. "$(dirname "$0")/lib.sh"

. "$CP_SOURCE_DIR/completion/childproc.bash"
# Completion functions run in an interactive shell: without -e and -u.
set +eu

# comp WANT WORD...: completing the last WORD gives WANT (sorted, spaces).
comp() {
	want=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_childproc "$1"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	if [ "$got" = "$want " ]; then
		ok "complete '$*'"
	else
		not_ok "complete '$*'" "got: $got" "want: $want"
	fi
}

comp "--stdin= --stdio=" childproc-exec --st
comp "--stdin= --stdio=" childproc-execfile --st
comp "--json" childproc-spawn --js
comp "--restart=" childproc-fork --rest
comp "--tag" childproc-fork --ta
comp "inherit null pipe" childproc-exec --stdin = ""
comp "inherit" childproc-execfile --stdin = in
comp "TERM" childproc-spawn -s TER
comp "SIGTERM" childproc-spawn -s SIGTER
comp "idle:" childproc-fork --end = id
comp "json text" childproc-fork --status-format = ""
comp "none reuseport rr" childproc-fork --sched = ""
comp "batch keep" childproc-fork --master-policy = ""
comp "childproc-exec childproc-execfile" childproc-spawn childproc-exec
comp "" childproc-execfile -t 1s true --js
comp "--max-buffer=" childproc-execfile -t 1s --max-b

# Every long option of every command is offered.
for c in spawn exec execfile fork; do
	missing=""
	for o in $(childproc-$c --help | sed -n 's/^  \(-., \|    \)\(--[a-z0-9-]*\).*/\2/p'); do
		COMP_WORDS=(childproc-$c "$o") COMP_CWORD=1 COMPREPLY=()
		_childproc childproc-$c
		case " ${COMPREPLY[*]} " in
		*" $o "*|*" $o= "*) ;;
		*) missing="$missing $o" ;;
		esac
	done
	[ -z "$missing" ] && ok "$c: every option completes" ||
	    not_ok "$c: every option completes" "missing:$missing"
done

# The zsh script at least parses.
if command -v zsh >/dev/null; then
	zsh -n "$CP_SOURCE_DIR/completion/_childproc" && ok "zsh script parses" ||
	    not_ok "zsh script parses"
fi

done_testing
