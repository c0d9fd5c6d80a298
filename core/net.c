/* core/net.c - listening sockets for handle passing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

static int
listen_unix(const char *path, int backlog, int *fdp, char *addr, size_t addrlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return UV_ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	/* Non-blocking, as Node's are: see cp_listen. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return CP_ERR(errno);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, backlog) != 0) {
		int e = CP_ERR(errno);
		close(fd);
		return e;
	}
	snprintf(addr, addrlen, "unix:%s", path);
	*fdp = fd;
	return 0;
}

int
cp_listen(const char *spec, unsigned int flags, int backlog, int *fdp,
    char *addr, size_t addrlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[16], buf[INET6_ADDRSTRLEN];
	const char *colon, *h, *p;
	int fd, one = 1, e;
	size_t hl;

	*fdp = -1;
	if (backlog <= 0)
		backlog = 511;		/* Node's default backlog */
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, backlog, fdp, addr, addrlen);
	/* [HOST:]PORT, HOST may be [v6]. */
	colon = strrchr(spec, ':');
	if (colon == NULL) {
		h = "127.0.0.1";
		hl = strlen(h);
		p = spec;
	} else {
		h = spec;
		hl = (size_t)(colon - spec);
		p = colon + 1;
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
	}
	if (hl == 0 || hl >= sizeof(host) || *p == '\0' || strlen(p) >= sizeof(port) ||
	    strspn(p, "0123456789") != strlen(p))
		return UV_EINVAL;
	/* getaddrinfo takes the port modulo 65536 (70000 binds 4464). */
	if (strtoul(p, NULL, 10) > 65535)
		return UV_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		return e == EAI_NONAME ? UV_EADDRNOTAVAIL : UV_EINVAL;
	/*
	 * Non-blocking: O_NONBLOCK is shared by every process holding the
	 * socket, and a Node worker's libuv accepts until EAGAIN; on a
	 * blocking listener it sleeps in accept(2) with requests unanswered.
	 */
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0) {
		e = CP_ERR(errno);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((flags & CP_LISTEN_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		snprintf(addr, addrlen, "[%s]:%u", buf, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		snprintf(addr, addrlen, "%s:%u", buf, ntohs(s4->sin_port));
	}
	*fdp = fd;
	e = 0;
	goto out;
fail:
	e = CP_ERR(errno);
	close(fd);
out:
	freeaddrinfo(res);
	return e;
}
