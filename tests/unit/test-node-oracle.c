/*
 * tests/unit/test-node-oracle.c - the codec against node itself.
 *
 * Runs "node node-oracle.js" (argv[1]) and checks every record it prints
 * (the format is described at the top of that script):
 *   E  cp_msg_encode(cp_msg_decode(line)) is byte for byte the line, i.e.
 *      our encoder writes what JSON.stringify wrote;
 *   P  cp_msg_decode reads the line as Node's channel does (or refuses
 *      it when JSON.parse throws).
 * Exits 77 (skipped) when node is not installed.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "message.h"

extern char **environ;

/* Runs node script, returns its standard output; exits 77 without node. */
static char *
run_node(const char *script, size_t *lenp)
{
	char *const argv[] = { "node", (char *)script, NULL };
	posix_spawn_file_actions_t fa;
	struct cp_buf out = CP_BUF_INIT;
	char chunk[65536];
	int fds[2], status, r;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(pipe(fds), 0);
	ASSERT_EQ(posix_spawn_file_actions_init(&fa), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
	ASSERT_EQ(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
	ASSERT_EQ(posix_spawn_file_actions_addclose(&fa, fds[1]), 0);
	r = posix_spawnp(&pid, "node", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r == ENOENT) {
		close(fds[0]);
		printf("# SKIP: node is not installed\n");
		exit(77);
	}
	ASSERT_EQ(r, 0);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ASSERT(n > 0);
		ASSERT_EQ(cp_buf_add(&out, chunk, (size_t)n), 0);
	}
	close(fds[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT(out.len > 0);
	*lenp = out.len;
	return out.data;
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	CP_FAIL_("bad hex digit %c", c);
}

static void
check_encode(const char *line, size_t len, size_t recno)
{
	struct cp_buf b = CP_BUF_INIT;
	json_error_t e;
	json_t *v;

	if (cp_msg_decode(line, len, &v, &e) != 0) {
		fprintf(stderr, "record %zu: decode failed: %s\n  ", recno, e.text);
		cp_test_dump_(line, len > 200 ? 200 : len);
		fputc('\n', stderr);
		ASSERT(0);
	}
	ASSERT_EQ(cp_msg_encode(v, &b), 0);
	if (b.len != len + 1 || memcmp(b.data, line, len) != 0)
		fprintf(stderr, "record %zu: encoding differs from JSON.stringify\n",
		    recno);
	ASSERT_MEM_EQ(b.data, b.len - 1, line, len);
	ASSERT_EQ(b.data[len], '\n');
	json_decref(v);
	cp_buf_release(&b);
}

static void
check_parse(const char *hex, size_t hexlen, const char *want, size_t wantlen,
    size_t recno)
{
	struct cp_buf in = CP_BUF_INIT, b = CP_BUF_INIT;
	json_error_t e;
	json_t *v;
	size_t i;
	char c;
	int r;

	ASSERT_EQ(hexlen % 2, 0);
	for (i = 0; i < hexlen; i += 2) {
		c = (char)(unhex(hex[i]) << 4 | unhex(hex[i + 1]));
		ASSERT_EQ(cp_buf_add(&in, &c, 1), 0);
	}
	r = cp_msg_decode(in.data ? in.data : "", in.len, &v, &e);
	if (wantlen == 1 && want[0] == '!') {
		if (r != CP_PROTO_EPROTO) {
			fprintf(stderr, "record %zu: JSON.parse throws, we read:\n  ",
			    recno);
			cp_test_dump_(in.data, in.len);
			fputc('\n', stderr);
			ASSERT_EQ(r, CP_PROTO_EPROTO);
		}
	} else {
		if (r != 0) {
			fprintf(stderr, "record %zu: JSON.parse reads it, we do "
			    "not (%s):\n  ", recno, e.text);
			cp_test_dump_(in.data, in.len);
			fputc('\n', stderr);
			ASSERT_EQ(r, 0);
		}
		ASSERT_EQ(cp_msg_encode(v, &b), 0);
		if (b.len != wantlen + 1 || memcmp(b.data, want, wantlen) != 0) {
			fprintf(stderr, "record %zu: read differently from "
			    "JSON.parse:\n  ", recno);
			cp_test_dump_(in.data, in.len);
			fputc('\n', stderr);
		}
		ASSERT_MEM_EQ(b.data, b.len - 1, want, wantlen);
		json_decref(v);
		cp_buf_release(&b);
	}
	cp_buf_release(&in);
}

int
main(int argc, char *argv[])
{
	size_t len, n_e = 0, n_p = 0, recno = 0, end_count = 0;
	char *out, *p, *end, *nl, *tab, *tab2;

	ASSERT_EQ(argc, 2);
	out = run_node(argv[1], &len);
	for (p = out, end = out + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ASSERT(nl != NULL);
		tab = memchr(p, '\t', (size_t)(nl - p));
		ASSERT(tab != NULL);
		if (tab - p == 1 && p[0] == 'E') {
			check_encode(tab + 1, (size_t)(nl - tab - 1), recno);
			n_e++;
		} else if (tab - p == 1 && p[0] == 'P') {
			tab2 = memchr(tab + 1, '\t', (size_t)(nl - tab - 1));
			ASSERT(tab2 != NULL);
			check_parse(tab + 1, (size_t)(tab2 - tab - 1), tab2 + 1,
			    (size_t)(nl - tab2 - 1), recno);
			n_p++;
		} else {
			ASSERT(tab - p == 3 && memcmp(p, "END", 3) == 0);
			end_count = strtoul(tab + 1, NULL, 10);
			ASSERT(nl + 1 == end);	/* the last record */
			continue;
		}
		recno++;
	}
	/* Node said how many records it wrote: none was lost or misparsed. */
	ASSERT_UEQ(recno, end_count);
	ASSERT(n_e > 10000);
	ASSERT(n_p > 3000);
	printf("ok - %zu encoder records, %zu reader records match node %s\n",
	    n_e, n_p, "JSON.stringify/JSON.parse");
	free(out);
	return 0;
}
