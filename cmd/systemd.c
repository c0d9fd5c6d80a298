/*
 * cmd/systemd.c - socket activation and sd_notify, as sd-daemon(3) describes
 * them, without libsystemd: a few environment variables and one datagram.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "systemd.h"

static char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
static uint64_t watchdog_usec;
static uv_timer_t watchdog;
static bool watchdog_on;
static char **fd_names;
static int n_fds;

/* A decimal number that fills s, or -1. */
static long long
number(const char *s)
{
	char *end;
	long long n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

static void
split_names(const char *s, int n)
{
	const char *p = s;
	int i;

	if (s == NULL || (fd_names = calloc((size_t)n, sizeof(*fd_names))) == NULL)
		return;
	for (i = 0; i < n && p != NULL; i++) {
		const char *colon = strchr(p, ':');
		size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);

		fd_names[i] = strndup(p, len);
		p = colon != NULL ? colon + 1 : NULL;
	}
}

int
cmd_sd_listen_fds(void)
{
	long long pid, n;
	int fd, flags;

	pid = number(getenv("LISTEN_PID"));
	n = number(getenv("LISTEN_FDS"));
	if (getenv("LISTEN_FDS") == NULL)
		return 0;
	/* Meant for another process (our parent, say): not ours to take. */
	if (pid != (long long)getpid())
		return 0;
	if (n < 0 || n > 4096)
		return UV_EINVAL;
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if ((flags = fcntl(fd, F_GETFD)) < 0)
			return UV_EBADF;
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
		if ((flags = fcntl(fd, F_GETFL)) >= 0)
			fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	}
	split_names(getenv("LISTEN_FDNAMES"), (int)n);
	n_fds = (int)n;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

const char *
cmd_sd_fd_name(int fd)
{
	int i = fd - SD_LISTEN_FDS_START;

	if (fd_names == NULL || i < 0 || i >= n_fds)
		return NULL;
	return fd_names[i];
}

bool
cmd_sd_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	long long usec, pid;

	if (s != NULL && (s[0] == '/' || s[0] == '@') &&
	    strlen(s) < sizeof(notify_path))
		strcpy(notify_path, s);
	usec = number(getenv("WATCHDOG_USEC"));
	pid = number(getenv("WATCHDOG_PID"));
	if (usec > 0 && (pid < 0 || pid == (long long)getpid()))
		watchdog_usec = (uint64_t)usec;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return notify_path[0] != '\0';
}

static int
send_notify(const char *msg)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, r = 0;

	if (notify_path[0] == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, notify_path, strlen(notify_path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(notify_path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';	/* an abstract socket */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) < 0)
		r = -errno;
	close(fd);
	return r;
}

int
cmd_sd_notify(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (notify_path[0] == '\0')
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return send_notify(buf);
}

int
cmd_sd_reloading(const char *status)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return cmd_sd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000, status);
}

static void
watchdog_cb(uv_timer_t *t)
{
	(void)t;
	send_notify("WATCHDOG=1");
}

int
cmd_sd_start_watchdog(uv_loop_t *loop)
{
	uint64_t ms;
	int r;

	if (watchdog_usec == 0 || notify_path[0] == '\0' || watchdog_on)
		return 0;
	if ((r = uv_timer_init(loop, &watchdog)) != 0)
		return r;
	watchdog_on = true;
	/* Half the period, as sd_watchdog_enabled(3) advises. */
	ms = watchdog_usec / 2000;
	if (ms == 0)
		ms = 1;
	send_notify("WATCHDOG=1");
	uv_timer_start(&watchdog, watchdog_cb, ms, ms);
	uv_unref((uv_handle_t *)&watchdog);
	return 0;
}

void
cmd_sd_stop(void)
{
	int i;

	if (watchdog_on) {
		watchdog_on = false;
		uv_close((uv_handle_t *)&watchdog, NULL);
	}
	for (i = 0; fd_names != NULL && i < n_fds; i++)
		free(fd_names[i]);
	free(fd_names);
	fd_names = NULL;
}

size_t
cmd_sd_child_env(char **env)
{
	size_t n = 0;

	if (notify_path[0] != '\0' && (env[n] = malloc(strlen(notify_path) +
	    sizeof("NOTIFY_SOCKET="))) != NULL)
		sprintf(env[n++], "NOTIFY_SOCKET=%s", notify_path);
	if (watchdog_usec > 0 && (env[n] = malloc(48)) != NULL)
		snprintf(env[n++], 48, "WATCHDOG_USEC=%llu",
		    (unsigned long long)watchdog_usec);
	return n;
}

uint64_t
cmd_sd_watchdog_usec(void)
{
	return watchdog_usec;
}

int
cmd_sock_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int type, listening;
	socklen_t il = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) != 0)
		return -errno;
	il = sizeof(int);
	if (type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) != 0 ||
	    !listening)
		return UV_EINVAL;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	switch (ss.ss_family) {
	case AF_INET: {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		return 0;
	}
	case AF_INET6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return 0;
	}
	case AF_UNIX: {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		size_t n = sl - offsetof(struct sockaddr_un, sun_path);

		if (n > 0 && sun->sun_path[0] == '\0')
			snprintf(buf, len, "unix:@%.*s", (int)(n - 1),
			    sun->sun_path + 1);
		else
			snprintf(buf, len, "unix:%.*s", (int)strnlen(sun->sun_path,
			    n), sun->sun_path);
		return 0;
	}
	}
	return UV_EAFNOSUPPORT;
}
