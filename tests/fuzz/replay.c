/*
 * tests/fuzz/replay.c - runs the fuzz target without libFuzzer, so every
 * build (gcc, ASan) checks it: each file of the seed corpus, then
 * deterministic mutations of each (byte flips, inserted '\n' / '\r' /
 * quote / backslash / UTF-8 pieces, cuts, splices).
 * usage: fuzz-replay DIR|FILE... [-n MUTATIONS]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t size;
};

static struct input *inputs;
static size_t ninputs;

static void
load(const char *path)
{
	struct input *in;
	FILE *fp;
	long n;

	ASSERT((fp = fopen(path, "rb")) != NULL);
	ASSERT_EQ(fseek(fp, 0, SEEK_END), 0);
	ASSERT((n = ftell(fp)) >= 0);
	rewind(fp);
	inputs = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	ASSERT(inputs != NULL);
	in = &inputs[ninputs++];
	in->size = (size_t)n;
	in->data = malloc(in->size + 1);
	ASSERT(in->data != NULL);
	ASSERT_UEQ(fread(in->data, 1, in->size, fp), in->size);
	fclose(fp);
}

static void
load_path(const char *path)
{
	char sub[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;

	ASSERT_EQ(stat(path, &st), 0);
	if (!S_ISDIR(st.st_mode)) {
		load(path);
		return;
	}
	ASSERT((d = opendir(path)) != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		load_path(sub);
	}
	closedir(d);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* One mutation of in into buf (capacity in->size + 64); returns its size. */
static size_t
mutate(const struct input *in, const struct input *other, uint8_t *buf,
    uint64_t *s)
{
	static const char *const pieces[] = {
		"\n", "\r\n", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\xff",
		"\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xe2\x82", "0", "1e400",
		"99999999999999999999", "[", "]", "{", "}", ",", ":", "\"NODE_",
		"\\u0000", "\0", "-", ".", "e",
	};
	size_t n = in->size, at, k, len;
	const char *p;

	memcpy(buf, in->data, n);
	for (k = 1 + rnd(s) % 4; k > 0; k--) {
		at = n ? rnd(s) % (n + 1) : 0;
		switch (rnd(s) % 5) {
		case 0:		/* flip a bit */
			if (at < n)
				buf[at] ^= (uint8_t)(1u << (rnd(s) % 8));
			break;
		case 1:		/* cut the end */
			n = at;
			break;
		case 2:		/* splice the start of another input */
			len = other->size < 16 ? other->size : 16;
			if (n + len <= in->size + 64 && at <= n) {
				memmove(buf + at + len, buf + at, n - at);
				memcpy(buf + at, other->data, len);
				n += len;
			}
			break;
		default:	/* insert a piece of syntax */
			p = pieces[rnd(s) % (sizeof(pieces) / sizeof(pieces[0]))];
			len = p[0] ? strlen(p) : 1;
			if (n + len <= in->size + 64) {
				memmove(buf + at + len, buf + at, n - at);
				memcpy(buf + at, p, len);
				n += len;
			}
			break;
		}
	}
	return n;
}

int
main(int argc, char *argv[])
{
	unsigned long mutations = 2000;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t i, size;
	unsigned long m;
	uint8_t *buf;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			mutations = strtoul(argv[++a], NULL, 10);
		else
			load_path(argv[a]);
	}
	ASSERT(ninputs > 0);
	for (i = 0; i < ninputs; i++) {
		LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].size);
		buf = malloc(inputs[i].size + 64);
		ASSERT(buf != NULL);
		for (m = 0; m < mutations; m++) {
			size = mutate(&inputs[i], &inputs[(i + m) % ninputs], buf,
			    &seed);
			LLVMFuzzerTestOneInput(buf, size);
		}
		free(buf);
	}
	printf("ok - %zu inputs, %lu mutations each\n", ninputs, mutations);
	for (i = 0; i < ninputs; i++)
		free(inputs[i].data);
	free(inputs);
	return 0;
}
