#!/bin/sh
# What the three commands write without --json: spawn streams the child's
# stdio (inherit by default); exec and execfile buffer as Node does, then
# write the child's stdout and stderr.  And the shared options seen from
# the child.
. "$(dirname "$0")/lib.sh"

chmod 755 "$tmp"
cd "$tmp"

# spawn streams: the child's first line is out before it exits.  The child
# waits for a file that is only made once that line was seen.
childproc-spawn sh -c 'echo first; while [ ! -e go ]; do sleep 0.05; done; echo second' \
    > stream.out 2> stream.err < /dev/null &
pid=$!
cleanup_pids="$cleanup_pids $pid"
seen_first() { grep -q first stream.out; }
if wait_for seen_first; then
	ok "spawn: output is streamed while the child runs"
else
	not_ok "spawn: output is streamed while the child runs" "stdout: $(cat stream.out)"
fi
: > go
set +e
wait $pid
status=$?
set -e
if [ $status -eq 0 ] && [ "$(cat stream.out)" = "first
second" ] && [ ! -s stream.err ]; then
	ok "spawn: streamed child ends with status 0"
else
	not_ok "spawn: streamed child ends with status 0" "status $status" \
	    "stdout $(cat stream.out)" "stderr $(cat stream.err)"
fi

# spawn inherits stdin: a line dialog through cat (Node's test-child-process-ipc).
printf 'hello world\r\necho me\r\n' > dialog
stdin=dialog
t "spawn: stdin is inherited" 0 'hello world\r\necho me\r\n' '' -- childproc-spawn cat
t "spawn --stdio=pipe: stdin is closed at once" 0 '' '' -- \
    childproc-spawn --stdio=pipe cat
t "spawn --input: written to the child's stdin" 0 'typed' '' -- \
    childproc-spawn --input=typed --stdio=pipe,inherit,inherit cat
stdin=/dev/null

t "spawn: stdout and stderr are the child's" 0 'out\n' 'err\n' -- \
    childproc-spawn sh -c 'echo out; echo err >&2'
t "spawn --stdio=ignore" 0 '' '' -- \
    childproc-spawn --stdio=ignore sh -c 'echo out; echo err >&2'
t "spawn --stdio=inherit,inherit,ignore" 0 'out\n' '' -- \
    childproc-spawn --stdio=inherit,inherit,ignore sh -c 'echo out; echo err >&2'
t "spawn --stdio=inherit,2,inherit: stdout goes to fd 2" 0 '' 'out\nerr\n' -- \
    childproc-spawn --stdio=inherit,2,inherit sh -c 'echo out; echo err >&2'
t "spawn: a 4th fd is not open unless asked" 0 'closed\n' '' -- \
    childproc-spawn sh -c 'if { true >&3; } 2>/dev/null; then echo open; else echo closed; fi'

# exec and execfile: buffered, then written.
t "exec: stdout and stderr" 0 'out\n' 'err\n' -- \
    childproc-exec 'echo out; echo err >&2'
t "execfile: arguments are passed as they are" 0 '[a b][$HOME][*]\n' '' -- \
    childproc-execfile sh -c 'for a; do printf "[%s]" "$a"; done; echo' sh 'a b' '$HOME' '*'
t "exec: the string goes to /bin/sh -c" 0 '/bin/sh\n' '' -- childproc-exec 'echo $0'
t "exec --shell=/bin/bash" 0 'bash\n' '' -- \
    childproc-exec --shell=/bin/bash 'echo ${BASH_VERSION:+bash}'
t "spawn --shell: words joined with spaces, no quoting" 0 '[a][b][c]\n' '' -- \
    childproc-spawn --shell 'printf "[%s]"' 'a b' c ';' echo
t "execfile --shell: runs through /bin/sh" 0 'a b\n' '' -- \
    childproc-execfile --shell echo a b
t "exec: stdin is a pipe that stays open (cat waits for the timeout)" 124 '' '' -- \
    childproc-exec -t 300 cat
# count CMD...: runs CMD with stdout to a file, prints its size, exits as CMD.
count() {
	s=0
	"$@" > counted || s=$?
	wc -c < counted
	return $s
}
t "exec: big output is complete" 0 '1000000\n' '' -- \
    count childproc-exec "head -c 1000000 /dev/zero"
t "exec: output over --max-buffer is cut and reported" 125 'hello' \
    '~stdout maxBuffer length exceeded' -- \
    childproc-exec --max-buffer=5 'echo hello world'
t "execfile: --max-buffer=1K keeps 1024 bytes" 125 '1024\n' \
    '~stdout maxBuffer length exceeded' -- \
    count childproc-execfile --max-buffer=1K head -c 1025 /dev/zero
# octal CMD...: runs CMD, prints its stdout as octal bytes, exits as CMD.
octal() {
	s=0
	"$@" > bytes || s=$?
	od -An -b < bytes | tr -s ' \n' ' '
	return $s
}
t "exec: binary output passes through unchanged" 0 ' 377 376 141 ' '' -- \
    octal childproc-exec 'printf "\377\376a"'
t "execfile: binary output passes through unchanged" 0 ' 000 377 012 ' '' -- \
    octal childproc-execfile printf '\000\377\n'
t "exec --encoding=hex: output as hex text" 0 'ff0a' '' -- \
    childproc-exec --encoding=hex 'printf "\377\n"'
t "execfile: --max-buffer=Infinity" 0 '2000000\n' '' -- \
    count childproc-execfile --max-buffer=Infinity head -c 2000000 /dev/zero
t "execfile: --max-buffer=1M is exactly the default limit" 0 '1048576\n' '' -- \
    count childproc-execfile --max-buffer=1M head -c 1048576 /dev/zero

# The shared options as the child sees them.
t "spawn -C" 0 '/dev\n' '' -- childproc-spawn -C /dev pwd
t "exec --cwd" 0 '/dev\n' '' -- childproc-exec --cwd=/dev pwd
t "spawn -i -e: only the given variables, in order" 0 'B=2\nA=1\n' '' -- \
    childproc-spawn -i -e B=2 -e A=1 env
t "execfile -i: an empty environment still finds ls" 0 'adir\n' '' -- \
    sh -c 'mkdir -p d/adir && childproc-execfile -i -C d ls'
t "spawn -e adds to the inherited environment" 0 'x y|set\n' '' -- \
    env CP_SEEN=set childproc-spawn -e 'CP_NEW=x y' sh -c 'echo "$CP_NEW|$CP_SEEN"'
t "spawn -u removes a variable" 0 'unset\n' '' -- \
    env CP_GONE=1 childproc-spawn -u CP_GONE sh -c 'echo "${CP_GONE-unset}"'
t "spawn -u after -e removes it again (env(1) order)" 0 'unset\n' '' -- \
    childproc-spawn -e CP_GONE=1 -u CP_GONE sh -c 'echo "${CP_GONE-unset}"'
t "spawn -i -e PATH: the child's PATH finds the command" 0 'found\n' '' -- \
    sh -c 'mkdir -p bin && printf "#!/bin/sh\necho found\n" > bin/mytool &&
        chmod 755 bin/mytool && childproc-spawn -i -e PATH="$PWD/bin" mytool'
t "spawn --argv0" 0 'custom0\n' '' -- childproc-spawn --argv0=custom0 sh -c 'echo $0'
t "spawn --detached: the child leads a new session" 0 'leader\n' '' -- \
    childproc-spawn --detached sh -c \
    'read -r p c s pp pg sid rest < /proc/$$/stat; [ "$sid" = "$$" ] && echo leader'
t "exec --encoding=hex" 0 '6869' '' -- childproc-exec --encoding=hex 'printf hi'

done_testing
