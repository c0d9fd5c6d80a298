/*
 * misc.c - small defects of issue 7, one case each.
 *
 *	misc CASE
 *
 *   listen-port     cp_listen takes ports 0-65535 only (70000 bound 4464)
 *   open-listening  cp_channel_open_fd refuses a listening socket
 *   open-unconnected  ... and an unconnected one (both hung or failed late)
 *   kill-probe      cp_child_kill(c, 0) only probes, as kill(2) (it sent
 *                   SIGTERM)
 *   unknown-handle  a NODE_HANDLE of unknown type: NACKed, fd closed, not
 *                   delivered with CP_HANDLE_NONE and an fd
 *   send-epipe      a send queued when the peer closes gets UV_EPIPE
 *                   (it got UV_ECANCELED)
 *   take-fd         cp_message_take_fd leaves the const message as it is
 *                   (it wrote through the const pointer)
 */
#include <signal.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

static int failed;

static void
check_failed(void *ctx, int line, const char *what)
{
	(void)ctx;
	fprintf(stderr, "misc: line %d: check failed: %s\n", line, what);
	failed++;
}

static void
case_listen_port(void)
{
	static const char *const bad[] = {
		"127.0.0.1:70000", "131152", "65536", "127.0.0.1:99999999",
	};
	char addr[128];
	size_t i;
	int fd, r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = cp_listen(bad[i], 0, 0, &fd, addr, sizeof(addr));
		if (r != UV_EINVAL)
			fprintf(stderr, "misc: %s: %d (%s)\n", bad[i], r,
			    r == 0 ? addr : cp_err_name(r));
		CHECK(NULL, r == UV_EINVAL && fd == -1);
		if (r == 0)
			close(fd);
	}
	CHECK(NULL, cp_listen("127.0.0.1:0", 0, 0, &fd, addr, sizeof(addr)) == 0);
	CHECK(NULL, strncmp(addr, "127.0.0.1:", 10) == 0);
	close(fd);
}

static const struct cp_channel_events ev = { 0 };

static void
case_open_listening(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct cp_channel *ch = NULL;
	uv_loop_t loop;
	int fd;

	uv_loop_init(&loop);
	/* An abstract name: nothing to clean up. */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "cp-misc-%d",
	    (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(NULL, bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(NULL, listen(fd, 1) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, fd, &ev, NULL, &ch) == UV_ENOTCONN);
	CHECK(NULL, ch == NULL);
	close(fd);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}

static void
case_open_unconnected(void)
{
	struct cp_channel *ch = NULL;
	uv_loop_t loop;
	int fd;

	uv_loop_init(&loop);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(NULL, cp_channel_open_fd(&loop, fd, &ev, NULL, &ch) == UV_ENOTCONN);
	CHECK(NULL, ch == NULL);
	close(fd);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}


/* ---- kill(c, 0) probes -------------------------------------------------- */

static bool child_closed;

static void
probe_close(struct cp_child *c, void *data)
{
	(void)data;
	child_closed = true;
	cp_child_close(c, child_free_cb);
}

static void
probe_exit(struct cp_child *c, int64_t st, int sig, void *data)
{
	(void)st;
	(void)data;
	CHECK(NULL, sig == SIGKILL);
	CHECK(NULL, cp_child_kill(c, 0) == UV_ESRCH);
}

static void
probe_timer(uv_timer_t *t)
{
	struct cp_child *c = t->data;

	CHECK(NULL, cp_child_kill(c, 0) == 0);
	CHECK(NULL, !cp_child_killed(c));
	CHECK(NULL, kill(cp_child_pid(c), 0) == 0);
	CHECK(NULL, cp_child_kill(c, SIGKILL) == 0);
	uv_close((uv_handle_t *)t, NULL);
}

static void
case_kill_probe(void)
{
	static const struct cp_child_events pev = {
		.on_exit = probe_exit,
		.on_close = probe_close,
	};
	static const struct cp_stdio ignored[] = {
		{ CP_STDIO_IGNORE, -1 }, { CP_STDIO_IGNORE, -1 },
		{ CP_STDIO_IGNORE, -1 },
	};
	struct cp_spawn_options o = CP_SPAWN_OPTIONS_INIT;
	char *args[] = { "30", NULL };
	struct cp_child *c;
	uv_timer_t t;
	uv_loop_t loop;

	uv_loop_init(&loop);
	o.file = "sleep";
	o.args = args;
	o.stdio = ignored;
	o.stdio_count = 3;
	CHECK(NULL, cp_child_spawn(&loop, &o, &pev, NULL, &c) == 0);
	/* A probe right away, then again once the loop ran a while. */
	CHECK(NULL, cp_child_kill(c, 0) == 0);
	CHECK(NULL, !cp_child_killed(c));
	uv_timer_init(&loop, &t);
	t.data = c;
	uv_timer_start(&t, probe_timer, 200, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(NULL, child_closed);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}

/* ---- a NODE_HANDLE of a type nobody knows ------------------------------- */

static int nmsg, nerr, last_err;

static void
count_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	(void)ch;
	(void)data;
	fprintf(stderr, "misc: message %.*s type %d fd %d\n", (int)m->len,
	    m->line, (int)m->handle_type, m->fd);
	nmsg++;
}

static void
count_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	(void)data;
	(void)line;
	(void)len;
	nerr++;
	last_err = err;
	cp_channel_close(ch, channel_free_cb);
}

static bool
inode_open(ino_t ino)
{
	struct stat st;
	int fd;

	for (fd = 0; fd < 1024; fd++)
		if (fstat(fd, &st) == 0 && st.st_ino == ino)
			return true;
	return false;
}

static void
case_unknown_handle(void)
{
	static const struct cp_channel_events hev = {
		.on_message = count_message,
		.on_internal = count_message,
		.on_error = count_error,
	};
	static const char line[] =
	    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"fs.File\",\"msg\":1}\n";
	struct cp_channel *ch;
	struct stat st;
	uv_loop_t loop;
	char back[256];
	ssize_t n;
	int sv[2], pass[2];

	uv_loop_init(&loop);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[0], &hev, NULL, &ch) == 0);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pass) == 0);
	fstat(pass[0], &st);
	CHECK(NULL, send_with_fd(sv[1], line, sizeof(line) - 1, pass[0]) == 0);
	close(pass[0]);
	close(pass[1]);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(NULL, nmsg == 0);
	CHECK(NULL, nerr == 1 && last_err == UV_EPROTO);
	CHECK(NULL, !inode_open(st.st_ino));
	/* The sender is told: a NACK, not an ACK. */
	n = recv(sv[1], back, sizeof(back) - 1, MSG_DONTWAIT);
	CHECK(NULL, n > 0);
	back[n > 0 ? n : 0] = '\0';
	CHECK(NULL, strcmp(back, "{\"cmd\":\"NODE_HANDLE_NACK\"}\n") == 0);
	close(sv[1]);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}

/* ---- cp_message_take_fd: const m, the channel keeps the record ------------ */

static int taken_fd = -1, taken_num = -1;

static void
take_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	(void)data;
	CHECK(NULL, m->handle_type == CP_HANDLE_NET_SOCKET && m->fd >= 0);
	taken_num = m->fd;
	taken_fd = cp_message_take_fd(m);
	/* m is const: it is not changed; a second take gets nothing. */
	CHECK(NULL, taken_fd == taken_num && m->fd == taken_num);
	CHECK(NULL, cp_message_take_fd(m) == -1);
	cp_channel_close(ch, channel_free_cb);
}

static void
case_take_fd(void)
{
	static const struct cp_channel_events tev = {
		.on_message = take_message,
	};
	static const char line[] =
	    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":1}\n";
	struct cp_channel *ch;
	struct stat st, st2;
	uv_loop_t loop;
	int sv[2], pass[2];

	uv_loop_init(&loop);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[0], &tev, NULL, &ch) == 0);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pass) == 0);
	fstat(pass[0], &st);
	CHECK(NULL, send_with_fd(sv[1], line, sizeof(line) - 1, pass[0]) == 0);
	close(pass[0]);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* Taken: still open after the callback, and the same socket. */
	CHECK(NULL, taken_fd >= 0 && fstat(taken_fd, &st2) == 0 &&
	    st2.st_ino == st.st_ino);
	close(taken_fd);
	close(pass[1]);
	close(sv[1]);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}

/* ---- a send still queued when the peer closes: EPIPE --------------------- */

static int send_status = 1;

static void
big_send_cb(struct cp_channel *ch, int status, void *arg)
{
	(void)ch;
	(void)arg;
	send_status = status;
}

static void
on_disc(struct cp_channel *ch, int err, void *data)
{
	(void)err;
	(void)data;
	cp_channel_close(ch, channel_free_cb);
}

static void
case_send_epipe(void)
{
	static const struct cp_channel_events dev = {
		.on_disconnect = on_disc,
	};
	struct cp_channel *ch;
	uv_loop_t loop;
	json_t *v;
	char *big;
	int sv[2];

	uv_loop_init(&loop);
	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[0], &dev, NULL, &ch) == 0);
	big = malloc(4 << 20);
	memset(big, 'x', 4 << 20);
	v = json_stringn(big, 4 << 20);
	free(big);
	/* More than the socket holds: queued, and the peer never reads it. */
	CHECK(NULL, cp_channel_send(ch, v, big_send_cb, NULL) == 1);
	json_decref(v);
	close(sv[1]);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(NULL, send_status == UV_EPIPE);
	CHECK(NULL, uv_loop_close(&loop) == 0);
}

/* Each line is a test, edges-misc-NAME (tests/lib/test.h, CASE). */
static const struct test_case cases[] = {
	CASE("listen-port", case_listen_port)
	CASE("open-listening", case_open_listening)
	CASE("open-unconnected", case_open_unconnected)
	CASE("kill-probe", case_kill_probe)
	CASE("unknown-handle", case_unknown_handle)
	CASE("send-epipe", case_send_epipe)
	CASE("take-fd", case_take_fd)
};

int
main(int argc, char *argv[])
{
	const struct test_case *c;

	if (argc != 2 || (c = RUN_CASE(cases, argv[1])) == NULL)
		return 2;
	if (failed) {
		fprintf(stderr, "misc %s: FAILED\n", c->name);
		return 1;
	}
	printf("misc %s: ok\n", c->name);
	return 0;
}
