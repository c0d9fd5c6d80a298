/*
 * sigpipe.c - SIGPIPE stays the program's business (issue 7, defect 4).
 *
 *	sigpipe CASE
 *
 * SIGPIPE is left at its default disposition, as in a C program that
 * never touched it.  The library must not change it (0.1 ignored it for
 * the whole process when a channel or an exec was made) and must not let
 * it fire: cp_child_write to a child that closed its stdin reports
 * UV_EPIPE to its callback (0.1 killed the caller, status 141).
 *   epipe     write to a child that closed its stdin: UV_EPIPE, alive
 *   channel   making a channel leaves the disposition alone
 *   sync      cp_spawn_sync with input for a child that closed stdin
 *   slowdown  1 MiB to a child that does not read: 1 (slow down), and
 *             every callback runs (UV_EPIPE once it is killed)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

static int failed;

static void
check_failed(void *ctx, int line, const char *what)
{
	(void)ctx;
	fprintf(stderr, "sigpipe: line %d: check failed: %s\n", line, what);
	failed++;
}

static bool
sigpipe_default(void)
{
	struct sigaction sa;

	return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL;
}

struct t {
	uv_loop_t loop;
	struct cp_child *c;
	bool ready;		/* the child said it closed stdin */
	int ncb;
	int status[64];
	int ret;
	bool closed;
};

static void
write_cb(struct cp_child *c, int fd, int status, void *arg)
{
	struct t *t = arg;

	CHECK(NULL, fd == 0);
	(void)c;
	if (t->ncb < 64)
		t->status[t->ncb] = status;
	t->ncb++;
}

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	struct t *t = data;
	static char big[1 << 20];

	if (fd != 1 || len == 0 || t->ready)
		return;
	(void)buf;
	t->ready = true;
	/* The child's stdin is closed now: nobody can read this. */
	t->ret = cp_child_write(c, 0, big, sizeof(big), write_cb, t);
}

static void
on_exit_(struct cp_child *c, int64_t st, int sig, void *data)
{
	(void)c;
	(void)st;
	(void)sig;
	(void)data;
}

static void
on_close(struct cp_child *c, void *data)
{
	struct t *t = data;

	t->closed = true;
	cp_child_close(c, NULL);	/* freed once the loop is over */
}

static const struct cp_child_events events = {
	.on_data = on_data,
	.on_exit = on_exit_,
	.on_close = on_close,
};

static void
run_child(struct t *t, const char *script)
{
	struct cp_spawn_options o = { 0 };
	char *args[] = { "-c", (char *)script, NULL };

	o.file = "sh";
	o.args = args;
	CHECK(NULL, cp_child_spawn(&t->loop, &o, &events, t, &t->c) == 0);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	cp_child_free(t->c);
	CHECK(NULL, t->closed);
}

static void
case_epipe(void)
{
	struct t t = { 0 };

	uv_loop_init(&t.loop);
	/* Close stdin, say so, and stay until our write has failed. */
	run_child(&t, "exec 0<&-; echo closed; sleep 1");
	CHECK(NULL, t.ready);
	/* Accepted (queued): the error goes to the callback. */
	CHECK(NULL, t.ret == 0 || t.ret == 1 || t.ret == UV_EPIPE);
	if (t.ret >= 0) {
		CHECK(NULL, t.ncb == 1);
		CHECK(NULL, t.status[0] == UV_EPIPE);
	}
	CHECK(NULL, sigpipe_default());
	CHECK(NULL, uv_loop_close(&t.loop) == 0);
}

static void
case_channel(void)
{
	static const struct cp_channel_events ev = { 0 };
	struct cp_channel *ch;
	uv_loop_t loop;
	int sv[2];

	uv_loop_init(&loop);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[0], &ev, NULL, &ch) == 0);
	CHECK(NULL, sigpipe_default());
	/* A send to a closed peer: an error, not a signal. */
	close(sv[1]);
	CHECK(NULL, cp_channel_send(ch, json_true(), NULL, NULL) == UV_EPIPE);
	cp_channel_close(ch, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_free(ch);
	CHECK(NULL, uv_loop_close(&loop) == 0);
	CHECK(NULL, sigpipe_default());
}

static void
case_sync(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	static char big[1 << 20];
	char *args[] = { "-c", "exec 0<&-; sleep 0.2", NULL };

	cp_exec_options_init(&o);
	o.spawn.file = "sh";
	o.spawn.args = args;
	o.input = big;
	o.input_len = sizeof(big);
	CHECK(NULL, cp_spawn_sync(&o, &r) == 0);
	/* Node's spawnSync: error EPIPE, status 0. */
	CHECK(NULL, r.error == UV_EPIPE);
	CHECK(NULL, r.status == 0);
	cp_result_release(&r);
	CHECK(NULL, sigpipe_default());
}

static void
slow_on_data(struct cp_child *c, int fd, const char *buf, size_t len,
    void *data)
{
	struct t *t = data;
	static char big[1 << 20];
	int i;

	(void)buf;
	if (fd != 1 || len == 0 || t->ready)
		return;
	t->ready = true;
	/* Four MiB to a child that never reads. */
	for (i = 0; i < 4; i++)
		t->status[32 + i] = cp_child_write(c, 0, big, sizeof(big),
		    write_cb, t);
	cp_child_kill(c, SIGKILL);
}

static void
case_slowdown(void)
{
	static const struct cp_child_events ev = {
		.on_data = slow_on_data,
		.on_close = on_close,
	};
	struct cp_spawn_options o = { 0 };
	char *args[] = { "-c", "echo go; exec sleep 30", NULL };
	struct t t = { 0 };
	int i;

	uv_loop_init(&t.loop);
	o.file = "sh";
	o.args = args;
	CHECK(NULL, cp_child_spawn(&t.loop, &o, &ev, &t, &t.c) == 0);
	uv_run(&t.loop, UV_RUN_DEFAULT);
	cp_child_free(t.c);
	CHECK(NULL, t.closed);
	/* Accepted, with the advice to slow down. */
	for (i = 0; i < 4; i++)
		CHECK(NULL, t.status[32 + i] == 1);
	/* Nothing dropped silently: each write was answered, with EPIPE. */
	CHECK(NULL, t.ncb == 4);
	for (i = 0; i < 4 && i < t.ncb; i++)
		CHECK(NULL, t.status[i] == UV_EPIPE);
	CHECK(NULL, uv_loop_close(&t.loop) == 0);
	CHECK(NULL, sigpipe_default());
}

/* Each line is a test, edges-sigpipe-NAME (tests/lib/test.h, CASE). */
static const struct test_case cases[] = {
	CASE("epipe", case_epipe)
	CASE("channel", case_channel)
	CASE("sync", case_sync)
	CASE("slowdown", case_slowdown)
};

int
main(int argc, char *argv[])
{
	const struct test_case *c;

	signal(SIGPIPE, SIG_DFL);	/* a C program that never touched it */
	if (argc != 2 || (c = RUN_CASE(cases, argv[1])) == NULL)
		return 2;
	if (failed) {
		fprintf(stderr, "sigpipe %s: FAILED (%d checks)\n", c->name,
		    failed);
		return 1;
	}
	printf("sigpipe %s: ok\n", c->name);
	return 0;
}
