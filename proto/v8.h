/*
 * proto/v8.h - Node's "advanced" serialization: V8's ValueSerializer format
 * (as Node 18-26 write it, format version 15) <-> jansson values in a
 * tagged JSON form, and the length-prefixed framing of the IPC channel.
 *
 * The JSON form (documented for users in childproc(3) and childproc-ipc(7))
 * keeps plain JSON as it is and writes what JSON cannot hold as an object
 * with exactly one member whose name starts with '$':
 *
 *   null, true, false, strings, arrays, objects   themselves
 *   numbers         integers when integral and |x| <= 2^53, else reals;
 *                   {"$number":"NaN"|"Infinity"|"-Infinity"|"-0"}
 *   undefined       {"$undefined":null}
 *   hole            {"$hole":null} (an element of an array only)
 *   BigInt          {"$bigint":"-123"} (decimal)
 *   Date            {"$date":ms} ({"$date":null} is an invalid Date)
 *   RegExp          {"$regexp":["source","flags"]}
 *   Map, Set        {"$map":[[k,v],...]}, {"$set":[v,...]}
 *   ArrayBuffer     {"$arraybuffer":"base64"}, resizable: ["base64",max]
 *   Buffer, views   {"$buffer":"base64"}, {"$uint8array":"base64"}, ...
 *                   (the bytes of the view, little-endian, base64)
 *   boxed           {"$boxed":true|1.5|"s"|{"$bigint":"1"}|{"$number":..}}
 *   Error           {"$error":{"name":..,"message":..,"stack":..,"cause":..}}
 *   odd arrays      {"$array":{"length":N,"0":..,"key":..}} (non-index
 *                   properties, or length > 2 * elements + 16)
 *   escaped object  {"$object":{...}} (a plain object with one '$' key)
 *   back-reference  {"$ref":n}: the n-th object (from 0) in the order the
 *                   objects begin in the text; every array, object and
 *                   tagged value counts except $undefined, $hole, $number,
 *                   $bigint and $ref (the arrays and objects that are the
 *                   syntax of a tagged value do not count).
 */
#ifndef CP_PROTO_V8_H
#define CP_PROTO_V8_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "frame.h"
#include "message.h"

/* The format version written (Node 18-24's V8 all write 15). */
#define CP_V8_VERSION 15
/*
 * Deepest nesting of objects, arrays, Maps, Sets and Errors read or written
 * (Node 20 itself cannot serialize more than about 3300 nested arrays).
 */
#define CP_V8_MAX_DEPTH 4096
/* Largest BigInt read or written, in bytes of magnitude (decimal text). */
#define CP_V8_MAX_BIGINT 65536
/*
 * Largest frame written: Node 18-20 read the length as a signed 32-bit
 * number, so 2^31 and up would break their reader.
 */
#define CP_V8_MAX_FRAME ((size_t)0x7fffffff)

/*
 * Flags.  By default host objects (Buffers and other ArrayBuffer views) are
 * read and written as Node's child_process channel does (a varint 0 before
 * v8.serialize's form; 1 = a plain copy of some other host object);
 * CP_V8_SERIALIZE uses the form of v8.serialize()/v8.deserialize().
 */
#define CP_V8_SERIALIZE 0x1

/*
 * Decodes one serialized value (header 0xFF <version> then the value) of
 * len bytes into *valuep (a new reference) in the JSON form above.  Bytes
 * after the value are ignored, as Node does; nothing is read past len.
 * Returns 0, or CP_PROTO_EPROTO for a malformed or unsupported input (bad tag,
 * truncated, too deep, a back-reference to nothing ...) with error->text
 * and error->position (byte offset) filled if error is not NULL.
 * A lone surrogate in a string is kept in WTF-8 (proto/utf8.h), as
 * cp_msg_decode keeps "\ud800"; duplicate Map keys or Set
 * values (which Node never writes) are kept.
 */
int cp_v8_decode(const void *data, size_t len, unsigned flags,
    json_t **valuep, json_error_t *error);

/*
 * Appends the header and the serialization of value (in the JSON form)
 * to out.  Returns 0, CP_PROTO_ENOMEM, or CP_PROTO_EINVAL for a value that is not
 * valid in the JSON form (unknown '$' tag, bad base64, forward $ref ...)
 * with error->text filled if error is not NULL.  A lone surrogate kept
 * in WTF-8 (as cp_msg_decode keeps "\ud800") is written as that code unit.
 */
int cp_v8_encode(const json_t *value, unsigned flags, struct cp_buf *out,
    json_error_t *error);

/*
 * Appends one channel frame: a 4-byte big-endian length, then what
 * cp_v8_encode writes (channel host objects).  CP_PROTO_EMSGSIZE for a frame
 * longer than CP_V8_MAX_FRAME (out is then left as it was).
 */
int cp_v8_encode_frame(const json_t *value, struct cp_buf *out,
    json_error_t *error);

/*
 * The channel's framing: splits the byte stream into frames, with the
 * json framer's buffer and interface (proto/frame.h): cp_frame_init,
 * cp_frame_reserve (read(2) straight into the buffer), this commit instead
 * of cp_frame_commit, cp_frame_pending and cp_frame_release.
 *
 * cb is called once per complete frame with its payload (without the
 * length, not NUL-terminated), valid only during the call; f->line_off is
 * then the stream offset of the frame's first byte (its length), and
 * between commits that of the incomplete frame.  err is 0, or CP_PROTO_EMSGSIZE
 * for a frame longer than f->max (at most 4 GiB - 1): the callback gets ""
 * and the announced length, and the payload is skipped unread.
 */
void cp_v8_frame_commit(struct cp_frame *f, size_t n, cp_frame_line_cb cb,
    void *arg);

/* Copies len bytes in and calls cb per complete frame.  0 or CP_PROTO_ENOMEM. */
int cp_v8_frame_feed(struct cp_frame *f, const void *data, size_t len,
    cp_frame_line_cb cb, void *arg);

#endif /* CP_PROTO_V8_H */
