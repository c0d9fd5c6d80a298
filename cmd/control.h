/*
 * cmd/control.h - a master's control socket (--control PATH) and its
 * client (--ctl PATH COMMAND).
 *
 * The protocol is one line each way on a unix stream socket: the client
 * sends a command ("status", "scale N", "reload", "stop") and a newline, the
 * master answers one JSON object and a newline, {"ok":true,...} or
 * {"ok":false,"error":"..."}, and closes.  Only the master's own user (and
 * root) may connect: the socket is mode 0600 and the peer's uid is checked.
 */
#ifndef CP_CMD_CONTROL_H
#define CP_CMD_CONTROL_H

#include <jansson.h>
#include <uv.h>

struct cmd_control;

/* What the pool does for each command; data is cmd_control_open's. */
struct cmd_control_ops {
	/*
	 * The pool's state: a new object with "workers", an array of objects
	 * with at least "slot" and "pid" (0 for none); each gets "rss" (bytes),
	 * "cpu" (seconds of CPU) and "cpu_percent" added from /proc.
	 */
	json_t *(*status)(void *data);
	/* Each returns 0, or a negative UV_E* code with *why set. */
	int (*scale)(void *data, int n, const char **why);
	int (*reload)(void *data, const char **why);
	int (*stop)(void *data, const char **why);
};

/*
 * Listens on the unix socket path (replacing a stale socket there, never a
 * live one or another kind of file).  The handles are unreferenced: they
 * do not keep the loop alive.  Returns 0 or a negative UV_E* code.
 */
int cmd_control_open(uv_loop_t *loop, const char *path,
    const struct cmd_control_ops *ops, void *data, struct cmd_control **ctlp);
/* Closes the socket and its connections, and removes path; frees ctl. */
void cmd_control_close(struct cmd_control *ctl);

/*
 * The client: sends argv (the command and its arguments, "status" when
 * argc is 0) to the master at path and prints the answer: a table on a
 * terminal for status (json false), JSON otherwise.  Returns the exit
 * status: 0, 1 if the master refused the command, 125 on our own error.
 */
int cmd_control_client(const char *path, int argc, char **argv, bool json);

#endif
