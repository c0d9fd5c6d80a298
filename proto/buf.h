/* proto/buf.h - the growable byte buffer of proto/ and core/. */
#ifndef CP_PROTO_BUF_H
#define CP_PROTO_BUF_H

#include <stddef.h>

/*
 * A growable byte buffer (git's strbuf, reduced).  data is NULL until the
 * first growth; after cp_buf_add there is always a NUL at data[len].
 */
struct cp_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define CP_BUF_INIT { NULL, 0, 0 }

/*
 * Makes room for extra more bytes and a NUL after them (cap > len + extra),
 * doubling from 256.  Returns 0 or CP_PROTO_ENOMEM (b is then unchanged).
 */
int cp_buf_grow(struct cp_buf *b, size_t extra);
/* Appends len bytes and a NUL (not counted).  Returns 0 or CP_PROTO_ENOMEM. */
int cp_buf_add(struct cp_buf *b, const void *data, size_t len);
/* Frees the memory; b is CP_BUF_INIT again. */
void cp_buf_release(struct cp_buf *b);

#endif /* CP_PROTO_BUF_H */
