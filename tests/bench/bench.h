/*
 * bench.h - what the C benchmark programs share: a child with a channel on
 * fd 3 and its exit, the warm-up message, quantiles of timings.
 *
 * A program whose child is such an echo peer puts a struct bench_child
 * FIRST in its own state and passes that state as the events' data: the
 * exit and close callbacks here then find it, and its own on_message casts
 * the same pointer to its struct.
 */
#ifndef CP_BENCH_H
#define CP_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "childproc.h"

struct bench_child {
	struct cp_channel *ch;	/* NULL once the child is closed */
	int64_t exit_status;
	int term_signal;
};

static inline void
bench_on_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct bench_child *bc = data;

	(void)c;
	bc->exit_status = status;
	bc->term_signal = sig;
}

static inline void
bench_on_close(struct cp_child *c, void *data)
{
	struct bench_child *bc = data;

	bc->ch = NULL;
	cp_child_close(c, NULL);	/* freed once the loop is over */
}

/*
 * Runs argv[0] with ARGS argv[1...] to its end on a loop of its own: stdin
 * ignored, stdout and stderr ours, the channel on fd 3 (serialization: NULL
 * for json).  The warm-up message {"seq":-1} goes first, so that the
 * child's start-up is not timed: its reply says the child is up.  If the
 * child cannot be started, says why, as PROG, and returns non-zero.
 */
static inline int
bench_run_echo(const char *prog, char **argv, const char *serialization,
    const struct cp_child_events *ev, struct bench_child *bc)
{
	static const struct cp_stdio stdio[] = {
		{ .type = CP_STDIO_IGNORE }, { .type = CP_STDIO_INHERIT },
		{ .type = CP_STDIO_INHERIT }, { .type = CP_STDIO_IPC },
	};
	struct cp_spawn_options o = CP_SPAWN_OPTIONS_INIT;
	struct cp_child *child;
	uv_loop_t loop;
	json_t *w;
	int r;

	o.file = argv[0];
	o.args = argv + 1;
	o.serialization = serialization;
	o.stdio = stdio;
	o.stdio_count = 4;
	uv_loop_init(&loop);
	if ((r = cp_child_spawn(&loop, &o, ev, bc, &child)) != 0) {
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, o.file,
		    cp_strerror(r));
		uv_loop_close(&loop);
		return r;
	}
	bc->ch = cp_child_channel(child);
	w = json_pack("{s:i}", "seq", -1);
	r = w == NULL ? UV_ENOMEM : cp_channel_send(bc->ch, w, NULL, NULL);
	json_decref(w);
	if (r < 0) {
		/* No reply will come: the child goes when its channel does. */
		fprintf(stderr, "%s: send: %s\n", prog, cp_strerror(r));
		cp_channel_disconnect(bc->ch);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_child_free(child);
	uv_loop_close(&loop);
	return 0;
}

static inline int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sorts the n timings v and returns the value at quantile q (nearest rank:
 * the median of an even count is the lower middle one).
 */
static inline uint64_t
bench_quantile(uint64_t *v, long n, double q)
{
	long i = (long)(q * (double)n + 0.999999) - 1;

	qsort(v, (size_t)n, sizeof(*v), bench_cmp_u64);
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

#endif
