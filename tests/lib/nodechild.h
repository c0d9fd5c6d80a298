/*
 * tests/lib/nodechild.h - what the C drivers that run a real node child
 * over an IPC channel share (interop/cparent.c, handles/hparent.c,
 * ops/ping.c): its stdio, its report of an uncaught exception, what a
 * failed check does to it, and the driver's last line and exit status.
 * Include after test.h.
 */
#ifndef CP_TEST_NODECHILD_H
#define CP_TEST_NODECHILD_H

#include <signal.h>

#include "childproc.h"

/*
 * Fills o to run "NODE ARGS..." (args NULL-terminated, args[0] the script):
 * fd 0 is stdin_type (CP_STDIO_IGNORE or CP_STDIO_INHERIT), fds 1 and 2
 * are ours, the channel is on ipc_fd, and any fd between is ignored.
 * stdio (ipc_fd + 1 entries) is what o points to: it must outlive the
 * spawn.
 */
static inline void
node_child_options(struct cp_spawn_options *o, struct cp_stdio *stdio,
    const char *node, char **args, enum cp_stdio_type stdin_type, int ipc_fd)
{
	int fd;

	o->file = node;
	o->args = args;
	o->stdio = stdio;
	o->stdio_count = ipc_fd + 1;
	for (fd = 0; fd < ipc_fd; fd++)
		stdio[fd].type = fd < 3 ? CP_STDIO_INHERIT : CP_STDIO_IGNORE;
	stdio[0].type = stdin_type;
	stdio[ipc_fd].type = CP_STDIO_IPC;
}

/*
 * Whether m is the node child's report of an uncaught exception
 * ({"uncaught": "..."}, what the tests' child.js files send from their
 * 'uncaughtException' handler); if so, says it on stderr as "PROG CASE:
 * node child: ...".
 */
static inline bool
node_uncaught(const char *prog, const char *name, const struct cp_message *m)
{
	json_t *u = json_object_get(m->value, "uncaught");

	if (u == NULL)
		return false;
	fprintf(stderr, "%s %s: node child: %s\n", prog, name,
	    json_is_string(u) ? json_string_value(u) : "(not a string)");
	return true;
}

/*
 * The body of a driver's check_failed (test.h's CHECK): says which check
 * of case name failed, counts it in *failed, and at the first failure
 * kills child (unless it is NULL or has exited), so that nothing waits
 * for an exchange that went wrong.
 */
static inline void
node_check_failed(const char *prog, const char *name, int *failed,
    struct cp_child *child, bool exited, int line, const char *what)
{
	fprintf(stderr, "%s %s: line %d: check failed: %s\n", prog, name,
	    line, what);
	if ((*failed)++ == 0 && child != NULL && !exited)
		cp_child_kill(child, SIGKILL);
}

/*
 * The driver's last line and exit status: "PROG CASE: FAILED (N checks)"
 * on stderr and 1 if any check failed, else "PROG CASE: ok (N messages)"
 * and 0.
 */
static inline int
node_case_result(const char *prog, const char *name, int failed, long nmsg)
{
	if (failed) {
		fprintf(stderr, "%s %s: FAILED (%d checks)\n", prog, name,
		    failed);
		return 1;
	}
	printf("%s %s: ok (%ld messages)\n", prog, name, nmsg);
	return 0;
}

#endif /* CP_TEST_NODECHILD_H */
