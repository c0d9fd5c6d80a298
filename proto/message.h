/* proto/message.h - JSON values <-> lines of Node's json serialization. */
#ifndef CP_PROTO_MESSAGE_H
#define CP_PROTO_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"

/*
 * Decodes one line (without its newline) into *valuep, a new reference,
 * with JSON.parse's grammar (any value at top level, JSON whitespace
 * around it) and Node's reading of the bytes:
 *   - invalid UTF-8 becomes U+FFFD (Node's StringDecoder does the same);
 *   - an escaped lone surrogate ("\ud800") is kept in its 3-byte
 *     generalized UTF-8 form (WTF-8: ED A0 80), as Node's strings keep
 *     it; cp_msg_encode writes it "\ud800" again, so a peer's lone
 *     surrogate comes back as Node's echo sends it;
 *   - an integer that fits json_int_t stays exact; a bigger one is read
 *     as a real (Node's numbers are doubles anyway);
 *   - "\u0000" stays in strings and keys (use json_string_length(),
 *     json_object_iter_key_len());
 *   - a number past DBL_MAX (1e400, Infinity for Node) reads as null,
 *     which is what JSON.stringify would make of it;
 *   - nesting deeper than 10000 is refused (the encoder's limit too).
 * Returns 0, CP_PROTO_EPROTO when the line is not exactly one JSON value
 * (an empty line, "undefined", two values ...), or CP_PROTO_ENOMEM when an
 * allocation failed (never a value cut short), with error filled if not
 * NULL.
 */
int cp_msg_decode(const char *line, size_t len, json_t **valuep,
    json_error_t *error);

/*
 * Appends the line JSON.stringify(value) + "\n" would give: compact, keys
 * in insertion order, control characters escaped as JSON.stringify does
 * (\b \f \n \r \t, else \u00xx), lone surrogates (WTF-8) as \udxxx,
 * U+2028/U+2029 and other non-ASCII raw,
 * numbers in ECMAScript's shortest round-trip form.  Returns 0, CP_PROTO_ENOMEM,
 * or CP_PROTO_EINVAL for a value JSON cannot carry.
 */
int cp_msg_encode(const json_t *value, struct cp_buf *out);

/*
 * Checks that line is one JSON value (see cp_msg_decode) without keeping
 * it.  Returns 0, CP_PROTO_EPROTO or CP_PROTO_ENOMEM.
 */
int cp_msg_validate(const char *line, size_t len, json_error_t *error);

/* Node: an object whose "cmd" is a string longer than 5 that starts "NODE_". */
bool cp_msg_is_internal(const json_t *value);

/* Formats d as ECMAScript's Number.prototype.toString does.  buf >= 32. */
size_t cp_msg_format_number(double d, char *buf);

#endif /* CP_PROTO_MESSAGE_H */
