#!/bin/sh
# Exit statuses of childproc-spawn, -exec and -execfile without --json, as a
# well-made wrapper (timeout(1), env(1)) reports them: the child's code,
# 128+signal, 124 timeout, 125 own failure, 126 cannot execute, 127 not
# found.  A wrapper adds nothing to the output of a child that simply
# failed: stdout and stderr are the child's.
. "$(dirname "$0")/lib.sh"

cd "$tmp"
printf '#!/bin/sh\necho should-not-run\n' > noexec.sh
chmod 644 noexec.sh
mkdir adir
printf '#!/nonexistent/interp\necho hi\n' > badshebang.sh
chmod 755 badshebang.sh
: > afile

# The child's own status, and its output passed through.
t "spawn: child's exit code" 3 'out\n' 'err\n' -- \
    childproc-spawn sh -c 'echo out; echo err >&2; exit 3'
t "spawn: exit 0" 0 'hi\n' '' -- childproc-spawn echo hi
t "spawn: exit 300 arrives as 44" 44 '' '' -- childproc-spawn sh -c 'exit 300'
t "execfile: child's exit code" 3 'out\n' 'err\n' -- \
    childproc-execfile sh -c 'echo out; echo err >&2; exit 3'
t "exec: child's exit code" 3 'out\n' 'err\n' -- \
    childproc-exec 'echo out; echo err >&2; exit 3'
t "exec: exit 0" 0 'a b\n' '' -- childproc-exec 'echo a   b'

# 128 + signal.
t "spawn: killed by SIGTERM is 143" 143 '' '' -- \
    childproc-spawn sh -c 'kill -TERM $$'
t "spawn: killed by SIGKILL is 137" 137 '' '' -- \
    childproc-spawn sh -c 'kill -KILL $$'
t "execfile: killed by SIGINT is 130" 130 '' '' -- \
    childproc-execfile sh -c 'kill -INT $$'
t "exec: killed by SIGHUP is 129" 129 '' '' -- childproc-exec 'kill -HUP $$'

# 124 when the timeout fired, whatever the child's end.
t "spawn: timeout is 124" 124 '' '' -- childproc-spawn -t 200 sleep 30
t "spawn: timeout with suffix s" 124 '' '' -- childproc-spawn -t 0.2s sleep 30
t "spawn: timeout with suffix ms" 124 '' '' -- \
    childproc-spawn --timeout=200ms sleep 30
t "spawn: timeout with SIGKILL is still 124" 124 '' '' -- \
    childproc-spawn -t 200 -s KILL sleep 30
t "spawn: child that exits 0 on the signal: 124" 124 '' '' -- \
    childproc-spawn -t 300 sh -c 'trap "kill \$!; exit 0" TERM; sleep 30 & wait'
t "execfile: timeout is 124" 124 '' '' -- childproc-execfile -t 200 sleep 30
# exec: dash does not exec the last command, so "exec" keeps the sleep
# from outliving the killed shell.
t "exec: timeout is 124" 124 '' '' -- childproc-exec -t 200 'exec sleep 30'
t "exec: timeout that did not fire" 0 'done\n' '' -- \
    childproc-exec -t 1h 'echo done'
t "spawn: timeout 0 means none" 0 '' '' -- childproc-spawn -t 0 true

# 127: not found; 126: found but cannot be run.  The diagnostic names the
# command.
t "spawn: not found is 127" 127 '' '~nonexistent-cmd-xyz' -- \
    childproc-spawn nonexistent-cmd-xyz a b
t "execfile: not found is 127" 127 '' '~nonexistent-cmd-xyz' -- \
    childproc-execfile nonexistent-cmd-xyz
t "exec: not found is the shell's 127" 127 '' \
    '/bin/sh: 1: nonexistent-cmd-xyz: not found\n' -- \
    childproc-exec 'nonexistent-cmd-xyz'
t "spawn: missing #! interpreter is 127" 127 '' '~badshebang.sh' -- \
    childproc-spawn ./badshebang.sh
t "spawn: not executable is 126" 126 '' '~noexec.sh' -- \
    childproc-spawn ./noexec.sh
t "spawn: a directory is 126" 126 '' '~adir' -- childproc-spawn ./adir
t "execfile: not executable is 126" 126 '' '~noexec.sh' -- \
    childproc-execfile ./noexec.sh
t "exec: not executable is the shell's 126" 126 '' \
    '/bin/sh: 1: ./noexec.sh: Permission denied\n' -- \
    childproc-exec ./noexec.sh
t "spawn --shell: not found is the shell's 127" 127 '' \
    '/bin/sh: 1: nonexistent-cmd-xyz: not found\n' -- \
    childproc-spawn --shell nonexistent-cmd-xyz
t "exec: missing --shell is 127" 127 '' '~nonexistent-shell' -- \
    childproc-exec --shell=./nonexistent-shell 'echo hi'

# A missing cwd: Node blames the command (spawn ls ENOENT); we say that the
# directory is missing.  The status is 127 (ENOENT, as the library reports
# it) or 125 (env -C's own-failure status): the issue leaves it open.
t "spawn: missing cwd names the directory" '125|127' '' '~no-such-dir' -- \
    childproc-spawn -C ./no-such-dir ls
t "execfile: missing cwd names the directory" '125|127' '' '~no-such-dir' -- \
    childproc-execfile --cwd=./no-such-dir ls
t "exec: missing cwd names the directory" '125|127' '' '~no-such-dir' -- \
    childproc-exec -C ./no-such-dir ls
# A cwd that is a file: ENOTDIR, not runnable (126) or own failure (125).
t "spawn: cwd that is a file" '125|126' '' '~afile' -- \
    childproc-spawn -C ./afile ls

# 125: the command's own failures.
t "spawn: no command" 125 '' '*' -- childproc-spawn
t "exec: no command string" 125 '' '*' -- childproc-exec
t "execfile: no file" 125 '' '*' -- childproc-execfile
t "spawn: unknown option" 125 '' "~Try 'childproc-spawn --help'" -- \
    childproc-spawn --no-such-option true
t "exec: unknown option" 125 '' "~Try 'childproc-exec --help'" -- \
    childproc-exec --no-such-option true
t "execfile: unknown option" 125 '' "~Try 'childproc-execfile --help'" -- \
    childproc-execfile --no-such-option true
t "spawn: -- ends the options" 127 '' '~-no-such-option' -- \
    childproc-spawn -- -no-such-option

# As a non-root user, running as root is refused: EPERM, cannot execute.
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
	t "spawn --uid 0 as nobody is EPERM" 126 '' '*' -- \
	    setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env PATH="$PATH" childproc-spawn --uid=0 true
	t "spawn --uid as root works" 0 '65534\n' '' -- \
	    childproc-spawn --uid=65534 id -u
else
	ok "# SKIP uid tests need root and setpriv"
	ok "# SKIP uid tests need root and setpriv"
fi

done_testing
