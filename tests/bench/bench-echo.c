/*
 * bench-echo.c - the C echo child: every message from the parent goes
 * straight back, as echo.js does in Node (decoded, then encoded again).
 */
#include <stdio.h>
#include <stdlib.h>

#include "childproc.h"

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	int r;

	(void)data;
	/* The window of the parent bounds the queue: no need to pause. */
	if ((r = cp_channel_send(ch, m->value, NULL, NULL)) < 0) {
		fprintf(stderr, "bench-echo: send: %s\n", cp_strerror(r));
		exit(1);
	}
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	(void)ch;
	(void)data;
	if (err != 0)
		fprintf(stderr, "bench-echo: channel: %s\n", cp_strerror(err));
}

static const struct cp_channel_events events = {
	.on_message = on_message,
	.on_disconnect = on_disconnect,
};

int
main(void)
{
	struct cp_channel *ch;
	uv_loop_t loop;
	int r;

	uv_loop_init(&loop);
	if ((r = cp_channel_open_env(&loop, &events, NULL, &ch)) != 0) {
		fprintf(stderr, "bench-echo: no IPC channel: %s\n",
		    cp_strerror(r));
		return 1;
	}
	/* The loop ends once the parent has closed the channel. */
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_close(ch, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_channel_free(ch);
	uv_loop_close(&loop);
	return 0;
}
