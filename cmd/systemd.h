/*
 * cmd/systemd.h - the two systemd protocols a service speaks without
 * linking libsystemd: socket activation (sd_listen_fds(3)) and readiness
 * notification (sd_notify(3)).  Both are no-ops outside systemd.
 */
#ifndef CP_CMD_SYSTEMD_H
#define CP_CMD_SYSTEMD_H

#include <stdint.h>
#include <uv.h>

#define SD_LISTEN_FDS_START 3

/*
 * Takes the sockets systemd passed us (LISTEN_FDS, when LISTEN_PID is our
 * pid): marks them close-on-exec and non-blocking (Node needs non-blocking
 * fds) and removes LISTEN_* from the environment, so that the workers do not
 * see them.  Returns how many (fds 3..3+n-1, now ours), 0 if none, or a
 * negative UV_E* code for a malformed set (names: see cmd_sd_fd_name).
 */
int cmd_sd_listen_fds(void);
/* The name systemd gave fd (FileDescriptorName=, LISTEN_FDNAMES), or NULL. */
const char *cmd_sd_fd_name(int fd);

/*
 * Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID and removes them from
 * the environment (they are the master's, not the workers').  Call once,
 * before the workers' environment is built.  Returns true if systemd
 * listens to us.
 */
bool cmd_sd_init(void);
/*
 * Sends one notification datagram ("READY=1", "STATUS=...", lines joined
 * with \n).  Returns 0, or a negative UV_E* code; nothing without
 * NOTIFY_SOCKET.
 */
int cmd_sd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload wants. */
int cmd_sd_reloading(const char *status);
/*
 * With WATCHDOG_USEC set: sends WATCHDOG=1 every half period from loop (an
 * unreferenced timer).  cmd_sd_stop closes it.
 */
int cmd_sd_start_watchdog(uv_loop_t *loop);
void cmd_sd_stop(void);
/* The watchdog period in microseconds, 0 without one. */
uint64_t cmd_sd_watchdog_usec(void);
/*
 * A new master's (USR2) systemd variables, NOTIFY_SOCKET and WATCHDOG_USEC
 * as we got them: up to 2 malloc'd "NAME=value" strings into env; returns
 * how many.
 */
size_t cmd_sd_child_env(char **env);
/*
 * Writes the local address of the listening stream socket fd as
 * "HOST:PORT", "[HOST]:PORT" or "unix:PATH".  Returns 0, UV_EINVAL if fd
 * is not a listening stream socket, or another negative UV_E* code.
 */
int cmd_sock_addr(int fd, char *buf, size_t len);

#endif
