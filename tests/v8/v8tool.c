/*
 * tests/v8/v8tool.c - the proto/v8 codec as a filter, for the differential
 * suite (differential.js drives it with values made by node).
 *
 *   v8tool decode [serialize]   each stdin line is the hex of one
 *                               serialized value; prints "ok <JSON form>"
 *                               or "err <message>"
 *   v8tool encode [serialize]   each stdin line is a value in the JSON
 *                               form; prints "ok <hex>" or "err <message>"
 *
 * "serialize" selects v8.serialize()'s host objects (CP_V8_SERIALIZE);
 * without it, those of Node's child_process channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "v8.h"

static int
unhex(const char *s, size_t n, struct cp_buf *b)
{
	size_t i;
	unsigned v;

	if (n % 2 || cp_buf_grow(b, n / 2 + 1) != 0)
		return -1;
	for (i = 0; i < n; i += 2) {
		if (sscanf(s + i, "%2x", &v) != 1)
			return -1;
		b->data[b->len++] = (char)v;
	}
	return 0;
}

static void
decode_line(const char *line, size_t len, unsigned flags)
{
	struct cp_buf bytes = CP_BUF_INIT, out = CP_BUF_INIT;
	json_error_t err;
	json_t *v;

	if (unhex(line, len, &bytes) != 0) {
		printf("err bad hex input\n");
		goto done;
	}
	if (cp_v8_decode(bytes.data, bytes.len, flags, &v, &err) != 0) {
		printf("err %s (at byte %d)\n", err.text, err.position);
		goto done;
	}
	if (cp_msg_encode(v, &out) != 0)
		printf("err the JSON form cannot be printed\n");
	else
		printf("ok %.*s", (int)out.len, out.data);
	json_decref(v);
done:
	cp_buf_release(&bytes);
	cp_buf_release(&out);
}

static void
encode_line(const char *line, size_t len, unsigned flags)
{
	struct cp_buf out = CP_BUF_INIT;
	json_error_t err;
	json_t *v;
	size_t i;

	if (cp_msg_decode(line, len, &v, &err) != 0) {
		printf("err bad JSON: %s\n", err.text);
		return;
	}
	if (cp_v8_encode(v, flags, &out, &err) != 0)
		printf("err %s\n", err.text);
	else {
		fputs("ok ", stdout);
		for (i = 0; i < out.len; i++)
			printf("%02x", (unsigned char)out.data[i]);
		putchar('\n');
	}
	json_decref(v);
	cp_buf_release(&out);
}

int
main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned flags = 0;
	int enc;

	if (argc < 2 || (strcmp(argv[1], "decode") && strcmp(argv[1], "encode"))) {
		fprintf(stderr, "usage: v8tool decode|encode [serialize]\n");
		return 2;
	}
	enc = strcmp(argv[1], "encode") == 0;
	if (argc > 2 && strcmp(argv[2], "serialize") == 0)
		flags = CP_V8_SERIALIZE;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (enc)
			encode_line(line, (size_t)n, flags);
		else
			decode_line(line, (size_t)n, flags);
		fflush(stdout);
	}
	free(line);
	return 0;
}
