/*
 * tests/v8/test-v8.c - proto/v8.c without node: the channel framing (any
 * split, oversized and 4 GiB frames), hostile values (every truncation of
 * valid ones, deep nesting) that must end in an error and nothing else,
 * and the encoder's frame.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "message.h"
#include "v8.h"

struct got {
	struct cp_frame *f;
	int n;
	uint64_t offs[16];
	int errs;
	size_t lens[16];
	char data[16][64];
};

static void
on_frame(void *arg, int err, char *data, size_t len)
{
	struct got *g = arg;

	ASSERT(g->n < 16);
	g->offs[g->n] = g->f->line_off;
	if (err != 0) {
		ASSERT_EQ(err, CP_PROTO_EMSGSIZE);
		ASSERT(data != NULL && data[0] == 0);
		g->errs++;
	} else if (len < 64)
		memcpy(g->data[g->n], data, len);
	g->lens[g->n++] = len;
}

/* Three frames, split into reads at every pair of positions. */
static void
test_framer_splits(void)
{
	static const uint8_t s[] = { 0, 0, 0, 3, 0xff, 0x0f, '0',
	    0, 0, 0, 0,
	    0, 0, 0, 6, 0xff, 0x0f, '"', 2, 'h', 'i' };
	size_t i, j, n = sizeof(s);
	struct cp_frame f;
	struct got g;

	for (i = 0; i <= n; i++)
		for (j = i; j <= n; j++) {
			memset(&g, 0, sizeof(g));
			g.f = &f;
			cp_frame_init(&f, 0);
			ASSERT_EQ(cp_v8_frame_feed(&f, s, i, on_frame, &g), 0);
			ASSERT_EQ(cp_v8_frame_feed(&f, s + i, j - i, on_frame,
			    &g), 0);
			ASSERT_EQ(cp_v8_frame_feed(&f, s + j, n - j, on_frame,
			    &g), 0);
			ASSERT_EQ(g.n, 3);
			ASSERT_UEQ(g.lens[0], 3);
			ASSERT_UEQ(g.lens[1], 0);
			ASSERT_UEQ(g.lens[2], 6);
			ASSERT(memcmp(g.data[2], "\xff\x0f\"\x02hi", 6) == 0);
			/* each frame's stream offset, for binding fds */
			ASSERT_UEQ(g.offs[0], 0);
			ASSERT_UEQ(g.offs[1], 7);
			ASSERT_UEQ(g.offs[2], 11);
			ASSERT_UEQ(f.line_off, n);
			ASSERT_UEQ(cp_frame_pending(&f), 0);
			cp_frame_release(&f);
		}
}

/* An oversized frame is announced once, skipped, and the next one read. */
static void
test_framer_oversized(void)
{
	static const uint8_t s[] = { 0, 0, 0, 5, 1, 2, 3, 4, 5,
	    0, 0, 0, 2, 0xff, 0x0f };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
	struct cp_frame f;
	struct got g;
	size_t i;

	for (i = 0; i <= sizeof(s); i++) {
		memset(&g, 0, sizeof(g));
		g.f = &f;
		cp_frame_init(&f, 4);
		ASSERT_EQ(cp_v8_frame_feed(&f, s, i, on_frame, &g), 0);
		ASSERT_EQ(cp_v8_frame_feed(&f, s + i, sizeof(s) - i,
		    on_frame, &g), 0);
		ASSERT_EQ(g.n, 2);
		ASSERT_EQ(g.errs, 1);
		ASSERT_UEQ(g.lens[0], 5);
		ASSERT_UEQ(g.lens[1], 2);
		cp_frame_release(&f);
	}

	/* 4 GiB - 1 announced: an error at once, the bytes after it skipped */
	memset(&g, 0, sizeof(g));
	g.f = &f;
	cp_frame_init(&f, 0);
	ASSERT_EQ(cp_v8_frame_feed(&f, huge, sizeof(huge), on_frame, &g), 0);
	ASSERT_EQ(g.n, 1);
	ASSERT_EQ(g.errs, 1);
	ASSERT_UEQ(g.lens[0], 0xffffffffu);
	ASSERT_UEQ(cp_frame_pending(&f), 0xffffffffu - 3);
	cp_frame_release(&f);
}

static void
expect_error(const uint8_t *p, size_t n, const char *what)
{
	json_error_t err;
	json_t *v = (json_t *)1;

	ASSERT_EQ(cp_v8_decode(p, n, 0, &v, &err), CP_PROTO_EPROTO);
	ASSERT(v == NULL);
	if (what != NULL && strstr(err.text, what) == NULL)
		CP_FAIL_("error \"%s\", expected \"%s\"", err.text, what);
}

/* Every proper prefix of a valid value is an error, never a value. */
static void
test_truncations(void)
{
	static const char *hex[] = {
		"ff0f6f2201615e007b01",
		"ff0f41026f7b005e01240002",
		"ff0f61034900490249044906400203",
		"ff0f5c000a03010203",
		"ff0f726d22017863490a732201532e",
		"ff0f3b490249043a02",
		"ff0f41025a1001000000000000006304e900ac20240002",
		"ff0f4e000000000000f83f",
		"ff0f44000000000000f87f",
		"ff0f7e02040000",
	};
	uint8_t buf[64];
	json_t *v;
	size_t i, k, n;
	unsigned x;

	for (i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
		n = strlen(hex[i]) / 2;
		for (k = 0; k < n; k++) {
			ASSERT_EQ(sscanf(hex[i] + 2 * k, "%2x", &x), 1);
			buf[k] = (uint8_t)x;
		}
		ASSERT_EQ(cp_v8_decode(buf, n, 0, &v, NULL), 0);
		json_decref(v);
		/* the last byte of a few is not needed: only test cuts
		 * that leave the value incomplete */
		for (k = 0; k + 1 < n; k++) {
			if (cp_v8_decode(buf, k, 0, &v, NULL) == 0)
				CP_FAIL_("%s cut at %zu decoded", hex[i], k);
			ASSERT(v == NULL);
		}
	}
}

/*
 * The V8 encoding of depth arrays, each the only element of the one
 * around it (innermost empty), in a buffer of *n bytes the caller frees.
 */
static uint8_t *
nested_arrays(size_t depth, size_t *n)
{
	uint8_t *p;
	size_t i;

	*n = 2 + 2 * depth + 5 + 3 * depth;
	ASSERT((p = malloc(*n)) != NULL);
	p[0] = 0xff;
	p[1] = 0x0f;
	for (i = 0; i < depth; i++) {
		p[2 + 2 * i] = 'A';
		p[3 + 2 * i] = 1;
	}
	memcpy(p + 2 + 2 * depth, "A\0$\0\0", 5);
	for (i = 0; i < depth; i++)
		memcpy(p + 7 + 2 * depth + 3 * i, "$\0\1", 3);
	return p;
}

static void
test_hostile(void)
{
	uint8_t *p;
	size_t n;
	json_t *v;

	expect_error((const uint8_t *)"", 0, "header");
	expect_error((const uint8_t *)"\xff\x0f\x01", 3, "bad tag");
	expect_error((const uint8_t *)"\xff\x0f\x74\x00", 4, "transferred");
	expect_error((const uint8_t *)"\xff\x0f\x22\xff\xff\xff\xff\x0f", 8,
	    "past the end");
	expect_error((const uint8_t *)"\xff\x0f\x5e\x00", 4, "back-reference");
	expect_error((const uint8_t *)"\xff\x0f\x41\xff\xff\xff\xff\x0f", 8,
	    "dense array");

	/* 100000 nested arrays: refused at the limit, no stack overflow */
	p = nested_arrays(100000, &n);
	expect_error(p, n, "nested too deeply");
	free(p);

	/* ... but as deep as the limit works (Node itself stops near 3300) */
	p = nested_arrays(CP_V8_MAX_DEPTH - 1, &n);
	ASSERT_EQ(cp_v8_decode(p, n, 0, &v, NULL), 0);
	json_decref(v);
	free(p);
}

static void
test_encode_frame(void)
{
	struct cp_buf b = CP_BUF_INIT;
	json_t *v = json_pack("{s:s}", "cmd", "NODE_HANDLE_ACK");
	static const char want[] = "\x00\x00\x00\x1b\xff\x0f\x6f\x22\x03" "cmd"
	    "\x22\x0f" "NODE_HANDLE_ACK" "\x7b\x01";

	ASSERT_EQ(cp_v8_encode_frame(v, &b, NULL), 0);
	ASSERT_UEQ(b.len, sizeof(want) - 1);
	ASSERT(memcmp(b.data, want, b.len) == 0);
	json_decref(v);
	cp_buf_release(&b);
}

int
main(void)
{
	test_framer_splits();
	test_framer_oversized();
	test_truncations();
	test_hostile();
	test_encode_frame();
	printf("ok\n");
	return 0;
}
