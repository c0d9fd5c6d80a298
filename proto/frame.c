/* proto/frame.c - incremental, linear-time line framer. */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Oversized lines keep this much of their head, for the error report. */
#define SKIP_KEEP 256

#undef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))

void
cp_frame_init(struct cp_frame *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max ? max : CP_FRAME_DEFAULT_MAX;
}

void
cp_frame_release(struct cp_frame *f)
{
	cp_buf_release(&f->buf);
	f->start = 0;
	f->skipped = 0;
}

size_t
cp_frame_pending(const struct cp_frame *f)
{
	return f->skipped ? f->skipped : f->buf.len - f->start;
}

int
cp_frame_reserve(struct cp_frame *f, size_t want, char **bufp, size_t *lenp)
{
	size_t tail;
	int r;

	/*
	 * Move the incomplete line to the front.  It began after the last
	 * newline, which was in the latest chunk, so it is never longer than
	 * that chunk: the copies add up to at most the input once.
	 */
	if (f->start > 0) {
		tail = f->buf.len - f->start;
		memmove(f->buf.data, f->buf.data + f->start, tail);
		f->buf.len = tail;
		f->start = 0;
	}
	/* cp_buf_grow leaves room for the NUL after a line too. */
	if ((r = cp_buf_grow(&f->buf, want)) != 0)
		return r;
	*bufp = f->buf.data + f->buf.len;
	*lenp = f->buf.cap - f->buf.len - 1;
	return 0;
}

static void
emit(struct cp_frame *f, int err, char *line, size_t len, size_t full,
    cp_frame_line_cb cb, void *arg)
{
	char saved;

	if (err == 0 && len > 0 && line[len - 1] == '\r')
		len--;
	saved = line[len];
	line[len] = '\0';
	cb(arg, err, line, err ? full : len);
	line[len] = saved;
}

void
cp_frame_commit(struct cp_frame *f, size_t n, cp_frame_line_cb cb, void *arg)
{
	char *p, *end, *nl;
	size_t scan, linelen, old_len;
	uint64_t chunk_off;

	scan = f->buf.len;			/* bytes before this are known to have no LF */
	old_len = f->buf.len;		/* buf[old_len] is stream byte chunk_off */
	chunk_off = f->total;
	f->total += n;
	f->buf.len += n;
	end = f->buf.data + f->buf.len;
	for (;;) {
		p = f->buf.data + scan;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (f->skipped) {
			/* Discarding an oversized line; its head is kept. */
			if (nl == NULL) {
				f->skipped += (size_t)(end - p);
				f->buf.len = scan;
				return;
			}
			f->skipped += (size_t)(nl - p);
			emit(f, CP_PROTO_EMSGSIZE, f->buf.data + f->start, scan - f->start,
			    f->skipped, cb, arg);
			f->skipped = 0;
		} else if (nl == NULL) {
			if (f->buf.len - f->start > f->max) {
				f->skipped = f->buf.len - f->start;
				f->buf.len = f->start + MIN(SKIP_KEEP, f->skipped);
			}
			return;
		} else {
			linelen = (size_t)(nl - (f->buf.data + f->start));
			if (linelen > f->max)
				emit(f, CP_PROTO_EMSGSIZE, f->buf.data + f->start,
				    MIN(SKIP_KEEP, linelen), linelen, cb, arg);
			else
				emit(f, 0, f->buf.data + f->start, linelen, linelen,
				    cb, arg);
		}
		/* The line ended at nl; the next one starts after it. */
		scan = (size_t)(nl + 1 - f->buf.data);
		f->line_off = chunk_off + (scan - old_len);
		f->start = scan;
		if (f->start == f->buf.len) {
			f->start = f->buf.len = 0;
			return;
		}
	}
}

int
cp_frame_feed(struct cp_frame *f, const char *data, size_t len,
    cp_frame_line_cb cb, void *arg)
{
	char *p;
	size_t room, chunk;
	int r;

	while (len > 0) {
		chunk = len < 65536 ? len : 65536;
		if ((r = cp_frame_reserve(f, chunk, &p, &room)) != 0)
			return r;
		memcpy(p, data, chunk);
		cp_frame_commit(f, chunk, cb, arg);
		data += chunk;
		len -= chunk;
	}
	return 0;
}
