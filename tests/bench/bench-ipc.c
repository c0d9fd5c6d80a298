/*
 * bench-ipc.c - a C parent measuring the IPC channel against an echo child.
 *
 *   bench-ipc throughput [-n COUNT] [-w WINDOW] [-s SIZE] [-S MODE] -- CHILD [ARG...]
 *   bench-ipc latency    [-n COUNT] [-s SIZE] -- CHILD [ARG...]
 *   bench-ipc big        [-n REPS] [-s SIZE] -- CHILD [ARG...]
 *
 * The child (node echo.js, or bench-echo) gets the channel on fd 3 and
 * sends every message back.  Messages are {"seq":N,"data":"xx..."} with
 * SIZE bytes of data; replies must come back in order and whole, or the
 * run fails.  One warm-up round trip comes first, so the child's start-up
 * is not measured.  -S advanced uses Node's V8 serialization (the child
 * is told so in its environment).  The result is one line of NAME=VALUE on stdout; ipc.js
 * is the same program for a Node parent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

enum mode { THROUGHPUT, LATENCY, BIG };

struct bench {
	struct bench_child c;	/* first: the events' data is both */
	enum mode mode;
	long count;		/* messages, or repetitions for big */
	long window;		/* messages in flight (throughput) */
	size_t size;		/* bytes of data per message */
	long sent;
	long received;
	bool started;		/* the warm-up reply came back */
	bool failed;
	json_t *msg;		/* reused: only seq changes */
	json_t *seq;
	uint64_t t0;
	uint64_t t1;
	double cpu0;		/* our CPU seconds at t0, then t0..t1 */
	uint64_t sent_at;	/* latency, big: when the message in flight left */
	uint64_t *times;	/* latency, big: one per message */
};

static void
fail(struct bench *b, const char *what)
{
	fprintf(stderr, "bench-ipc: %s\n", what);
	b->failed = true;
	if (b->c.ch != NULL && cp_channel_connected(b->c.ch))
		cp_channel_disconnect(b->c.ch);
}

static void
send_next(struct bench *b)
{
	int r;

	json_integer_set(b->seq, b->sent);
	if (b->mode != THROUGHPUT)
		b->sent_at = uv_hrtime();
	if ((r = cp_channel_send(b->c.ch, b->msg, NULL, NULL)) < 0) {
		fprintf(stderr, "bench-ipc: send: %s\n", cp_strerror(r));
		fail(b, "cannot send");
		return;
	}
	b->sent++;
}

/* User + system seconds of this process (not the child). */
static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void
start(struct bench *b)
{
	long i, first;

	b->started = true;
	b->cpu0 = cpu_seconds();
	b->t0 = uv_hrtime();
	first = b->mode == THROUGHPUT ? b->window : 1;
	for (i = 0; i < first && b->sent < b->count && !b->failed; i++)
		send_next(b);
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct bench *b = data;
	json_int_t seq;
	json_t *d;
	uint64_t now;

	(void)ch;
	if (b->failed)
		return;
	seq = json_integer_value(json_object_get(m->value, "seq"));
	if (!b->started) {
		if (seq != -1)
			fail(b, "unexpected warm-up reply");
		else
			start(b);
		return;
	}
	if (seq != b->received) {
		fail(b, "reply out of order");
		return;
	}
	d = json_object_get(m->value, "data");
	if (!json_is_string(d) || json_string_length(d) != b->size) {
		fail(b, "reply with wrong data");
		return;
	}
	/* The clock is read per message only where it is needed. */
	now = b->mode != THROUGHPUT || b->received + 1 == b->count ?
	    uv_hrtime() : 0;
	if (b->mode != THROUGHPUT)
		b->times[b->received] = now - b->sent_at;
	b->received++;
	if (b->received == b->count) {
		b->t1 = now;
		b->cpu0 = cpu_seconds() - b->cpu0;
		cp_channel_disconnect(b->c.ch);
		return;
	}
	if (b->sent < b->count)
		send_next(b);
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	(void)ch;
	(void)line;
	(void)len;
	(void)err;
	fail(data, "the child sent a line that is not a message");
}

static const struct cp_child_events events = {
	.ipc = {
		.on_message = on_message,
		.on_error = on_error,
	},
	.on_exit = bench_on_exit,
	.on_close = bench_on_close,
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench-ipc throughput|latency|big [-n COUNT] "
	    "[-w WINDOW] [-s SIZE] [-S MODE] -- CHILD [ARG...]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct bench b = { 0 };
	const char *serialization = NULL;
	char *payload;
	double secs;
	int c, r;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "throughput") == 0)
		b.mode = THROUGHPUT;
	else if (strcmp(argv[1], "latency") == 0)
		b.mode = LATENCY;
	else if (strcmp(argv[1], "big") == 0)
		b.mode = BIG;
	else
		usage();
	b.count = b.mode == THROUGHPUT ? 100000 : b.mode == LATENCY ? 20000 : 1;
	b.window = 100;
	b.size = b.mode == BIG ? 64u << 20 : 16;
	optind = 2;
	while ((c = getopt(argc, argv, "+n:w:s:S:")) != -1) {
		switch (c) {
		case 'n':
			b.count = atol(optarg);
			break;
		case 'w':
			b.window = atol(optarg);
			break;
		case 's':
			b.size = (size_t)atol(optarg);
			break;
		case 'S':
			serialization = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || b.count < 1 || b.window < 1)
		usage();

	/* The payload: SIZE plain ASCII bytes, as ipc.js builds it. */
	if ((payload = malloc(b.size + 1)) == NULL)
		return 1;
	memset(payload, 'x', b.size);
	payload[b.size] = '\0';
	b.seq = json_integer(-1);
	b.msg = json_object();
	json_object_set_new(b.msg, "seq", b.seq);
	json_object_set_new(b.msg, "data", json_stringn_nocheck(payload, b.size));
	free(payload);
	if (b.mode != THROUGHPUT &&
	    (b.times = calloc((size_t)b.count, sizeof(*b.times))) == NULL)
		return 1;

	r = bench_run_echo("bench-ipc", argv + optind, serialization, &events,
	    &b.c);
	json_decref(b.msg);
	if (r != 0) {
		free(b.times);
		return 1;
	}

	if (!b.failed && b.received != b.count)
		fail(&b, "the child went away before every reply came back");
	if (!b.failed && (b.c.exit_status != 0 || b.c.term_signal != 0))
		fail(&b, "the child failed");
	if (b.failed) {
		free(b.times);
		return 1;
	}
	secs = (double)(b.t1 - b.t0) / 1e9;
	switch (b.mode) {
	case THROUGHPUT:
		printf("msgs_per_s=%.0f seconds=%.3f cpu_us_per_msg=%.2f "
		    "count=%ld window=%ld size=%zu\n", (double)b.count / secs,
		    secs, b.cpu0 * 1e6 / (double)b.count, b.count, b.window,
		    b.size);
		break;
	case LATENCY:
		printf("median_us=%.1f p99_us=%.1f count=%ld size=%zu\n",
		    (double)bench_quantile(b.times, b.count, 0.5) / 1e3,
		    (double)bench_quantile(b.times, b.count, 0.99) / 1e3,
		    b.count, b.size);
		break;
	case BIG:
		secs = (double)bench_quantile(b.times, b.count, 0.5) / 1e9;
		printf("seconds=%.3f mb_per_s=%.1f reps=%ld size=%zu\n", secs,
		    2.0 * (double)b.size / 1e6 / secs, b.count, b.size);
		break;
	}
	free(b.times);
	return 0;
}
