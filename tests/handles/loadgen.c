/*
 * loadgen.c - an HTTP load client: a new connection per request.
 *
 *	loadgen [-c CONCURRENCY] [-n REQUESTS | -t SECONDS] [-q] HOST:PORT
 *
 * Keeps CONCURRENCY requests in flight, each on its own TCP connection:
 * connect, "GET /ID" with "Connection: close", read to EOF.  The body of
 * a good answer is the pid of the worker that served it.  Stops after
 * REQUESTS answers or errors, after SECONDS, or on SIGTERM/SIGINT (with
 * neither -n nor -t), then prints one JSON line on stdout:
 *
 *	{"ok":N,"refused":N,"reset":N,"timeout":N,"other":N,
 *	 "seconds":S,"rps":R,"p50_ms":L,"p99_ms":L,"max_ms":L,
 *	 "pids":{"PID":N,...},"failed":[ID,...]}
 *
 * The latencies are those of the good answers, from connect to EOF.
 *
 * "refused" counts ECONNREFUSED, "reset" a connection closed or reset
 * before a whole 200 answer.  It uses plain epoll so that it costs the
 * server as little CPU as possible on a small machine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 1024
#define MAX_PIDS 256
#define MAX_FAILED 10000
#define REQ_TIMEOUT_S 30

struct conn {
	int fd;
	long id;
	bool sent;
	size_t len;
	double started;
	char buf[512];
};

static volatile sig_atomic_t stop_flag;
static struct sockaddr_in target;
static long next_id, ok, refused, reset_, timeouts, other;
static long failed[MAX_FAILED];
static long nfailed;
static struct {
	long pid;
	long n;
} pids[MAX_PIDS];
static int npids;
static double *lat;			/* seconds, per good answer */
static size_t nlat, caplat;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
count_pid(long pid)
{
	int i;

	for (i = 0; i < npids; i++) {
		if (pids[i].pid == pid) {
			pids[i].n++;
			return;
		}
	}
	if (npids < MAX_PIDS) {
		pids[npids].pid = pid;
		pids[npids++].n = 1;
	}
}

static void
fail(struct conn *c, long *counter)
{
	(*counter)++;
	if (nfailed < MAX_FAILED) {
		failed[nfailed++] = c->id;
	}
}

/* Opens the next request's connection; false if the socket call failed. */
static bool
start(int ep, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int one = 1;

	c->id = next_id++;
	c->sent = false;
	c->len = 0;
	c->started = now();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("loadgen: socket");
		return false;
	}
	/* The server closes first (Connection: close): no TIME_WAIT here. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&target, sizeof(target)) != 0 &&
	    errno != EINPROGRESS) {
		if (errno == ECONNREFUSED) {
			fail(c, &refused);
		} else {
			fail(c, &other);
		}
		close(c->fd);
		c->fd = -1;
		return true;
	}
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return true;
}

static void
finish(int ep, struct conn *c, long *counter)
{
	char *body;

	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (counter != NULL) {
		fail(c, counter);
		return;
	}
	c->buf[c->len] = '\0';
	body = strstr(c->buf, "\r\n\r\n");
	if (strncmp(c->buf, "HTTP/1.1 200 ", 13) != 0 || body == NULL) {
		fail(c, &reset_);
		return;
	}
	ok++;
	count_pid(strtol(body + 4, NULL, 10));
	if (nlat == caplat) {
		double *n = realloc(lat, (caplat * 2 + 1024) * sizeof(*lat));

		if (n == NULL)
			return;
		lat = n;
		caplat = caplat * 2 + 1024;
	}
	lat[nlat++] = now() - c->started;
}

static void
io(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	char req[128];
	socklen_t el = sizeof(int);
	int err = 0;
	ssize_t n;

	if (!c->sent) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0) {
			finish(ep, c, err == ECONNREFUSED ? &refused :
			    err == ECONNRESET ? &reset_ : &other);
			return;
		}
		n = snprintf(req, sizeof(req), "GET /%ld HTTP/1.1\r\nHost: "
		    "loadgen\r\nConnection: close\r\n\r\n", c->id);
		if (write(c->fd, req, (size_t)n) != n) {
			finish(ep, c, errno == ECONNRESET || errno == EPIPE ?
			    &reset_ : &other);
			return;
		}
		c->sent = true;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	(void)events;
	for (;;) {
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			if (c->len < sizeof(c->buf) - 1) {
				continue;
			}
			n = 0;		/* the answer is too long: ours is small */
		}
		if (n == 0) {
			finish(ep, c, NULL);
		} else if (errno != EAGAIN) {
			finish(ep, c, errno == ECONNRESET ? &reset_ : &other);
		}
		return;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-th quantile of the latencies, in milliseconds (nearest rank). */
static double
quantile(double q)
{
	size_t k;

	if (nlat == 0)
		return 0;
	k = (size_t)(q * (double)nlat + 0.999999);
	if (k < 1)
		k = 1;
	if (k > nlat)
		k = nlat;
	return lat[k - 1] * 1000;
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen [-c CONCURRENCY] [-n REQUESTS | "
	    "-t SECONDS] HOST:PORT\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct conn conns[MAX_CONC];
	struct epoll_event evs[64];
	struct sigaction sa = { 0 };
	long total = 0, done;
	double seconds = 0, t0, t1, deadline;
	int conc = 8, ep, i, n, opt, busy;
	char host[64], *colon;
	bool more;

	while ((opt = getopt(argc, argv, "c:n:t:")) != -1) {
		switch (opt) {
		case 'c':
			conc = atoi(optarg);
			break;
		case 'n':
			total = atol(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || conc < 1 || conc > MAX_CONC ||
	    (colon = strrchr(argv[optind], ':')) == NULL ||
	    (size_t)(colon - argv[optind]) >= sizeof(host)) {
		usage();
	}
	memcpy(host, argv[optind], (size_t)(colon - argv[optind]));
	host[colon - argv[optind]] = '\0';
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
		usage();
	}
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("loadgen: epoll_create1");
		return 2;
	}
	t0 = now();
	deadline = seconds > 0 ? t0 + seconds : 0;
	for (i = 0; i < conc; i++) {
		conns[i].fd = -1;
	}
	for (;;) {
		done = ok + refused + reset_ + timeouts + other;
		t1 = now();
		more = !stop_flag && (total == 0 || next_id < total) &&
		    (deadline == 0 || t1 < deadline);
		busy = 0;
		for (i = 0; i < conc; i++) {
			if (conns[i].fd < 0 && more &&
			    (total == 0 || next_id < total)) {
				if (!start(ep, &conns[i])) {
					return 2;
				}
			}
			if (conns[i].fd >= 0 &&
			    t1 - conns[i].started > REQ_TIMEOUT_S) {
				finish(ep, &conns[i], &timeouts);
			}
			busy += conns[i].fd >= 0;
		}
		if (busy == 0 && (!more || (total > 0 && done >= total))) {
			break;
		}
		n = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < n; i++) {
			io(ep, evs[i].data.ptr, evs[i].events);
		}
	}
	t1 = now();
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("{\"ok\":%ld,\"refused\":%ld,\"reset\":%ld,\"timeout\":%ld,"
	    "\"other\":%ld,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
	    "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"pids\":{", ok,
	    refused, reset_, timeouts, other, t1 - t0,
	    (double)ok / (t1 - t0), quantile(0.5), quantile(0.99), quantile(1));
	for (i = 0; i < npids; i++) {
		printf("%s\"%ld\":%ld", i ? "," : "", pids[i].pid, pids[i].n);
	}
	printf("},\"failed\":[");
	for (i = 0; i < nfailed; i++) {
		printf("%s%ld", i ? "," : "", failed[i]);
	}
	printf("]}\n");
	free(lat);
	close(ep);
	return 0;
}
