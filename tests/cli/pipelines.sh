#!/bin/bash
# Node's class A tests about data flow between processes, rewritten for the
# commands in shell pipelines (see ../diff/cases.tsv for the full list of
# rows covered).
. "$(dirname "$0")/lib.sh"

cd "$tmp"

# pipe NAME WANT-STDOUT PIPELINE: runs the pipeline with bash, every stage
# must exit 0 (PIPESTATUS), stdout must be WANT-STDOUT exactly.
pipe() {
	name=$1 want=$2 line=$3
	cmdline=$line
	rm -f pipestatus
	set +e
	# timeout(1) only turns a hang into a failure that names the test.
	timeout -k 5 120 bash -c "$line"'; echo "${PIPESTATUS[*]}" > pipestatus' \
	    > "$out" 2> "$err" < /dev/null
	status=$?
	set -e
	why=""
	[ -s pipestatus ] || echo "hung or killed: status $status" > pipestatus
	case " $(cat pipestatus) " in
	*[!0\ ]*) why="$why a stage failed ($(cat pipestatus))" ;;
	esac
	match "$want" "$out" || why="$why stdout (want '$want')"
	match '' "$err" || why="$why stderr"
	if [ -z "$why" ]; then
		ok "$name"
	else
		not_ok "$name" "wrong:$why" "$(show_run)"
	fi
}

# test-child-process-double-pipe: echo | grep o | sed s/o/O/, every stage
# exits (no leaked pipe end keeps grep or sed waiting).  (Not execfile: its
# child's stdin is a pipe that is never closed, as in Node.)
pipe "double pipe through three commands" 'hellO\nwOrld\n' \
    "childproc-spawn printf 'hello\nwhy\nworld\n' | childproc-spawn grep o | childproc-spawn sed s/o/O/"

# test-child-process-pipe-dataflow: 1 MiB through cat, grep and wc.
head -c 1048576 /dev/zero | tr '\0' x > big
pipe "1 MiB through a pipeline" '1048576\n' \
    "childproc-spawn cat big | childproc-spawn grep x | childproc-spawn tr -d '\n' | childproc-spawn wc -c"

# test-child-process-set-blocking: a child writing 100000 bytes to an
# inherited stdout exits 0.
pipe "100000 bytes through inherited stdout" '100000\n' \
    "childproc-spawn sh -c 'head -c 100000 /dev/zero' | wc -c"

# test-child-process-stdout-flush: 500000 bytes, all of them, via exec.
pipe "500000 bytes through exec" '500000\n' \
    "childproc-exec 'head -c 500000 /dev/zero' | wc -c"

# test-child-process-spawn-loop (pummel): sequential runs, each count exact.
for i in 1 2 3 4 5 6 7 8 9 10; do
	childproc-execfile sh -c 'head -c 1024000 /dev/zero; echo' | wc -c
done > loop.out 2> loop.err
if [ "$(sort -u loop.out)" = 1024001 ] && [ "$(wc -l < loop.out)" -eq 10 ] &&
    [ ! -s loop.err ]; then
	ok "ten sequential execfile runs of 1000 KiB"
else
	not_ok "ten sequential execfile runs of 1000 KiB" "$(sort loop.out | uniq -c)" \
	    "$(head -c 500 loop.err)"
fi

# test-child-process-exit (sequential): a chain of nested commands, stdin
# ignored and stderr ignored, stdout piped; each exits when its child does.
t "a chain of nested commands" 0 'deep\n' '' -- \
    childproc-spawn --stdio=ignore,inherit,ignore childproc-spawn \
    childproc-execfile childproc-exec 'echo deep'

# test-child-process-stdio-inherit: a grandchild reading the middle
# command's stdin.
printf 'through two levels\n' > in
stdin=in
t "a grandchild reads the inherited stdin" 0 'through two levels\n' '' -- \
    childproc-spawn sh -c 'childproc-spawn cat'
stdin=/dev/null

# test-child-process-stdio-big-write-end: big input, every byte arrives.
t "--input-file of 1 MiB reaches the child" 0 '1048576\n' '' -- \
    childproc-spawn --input-file=big --stdio=pipe,inherit,inherit wc -c

done_testing
