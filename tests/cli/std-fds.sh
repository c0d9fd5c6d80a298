#!/bin/sh
# The commands run normally with any of fds 0-2 closed, as timeout(1) and
# env(1) do (issue 7, defect 1: libuv's assertion "uv__close: fd >
# STDERR_FILENO" killed them with status 134).  A closed fd is reopened on
# /dev/null at start-up: the child reads EOF there, its output there is
# discarded.
. "$(dirname "$0")/lib.sh"

cd "$tmp"
printf 'process.send("hi");\n' > hi.js

t "spawn <&-: runs, the child reads EOF" 0 'EOF\n' '' -- \
    sh -c "childproc-spawn sh -c 'cat; echo EOF' <&-"
t "spawn <&-: the child's stdin is /dev/null" 0 '/dev/null\n' '' -- \
    sh -c "childproc-spawn readlink /proc/self/fd/0 <&-"
# cmd C SCRIPT: the command line of childproc-C running the shell script
# SCRIPT (exec takes it as its command string, the others through sh -c).
cmd() {
	case $1 in
	exec) echo "childproc-exec '$2'" ;;
	*) echo "childproc-$1 sh -c '$2'" ;;
	esac
}
for c in spawn execfile exec; do
	t "$c >&-: exit 0, output discarded" 0 '' 'err\n' -- \
	    sh -c "$(cmd $c 'echo out; echo err >&2') >&-"
	t "$c 2>&-: exit 0, stdout intact" 0 'out\n' '' -- \
	    sh -c "$(cmd $c 'echo out; echo err >&2') 2>&-"
	t "$c all closed: exit status kept" 3 '' '' -- \
	    sh -c "$(cmd $c 'exit 3') <&- >&- 2>&-"
done
for c in spawn execfile; do
	t "$c 2>&-: own error, status kept" 127 '' '' -- \
	    sh -c "childproc-$c /nonexistent/cmd 2>&-"
done
# exec and execFile give the child a pipe never written, as Node does.
t "exec <&-: runs" 0 'hi\n' '' -- sh -c "childproc-exec 'echo hi' <&-"
t "execfile <&-: runs" 0 'hi\n' '' -- sh -c "childproc-execfile echo hi <&-"
t "spawn --json >&-: exit 0" 0 '' '' -- \
    sh -c "childproc-spawn --json echo hi >&-"
t "spawn --input <&-" 0 'abc' '' -- \
    sh -c "childproc-spawn --input abc cat <&-"

if command -v node > /dev/null; then
	t "fork <&-: runs, stdin at EOF" 0 '"hi"\n' '' -- \
	    sh -c "childproc-fork hi.js <&-"
	t "fork >&-: exit 0" 0 '' '' -- \
	    sh -c "childproc-fork hi.js >&-"
	t "fork 2>&-: exit 0" 0 '"hi"\n' '' -- \
	    sh -c "childproc-fork hi.js 2>&-"
fi

done_testing
