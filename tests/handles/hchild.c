/*
 * hchild.c - handle passing in the child role: a C child (libchildproc)
 * of a real node parent.
 *
 *	hchild MODE
 *
 * Opens the channel with cp_channel_open_env and plays MODE; the Node side
 * is the matching case of node/parent.js.  Modes:
 *
 *	echo		send every handle back with its type and message (the
 *			fd is taken, sent, and our copy closed); "end" ends
 *	socketlist	keep every socket received with a key and say which
 *			key; "drop" closes them (Node's
 *			server.getConnections() and server.close(cb) wait
 *			for our NODE_SOCKET_* answers: childproc-ipc(7),
 *			Internal messages)
 *
 * Both say "ready" first, and exit 0 once the channel is closed and every
 * check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

#define MAX_KEPT 16

static const char *mode;
static int failed;
static int kept[MAX_KEPT];
static int nkept;
static long nsent, ncb;

static void
check_failed(const char *m, int line, const char *what)
{
	fprintf(stderr, "hchild %s: line %d: check failed: %s\n", m, line,
	    what);
	failed++;
}

static void
send_str(struct cp_channel *ch, const char *s)
{
	json_t *v = json_string(s);

	CHECK(mode, cp_channel_send(ch, v, NULL, NULL) >= 0);
	json_decref(v);
}

static void
echo_cb(struct cp_channel *ch, int status, void *arg)
{
	(void)ch;
	(void)arg;
	CHECK(mode, status == 0);
	ncb++;
}

static void
echo_message(struct cp_channel *ch, const struct cp_message *m)
{
	int fd;

	if (m->handle_type == CP_HANDLE_NONE) {
		/* "end": everything sent came back and was answered. */
		CHECK(mode, json_is_string(m->value) &&
		    strcmp(json_string_value(m->value), "end") == 0);
		CHECK(mode, ncb == nsent);
		CHECK(mode, cp_channel_disconnect(ch) == 0);
		return;
	}
	/* Back to the sender, as it came: the type and the message. */
	fd = cp_message_take_fd(m);
	CHECK(mode, fd >= 0);
	CHECK(mode, cp_channel_send_handle(ch, m->value, m->handle_type, fd, 0,
	    echo_cb, NULL) >= 0);
	nsent++;
	close(fd);
}

static void
socketlist_message(struct cp_channel *ch, const struct cp_message *m)
{
	json_t *v;

	if (m->handle_type == CP_HANDLE_NET_SOCKET) {
		CHECK(mode, m->key != NULL && nkept < MAX_KEPT);
		if (m->key == NULL || nkept == MAX_KEPT) {
			return;
		}
		kept[nkept++] = cp_message_take_fd(m);
		v = json_pack("{s:s}", "got", m->key);
		CHECK(mode, cp_channel_send(ch, v, NULL, NULL) >= 0);
		json_decref(v);
	} else if (json_is_string(m->value) &&
	    strcmp(json_string_value(m->value), "drop") == 0) {
		while (nkept > 0) {
			close(kept[--nkept]);
		}
		send_str(ch, "dropped");
	} else {
		CHECK(mode, !"an unexpected message");
	}
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	(void)data;
	if (strcmp(mode, "echo") == 0) {
		echo_message(ch, m);
	} else {
		socketlist_message(ch, m);
	}
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	(void)ch;
	(void)data;
	fprintf(stderr, "hchild %s: channel error %s: %.*s\n", mode,
	    cp_err_name(err), (int)(len > 100 ? 100 : len), line);
	CHECK(mode, !"no channel error was expected");
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	(void)data;
	CHECK(mode, err == 0);
	cp_channel_close(ch, channel_free_cb);
}

static const struct cp_channel_events events = {
	.on_message = on_message,
	.on_error = on_error,
	.on_disconnect = on_disconnect,
};

int
main(int argc, char *argv[])
{
	struct cp_channel *ch;
	uv_loop_t loop;
	int r;

	if (argc != 2 || (strcmp(argv[1], "echo") != 0 &&
	    strcmp(argv[1], "socketlist") != 0)) {
		fprintf(stderr, "usage: hchild echo|socketlist\n");
		return 2;
	}
	mode = argv[1];
	if (uv_loop_init(&loop) != 0) {
		return 2;
	}
	if ((r = cp_channel_open_env(&loop, &events, NULL, &ch)) != 0) {
		fprintf(stderr, "hchild: no channel: %s\n", cp_strerror(r));
		return 2;
	}
	send_str(ch, "ready");
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(mode, uv_loop_close(&loop) == 0);
	while (nkept > 0) {
		close(kept[--nkept]);
	}
	return failed ? 1 : 0;
}
