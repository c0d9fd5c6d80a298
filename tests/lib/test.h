/*
 * tests/unit/assert.h - assertions for the unit tests.
 *
 * They never compile out (NDEBUG does not touch them) and print file:line
 * with both values, like libuv's ASSERT_EQ.  A failure aborts, so the test
 * fails even when it runs under a sanitizer that would otherwise only
 * report.
 */
#ifndef CP_TEST_ASSERT_H
#define CP_TEST_ASSERT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* CP_TEST_ASSERT_H */
