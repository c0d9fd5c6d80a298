/*
 * tests/unit/test-frame.c - the line framer (proto/frame.c) against
 * childproc-ipc(7), "Messages": a reader sees arbitrary fragments and
 * concatenations of Node's lines, splits on LF only, tolerates one CR
 * before it, and holds back an incomplete tail.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "frame.h"
#include "message.h"

/* The framer's callback output, recorded for comparison. */
struct rec {
	int err;
	size_t len;		/* what the callback said */
	char *data;		/* the line, or the head of an oversized one */
	size_t dlen;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void
recs_add(struct recs *rs, int err, const char *data, size_t dlen, size_t len)
{
	struct rec *r;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		ASSERT(rs->v != NULL);
	}
	r = &rs->v[rs->n++];
	r->err = err;
	r->len = len;
	r->dlen = dlen;
	r->data = malloc(dlen + 1);
	ASSERT(r->data != NULL);
	memcpy(r->data, data, dlen);
	r->data[dlen] = '\0';
}

static void
recs_free(struct recs *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->v[i].data);
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct recs *rs = arg;

	if (err == 0) {
		/* The header promises a NUL after the line. */
		ASSERT_EQ(line[len], '\0');
		recs_add(rs, 0, line, len, len);
	} else {
		ASSERT_EQ(err, CP_PROTO_EMSGSIZE);
		/* Only the head is there; it ends at the NUL the framer adds. */
		recs_add(rs, err, line, strnlen(line, len), len);
	}
}

/*
 * What the framer must produce, computed the simple way: split the whole
 * input on LF; a line longer than max is an error carrying its full
 * length; otherwise one CR before the LF is dropped.  Returns the length
 * of the unterminated tail.
 */
static size_t
reference(const char *data, size_t len, size_t max, struct recs *rs)
{
	const char *p = data, *end = data + len, *nl;
	size_t n;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n = (size_t)(nl - p);
		if (n > max)
			recs_add(rs, CP_PROTO_EMSGSIZE, p, n, n);
		else if (n > 0 && p[n - 1] == '\r')
			recs_add(rs, 0, p, n - 1, n - 1);
		else
			recs_add(rs, 0, p, n, n);
		p = nl + 1;
	}
	return (size_t)(end - p);
}

static void
recs_compare(const struct recs *got, const struct recs *want, const char *how)
{
	size_t i;

	if (got->n != want->n) {
		fprintf(stderr, "%s: %zu lines, want %zu\n", how, got->n, want->n);
		ASSERT_UEQ(got->n, want->n);
	}
	for (i = 0; i < got->n; i++) {
		const struct rec *g = &got->v[i], *w = &want->v[i];

		if (g->err != w->err || g->len != w->len)
			fprintf(stderr, "%s: line %zu\n", how, i);
		ASSERT_EQ(g->err, w->err);
		ASSERT_UEQ(g->len, w->len);
		if (g->err == 0) {
			ASSERT_MEM_EQ(g->data, g->dlen, w->data, w->dlen);
		} else {
			/* A non-empty prefix of the real line. */
			ASSERT(g->dlen > 0);
			ASSERT(g->dlen <= w->dlen);
			ASSERT_MEM_EQ(g->data, g->dlen, w->data, g->dlen);
		}
	}
}

/* xorshift64*: the same splits on every run and every machine. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

enum feed_mode { FEED_ALL, FEED_BYTES, FEED_RANDOM, FEED_COMMIT };

/*
 * Feeds data through a fresh framer: all at once, byte by byte, in random
 * splits, or read(2)-style through reserve/commit with random short
 * "reads".  Returns the pending byte count at the end.
 */
static size_t
run_framer(const char *data, size_t len, size_t max, enum feed_mode mode,
    uint64_t seed, struct recs *rs)
{
	struct cp_frame f;
	size_t off = 0, n, room, pending;
	char *p;

	cp_frame_init(&f, max);
	while (off < len) {
		switch (mode) {
		case FEED_ALL:
			n = len;
			break;
		case FEED_BYTES:
			n = 1;
			break;
		default:
			/* Mostly short pieces, sometimes long ones. */
			n = (rnd(&seed) % 4 == 0) ? 1 + rnd(&seed) % 70000 :
			    1 + rnd(&seed) % 17;
			break;
		}
		if (n > len - off)
			n = len - off;
		if (mode == FEED_COMMIT) {
			ASSERT_EQ(cp_frame_reserve(&f, n, &p, &room), 0);
			ASSERT(room >= n);
			memcpy(p, data + off, n);
			cp_frame_commit(&f, n, on_line, rs);
		} else {
			ASSERT_EQ(cp_frame_feed(&f, data + off, n, on_line, rs), 0);
		}
		off += n;
	}
	pending = cp_frame_pending(&f);
	cp_frame_release(&f);
	return pending;
}

/* A stream with everything a reader meets (childproc-ipc(7), Messages). */
static void
build_corpus(struct cp_buf *b, uint64_t seed)
{
	static const char *const lines[] = {
		"{\"hello\":\"world\"}\n",
		"{\"foo\":\"bar\"}\r\n",		/* CRLF */
		"\n",					/* empty line */
		"   \t \n",				/* whitespace only */
		"\xef\xbb\xbf{\"bom\":1}\n",		/* BOM */
		"{\"a\":1}{\"b\":2}\n",			/* two values */
		"undefined\n",
		"null\n\"s\"\n42\ntrue\n[1]\n",		/* many per read */
		"\"\xe2\x80\xa8\xe2\x80\xa9\"\n",	/* U+2028, U+2029 raw */
		"\"\xf0\x9f\x98\x80 \xc3\xa9 \xe2\x82\xac\"\n", /* emoji, é, € */
		"\"\\ud800\"\n",
		"\"\xff\xfe\xe2\x82\"\n",		/* invalid UTF-8 */
		"\"a\\u0000b\"\n",
		"\"tab\there\"\n",			/* raw TAB */
		"\r\n",
		"\r\r\n",
		"a\rb\n",
		"18446744073709551616\n",
	};
	size_t i, j, n;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ASSERT_EQ(cp_buf_add(b, lines[i], strlen(lines[i])), 0);
	/* A raw NUL inside a line. */
	ASSERT_EQ(cp_buf_add(b, "\"nul\0here\"\n", 11), 0);
	/* Lines longer than one 64 KiB read. */
	for (n = 65535; n <= 200000; n += 67232) {
		ASSERT_EQ(cp_buf_add(b, "\"", 1), 0);
		for (j = 0; j < n; j++)
			ASSERT_EQ(cp_buf_add(b, j % 3 ? "x" : "\xc3\xa9", j % 3 ? 1 : 2), 0);
		ASSERT_EQ(cp_buf_add(b, "\"\n", 2), 0);
	}
	/* Many small lines. */
	for (i = 0; i < 2000; i++) {
		char tmp[32];

		n = (size_t)snprintf(tmp, sizeof(tmp), "[%zu]\n", i);
		ASSERT_EQ(cp_buf_add(b, tmp, n), 0);
	}
	/* Random bytes biased to LF, CR, NUL and UTF-8 pieces. */
	for (i = 0; i < 50000; i++) {
		static const char alpha[] = "\n\r\0a{\"\xe2\x80\xa8\xf0\x9f";

		ASSERT_EQ(cp_buf_add(b, &alpha[rnd(&seed) % (sizeof(alpha) - 1)], 1), 0);
	}
	/* An unterminated tail: what EOF would discard. */
	ASSERT_EQ(cp_buf_add(b, "{\"tail\":", 8), 0);
}

static void
frame_any_split_same_lines(void)
{
	static const size_t maxes[] = { 0, 100, 65536 };
	struct cp_buf corpus = CP_BUF_INIT;
	struct recs want = { 0 }, got = { 0 };
	size_t m, tail, max, pending;
	uint64_t seed;
	char how[80];
	int mode;

	build_corpus(&corpus, 42);
	for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		max = maxes[m] ? maxes[m] : CP_FRAME_DEFAULT_MAX;
		tail = reference(corpus.data, corpus.len, max, &want);
		ASSERT(want.n > 2000);
		for (mode = FEED_ALL; mode <= FEED_COMMIT; mode++) {
			for (seed = 1; seed <= (mode >= FEED_RANDOM ? 20 : 1); seed++) {
				snprintf(how, sizeof(how), "max %zu mode %d seed %ju",
				    max, mode, (uintmax_t)seed);
				pending = run_framer(corpus.data, corpus.len,
				    maxes[m], (enum feed_mode)mode, seed, &got);
				recs_compare(&got, &want, how);
				ASSERT_UEQ(pending, tail);
				recs_free(&got);
			}
		}
		recs_free(&want);
	}
	cp_buf_release(&corpus);
}

static void
frame_many_lines_one_read(void)
{
	static const char in[] = "a\nbb\n\nccc\n";
	struct recs rs = { 0 };
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, in, sizeof(in) - 1, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 4);
	ASSERT_STR_EQ(rs.v[0].data, "a");
	ASSERT_STR_EQ(rs.v[1].data, "bb");
	ASSERT_UEQ(rs.v[2].len, 0);	/* an empty line is still a line */
	ASSERT_STR_EQ(rs.v[3].data, "ccc");
	ASSERT_UEQ(cp_frame_pending(&f), 0);
	cp_frame_release(&f);
	recs_free(&rs);
}

static void
frame_tail_held_until_newline(void)
{
	struct recs rs = { 0 };
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, "{\"a\":", 5, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 0);
	ASSERT_UEQ(cp_frame_pending(&f), 5);
	ASSERT_EQ(cp_frame_feed(&f, "1}", 2, on_line, &rs), 0);
	ASSERT_UEQ(cp_frame_pending(&f), 7);
	ASSERT_EQ(cp_frame_feed(&f, "\n{", 2, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 1);
	ASSERT_STR_EQ(rs.v[0].data, "{\"a\":1}");
	ASSERT_UEQ(cp_frame_pending(&f), 1);
	cp_frame_release(&f);
	recs_free(&rs);
}

static void
frame_crlf_drops_one_cr(void)
{
	static const char in[] = "a\r\n" "b\r\r\n" "\r\n" "c\rd\n" "e\r";
	struct recs rs = { 0 };
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, in, sizeof(in) - 1, on_line, &rs), 0);
	/* The CR of "e\r" may still be followed by its LF. */
	ASSERT_UEQ(cp_frame_pending(&f), 2);
	ASSERT_EQ(cp_frame_feed(&f, "\n", 1, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 5);
	ASSERT_STR_EQ(rs.v[0].data, "a");
	ASSERT_STR_EQ(rs.v[1].data, "b\r");
	ASSERT_STR_EQ(rs.v[2].data, "");
	ASSERT_STR_EQ(rs.v[3].data, "c\rd");
	ASSERT_STR_EQ(rs.v[4].data, "e");
	cp_frame_release(&f);
	recs_free(&rs);
}

static void
frame_nul_byte_kept(void)
{
	struct recs rs = { 0 };
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, "a\0b\n", 4, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 1);
	ASSERT_MEM_EQ(rs.v[0].data, rs.v[0].dlen, "a\0b", 3);
	cp_frame_release(&f);
	recs_free(&rs);
}

/* Every split point inside multibyte sequences gives the same line. */
static void
frame_utf8_split_across_reads(void)
{
	static const char line[] = "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	    "\xe2\x80\xa8\"\n";
	const size_t n = sizeof(line) - 1;
	struct recs rs = { 0 };
	struct cp_frame f;
	json_t *v;
	size_t k;

	for (k = 0; k <= n; k++) {
		cp_frame_init(&f, 0);
		ASSERT_EQ(cp_frame_feed(&f, line, k, on_line, &rs), 0);
		ASSERT_EQ(cp_frame_feed(&f, line + k, n - k, on_line, &rs), 0);
		ASSERT_UEQ(rs.n, 1);
		ASSERT_MEM_EQ(rs.v[0].data, rs.v[0].dlen, line, n - 1);
		ASSERT_EQ(cp_msg_decode(rs.v[0].data, rs.v[0].dlen, &v, NULL), 0);
		ASSERT_STR_EQ(json_string_value(v),
		    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8");
		json_decref(v);
		cp_frame_release(&f);
		recs_free(&rs);
	}
}

static void
frame_default_max(void)
{
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_UEQ(f.max, CP_FRAME_DEFAULT_MAX);
	ASSERT_UEQ(CP_FRAME_DEFAULT_MAX, (size_t)512 * 1024 * 1024);
	cp_frame_release(&f);
	cp_frame_init(&f, 123);
	ASSERT_UEQ(f.max, 123);
	cp_frame_release(&f);
}

/*
 * A line of exactly max bytes passes; one more byte is CP_PROTO_EMSGSIZE with
 * the full length, whether it arrives in one read or many; the next line
 * is read normally.
 */
static void
frame_line_too_long(void)
{
	static const char *const splits[][4] = {
		{ "12345678\n123456789\nok\n", NULL },
		{ "12345", "6789", "0\nok\n", NULL },
		{ "1234567890", "12345\n", "ok\n", NULL },
		{ "123456789", "\r\n", "ok\r\n", NULL },
	};
	static const size_t want_len[] = { 9, 10, 15, 10 };
	struct recs rs = { 0 };
	struct cp_frame f;
	size_t i, j, b;

	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		cp_frame_init(&f, 8);
		for (j = 0; splits[i][j] != NULL; j++)
			ASSERT_EQ(cp_frame_feed(&f, splits[i][j],
			    strlen(splits[i][j]), on_line, &rs), 0);
		/* In the first case a line of exactly 8 bytes comes first. */
		b = i == 0 ? 1 : 0;
		ASSERT_UEQ(rs.n, b + 2);
		if (b == 1) {
			ASSERT_EQ(rs.v[0].err, 0);
			ASSERT_STR_EQ(rs.v[0].data, "12345678");
		}
		ASSERT_EQ(rs.v[b].err, CP_PROTO_EMSGSIZE);
		ASSERT_UEQ(rs.v[b].len, want_len[i]);
		ASSERT(rs.v[b].dlen > 0);
		ASSERT_MEM_EQ(rs.v[b].data, rs.v[b].dlen, "123456789012345",
		    rs.v[b].dlen);
		ASSERT_EQ(rs.v[b + 1].err, 0);
		ASSERT_STR_EQ(rs.v[b + 1].data, "ok");
		ASSERT_UEQ(cp_frame_pending(&f), 0);
		cp_frame_release(&f);
		recs_free(&rs);
	}
}

/*
 * While an oversized line is being skipped its bytes are not kept: 16 MiB
 * with a 1000-byte maximum never grows the buffer past a few reads, and
 * pending reports all of it.
 */
static void
frame_oversized_line_not_buffered(void)
{
	static char chunk[65536];
	struct recs rs = { 0 };
	struct cp_frame f;
	size_t i, total = 0;

	memset(chunk, 'x', sizeof(chunk));
	cp_frame_init(&f, 1000);
	for (i = 0; i < 256; i++) {
		ASSERT_EQ(cp_frame_feed(&f, chunk, sizeof(chunk), on_line, &rs), 0);
		total += sizeof(chunk);
		ASSERT_UEQ(cp_frame_pending(&f), total);
		ASSERT_ULE(f.buf.cap, 4 * sizeof(chunk));
	}
	ASSERT_UEQ(rs.n, 0);
	ASSERT_EQ(cp_frame_feed(&f, "\n[1]\n", 5, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 2);
	ASSERT_EQ(rs.v[0].err, CP_PROTO_EMSGSIZE);
	ASSERT_UEQ(rs.v[0].len, total);
	ASSERT_EQ(rs.v[1].err, 0);
	ASSERT_STR_EQ(rs.v[1].data, "[1]");
	cp_frame_release(&f);
	recs_free(&rs);
}

/* The framer can be released mid-line and initialized again. */
static void
frame_release_and_reuse(void)
{
	struct recs rs = { 0 };
	struct cp_frame f;

	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, "partial", 7, on_line, &rs), 0);
	cp_frame_release(&f);
	ASSERT_UEQ(cp_frame_pending(&f), 0);
	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_frame_feed(&f, "[2]\n", 4, on_line, &rs), 0);
	ASSERT_UEQ(rs.n, 1);
	ASSERT_STR_EQ(rs.v[0].data, "[2]");
	cp_frame_release(&f);
	recs_free(&rs);
}

int
main(void)
{
	RUN(frame_many_lines_one_read);
	RUN(frame_tail_held_until_newline);
	RUN(frame_crlf_drops_one_cr);
	RUN(frame_nul_byte_kept);
	RUN(frame_utf8_split_across_reads);
	RUN(frame_default_max);
	RUN(frame_line_too_long);
	RUN(frame_oversized_line_not_buffered);
	RUN(frame_release_and_reuse);
	RUN(frame_any_split_same_lines);
	return 0;
}
