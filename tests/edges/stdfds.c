/*
 * stdfds.c - the library with fds 0-2 closed (issue 7, defect 1).
 *
 *	stdfds WHICH	(WHICH: the fds to close, e.g. "0", "12", "012")
 *
 * A program may run with any of 0-2 closed.  The loop is made first (its
 * own fds are the program's business), then the fds are closed and the
 * library is used: a child with pipes, the sync forms (a private loop),
 * exec with input, and a handle received on a channel.  Before the fix
 * uv_spawn's pipes landed on the closed fds and libuv aborted with
 * "uv__close: fd > STDERR_FILENO".  Afterwards 0-2 must be closed again
 * (the library lends them /dev/null only for the duration of a call) and
 * no fd may be left over.  Reports go to a copy of stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

static FILE *report;
static int failed;

static void
check_failed(FILE *f, int line, const char *what)
{
	fprintf(f, "stdfds: line %d: check failed: %s\n", line, what);
	failed++;
}

static int
count_fds(void)
{
	struct stat st;
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fstat(fd, &st) == 0)
			n++;
	return n;
}

/* ---- a child with three pipes: cat echoes what we write ---------------- */

static char echoed[64];
static size_t nechoed;
static bool closed;

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	(void)c;
	(void)data;
	if (fd == 1 && len > 0 && nechoed + len < sizeof(echoed)) {
		memcpy(echoed + nechoed, buf, len);
		nechoed += len;
	}
}

static void
on_close(struct cp_child *c, void *data)
{
	(void)data;
	closed = true;
	cp_child_close(c, child_free_cb);
}

static void
child_with_pipes(uv_loop_t *loop)
{
	static const struct cp_child_events ev = {
		.on_data = on_data,
		.on_close = on_close,
	};
	struct cp_spawn_options o = { 0 };
	struct cp_child *c;
	int r;

	o.file = "cat";
	r = cp_child_spawn(loop, &o, &ev, NULL, &c);
	CHECK(report, r == 0);
	if (r != 0)
		return;
	CHECK(report, cp_child_write(c, 0, "ping", 4, NULL, NULL) >= 0);
	CHECK(report, cp_child_end(c, 0) == 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(report, closed);
	CHECK(report, nechoed == 4 && memcmp(echoed, "ping", 4) == 0);
}

/* ---- the sync forms run on a private loop ------------------------------ */

static void
sync_forms(void)
{
	struct cp_exec_options o;
	struct cp_result r;
	static const char in[] = "sync";

	cp_exec_options_init(&o);
	o.spawn.file = "cat";
	o.input = in;
	o.input_len = 4;
	CHECK(report, cp_spawn_sync(&o, &r) == 0);
	CHECK(report, r.error == 0 && r.status == 0);
	CHECK(report, r.output_count >= 2 && r.output[1].len == 4 &&
	    memcmp(r.output[1].data, "sync", 4) == 0);
	cp_result_release(&r);
}

/* ---- exec with input (its own socketpair for stdin) --------------------- */

static bool exec_done;

static void
exec_cb(struct cp_exec *x, struct cp_result *r, void *data)
{
	(void)data;
	CHECK(report, r->error == 0);
	CHECK(report, r->output_count >= 2 && r->output[1].len == 4 &&
	    memcmp(r->output[1].data, "exec", 4) == 0);
	exec_done = true;
	cp_exec_close(x, exec_free_cb);
}

static void
exec_with_input(uv_loop_t *loop)
{
	struct cp_exec_options o;
	struct cp_exec *x;

	cp_exec_options_init(&o);
	o.spawn.file = "cat";
	o.input = "exec";
	o.input_len = 4;
	CHECK(report, cp_exec(loop, &o, exec_cb, NULL, &x) == 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(report, exec_done);
}

/* ---- a handle received on a channel lands above 2 ----------------------- */

static int got_fd = -2;

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	(void)data;
	got_fd = m->fd;
	cp_channel_close(ch, channel_free_cb);
}

static void
received_handle(uv_loop_t *loop, int sv[2])
{
	static const struct cp_channel_events ev = { .on_message = on_message };
	static const char line[] =
	    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":1}\n";
	struct cp_channel *ch;
	int pass[2];

	CHECK(report, cp_channel_open_fd(loop, sv[0], &ev, NULL, &ch) == 0);
	CHECK(report, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pass) == 0);
	CHECK(report, send_with_fd(sv[1], line, sizeof(line) - 1, pass[0]) == 0);
	close(pass[0]);
	close(pass[1]);
	uv_run(loop, UV_RUN_DEFAULT);
	/* The kernel gives the lowest free fd: 0-2 if closed. */
	CHECK(report, got_fd > 2);
	close(sv[1]);
}

int
main(int argc, char *argv[])
{
	uv_loop_t loop;
	int errfd, before, sv[2], fd;
	const char *which;

	if (argc != 2)
		return 2;
	which = argv[1];
	if (uv_loop_init(&loop) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 2;
	if ((errfd = fcntl(2, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (report = fdopen(errfd, "w")) == NULL)
		return 2;
	setvbuf(report, NULL, _IONBF, 0);
	for (fd = 0; fd <= 2; fd++)
		if (strchr(which, '0' + fd) != NULL)
			close(fd);
	before = count_fds();

	child_with_pipes(&loop);
	sync_forms();
	exec_with_input(&loop);
	received_handle(&loop, sv);

	/* Nothing leaked: the channel's socket is gone, the handle is ours. */
	CHECK(report, count_fds() == before - 2 + 1);
	CHECK(report, uv_loop_close(&loop) == 0);
	/* The fds lent during the calls are closed again. */
	for (fd = 0; fd <= 2; fd++)
		if (strchr(which, '0' + fd) != NULL)
			CHECK(report, fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	if (got_fd >= 0)
		close(got_fd);
	if (failed) {
		fprintf(report, "stdfds %s: FAILED (%d checks)\n", which, failed);
		return 1;
	}
	fprintf(report, "stdfds %s: ok\n", which);
	return 0;
}
