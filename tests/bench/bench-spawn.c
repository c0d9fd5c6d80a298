/*
 * bench-spawn.c - spawn latency: start a program, wait for it, again.
 *
 *   bench-spawn posix|fork|lib|lib-pipe|sync|sync-ignore [-n COUNT]
 *       [-H MIB] [PROGRAM [ARG...]]
 *
 * posix     posix_spawn + waitpid, the floor (glibc: clone with CLONE_VFORK);
 * fork      fork + execv + waitpid, the floor for a spawner that forks, as
 *           libuv 1.44's uv_spawn does;
 * lib       cp_child_spawn with stdio ignored, run the loop until on_close;
 * lib-pipe  the same with the library's default three pipes (what Node's
 *           spawnSync does by default);
 * sync      cp_spawn_sync, Node's spawnSync (three pipes, output captured);
 * sync-ignore  the same with stdio ignored.
 * -H MIB first allocates and touches MIB MiB of heap, so that the spawns
 * are made from a parent that big (a forking spawner copies its page
 * tables every time; posix_spawn's vfork does not).
 * PROGRAM defaults to /bin/true and must exit 0.  Prints
 * "median_us=M mean_us=A count=N"; spawn.js is the Node side.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[64];

extern char **environ;

static bool child_failed;

static void
on_exit_(struct cp_child *c, int64_t status, int sig, void *data)
{
	(void)c;
	(void)data;
	if (status != 0 || sig != 0)
		child_failed = true;
}

static void
on_close(struct cp_child *c, void *data)
{
	(void)data;
	cp_child_close(c, NULL);	/* freed once the loop is over */
}

static const struct cp_child_events events = {
	.on_exit = on_exit_,
	.on_close = on_close,
};

static int
run_posix(char **argv)
{
	pid_t pid;
	int st, r;

	if ((r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ)) != 0) {
		fprintf(stderr, "bench-spawn: %s: %s\n", argv[0], strerror(r));
		return -1;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int
run_fork(char **argv)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int
run_sync(char **argv, bool ignore)
{
	struct cp_exec_options o;
	struct cp_result r;
	int e, fd;

	cp_exec_options_init(&o);
	o.spawn.file = argv[0];
	o.spawn.args = argv + 1;
	if (ignore) {
		o.spawn.stdio = stdio_;
		o.spawn.stdio_count = 3;
		for (fd = 0; fd < 3; fd++)
			stdio_[fd].type = CP_STDIO_IGNORE;
	}
	if ((e = cp_spawn_sync(&o, &r)) != 0) {
		fprintf(stderr, "bench-spawn: %s: %s\n", argv[0], cp_strerror(e));
		return -1;
	}
	e = r.error != 0 || r.status != 0 ? -1 : 0;
	cp_result_release(&r);
	return e;
}

static int
run_lib(uv_loop_t *loop, char **argv, bool pipes)
{
	struct cp_spawn_options o = CP_SPAWN_OPTIONS_INIT;
	struct cp_child *c;
	int r, fd;

	o.file = argv[0];
	o.args = argv + 1;
	if (!pipes) {
		o.stdio = stdio_;
		o.stdio_count = 3;
		for (fd = 0; fd < 3; fd++)
			stdio_[fd].type = CP_STDIO_IGNORE;
	}
	if ((r = cp_child_spawn(loop, &o, &events, NULL, &c)) != 0) {
		fprintf(stderr, "bench-spawn: %s: %s\n", argv[0], cp_strerror(r));
		return -1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	cp_child_free(c);
	return child_failed ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	static char *deflt[] = { "/bin/true", NULL };
	uint64_t *t, t0, sum = 0;
	char **prog;
	uv_loop_t loop;
	long n = 2000, i, heap_mib = 0;
	char *heap = NULL;
	int mode, c, r;

	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "posix") == 0)
		mode = 0;
	else if (strcmp(argv[1], "lib") == 0)
		mode = 1;
	else if (strcmp(argv[1], "lib-pipe") == 0)
		mode = 2;
	else if (strcmp(argv[1], "fork") == 0)
		mode = 3;
	else if (strcmp(argv[1], "sync") == 0)
		mode = 4;
	else if (strcmp(argv[1], "sync-ignore") == 0)
		mode = 5;
	else
		goto usage;
	optind = 2;
	while ((c = getopt(argc, argv, "+n:H:")) != -1) {
		if (c == 'n')
			n = atol(optarg);
		else if (c == 'H')
			heap_mib = atol(optarg);
		else
			goto usage;
	}
	if (n < 1 || heap_mib < 0)
		goto usage;
	if (heap_mib > 0) {
		/* Touched: every page is mapped and in the page tables. */
		if ((heap = malloc((size_t)heap_mib << 20)) == NULL)
			return 1;
		memset(heap, 1, (size_t)heap_mib << 20);
	}
	prog = optind < argc ? argv + optind : deflt;
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 1;
	uv_loop_init(&loop);
	for (i = 0; i < n; i++) {
		t0 = uv_hrtime();
		if (mode == 0)
			r = run_posix(prog);
		else if (mode == 3)
			r = run_fork(prog);
		else if (mode >= 4)
			r = run_sync(prog, mode == 5);
		else
			r = run_lib(&loop, prog, mode == 2);
		if (r != 0) {
			fprintf(stderr, "bench-spawn: %s failed\n", prog[0]);
			return 1;
		}
		t[i] = uv_hrtime() - t0;
		sum += t[i];
	}
	uv_loop_close(&loop);
	printf("median_us=%.1f mean_us=%.1f count=%ld\n",
	    (double)bench_quantile(t, n, 0.5) / 1e3, (double)sum / (double)n / 1e3, n);
	free(t);
	free(heap);
	return 0;

usage:
	fprintf(stderr, "usage: bench-spawn posix|fork|lib|lib-pipe|sync|"
	    "sync-ignore [-n COUNT] [-H MIB] [PROGRAM [ARG...]]\n");
	return 2;
}
