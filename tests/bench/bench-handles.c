/*
 * bench-handles.c - handle passing rate from a C parent.
 *
 *   bench-handles [-n COUNT] -- CHILD [ARG...]
 *
 * Sends one connected TCP socket COUNT times as a net.Socket with
 * CP_SEND_KEEP_OPEN (each send passes a new fd of it), each from the ACK
 * callback of the one before, and stops at the last ACK.  The protocol
 * allows one handle in flight anyway; Node's side sends the same way,
 * since queueing them all at once is quadratic in Node.
 * The child is `node handles.js child`, which closes every socket it gets.
 * Prints "handles_per_s=R seconds=S count=N"; `node handles.js parent` is
 * the Node side.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct bench {
	struct bench_child c;	/* first: the events' data is both */
	long count;
	long sent;
	long acked;
	int fd;			/* the connected socket sent */
	bool failed;
	uint64_t t0, t1;
};

static void
fail(struct bench *b, const char *what, int err)
{
	fprintf(stderr, "bench-handles: %s: %s\n", what, cp_strerror(err));
	b->failed = true;
	if (b->c.ch != NULL && cp_channel_connected(b->c.ch))
		cp_channel_disconnect(b->c.ch);
}

static void acked(struct cp_channel *ch, int status, void *arg);

static void
send_next(struct bench *b)
{
	json_t *h = json_string("h");
	int r;

	r = cp_channel_send_handle(b->c.ch, h, CP_HANDLE_NET_SOCKET, b->fd,
	    CP_SEND_KEEP_OPEN, acked, b);
	json_decref(h);
	if (r < 0)
		fail(b, "send", r);
	else
		b->sent++;
}

static void
acked(struct cp_channel *ch, int status, void *arg)
{
	struct bench *b = arg;

	if (status != 0) {
		fail(b, "handle not taken", status);
		return;
	}
	if (++b->acked == b->count) {
		b->t1 = uv_hrtime();
		cp_channel_disconnect(ch);
	} else if (b->sent < b->count && !b->failed) {
		send_next(b);
	}
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct bench *b = data;

	(void)ch;
	(void)m;
	/* The warm-up came back: the child is up. */
	b->t0 = uv_hrtime();
	send_next(b);
}

static const struct cp_child_events events = {
	.ipc = { .on_message = on_message },
	.on_exit = bench_on_exit,
	.on_close = bench_on_close,
};

/* A connected TCP socket on loopback: *cfd (sent) and *afd (its peer). */
static int
tcp_pair(int *cfd, int *afd)
{
	char addr[128], *port;
	struct sockaddr_in sin;
	int lfd, r;

	if ((r = cp_listen("127.0.0.1:0", 0, 0, &lfd, addr, sizeof(addr))) != 0)
		return r;
	port = strrchr(addr, ':');
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port + 1));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = 0;
	if ((*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(*cfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (*afd = accept(lfd, NULL, NULL)) < 0)
		r = UV_EIO;
	close(lfd);
	return r;
}

int
main(int argc, char *argv[])
{
	struct bench b = { .count = 1000 };
	double secs;
	int c, r, afd;

	while ((c = getopt(argc, argv, "+n:")) != -1) {
		if (c != 'n')
			goto usage;
		b.count = atol(optarg);
	}
	if (optind >= argc || b.count < 1)
		goto usage;
	if ((r = tcp_pair(&b.fd, &afd)) != 0) {
		fprintf(stderr, "bench-handles: loopback: %s\n", cp_strerror(r));
		return 1;
	}
	r = bench_run_echo("bench-handles", argv + optind, NULL, &events, &b.c);
	close(b.fd);
	close(afd);
	if (r != 0)
		return 1;
	if (b.failed || b.acked != b.count || b.c.exit_status != 0 ||
	    b.c.term_signal != 0) {
		fprintf(stderr, "bench-handles: %ld of %ld handles acked, child "
		    "exit %lld signal %d\n", b.acked, b.count,
		    (long long)b.c.exit_status, b.c.term_signal);
		return 1;
	}
	secs = (double)(b.t1 - b.t0) / 1e9;
	printf("handles_per_s=%.0f seconds=%.3f count=%ld\n",
	    (double)b.count / secs, secs, b.count);
	return 0;

usage:
	fprintf(stderr, "usage: bench-handles [-n COUNT] -- CHILD [ARG...]\n");
	return 2;
}
