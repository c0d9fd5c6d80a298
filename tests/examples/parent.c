/*
 * parent.c - the seed article's parent.js in C: fork sub.js in node,
 * send it {"hello":"world"} and print what it sends back.
 *
 *	cc -o parent parent.c $(pkg-config --cflags --libs childproc)
 *	./parent sub.js
 */
#include <stdio.h>

#include <childproc.h>

static int status;

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	printf("parent got message: %.*s\n", (int)m->len, m->line);
	fflush(stdout);
	/*
	 * sub.js listens for messages, so it runs until we hang up.  Nothing
	 * queued is lost: the channel closes once our message is written.
	 */
	cp_channel_disconnect(ch);
}

static void
on_exit_(struct cp_child *c, int64_t exit_status, int term_signal, void *data)
{
	status = cp_exit_status(0, exit_status, term_signal, false);
}

static void
closed(struct cp_child *c, void *data)
{
	cp_child_free(c);
}

static void
on_close(struct cp_child *c, void *data)
{
	/* Node's 'close': the child is done; close it, free it after. */
	cp_child_close(c, closed);
}

int
main(int argc, char *argv[])
{
	static const struct cp_child_events events = {
		.ipc.on_message = on_message,
		.on_exit = on_exit_,
		.on_close = on_close,
	};
	char *args[] = { argc > 1 ? argv[1] : "sub.js", NULL };
	/* Node's fork(): stdio inherited, the channel on fd 3. */
	static const struct cp_stdio stdio[] = {
		{ CP_STDIO_INHERIT }, { CP_STDIO_INHERIT },
		{ CP_STDIO_INHERIT }, { CP_STDIO_IPC },
	};
	struct cp_spawn_options opts = CP_SPAWN_OPTIONS_INIT;
	uv_loop_t *loop = uv_default_loop();
	struct cp_child *child;
	json_t *hello;
	int r;

	opts.file = "node";
	opts.args = args;
	opts.stdio = stdio;
	opts.stdio_count = 4;
	if ((r = cp_child_spawn(loop, &opts, &events, NULL, &child)) != 0) {
		fprintf(stderr, "parent: cannot run node: %s\n", cp_strerror(r));
		return 1;
	}
	hello = json_pack("{s:s}", "hello", "world");
	cp_channel_send(cp_child_channel(child), hello, NULL, NULL);
	json_decref(hello);

	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return status;
}
