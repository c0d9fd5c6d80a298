/*
 * tests/lib-exec/test-spawn.c - how the library sets a child up (without
 * fork: core/spawn.c) and learns of its exit: what the child finds (fds,
 * signal state, process group), and that no other child is reaped.
 *
 * Usage: test-spawn NAME runs one case; test-spawn --list lists them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

/* Runs sh -c SCRIPT as spawnSync and returns its stdout (malloc'd). */
static char *
sh_out(const char *script, unsigned int flags, int *pidp)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *args[] = { (char *)"-c", (char *)script, NULL }, *s;

	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = args;
	o.spawn.flags = flags;
	o.spawn.uid = getuid();		/* for CP_SPAWN_SETUID */
	o.spawn.gid = getgid();
	ASSERT(cp_spawn_sync(&o, &r) == 0);
	ASSERT(r.error == 0);
	ASSERT(r.status == 0);
	s = r.output[1].data;
	r.output[1].data = NULL;
	if (pidp != NULL)
		*pidp = r.pid;
	cp_result_release(&r);
	return s;
}

/* Checks that sh -c SCRIPT prints want. */
static void
check_sh(const char *script, unsigned int flags, const char *want)
{
	char *got = sh_out(script, flags, NULL);

	ASSERT_STR_EQ(got, want);
	free(got);
}

/* An fd >= 3 of ours without FD_CLOEXEC does not reach the child. */
static void
test_fds_closed(void)
{
	int fd = open("/dev/null", O_RDONLY);

	ASSERT(fd >= 0);
	ASSERT(dup2(fd, 20) == 20);
	/* ls opens the directory as fd 3. */
	check_sh("exec ls /proc/self/fd", 0, "0\n1\n2\n3\n");
	close(20);
	close(fd);
}

/* Reads what is in the pipe (non-blocking: the writers are gone). */
static char *
drain(int fd)
{
	static char buf[256];
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* stdio entries that name each other's fds (1 -> 2, 2 -> 1) are not lost. */
static void
test_stdio_swap(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	static const struct cp_stdio swapped[] = {
		{ CP_STDIO_IGNORE, -1 }, { CP_STDIO_FD, 2 }, { CP_STDIO_FD, 1 },
	};
	char *args[] = { (char *)"-c", (char *)"echo out; echo err >&2", NULL };
	int a[2], b[2], save1, save2;

	ASSERT(pipe(a) == 0 && pipe(b) == 0);
	ASSERT((save1 = dup(1)) >= 0 && (save2 = dup(2)) >= 0);
	ASSERT(dup2(a[1], 1) == 1 && dup2(b[1], 2) == 2);
	close(a[1]);
	close(b[1]);
	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = args;
	o.spawn.stdio = swapped;
	o.spawn.stdio_count = 3;
	r.error = cp_spawn_sync(&o, &r);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	ASSERT(r.error == 0);
	ASSERT(r.status == 0);
	cp_result_release(&r);
	ASSERT_STR_EQ(drain(a[0]), "err\n");
	ASSERT_STR_EQ(drain(b[0]), "out\n");
	close(a[0]);
	close(b[0]);
}

#define STAT "read -r p c s pp pg sid rest < /proc/$$/stat; "

/*
 * CP_SPAWN_KILL_TREE: a process group of its own in our session (so it
 * keeps our controlling terminal, as under timeout(1)); CP_SPAWN_DETACHED:
 * a session of its own.
 */
static void
test_groups(void)
{
	char want[64];

	snprintf(want, sizeof(want), "pg=%d sid=%d\n", (int)getpgrp(),
	    (int)getsid(0));
	check_sh(STAT "echo pg=$pg sid=$sid", 0, want);
	snprintf(want, sizeof(want), "pg=0 sid=%d\n", (int)getsid(0));
	check_sh(STAT "echo pg=$((pg - $$)) sid=$sid",
	    CP_SPAWN_KILL_TREE, want);
	check_sh(STAT "echo pg=$((pg - $$)) sid=$((sid - $$))",
	    CP_SPAWN_DETACHED, "pg=0 sid=0\n");
	check_sh(STAT "echo pg=$((pg - $$)) sid=$((sid - $$))",
	    CP_SPAWN_DETACHED | CP_SPAWN_KILL_TREE, "pg=0 sid=0\n");
}

/* Dispositions and the mask are reset in the child, as uv_spawn does. */
static void
test_signals_reset(void)
{
	sigset_t set, old;

	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	ASSERT(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	check_sh("grep -E '^Sig(Blk|Ign)' /proc/self/status", 0,
	    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	/* and ours are left as they were */
	ASSERT(signal(SIGUSR1, SIG_DFL) == SIG_IGN);
	ASSERT(sigprocmask(SIG_SETMASK, &old, &set) == 0);
	ASSERT(sigismember(&set, SIGUSR2));
}

struct both {
	int64_t lib_status;
	int64_t uv_status;
	int lib_calls;
	int uv_calls;
};

static const struct cp_stdio ignored[] = {
	{ CP_STDIO_IGNORE, -1 }, { CP_STDIO_IGNORE, -1 }, { CP_STDIO_IGNORE, -1 },
};

static void
lib_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct both *b = data;

	(void)c;
	ASSERT(sig == 0);
	b->lib_status = status;
	b->lib_calls++;
}

static void
lib_close(struct cp_child *c, void *data)
{
	(void)data;
	cp_child_close(c, child_free_cb);
}

static void
uv_exit(uv_process_t *p, int64_t status, int sig)
{
	struct both *b = p->data;

	ASSERT(sig == 0);
	b->uv_status = status;
	b->uv_calls++;
	uv_close((uv_handle_t *)p, NULL);
}

/*
 * The library reaps its own children only: libuv's on the same loop, and
 * one the caller forked, keep their exit status.
 */
static void
test_no_stealing(void)
{
	static const struct cp_child_events ev = {
		.on_exit = lib_exit,
		.on_close = lib_close,
	};
	char *uargs[] = { (char *)"sh", (char *)"-c", (char *)"sleep 0.2; exit 3",
	    NULL };
	char *largs[] = { (char *)"-c", (char *)"sleep 0.1; exit 4", NULL };
	struct cp_spawn_options so = CP_SPAWN_OPTIONS_INIT;
	uv_process_options_t po;
	uv_process_t proc;
	struct cp_child *c;
	struct both b = { -1, -1, 0, 0 };
	uv_loop_t loop;
	pid_t mine;
	int st;

	if ((mine = fork()) == 0)
		_exit(7);
	ASSERT(mine > 0);
	ASSERT(uv_loop_init(&loop) == 0);
	memset(&po, 0, sizeof(po));
	po.file = "sh";
	po.args = uargs;
	po.exit_cb = uv_exit;
	proc.data = &b;
	ASSERT(uv_spawn(&loop, &proc, &po) == 0);
	so.file = "sh";
	so.args = largs;
	so.stdio = ignored;
	so.stdio_count = 3;
	ASSERT(cp_child_spawn(&loop, &so, &ev, &b, &c) == 0);
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT(uv_loop_close(&loop) == 0);
	ASSERT(b.lib_calls == 1 && b.lib_status == 4);
	ASSERT(b.uv_calls == 1 && b.uv_status == 3);
	ASSERT(waitpid(mine, &st, 0) == mine);
	ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

static void
owned_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct both *b = data;

	(void)sig;
	/* Reaped by now: the pid may be reused, and is no longer ours. */
	ASSERT(!cp_child_pid_owned(cp_child_pid(c)));
	b->lib_status = status;
	b->lib_calls++;
}

/* A reaper of orphans, as cmd/init.c: every child not owned by anyone. */
static void
reaper_cb(uv_signal_t *h, int signum)
{
	char path[64];
	FILE *fp;
	int pid, *reaped = h->data;

	(void)signum;
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fscanf(fp, "%d", &pid) == 1)
		if (!cp_child_pid_owned(pid) && waitpid(pid, NULL, WNOHANG) > 0)
			(*reaped)++;
	fclose(fp);
}

/*
 * cp_child_pid_owned: true from the spawn to the reaping, so that a
 * reaper of orphans (which sees the library's children as it sees
 * orphans: no process handle) leaves them alone.
 */
static void
test_pid_owned(void)
{
	static const struct cp_child_events ev = {
		.on_exit = owned_exit,
		.on_close = lib_close,
	};
	char *largs[] = { (char *)"-c", (char *)"sleep 0.2; exit 4", NULL };
	struct cp_spawn_options so = CP_SPAWN_OPTIONS_INIT;
	struct both b = { -1, -1, 0, 0 };
	struct cp_child *c;
	uv_signal_t sig;
	uv_loop_t loop;
	pid_t orphan;
	int reaped = 0;

	ASSERT(uv_loop_init(&loop) == 0);
	ASSERT(uv_signal_init(&loop, &sig) == 0);
	sig.data = &reaped;
	ASSERT(uv_signal_start(&sig, reaper_cb, SIGCHLD) == 0);
	uv_unref((uv_handle_t *)&sig);
	so.file = "sh";
	so.args = largs;
	so.stdio = ignored;
	so.stdio_count = 3;
	ASSERT(cp_child_spawn(&loop, &so, &ev, &b, &c) == 0);
	ASSERT(cp_child_pid_owned(cp_child_pid(c)));
	/* Stands for an orphan: the reaper takes it. */
	if ((orphan = fork()) == 0)
		_exit(0);
	ASSERT(orphan > 0);
	ASSERT(!cp_child_pid_owned(orphan));
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT(b.lib_calls == 1 && b.lib_status == 4);
	ASSERT(reaped == 1);
	uv_close((uv_handle_t *)&sig, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT(uv_loop_close(&loop) == 0);
}

static int exits_seen;

static void
copied_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	(void)c;
	(void)data;
	ASSERT_EQ(status, 6);
	ASSERT_EQ(sig, 0);
	exits_seen++;
}

/* Fills the stack where a caller's events table lived. */
static void
scribble(void)
{
	volatile char junk[512];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)0xa5;
}

static int
spawn_with_stack_events(uv_loop_t *loop, struct cp_child **c)
{
	struct cp_child_events ev;
	char *args[] = { (char *)"-c", (char *)"exit 6", NULL };
	struct cp_spawn_options so = CP_SPAWN_OPTIONS_INIT;

	memset(&ev, 0, sizeof(ev));
	ev.on_exit = copied_exit;
	ev.on_close = lib_close;
	so.file = "sh";
	so.args = args;
	so.stdio = ignored;
	so.stdio_count = 3;
	return cp_child_spawn(loop, &so, &ev, NULL, c);
}

/* The events table is copied: the caller's may be gone before they run. */
static void
test_events_copied(void)
{
	struct cp_child *c;
	uv_loop_t loop;

	ASSERT(uv_loop_init(&loop) == 0);
	ASSERT(spawn_with_stack_events(&loop, &c) == 0);
	scribble();
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT_EQ(exits_seen, 1);
	ASSERT(uv_loop_close(&loop) == 0);
}

/* uid/gid go through uv_spawn: the same results there. */
static void
test_uid_path(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	char *args[] = { (char *)"-c", (char *)"echo $PPID; exit 5", NULL };
	char want[32];

	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = args;
	o.spawn.flags = CP_SPAWN_SETUID | CP_SPAWN_SETGID;
	o.spawn.uid = getuid();
	o.spawn.gid = getgid();
	ASSERT(cp_spawn_sync(&o, &r) == 0);
	ASSERT(r.error == 0);
	ASSERT(r.status == 5);
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	ASSERT_STR_EQ(r.output[1].data, want);
	cp_result_release(&r);
	o.spawn.file = "no-such-command-xyz";
	o.spawn.args = NULL;
	ASSERT(cp_spawn_sync(&o, &r) == 0);
	ASSERT(r.error == UV_ENOENT);
	cp_result_release(&r);
}

/* sh's policy (/proc's field 41: 0 SCHED_OTHER, 3 SCHED_BATCH). */
#define POLICY "read -r s < /proc/$$/stat; set -- ${s##*) }; shift 38; echo $1"

/*
 * CP_SPAWN_SCHED_OTHER: a child of a SCHED_BATCH thread starts SCHED_OTHER
 * (without it, SCHED_BATCH, inherited even with SCHED_RESET_ON_FORK) on
 * each path: posix_spawn, vfork (DIE_WITH_PARENT), uv_spawn (uid/gid),
 * which gives the calling thread its policy back.
 */
static void
test_sched_other(void)
{
	static const unsigned int paths[] = { 0, CP_SPAWN_DIE_WITH_PARENT,
	    CP_SPAWN_SETUID | CP_SPAWN_SETGID };
	struct sched_param sp = { .sched_priority = 0 };
	size_t i;

	ASSERT(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK,
	    &sp) == 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		check_sh(POLICY, paths[i], "3\n");
		check_sh(POLICY, paths[i] | CP_SPAWN_SCHED_OTHER, "0\n");
		ASSERT_EQ(sched_getscheduler(0), SCHED_BATCH |
		    SCHED_RESET_ON_FORK);
	}
}

static const struct test_case tests[] = {
	CASE("spawn-fds-closed", test_fds_closed)
	CASE("spawn-stdio-swap", test_stdio_swap)
	CASE("spawn-groups", test_groups)
	CASE("spawn-signals-reset", test_signals_reset)
	CASE("spawn-no-stealing", test_no_stealing)
	CASE("spawn-uid-path", test_uid_path)
	CASE("spawn-pid-owned", test_pid_owned)
	CASE("spawn-events-copied", test_events_copied)
	CASE("spawn-sched-other", test_sched_other)
};

int
main(int argc, char *argv[])
{
	return RUN_CASE(tests, argc < 2 ? NULL : argv[1]) != NULL ? 0 : 1;
}
