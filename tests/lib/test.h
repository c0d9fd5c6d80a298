/*
 * tests/lib/test.h - what every C test driver uses: assertions, checks and
 * the case table that meson reads.
 *
 * ASSERT*: they never compile out (NDEBUG does not touch them) and print
 * file:line with both values, like libuv's ASSERT_EQ.  A failure aborts, so
 * the test fails even when it runs under a sanitizer that would otherwise
 * only report.
 *
 * CHECK(ctx, cond): a check that lets the case go on to its end (a scenario
 * with a child to reap, say).  The driver defines what a failure does:
 *
 *	static void check_failed(CTX_TYPE ctx, int line, const char *what);
 *
 * (print, count it in ctx, kill the child...) and exits non-zero at the end
 * when any failed.
 *
 * CASE(...): one entry of a driver's case table, an array of structs whose
 * first member is "const char *name".  Each CASE line IS the test: meson
 * reads the driver's source and registers one test, SUITE-NAME, for every
 * line that starts (after blanks) with CASE(" (see tests/meson.build), so
 * adding a case is one edit in one file.  CASE_FIND gives the entry named
 * by the command line, and "DRIVER --list" prints every name, which the
 * SUITE-cases-DRIVER test compares with what meson registered.
 */
#ifndef CP_TEST_H
#define CP_TEST_H

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CP_FAIL_(...) do {						\
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	fflush(stderr);							\
	abort();							\
} while (0)

#define ASSERT(expr) do {						\
	if (!(expr))							\
		CP_FAIL_("assertion failed: %s", #expr);		\
} while (0)

/* Compares as intmax_t / uintmax_t so any integer type fits. */
#define ASSERT_INT_OP_(a, op, b) do {					\
	intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);		\
	if (!(a_ op b_))						\
		CP_FAIL_("%s %s %s: %jd vs %jd", #a, #op, #b, a_, b_);	\
} while (0)
#define ASSERT_UINT_OP_(a, op, b) do {					\
	uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);		\
	if (!(a_ op b_))						\
		CP_FAIL_("%s %s %s: %ju vs %ju", #a, #op, #b, a_, b_);	\
} while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP_(a, >, b)
#define ASSERT_UEQ(a, b) ASSERT_UINT_OP_(a, ==, b)
#define ASSERT_ULE(a, b) ASSERT_UINT_OP_(a, <=, b)

/* Prints a byte string with C escapes, for failure messages. */
static inline void
cp_test_dump_(const char *p, size_t len)
{
	size_t i;

	fputc('"', stderr);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('"', stderr);
}

#define ASSERT_MEM_EQ(a, alen, b, blen) do {				\
	const char *a_ = (const char *)(a), *b_ = (const char *)(b);	\
	size_t al_ = (alen), bl_ = (blen);				\
	if (al_ != bl_ || (al_ > 0 && memcmp(a_, b_, al_) != 0)) {	\
		fprintf(stderr, "%s:%d: %s == %s:\n  ", __FILE__,	\
		    __LINE__, #a, #b);					\
		cp_test_dump_(a_, al_);					\
		fprintf(stderr, " (%zu bytes)\n  ", al_);		\
		cp_test_dump_(b_, bl_);					\
		fprintf(stderr, " (%zu bytes)\n", bl_);			\
		fflush(stderr);						\
		abort();						\
	}								\
} while (0)

#define ASSERT_STR_EQ(a, b) do {					\
	const char *as_ = (a), *bs_ = (b);				\
	ASSERT(as_ != NULL && bs_ != NULL);				\
	ASSERT_MEM_EQ(as_, strlen(as_), bs_, strlen(bs_));		\
} while (0)

/* Runs one test function and says which; a failure has aborted already. */
#define RUN(fn) do {							\
	fn();								\
	printf("ok - %s\n", #fn);					\
	fflush(stdout);							\
} while (0)

/*
 * Sends len bytes of data on the stream socket sock with fd attached
 * (SCM_RIGHTS, borrowed: the caller still closes it), in one sendmsg, as
 * a hostile or hand-made peer would.  0, or -1 with errno.
 */
static inline int
send_with_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh = { 0 };
	struct iovec iov = { (void *)data, len };
	struct cmsghdr *c;

	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
}

/* Whether v equals the JSON text want (false if want does not parse). */
static inline bool
value_is(const json_t *v, const char *want)
{
	json_t *w;
	bool eq;

	w = json_loads(want, JSON_DECODE_ANY, NULL);
	eq = w != NULL && v != NULL && json_equal((json_t *)v, w);
	json_decref(w);
	return eq;
}

#define CHECK(ctx, cond) do {						\
	if (!(cond))							\
		check_failed((ctx), __LINE__, #cond);			\
} while (0)

#define CASE(...) { __VA_ARGS__ },

/*
 * The case table of a driver whose cases are plain functions, and what its
 * main does with it: RUN_CASE(table, arg) runs the case named arg (with
 * arg NULL or "--list", lists them and exits, as CASE_FIND) and gives its
 * entry, or NULL when there is none.
 */
struct test_case {
	const char *name;
	void (*fn)(void);
};

static inline const struct test_case *
case_run_(const struct test_case *c)
{
	if (c != NULL)
		c->fn();
	return c;
}
#define RUN_CASE(table, arg) case_run_(CASE_FIND(table, arg))

/*
 * CASE_FIND(table, arg): the entry of table named arg, or NULL (after
 * saying so on stderr).  With arg "--list", prints every name and exits 0.
 */
#define CASE_FIND(table, arg)						\
	((__typeof__(&(table)[0]))case_find_((arg), (table),		\
	    sizeof((table)[0]), sizeof(table) / sizeof((table)[0]),	\
	    offsetof(__typeof__((table)[0]), name)))

static inline const void *
case_find_(const char *arg, const void *table, size_t size, size_t n,
    size_t name_off)
{
	const char *p = table;
	const char *name;
	size_t i;

	for (i = 0; i < n; i++, p += size) {
		memcpy(&name, p + name_off, sizeof(name));
		if (arg == NULL || strcmp(arg, "--list") == 0)
			printf("%s\n", name);
		else if (strcmp(arg, name) == 0)
			return p;
	}
	if (arg == NULL || strcmp(arg, "--list") == 0)
		exit(0);
	fprintf(stderr, "no case '%s' (--list lists them)\n", arg);
	return NULL;
}

#ifdef CHILDPROC_H
/*
 * close_cbs that only free the object (childproc(3), "Object model": free
 * in or after close_cb): channel_free_cb, reader_free_cb, child_free_cb
 * and exec_free_cb, for cp_channel_close ... cp_exec_close.
 */
#define CP_TEST_FREE_CB_(name, type, free_fn)				\
static inline void							\
name(struct type *obj, void *data)					\
{									\
	(void)data;							\
	free_fn(obj);							\
}
CP_TEST_FREE_CB_(channel_free_cb, cp_channel, cp_channel_free)
CP_TEST_FREE_CB_(reader_free_cb, cp_reader, cp_reader_free)
CP_TEST_FREE_CB_(child_free_cb, cp_child, cp_child_free)
CP_TEST_FREE_CB_(exec_free_cb, cp_exec, cp_exec_free)
#endif

#endif /* CP_TEST_H */
