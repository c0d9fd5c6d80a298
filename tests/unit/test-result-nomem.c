/*
 * tests/unit/test-result-nomem.c - cp_result_message when memory runs out
 * (issue 7, defect 9): each allocation it makes is made to fail in turn.
 * It must give either the whole message and 0, or UV_ENOMEM and NULL:
 * never 0 with NULL (0.1's "no error" for out of memory) and never a
 * message cut short.
 *
 * malloc and realloc are wrapped at link time.  That reaches only code
 * linked into this executable, so it is linked against the static
 * libchildproc.a (cp_dep), whose core/ and proto/ objects then call the
 * wrappers; the shared library would call libc's directly.  Each case
 * checks that some allocation did fail, so the test cannot pass by not
 * reaching the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "childproc.h"
#include "nomem.h"

static char *sh_args[3];

static char **
sh_c(const char *script)
{
	sh_args[0] = (char *)"-c";
	sh_args[1] = (char *)script;
	sh_args[2] = NULL;
	return sh_args;
}

/* cp_result_message(r) with each of its allocations failing in turn. */
static void
message_under_failures(const struct cp_result *r, const char *want)
{
	unsigned long n, nomem = 0;
	char *msg;
	int e;

	fail_at = 0;
	ASSERT_EQ(cp_result_message(r, &msg), 0);
	ASSERT_STR_EQ(msg, want);
	free(msg);
	for (n = 1; ; n++) {
		fail_at = n;
		count = failed = 0;
		msg = (char *)&msg;		/* must be set */
		e = cp_result_message(r, &msg);
		fail_at = 0;
		if (failed == 0) {
			/* Every allocation has had its turn. */
			ASSERT_EQ(e, 0);
			ASSERT_STR_EQ(msg, want);
			free(msg);
			break;
		}
		if (e == 0) {
			/* A failure it could work around: still the whole text. */
			ASSERT(msg != NULL);
			ASSERT_STR_EQ(msg, want);
			free(msg);
			continue;
		}
		ASSERT_EQ(e, UV_ENOMEM);
		ASSERT(msg == NULL);
		nomem++;
	}
	/* The wrappers were reached: some failure gave UV_ENOMEM. */
	ASSERT_GT(nomem, 0);
}

/* spawnSync of a file that does not exist: "spawnSync FILE ENOENT". */
static void
result_spawn_error(void)
{
	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
	struct cp_result r;
	char *args[] = { (char *)"q", NULL };

	o.spawn.file = "nonexistent-xyz";
	o.spawn.args = args;
	ASSERT_EQ(cp_spawn_sync(&o, &r), 0);
	message_under_failures(&r, "spawnSync nonexistent-xyz ENOENT");
	cp_result_release(&r);
}

/* A command that fails: "Command failed: CMD\nSTDERR", stderr decoded. */
static void
result_command_failed(void)
{
	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
	struct cp_result r;

	o.spawn.file = "sh";
	o.spawn.args = sh_c("echo out; printf 'err \\342\\202\\254\\n' >&2; "
	    "exit 3");
	ASSERT_EQ(cp_exec_file_sync(&o, &r), CP_EXEC_FAILED);
	message_under_failures(&r,
	    "Command failed: sh -c echo out; printf 'err \\342\\202\\254\\n' "
	    ">&2; exit 3\nerr \xe2\x82\xac\n");
	cp_result_release(&r);

	/* Output kept as bytes: the message decodes them (another path). */
	o.encoding = CP_ENC_BUFFER;
	ASSERT_EQ(cp_exec_file_sync(&o, &r), CP_EXEC_FAILED);
	message_under_failures(&r,
	    "Command failed: sh -c echo out; printf 'err \\342\\202\\254\\n' "
	    ">&2; exit 3\nerr \xe2\x82\xac\n");
	cp_result_release(&r);
}

/*
 * maxBuffer: "stderr maxBuffer length exceeded".  Only exec/execFile
 * (async) end so; the result is a sync one marked as theirs would be.
 */
static void
result_max_buffer(void)
{
	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
	struct cp_result r, copy;

	o.spawn.file = "sh";
	o.spawn.args = sh_c("exit 1");
	ASSERT_EQ(cp_exec_file_sync(&o, &r), CP_EXEC_FAILED);
	copy = r;
	copy.error = CP_EXEC_MAXBUFFER;
	copy.max_buffer_fd = 2;
	message_under_failures(&copy, "stderr maxBuffer length exceeded");
	cp_result_release(&r);
}

int
main(void)
{
	RUN(result_spawn_error);
	RUN(result_command_failed);
	RUN(result_max_buffer);
	return 0;
}
