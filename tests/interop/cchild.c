/*
 * cchild.c - a C child (libchildproc) of a real node parent.
 *
 *	cchild MODE [ARG...]
 *
 * Opens the channel with cp_channel_open_env and plays MODE; the Node
 * side is the matching case of parent.js.  Modes:
 *
 *	echo		say ready (what we saw of the channel), then send
 *			every message back byte for byte; report bad lines
 *	reencode	the same, but send back the decoded value
 *	slow		block 1 s on the first message, then answer each
 *			message with its length
 *	send3		send 3 messages, disconnect, exit 1 s later
 *	big-exit SIZE	send one string of SIZE bytes, disconnect, exit
 *	send-big N SIZE	send N strings of SIZE bytes, then what send()
 *			returned and what the callbacks got
 *	epipe		on "bye", wait for the parent to close, then check
 *			that sends fail with UV_EPIPE (and SIGPIPE is harmless)
 *	unref [SIZE]	unref the channel, say ready (and send a string of
 *			SIZE bytes), exit as soon as that is written
 *	open		only open the channel; exit 2 with the error if that
 *			fails (3 if the variables were left in the environment)
 *	grandchild FDLIST
 *			run "FDLIST --stdout" and send what it printed
 *
 * A mode that ends well exits 0 once the parent or we disconnected.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

extern char **environ;

static const char *mode;
static int status = 1;		/* the exit status, once the mode is done */
static int failed;
static long nmsg;
static size_t big_size;
static int big_n, ncb;
static int rets[16], cbs[16];
static uv_timer_t timer;

static void
check_failed(const char *m, int line, const char *what)
{
	fprintf(stderr, "cchild %s: line %d: check failed: %s\n", m, line,
	    what);
	failed++;
}

static void
send_value(struct cp_channel *ch, json_t *v)
{
	CHECK(mode, cp_channel_send(ch, v, NULL, NULL) >= 0);
	json_decref(v);
}

/* What a Node parent gave us, looked at before the library touches it. */
static json_t *
describe_channel(int argc, char *argv[])
{
	const char *s = getenv("NODE_CHANNEL_FD");
	const char *m = getenv("NODE_CHANNEL_SERIALIZATION_MODE");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss), tl;
	json_t *r, *args;
	int fd, type = 0, fl;
	int i;

	fd = s != NULL ? atoi(s) : -1;
	fl = fcntl(fd, F_GETFL);
	tl = sizeof(type);
	r = json_pack("{s:b,s:s?,s:s?,s:i,s:b,s:b}", "ready", 1,
	    "env_fd", s, "env_mode", m, "fd", fd,
	    "blocking", fl >= 0 && !(fl & O_NONBLOCK),
	    "unix_stream", getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_STREAM);
	args = json_array();
	for (i = 0; i < argc; i++) {
		json_array_append_new(args, json_string(argv[i]));
	}
	json_object_set_new(r, "argv", args);
	return r;
}

/* ---- modes --------------------------------------------------------------- */

static void
send_cb(struct cp_channel *ch, int st, void *arg)
{
	json_t *r, *c;
	int i;

	if (ncb < 16) {
		cbs[ncb] = st;
	}
	if (++ncb < big_n) {
		return;
	}
	/* Every big message is written: report, then hang up. */
	r = json_array();
	c = json_array();
	for (i = 0; i < big_n && i < 16; i++) {
		json_array_append_new(r, json_integer(rets[i]));
		json_array_append_new(c, json_integer(cbs[i]));
	}
	send_value(ch, json_pack("{s:o,s:o}", "returns", r, "callbacks", c));
	CHECK(mode, cp_channel_disconnect(ch) == 0);
}

static void
epipe_cb(struct cp_channel *ch, int st, void *arg)
{
	cbs[ncb++] = st;
}

static json_t *
string_of(size_t size, char c)
{
	char *s;
	json_t *v;

	if ((s = malloc(size)) == NULL) {
		abort();
	}
	memset(s, c, size);
	v = json_stringn_nocheck(s, size);
	free(s);
	return v;
}

static void
start_mode(struct cp_channel *ch, int argc, char *argv[])
{
	json_t *v;
	int i;

	if (strcmp(mode, "send3") == 0) {
		for (i = 1; i <= 3; i++) {
			send_value(ch, json_pack("{s:i}", "n", i));
		}
		CHECK(mode, cp_channel_disconnect(ch) == 0);
	} else if (strcmp(mode, "big-exit") == 0 && argc > 2) {
		/* More than the socket holds: the rest waits in our queue. */
		v = string_of(strtoul(argv[2], NULL, 10), 'b');
		CHECK(mode, cp_channel_send(ch, v, NULL, NULL) == 1);
		json_decref(v);
		CHECK(mode, cp_channel_disconnect(ch) == 0);
	} else if (strcmp(mode, "unref") == 0 && argc > 2) {
		/* Queued, not yet written: it must still go before we exit. */
		v = string_of(strtoul(argv[2], NULL, 10), 'u');
		CHECK(mode, cp_channel_send(ch, v, NULL, NULL) == 1);
		json_decref(v);
	} else if (strcmp(mode, "send-big") == 0 && argc > 3) {
		big_n = atoi(argv[2]);
		big_size = strtoul(argv[3], NULL, 10);
		v = string_of(big_size, 'c');
		for (i = 0; i < big_n && i < 16; i++) {
			rets[i] = cp_channel_send(ch, v, send_cb, NULL);
		}
		json_decref(v);
	}
}

static void
wait_peer_closed(struct cp_channel *ch)
{
	struct pollfd p = { .fd = cp_channel_fd(ch), .events = POLLRDHUP };

	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
		continue;
	}
	CHECK(mode, (p.revents & (POLLRDHUP | POLLHUP)) != 0);
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	nmsg++;
	if (strcmp(mode, "echo") == 0) {
		CHECK(mode, cp_channel_send_line(ch, m->line, m->len, NULL, NULL,
		    NULL) >= 0);
	} else if (strcmp(mode, "reencode") == 0) {
		CHECK(mode, cp_channel_send(ch, m->value, NULL, NULL) >= 0);
	} else if (strcmp(mode, "slow") == 0) {
		if (nmsg == 1) {
			/* A reader that falls behind: the parent must queue. */
			sleep(1);
		}
		send_value(ch, json_pack("{s:I}", "len",
		    (json_int_t)json_string_length(m->value)));
	} else if (strcmp(mode, "epipe") == 0) {
		CHECK(mode, json_is_string(m->value) &&
		    strcmp(json_string_value(m->value), "bye") == 0);
		wait_peer_closed(ch);
		/*
		 * The EOF is not read yet, so these go to a closed socket:
		 * UV_EPIPE now, or later to the callback (a send without one
		 * is then lost, as in Node).  SIGPIPE must not kill us.
		 */
		rets[0] = cp_channel_send_line(ch, "1", 1, NULL, NULL, NULL);
		CHECK(mode, rets[0] == 0 || rets[0] == UV_EPIPE);
		rets[1] = cp_channel_send_line(ch, "2", 1, NULL, epipe_cb, NULL);
		CHECK(mode, rets[1] == 0 || rets[1] == UV_EPIPE);
	} else {
		CHECK(mode, !"no message expected");
	}
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	/* Tell the parent what was skipped; the channel goes on. */
	send_value(ch, json_pack("{s:s,s:s%}", "error", cp_err_name(err),
	    "line", line, len > 100 ? (size_t)100 : len));
}

static void
exit_later(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	CHECK(mode, err == 0);
	if (strcmp(mode, "epipe") == 0) {
		CHECK(mode, cp_channel_send_line(ch, "3", 1, NULL, epipe_cb,
		    NULL) == UV_EPIPE);
	}
	if (strcmp(mode, "send3") == 0) {
		/* The parent sees the disconnect now, the exit a second later. */
		uv_timer_start(&timer, exit_later, 1000, 0);
	} else {
		uv_close((uv_handle_t *)&timer, NULL);
	}
	status = 0;
}

static const struct cp_channel_events events = {
	.on_message = on_message,
	.on_error = on_error,
	.on_disconnect = on_disconnect,
};

/* ---- the grandchild ------------------------------------------------------ */

/* Runs "fdlist --stdout" as a plain fork+exec would and returns its output. */
static json_t *
run_grandchild(const char *fdlist)
{
	posix_spawn_file_actions_t fa;
	char *args[] = { (char *)fdlist, "--stdout", NULL };
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st;

	if (pipe2(p, O_CLOEXEC) != 0) {
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (posix_spawn(&pid, fdlist, &fa, NULL, args, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	return json_loadb(buf, len, 0, NULL);
}

static int
open_only(void)
{
	struct cp_channel *ch;
	uv_loop_t loop;
	int r;

	uv_loop_init(&loop);
	r = cp_channel_open_env(&loop, &events, NULL, &ch);
	/* Used or refused, both are removed (an empty one means none, as in Node). */
	if (r != UV_ENOENT && (getenv("NODE_CHANNEL_FD") != NULL ||
	    getenv("NODE_CHANNEL_SERIALIZATION_MODE") != NULL)) {
		fprintf(stderr, "cchild: the channel variables are still set\n");
		r = r ? r : UV_EINVAL;
		status = 3;
	} else {
		status = r ? 2 : 0;
	}
	if (r != 0) {
		fprintf(stderr, "cchild: cannot open the IPC channel: %s: %s\n",
		    cp_err_name(r), cp_strerror(r));
	}
	cp_channel_close(ch, channel_free_cb);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(mode, uv_loop_close(&loop) == 0);
	return failed ? 1 : status;
}

int
main(int argc, char *argv[])
{
	struct cp_channel *ch;
	uv_loop_t loop;
	json_t *ready, *g;
	int r, fl;

	if (argc < 2) {
		fprintf(stderr, "usage: cchild MODE [ARG...]\n");
		return 2;
	}
	mode = argv[1];
	if (strcmp(mode, "open") == 0) {
		return open_only();
	}
	ready = describe_channel(argc, argv);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &timer);
	if ((r = cp_channel_open_env(&loop, &events, NULL, &ch)) != 0) {
		fprintf(stderr, "cchild: cannot open the IPC channel: %s\n",
		    cp_strerror(r));
		return 2;
	}
	/* What the library did to the fd and the environment. */
	fl = fcntl(cp_channel_fd(ch), F_GETFD);
	json_object_set_new(ready, "cloexec", json_boolean(fl >= 0 &&
	    (fl & FD_CLOEXEC)));
	json_object_set_new(ready, "env_cleared", json_boolean(
	    getenv("NODE_CHANNEL_FD") == NULL &&
	    getenv("NODE_CHANNEL_SERIALIZATION_MODE") == NULL));
	if (strcmp(mode, "unref") == 0) {
		/* Nothing else holds the loop: we may leave at once. */
		cp_channel_unref(ch);
		status = 0;
	}
	send_value(ch, ready);
	if (strcmp(mode, "grandchild") == 0 && argc > 2) {
		g = run_grandchild(argv[2]);
		CHECK(mode, g != NULL);
		send_value(ch, json_pack("{s:o*}", "grandchild", g));
		CHECK(mode, cp_channel_disconnect(ch) == 0);
	}
	start_mode(ch, argc, argv);

	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_close(ch, channel_free_cb);
	if (!uv_is_closing((uv_handle_t *)&timer)) {
		uv_close((uv_handle_t *)&timer, NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(mode, uv_loop_close(&loop) == 0);
	if (strcmp(mode, "epipe") == 0) {
		/* The callback of "2" ran once, with an error, unless refused. */
		CHECK(mode, ncb == (rets[1] == 0));
		CHECK(mode, ncb == 0 || cbs[0] == UV_EPIPE ||
		    cbs[0] == UV_ECANCELED);
	}
	return failed ? 1 : status;
}
