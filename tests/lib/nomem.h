/*
 * tests/lib/nomem.h - making allocations fail, one at a time, for the
 * out-of-memory tests.  Include it in one file of a test linked with
 * -Wl,--wrap=malloc -Wl,--wrap=realloc: every malloc and realloc of the
 * code linked into that executable then goes through should_fail().
 *
 * Set fail_at to N to make the Nth allocation counted from count = 0
 * fail (0: none fails); failed counts the failures made, so that a test
 * can check it reached the code it means to (a test that never made an
 * allocation fail proves nothing).
 */
#ifndef CP_TEST_NOMEM_H
#define CP_TEST_NOMEM_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

/* The allocation that fails: 1 is the first one counted; 0 is none. */
static unsigned long fail_at, count, failed;

static int
should_fail(void)
{
	if (fail_at == 0 || ++count != fail_at)
		return 0;
	failed++;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

#endif
