/*
 * tests/v8/advecho.c - a C child (libchildproc) of a node parent that
 * uses serialization 'advanced' (fork's option, or execa's ipc: true).
 *
 * Opens the channel from the environment, says {"ready": MODE} (MODE is
 * what cp_channel_serialization reports), then sends every message back:
 * the decoded value, re-encoded; a message that came with a handle goes
 * back with the same handle.  The message "bye" makes it disconnect.
 * Exits 0 once disconnected, 1 if anything failed (said on stderr).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "childproc.h"

static int failed;

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	int fd, r;

	if (json_is_string(m->value) &&
	    strcmp(json_string_value(m->value), "bye") == 0) {
		cp_channel_disconnect(ch);
		return;
	}
	if (m->fd >= 0) {
		fd = cp_message_take_fd(m);
		r = cp_channel_send_handle(ch, m->value, m->handle_type, fd, 0,
		    NULL, NULL);
		close(fd);
	} else
		r = cp_channel_send(ch, m->value, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "advecho: send: %s\n", cp_strerror(r));
		failed = 1;
	}
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	fprintf(stderr, "advecho: bad message (%zu bytes): %s\n", len,
	    cp_strerror(err));
	failed = 1;
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	cp_channel_close(ch, NULL);
}

int
main(void)
{
	static const struct cp_channel_events ev = {
		.on_message = on_message,
		.on_error = on_error,
		.on_disconnect = on_disconnect,
	};
	struct cp_channel *ch;
	uv_loop_t loop;
	json_t *ready;
	int r;

	uv_loop_init(&loop);
	if ((r = cp_channel_open_env(&loop, &ev, NULL, &ch)) != 0) {
		fprintf(stderr, "advecho: cannot open the channel: %s\n",
		    cp_strerror(r));
		return 2;
	}
	ready = json_pack("{s:s}", "ready", cp_channel_serialization(ch));
	cp_channel_send(ch, ready, NULL, NULL);
	json_decref(ready);
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_free(ch);		/* closed in on_disconnect */
	uv_loop_close(&loop);
	return failed;
}
