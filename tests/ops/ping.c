/*
 * ping.c - cp_channel_ping against a real node peer and against our own
 * channel.
 *
 *	ping NODE PING_JS
 *
 * node: a ping is answered while the peer's event loop runs, not while
 * it is blocked (the answer comes once it is free again); a ping queued
 * behind a handle is answered after the handle's ACK; the peer's code sees
 * no 'message' for pings.  C: our own channel answers a ping with no error.
 * Exits 0 if every check passed, 1 otherwise.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"
#include "nodechild.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[4];

#define BLOCK_MS 1500

static int failed;

static void
check_failed(void *ctx, int line, const char *what)
{
	(void)ctx;
	fprintf(stderr, "ping.c:%d: check failed: %s\n", line, what);
	failed = 1;
}

struct t {
	uv_loop_t loop;
	struct cp_child *child;
	struct cp_channel *ch;
	uv_timer_t watchdog;
	int step;
	int pings_ok;
	uint64_t blocking_at, ping_answered_at;
	int order[4], norder;
	int listen_fd;
};

static void
ping_cb(struct cp_channel *ch, int st, void *arg)
{
	struct t *t = cp_channel_data(ch);

	if (getenv("PING_DEBUG"))
		fprintf(stderr, "ping answered %d %s\n", st, arg ? (char *)arg : "");
	CHECK(NULL, st == 0);
	if (st == 0)
		t->pings_ok++;
	if (arg != NULL) {
		if (strcmp(arg, "blocked") == 0)
			t->ping_answered_at = uv_now(&t->loop);
		else if (t->norder < 4)
			t->order[t->norder++] = 2;
	}
}

static void
handle_cb(struct cp_channel *ch, int st, void *arg)
{
	struct t *t = cp_channel_data(ch);

	(void)arg;
	CHECK(NULL, st == 0);
	if (t->norder < 4)
		t->order[t->norder++] = 1;
}

static void
send_json(struct t *t, const char *s)
{
	json_t *v = json_loads(s, 0, NULL);

	CHECK(NULL, cp_channel_send(t->ch, v, NULL, NULL) >= 0);
	json_decref(v);
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct t *t = data;
	json_t *v = m->value;
	struct sockaddr_in sin;
	json_t *srv;

	if (getenv("PING_DEBUG"))
		fprintf(stderr, "message %.*s\n", (int)m->len, m->line);
	if (json_object_get(v, "blocking") != NULL) {
		/* Its loop is blocked now: this ping waits until it is free. */
		t->blocking_at = uv_now(&t->loop);
		CHECK(NULL, cp_channel_ping(ch, ping_cb, "blocked") == 0);
	} else if (json_object_get(v, "unblocked") != NULL) {
		/* A server handle, then a ping behind it. */
		t->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(NULL, bind(t->listen_fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0);
		CHECK(NULL, listen(t->listen_fd, 8) == 0);
		srv = json_string("server");
		CHECK(NULL, cp_channel_send_handle(ch, srv,
		    CP_HANDLE_NET_SERVER, t->listen_fd, 0, handle_cb, NULL) >= 0);
		json_decref(srv);
		CHECK(NULL, cp_channel_ping(ch, ping_cb, "after-handle") == 0);
		send_json(t, "{\"report\":1}");
	} else if (json_object_get(v, "messages") != NULL) {
		/* block, report: pings were never 'message' events. */
		CHECK(NULL, value_is(json_object_get(v, "messages"), "3"));
		CHECK(NULL, value_is(json_object_get(v, "handles"), "1"));
		cp_channel_disconnect(ch);
	}
}

static void
start(struct t *t)
{
	int i;

	/* Three pings while it is idle, then a block. */
	for (i = 0; i < 3; i++)
		CHECK(NULL, cp_channel_ping(t->ch, ping_cb, NULL) == 0);
	send_json(t, "{\"block\":1500}");
}

static void
on_exit_(struct cp_child *c, int64_t code, int sig, void *data)
{
	(void)c;
	(void)data;
	CHECK(NULL, code == 0 && sig == 0);
}

static void
on_close(struct cp_child *c, void *data)
{
	struct t *t = data;

	cp_child_close(c, NULL);	/* freed once the loop is over */
	uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void
watchdog_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	fprintf(stderr, "ping.c: hung\n");
	failed = 1;
	cp_child_kill(t->child, SIGKILL);
}

static const struct cp_child_events events = {
	.ipc = { .on_message = on_message },
	.on_exit = on_exit_,
	.on_close = on_close,
};

/* ---- our own channel answers a ping ------------------------------------ */

static int c_errors, c_pinged;

static void
c_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	(void)ch;
	(void)data;
	fprintf(stderr, "ping.c: C peer error %s: %.*s\n", cp_strerror(err),
	    (int)len, line);
	c_errors++;
}

static void
c_ping_cb(struct cp_channel *ch, int st, void *arg)
{
	(void)arg;
	CHECK(NULL, st == 0);
	c_pinged++;
	if (c_pinged == 2) {
		cp_channel_close(ch, NULL);
		cp_channel_close(*(struct cp_channel **)cp_channel_data(ch),
		    NULL);
	}
}

static void
c_peer(void)
{
	static const struct cp_channel_events ev = { .on_error = c_error };
	struct cp_channel *a, *b;
	uv_loop_t loop;
	int sv[2];

	CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	uv_loop_init(&loop);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[0], &ev, &b, &a) == 0);
	CHECK(NULL, cp_channel_open_fd(&loop, sv[1], &ev, &a, &b) == 0);
	CHECK(NULL, cp_channel_ping(a, c_ping_cb, NULL) == 0);
	CHECK(NULL, cp_channel_ping(a, c_ping_cb, NULL) == 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_free(a);
	cp_channel_free(b);
	CHECK(NULL, uv_loop_close(&loop) == 0);
	CHECK(NULL, c_pinged == 2);
	CHECK(NULL, c_errors == 0);
}

int
main(int argc, char *argv[])
{
	struct cp_spawn_options o = { 0 };
	struct t t = { .listen_fd = -1 };
	char *args[] = { argv[2], NULL };
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: ping NODE PING_JS\n");
		return 2;
	}
	c_peer();
	node_child_options(&o, stdio_, argv[1], args, CP_STDIO_IGNORE, 3);
	uv_loop_init(&t.loop);
	uv_timer_init(&t.loop, &t.watchdog);
	t.watchdog.data = &t;
	uv_timer_start(&t.watchdog, watchdog_cb, 120000, 0);
	uv_unref((uv_handle_t *)&t.watchdog);
	if ((r = cp_child_spawn(&t.loop, &o, &events, &t, &t.child)) != 0) {
		fprintf(stderr, "ping: cannot run %s: %s\n", argv[1],
		    cp_strerror(r));
		return 2;
	}
	t.ch = cp_child_channel(t.child);
	start(&t);
	uv_run(&t.loop, UV_RUN_DEFAULT);
	cp_child_free(t.child);
	CHECK(NULL, uv_loop_close(&t.loop) == 0);
	if (t.listen_fd >= 0)
		close(t.listen_fd);
	CHECK(NULL, t.pings_ok == 5);
	/* Answered once the loop was free: not before most of the block. */
	CHECK(NULL, t.ping_answered_at >= t.blocking_at + BLOCK_MS - 200);
	CHECK(NULL, t.norder == 2 && t.order[0] == 1 && t.order[1] == 2);
	if (failed == 0)
		printf("ping: ok (blocked ping answered after %llu ms)\n",
		    (unsigned long long)(t.ping_answered_at - t.blocking_at));
	return failed;
}
