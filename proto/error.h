/*
 * proto/error.h - proto/'s error codes, without libuv.
 *
 * proto/ does not include libuv, yet its errors reach users of the
 * library as libuv's: these are the negative errno values that UV_E* are
 * on Unix, and core/error.c checks at compile time that they are equal.
 */
#ifndef CP_PROTO_ERROR_H
#define CP_PROTO_ERROR_H

#include <errno.h>

#define CP_PROTO_EINVAL (-EINVAL)	/* UV_EINVAL */
#define CP_PROTO_EMSGSIZE (-EMSGSIZE)	/* UV_EMSGSIZE */
#define CP_PROTO_ENOMEM (-ENOMEM)	/* UV_ENOMEM */
#define CP_PROTO_EPROTO (-EPROTO)	/* UV_EPROTO */

#endif /* CP_PROTO_ERROR_H */
