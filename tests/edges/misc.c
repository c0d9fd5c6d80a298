/*
 * misc.c - small defects of issue 7, one case each.
 *
 *	misc CASE
 *
 *   listen-port     cp_listen takes ports 0-65535 only (70000 bound 4464)
 *   open-listening  cp_channel_open_fd refuses a listening socket
 *   open-unconnected  ... and an unconnected one (both hung or failed late)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "childproc.h"

static int failed;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "misc: line %d: check failed: %s\n",	\
		    __LINE__, #c);					\
		failed++;						\
	}								\
} while (0)

static void
case_listen_port(void)
{
	static const char *const bad[] = {
		"127.0.0.1:70000", "131152", "65536", "127.0.0.1:99999999",
	};
	char addr[128];
	size_t i;
	int fd, r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = cp_listen(bad[i], 0, 0, &fd, addr, sizeof(addr));
		if (r != UV_EINVAL)
			fprintf(stderr, "misc: %s: %d (%s)\n", bad[i], r,
			    r == 0 ? addr : cp_err_name(r));
		CHECK(r == UV_EINVAL && fd == -1);
		if (r == 0)
			close(fd);
	}
	CHECK(cp_listen("127.0.0.1:0", 0, 0, &fd, addr, sizeof(addr)) == 0);
	CHECK(strncmp(addr, "127.0.0.1:", 10) == 0);
	close(fd);
}

static const struct cp_channel_events ev = { 0 };

static void
case_open_listening(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct cp_channel *ch = NULL;
	uv_loop_t loop;
	int fd;

	uv_loop_init(&loop);
	/* An abstract name: nothing to clean up. */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "cp-misc-%d",
	    (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(fd, 1) == 0);
	CHECK(cp_channel_open_fd(&loop, fd, &ev, NULL, &ch) == UV_ENOTCONN);
	CHECK(ch == NULL);
	close(fd);
	CHECK(uv_loop_close(&loop) == 0);
}

static void
case_open_unconnected(void)
{
	struct cp_channel *ch = NULL;
	uv_loop_t loop;
	int fd;

	uv_loop_init(&loop);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(cp_channel_open_fd(&loop, fd, &ev, NULL, &ch) == UV_ENOTCONN);
	CHECK(ch == NULL);
	close(fd);
	CHECK(uv_loop_close(&loop) == 0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "listen-port", case_listen_port },
	{ "open-listening", case_open_listening },
	{ "open-unconnected", case_open_unconnected },
};

int
main(int argc, char *argv[])
{
	size_t i;

	if (argc != 2)
		return 2;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, argv[1]) == 0) {
			cases[i].fn();
			if (failed) {
				fprintf(stderr, "misc %s: FAILED\n", argv[1]);
				return 1;
			}
			printf("misc %s: ok\n", argv[1]);
			return 0;
		}
	}
	fprintf(stderr, "misc: unknown case %s\n", argv[1]);
	return 2;
}
