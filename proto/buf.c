/* proto/buf.c - the growable byte buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

int
cp_buf_grow(struct cp_buf *b, size_t extra)
{
	size_t ncap;
	char *p;

	if (b->cap - b->len > extra)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len <= extra) {
		if (ncap > SIZE_MAX / 2)
			return CP_PROTO_ENOMEM;
		ncap *= 2;
	}
	if ((p = realloc(b->data, ncap)) == NULL)
		return CP_PROTO_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
cp_buf_add(struct cp_buf *b, const void *data, size_t len)
{
	int r;

	if ((r = cp_buf_grow(b, len)) != 0)
		return r;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void
cp_buf_release(struct cp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
