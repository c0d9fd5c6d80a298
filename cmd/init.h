/*
 * cmd/init.h - what a process that others' orphans are reparented to must
 * do: as PID 1 (a container without an init) or as a child subreaper,
 * reap the orphans it adopts, as tini and dumb-init do.
 */
#ifndef CP_CMD_INIT_H
#define CP_CMD_INIT_H

#include <stdbool.h>
#include <uv.h>

/*
 * Makes us a child subreaper (prctl PR_SET_CHILD_SUBREAPER) unless we are
 * PID 1 already, so that the orphans of our children (a worker's daemonised
 * helper, say) come to us instead of escaping to the host's init, and starts
 * reaping them on SIGCHLD.  Our own children, those of loop's process
 * handles, are left to libuv.  Returns 0 or a negative UV_E* code.
 */
int cmd_init_reaper(uv_loop_t *loop);
/* Reaps the adopted orphans that have exited; returns how many. */
int cmd_init_reap(uv_loop_t *loop);
/* How many adopted orphans have been reaped since cmd_init_reaper. */
unsigned long cmd_init_reaped(void);
/* Stops reaping (closes the signal handle). */
void cmd_init_stop(void);
/* True when we are PID 1 of our PID namespace. */
bool cmd_init_is_pid1(void);

#endif
