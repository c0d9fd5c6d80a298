/*
 * bench-capture.c - cp_exec_file capturing a command's output, as Node's
 * execFile(file, args, { maxBuffer: Infinity, encoding: 'buffer' }) does.
 *
 *   bench-capture FILE [ARG...]
 *
 * Prints "bytes=N seconds=S mb_per_s=R" for stdout; fails if the command
 * fails.  execfile.js is the Node side.
 */
#include <stdio.h>
#include <stdlib.h>

#include "childproc.h"

static uint64_t t0;

static void
done(struct cp_exec *x, struct cp_result *r, void *data)
{
	double secs = (double)(uv_hrtime() - t0) / 1e9;
	char *msg;

	*(int *)data = 1;
	if (r->error != 0) {
		(void)cp_result_message(r, &msg);
		fprintf(stderr, "bench-capture: %s\n", msg != NULL ? msg : "failed");
		free(msg);
	} else {
		printf("bytes=%zu seconds=%.3f mb_per_s=%.0f\n", r->output[1].len,
		    secs, (double)r->output[1].len / 1e6 / secs);
		*(int *)data = 0;
	}
	cp_exec_close(x, NULL);	/* freed once the loop is over */
}

int
main(int argc, char *argv[])
{
	struct cp_exec_options o;
	struct cp_exec *x;
	uv_loop_t loop;
	int r, failed = 2;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-capture FILE [ARG...]\n");
		return 2;
	}
	cp_exec_options_init(&o);
	o.spawn.file = argv[1];
	o.spawn.args = argv + 2;
	o.max_buffer = CP_MAX_BUFFER_INFINITY;
	o.encoding = CP_ENC_BUFFER;
	uv_loop_init(&loop);
	t0 = uv_hrtime();
	if ((r = cp_exec_file(&loop, &o, done, &failed, &x)) != 0) {
		fprintf(stderr, "bench-capture: %s: %s\n", argv[1], cp_strerror(r));
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_exec_free(x);
	uv_loop_close(&loop);
	return failed;
}
