/*
 * tests/fuzz/fuzz-v8.c - libFuzzer target for proto/v8.c: the advanced
 * (V8) codec and its length framing.
 *
 * Input: byte 0 picks the host-object form (bit 0) and the framer's
 * maximum (bit 1: a small one); bytes 1-4 seed the split of the rest into
 * reads.  Checks:
 *   - the rest, decoded as one serialized value, either fails with an
 *     error message and no value, or gives a value that encodes, and whose
 *     encoding decodes to the same JSON form (the form is a fixed point);
 *   - the framer gives the same frames whatever the split of the rest
 *     into reads, and never a frame longer than its maximum.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "message.h"
#include "v8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_value(const uint8_t *p, size_t n, unsigned flags)
{
	struct cp_buf a = CP_BUF_INIT, b = CP_BUF_INIT, enc = CP_BUF_INIT;
	json_error_t err;
	json_t *v = NULL, *w = NULL;
	int r;

	r = cp_v8_decode(p, n, flags, &v, &err);
	if (r != 0) {
		ASSERT_EQ(r, CP_PROTO_EPROTO);
		ASSERT(v == NULL);
		ASSERT(err.text[0] != '\0');
		return;
	}
	ASSERT(v != NULL);
	ASSERT_EQ(cp_v8_encode(v, flags, &enc, &err), 0);
	ASSERT_EQ(cp_v8_decode(enc.data, enc.len, flags, &w, &err), 0);
	/* The JSON form may be too deep to print; compare when it is not. */
	if (cp_msg_encode(v, &a) == 0) {
		ASSERT_EQ(cp_msg_encode(w, &b), 0);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			CP_FAIL_("not a fixed point:\n%.*s\n%.*s", (int)a.len,
			    a.data, (int)b.len, b.data);
	}
	json_decref(v);
	json_decref(w);
	cp_buf_release(&a);
	cp_buf_release(&b);
	cp_buf_release(&enc);
}

struct frames {
	struct cp_buf log;	/* each frame: err, len, payload */
	size_t max;
};

static void
on_frame(void *arg, int err, char *data, size_t len)
{
	struct frames *f = arg;
	uint32_t hdr[2] = { (uint32_t)-err, (uint32_t)len };

	if (err == 0)
		ASSERT_UINT_OP_(len, <=, f->max);
	else
		ASSERT(data != NULL && data[0] == 0);
	ASSERT_EQ(cp_buf_add(&f->log, hdr, sizeof(hdr)), 0);
	if (err == 0 && len > 0)
		ASSERT_EQ(cp_buf_add(&f->log, data, len), 0);
}

static void
frame_all(const uint8_t *p, size_t n, size_t max, uint32_t seed,
    struct frames *out)
{
	struct cp_frame fr;
	size_t off = 0, k;

	out->max = max;
	cp_frame_init(&fr, max);
	while (off < n) {
		k = seed ? 1 + seed % 13 : n - off;
		seed = seed * 1103515245 + 12345;
		if (k > n - off)
			k = n - off;
		ASSERT_EQ(cp_v8_frame_feed(&fr, p + off, k, on_frame, out), 0);
		off += k;
	}
	cp_frame_release(&fr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frames one = { CP_BUF_INIT, 0 }, split = { CP_BUF_INIT, 0 };
	unsigned flags;
	uint32_t seed;
	size_t max;

	if (size < 5)
		return 0;
	flags = data[0] & 1 ? CP_V8_SERIALIZE : 0;
	max = data[0] & 2 ? 16 : 0;
	seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
	    (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
	data += 5;
	size -= 5;

	check_value(data, size, flags);

	frame_all(data, size, max ? max : 1 << 20, 0, &one);
	frame_all(data, size, max ? max : 1 << 20, seed | 1, &split);
	ASSERT_UEQ(one.log.len, split.log.len);
	ASSERT(one.log.len == 0 ||
	    memcmp(one.log.data, split.log.data, one.log.len) == 0);
	cp_buf_release(&one.log);
	cp_buf_release(&split.log);
	return 0;
}
