/*
 * core/stdfds.c - keeping the library's fds off 0-2.
 *
 * A process may run with any of fds 0-2 closed (`prog <&-`).  Whatever
 * is opened then lands there: libuv's own pipes and epoll fd, the
 * socketpairs uv_spawn makes, fds received on a channel.  libuv's close
 * path asserts fd > STDERR_FILENO (uv__close), or silently leaks such an
 * fd (uv__stream_close), so the library must never hand it one.  It does
 * not reopen 0-2 for good (that is the program's business, and the
 * commands do it at start-up); around a call that makes fds it fills the
 * closed ones with /dev/null for the duration, and moves fds it receives
 * above 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

void
cp__stdfds_hold(struct cp_stdfds *g)
{
	int i, fd;

	g->mask = 0;
	for (i = 0; i <= STDERR_FILENO; i++) {
		if (fcntl(i, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* open(2) takes the lowest free fd: the closed one at hand. */
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		if (fd > STDERR_FILENO) {
			/* Someone took it meanwhile (another thread). */
			close(fd);
			continue;
		}
		g->mask |= 1u << fd;
		i = -1;		/* it may have filled a lower one; look again */
	}
}

void
cp__stdfds_release(struct cp_stdfds *g)
{
	int fd;

	for (fd = 0; fd <= STDERR_FILENO; fd++)
		if (g->mask & (1u << fd))
			close(fd);
	g->mask = 0;
}

int
cp__fd_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd < 0 ? CP_ERR(errno) : nfd;
}
