/* proto/frame.h - splits the IPC byte stream into lines (json serialization). */
#ifndef CP_PROTO_FRAME_H
#define CP_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* Node's V8 cannot hold a longer line (MAX_STRING_LENGTH is ~512 Mi units). */
#define CP_FRAME_DEFAULT_MAX ((size_t)512 * 1024 * 1024)

/*
 * Called once per complete line, without its '\n' and without one '\r'
 * before it.  line is writable and valid only during the call; a NUL is
 * stored at line[len] so the line may be used as a C string.  err is 0, or
 * CP_PROTO_EMSGSIZE for a line longer than the maximum, in which case line holds
 * only the first bytes of it (len is the full length seen).
 */
typedef void (*cp_frame_line_cb)(void *arg, int err, char *line, size_t len);

struct cp_frame {
	struct cp_buf buf;	/* the bytes held (no NUL kept after them) */
	size_t start;		/* first byte of the current (incomplete) line */
	size_t max;		/* longest line accepted */
	size_t skipped;		/* > 0: discarding an oversized line */
	/*
	 * Stream offsets (bytes since the first commit): where the line
	 * being delivered begins (inside the callback), or the incomplete
	 * line after it (between commits); and the bytes committed so far.
	 * The channel binds received fds to lines by these.
	 */
	uint64_t line_off;
	uint64_t total;
};

/* Initializes f; max == 0 means CP_FRAME_DEFAULT_MAX. */
void cp_frame_init(struct cp_frame *f, size_t max);
/* Frees the buffer; f may be reused after cp_frame_init. */
void cp_frame_release(struct cp_frame *f);

/*
 * Returns space for at least want bytes at the end of the buffer (read(2)
 * straight into it, then call cp_frame_commit).  Returns 0 or CP_PROTO_ENOMEM.
 */
int cp_frame_reserve(struct cp_frame *f, size_t want, char **bufp, size_t *lenp);

/*
 * Accounts n bytes just written into the reserved space and calls cb for
 * every line they complete.  Each byte is scanned once, so the cost is
 * linear in the input whatever the size of a line.
 */
void cp_frame_commit(struct cp_frame *f, size_t n, cp_frame_line_cb cb, void *arg);

/* Copies len bytes in and calls cb per complete line.  Returns 0 or CP_PROTO_ENOMEM. */
int cp_frame_feed(struct cp_frame *f, const char *data, size_t len,
    cp_frame_line_cb cb, void *arg);

/* Bytes of an incomplete line held back (what EOF would discard). */
size_t cp_frame_pending(const struct cp_frame *f);

#endif /* CP_PROTO_FRAME_H */
