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

#include "childproc.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[64];

struct bench {
	long count;
	long sent;
	long acked;
	int fd;			/* the connected socket sent */
	bool failed;
	uint64_t t0, t1;
	struct cp_channel *ch;
	int64_t exit_status;
	int term_signal;
};

static void
fail(struct bench *b, const char *what, int err)
{
	fprintf(stderr, "bench-handles: %s: %s\n", what, cp_strerror(err));
	b->failed = true;
	if (b->ch != NULL && cp_channel_connected(b->ch))
		cp_channel_disconnect(b->ch);
}

static void acked(struct cp_channel *ch, int status, void *arg);

static void
send_next(struct bench *b)
{
	json_t *h = json_string("h");
	int r;

	r = cp_channel_send_handle(b->ch, h, CP_HANDLE_NET_SOCKET, b->fd,
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

static void
on_exit_(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct bench *b = data;

	(void)c;
	b->exit_status = status;
	b->term_signal = sig;
}

static void
on_close(struct cp_child *c, void *data)
{
	struct bench *b = data;

	b->ch = NULL;
	cp_child_close(c, NULL);	/* freed once the loop is over */
}

static const struct cp_child_events events = {
	.ipc = { .on_message = on_message },
	.on_exit = on_exit_,
	.on_close = on_close,
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
	struct cp_spawn_options o = { 0 };
	struct cp_child *child;
	uv_loop_t loop;
	json_t *w;
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
	o.file = argv[optind];
	o.args = argv + optind + 1;
	o.stdio = stdio_;
	o.stdio_count = 4;
	stdio_[0].type = CP_STDIO_IGNORE;
	stdio_[1].type = CP_STDIO_INHERIT;
	stdio_[2].type = CP_STDIO_INHERIT;
	stdio_[3].type = CP_STDIO_IPC;
	uv_loop_init(&loop);
	if ((r = cp_child_spawn(&loop, &o, &events, &b, &child)) != 0) {
		fprintf(stderr, "bench-handles: cannot run %s: %s\n", o.file,
		    cp_strerror(r));
		return 1;
	}
	b.ch = cp_child_channel(child);
	w = json_pack("{s:i}", "seq", -1);
	r = cp_channel_send(b.ch, w, NULL, NULL);
	json_decref(w);
	if (r < 0) {
		fprintf(stderr, "bench-handles: send: %s\n", cp_strerror(r));
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_child_free(child);
	uv_loop_close(&loop);
	close(b.fd);
	close(afd);
	if (b.failed || b.acked != b.count || b.exit_status != 0 ||
	    b.term_signal != 0) {
		fprintf(stderr, "bench-handles: %ld of %ld handles acked, child "
		    "exit %lld signal %d\n", b.acked, b.count,
		    (long long)b.exit_status, b.term_signal);
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
