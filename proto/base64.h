/* proto/base64.h - base64 (RFC 4648) for proto/v8.c and core/encoding.c. */
#ifndef CP_PROTO_BASE64_H
#define CP_PROTO_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Appends the base64 of n bytes: padded with '=', or with url the
 * base64url alphabet ('-', '_') and no padding (Node's 'base64url').
 * Returns 0 or CP_PROTO_ENOMEM.
 */
int cp_base64_add(struct cp_buf *out, const void *data, size_t n, bool url);
/* The value of a digit of the standard alphabet ('+', '/'), or -1. */
int cp_base64_digit(int c);

#endif /* CP_PROTO_BASE64_H */
