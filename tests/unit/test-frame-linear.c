/*
 * tests/unit/test-frame-linear.c - the framer's cost is linear in its
 * input (issue 2: "a 100 MiB line must not be rescanned per chunk").
 *
 * Time alone makes a flaky test, so the bytes the framer scans for '\n'
 * and copies are counted: this program is linked with
 * -Wl,--wrap=memchr,--wrap=memmove,--wrap=realloc, which sends the calls
 * proto/frame.c makes to the counting wrappers below.  The CPU-time
 * bound is only a generous backstop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "frame.h"

void *__real_memchr(const void *s, int c, size_t n);
void *__wrap_memchr(const void *s, int c, size_t n);
void *__real_memmove(void *dst, const void *src, size_t n);
void *__wrap_memmove(void *dst, const void *src, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static size_t scanned, moved, realloc_copied, realloc_last;

/* Counts the bytes memchr really looks at, not the bound it is given. */
void *
__wrap_memchr(const void *s, int c, size_t n)
{
	void *r = __real_memchr(s, c, n);

	scanned += r ? (size_t)((const char *)r - (const char *)s) + 1 : n;
	return r;
}

/* Under ASan the compiler calls __asan_memmove instead, so this may stay 0. */
void *
__wrap_memmove(void *dst, const void *src, size_t n)
{
	moved += n;
	return __real_memmove(dst, src, n);
}

/* The framer has one buffer; a realloc may copy all of its old size. */
void *
__wrap_realloc(void *p, size_t n)
{
	void *r = __real_realloc(p, n);

	if (p != NULL)
		realloc_copied += realloc_last;
	if (r != NULL)
		realloc_last = n;
	return r;
}

static void
reset_counters(void)
{
	scanned = moved = realloc_copied = realloc_last = 0;
}

struct seen {
	size_t lines;
	size_t len;
	int err;
	char first, last;
};

static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct seen *s = arg;

	s->lines++;
	s->len = len;
	s->err = err;
	s->first = len ? line[0] : 0;
	s->last = len ? line[len - 1] : 0;
}

/* CPU time, so a busy machine does not make the bound flaky. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Feeds "\"" + body bytes of 'a' + "\"\n" in reads of chunk bytes, with
 * cp_frame_feed or, as the channel does, straight into reserved space.
 */
static void
feed_one_line(size_t body, size_t chunk, int use_reserve, struct seen *s)
{
	struct cp_frame f;
	size_t total = body + 3, off = 0, n, room;
	char *src, *p;

	src = malloc(chunk);
	ASSERT(src != NULL);
	cp_frame_init(&f, 0);
	while (off < total) {
		size_t i;

		n = total - off < chunk ? total - off : chunk;
		for (i = 0; i < n; i++) {
			size_t at = off + i;

			src[i] = at == 0 || at == total - 2 ? '"' :
			    at == total - 1 ? '\n' : 'a';
		}
		if (use_reserve) {
			ASSERT_EQ(cp_frame_reserve(&f, n, &p, &room), 0);
			ASSERT(room >= n);
			memcpy(p, src, n);
			cp_frame_commit(&f, n, on_line, s);
		} else {
			ASSERT_EQ(cp_frame_feed(&f, src, n, on_line, s), 0);
		}
		off += n;
		if (off < total)
			ASSERT_UEQ(cp_frame_pending(&f), off);
	}
	/* The buffer holds the line once, doubled at most. */
	ASSERT_ULE(f.buf.cap, 2 * (total + chunk + 1));
	cp_frame_release(&f);
	free(src);
}

static void
frame_100mib_line_scanned_once(void)
{
	const size_t body = (size_t)100 * 1024 * 1024, total = body + 3;
	struct seen s;
	double t0, t;
	int use_reserve;

	for (use_reserve = 0; use_reserve <= 1; use_reserve++) {
		memset(&s, 0, sizeof(s));
		reset_counters();
		t0 = now();
		feed_one_line(body, 65536, use_reserve, &s);
		t = now() - t0;
		ASSERT_UEQ(s.lines, 1);
		ASSERT_EQ(s.err, 0);
		ASSERT_UEQ(s.len, total - 1);
		ASSERT_EQ(s.first, '"');
		ASSERT_EQ(s.last, '"');
		/* Every byte looked at exactly once (the header's promise). */
		ASSERT_UEQ(scanned, total);
		/* One line never moves; growth by doubling copies < 2x. */
		ASSERT_ULE(moved, 0);
		ASSERT_ULE(realloc_copied, 2 * total);
		printf("# 100 MiB line, %s: %.3f s, %zu bytes scanned, "
		    "%zu copied by realloc\n", use_reserve ? "reserve/commit" :
		    "feed", t, scanned, realloc_copied);
		ASSERT(t < 5.0);
	}
}

/* Small reads make rescanning quadratic; counts must stay linear. */
static void
frame_small_reads_linear(void)
{
	const size_t body = (size_t)4 * 1024 * 1024, total = body + 3;
	struct seen s = { 0 };

	reset_counters();
	feed_one_line(body, 1024, 1, &s);
	ASSERT_UEQ(s.lines, 1);
	ASSERT_UEQ(s.len, total - 1);
	ASSERT_UEQ(scanned, total);
	ASSERT_ULE(realloc_copied, 2 * total);
}

/* Many lines per read: each byte scanned once, tails moved once. */
static void
frame_many_lines_linear(void)
{
	static char chunk[65536 + 7];
	const size_t reads = 1600;
	struct seen s = { 0 };
	struct cp_frame f;
	size_t i, n = 0;

	/* Lines of 7 bytes, so every read ends inside a line. */
	while (n + 7 <= sizeof(chunk)) {
		memcpy(chunk + n, "[1234]\n", 7);
		n += 7;
	}
	reset_counters();
	cp_frame_init(&f, 0);
	/* Each read is the chunk shifted by a few bytes: lines straddle reads. */
	for (i = 0; i < reads; i++)
		ASSERT_EQ(cp_frame_feed(&f, chunk, 65536, on_line, &s), 0);
	ASSERT_UEQ(scanned, reads * 65536);
	/* A moved tail is shorter than a line. */
	ASSERT_ULE(moved, reads * 7);
	ASSERT_UEQ(s.lines, reads * (65536 / 7));
	cp_frame_release(&f);
}

int
main(void)
{
	struct cp_frame f;
	struct seen s = { 0 };

	/* The counting wrappers must catch the framer's calls, or the bounds prove nothing. */
	reset_counters();
	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, "ab\ncd", 5, on_line, &s), 0);
	cp_frame_release(&f);
	ASSERT_UEQ(s.lines, 1);
	ASSERT_UEQ(scanned, 5);

	RUN(frame_small_reads_linear);
	RUN(frame_many_lines_linear);
	RUN(frame_100mib_line_scanned_once);
	return 0;
}
