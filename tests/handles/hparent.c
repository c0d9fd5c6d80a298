/*
 * hparent.c - handle passing between a C parent (libchildproc) and a real
 * node child.
 *
 *	hparent NODE CHILD_JS SCENARIO [N]
 *
 * Runs "NODE CHILD_JS CASE [N]" with an IPC channel and plays one case of
 * handle passing (childproc-ipc(7)); the Node half is CASE of child.js,
 * which reports what it saw.  Every handle travels over real sockets on
 * 127.0.0.1 (ports picked by the kernel) and is used after it arrives.
 * Exits 0 if every check passed, 1 otherwise (failed checks on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"
#include "nodechild.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[64];

#define IO_TIMEOUT_MS 30000
#define WATCHDOG_MS 240000
#define MAX_FILLERS 4096

struct t;

struct scenario {
	const char *name;
	const char *js_case;
	void (*start)(struct t *);
	void (*message)(struct t *, const struct cp_message *);
	void (*internal)(struct t *, const struct cp_message *);
	void (*error)(struct t *, int, const char *, size_t);
	void (*end)(struct t *);
	char **env;			/* extra "NAME=VALUE" for the child */
	long n;				/* N, unless the command line says */
};

struct t {
	uv_loop_t loop;
	const struct scenario *sc;
	struct cp_child *child;
	struct cp_channel *ch;		/* NULL once disconnected */
	uv_timer_t watchdog;
	uv_timer_t timer;
	int failed;
	long nmsg;
	long nerr;
	long n;				/* the N argument */
	int step;
	int pid;
	bool exited;
	int64_t exit_status;
	int term_signal;
	bool disconnected;
	/* send callbacks */
	long ncb;
	long ncb_err;
	/* scenario state */
	int keep;			/* our end of a handle we sent */
	int port;
	char path[108];
	char tmpdir[64];
	int fillers[MAX_FILLERS];
	int nfillers;
	struct rlimit saved_rl;
	long emfile;
	long nacked;
	long fds_before;
	uint64_t t0;
	int seen;			/* bit per kind seen */
	int seq;			/* our NODE_CLUSTER counter */
	int listen_fd;
};

static void
check_failed(struct t *t, int line, const char *what)
{
	node_check_failed("hparent", t->sc->name, &t->failed, t->child,
	    t->exited, line, what);
}

/* ---- helpers ------------------------------------------------------------ */

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static long
num(const json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

static int
send_str(struct t *t, const char *s)
{
	json_t *v = json_string(s);
	int r = cp_channel_send(t->ch, v, NULL, NULL);

	json_decref(v);
	return r;
}

static void
send_cb(struct cp_channel *ch, int status, void *arg)
{
	struct t *t = cp_channel_data(ch);

	(void)arg;
	t->ncb++;
	if (status != 0) {
		t->ncb_err++;
	}
}

static int
send_handle(struct t *t, const char *msg, enum cp_handle_type type, int fd,
    unsigned int flags, cp_send_cb cb)
{
	json_t *v = json_loads(msg, JSON_DECODE_ANY, NULL);
	int r;

	r = cp_channel_send_handle(t->ch, v, type, fd, flags, cb, NULL);
	json_decref(v);
	return r;
}

static void
hang_up(struct t *t)
{
	if (t->ch != NULL && cp_channel_connected(t->ch)) {
		CHECK(t, cp_channel_disconnect(t->ch) == 0);
	}
}

/* Reads one line from a blocking-or-not fd, waiting at most IO_TIMEOUT_MS. */
static ssize_t
read_line(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		if (poll(&p, 1, IO_TIMEOUT_MS) != 1) {
			return -1;
		}
		n = read(fd, buf + len, 1);
		if (n <= 0) {
			break;
		}
		if (buf[len] == '\n') {
			break;
		}
		len++;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static int
write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

static int
tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
udp_bound(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int
local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
	    a.sin_family != AF_INET) {
		return -1;
	}
	return ntohs(a.sin_port);
}

static int
sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) != 0) {
		return -1;
	}
	return v;
}

/* A listening TCP socket on 127.0.0.1, port picked by the kernel. */
static int
tcp_listener(int *port)
{
	char addr[64];
	int fd;

	if (cp_listen("127.0.0.1:0", 0, 0, &fd, addr, sizeof(addr)) != 0) {
		return -1;
	}
	*port = local_port(fd);
	return fd;
}

/* A connected TCP pair: *accepted and *client. */
static int
tcp_pair(int *accepted, int *client)
{
	int lfd, port;

	if ((lfd = tcp_listener(&port)) < 0) {
		return -1;
	}
	*client = tcp_connect(port);
	/* cp_listen's sockets are non-blocking: wait for the connection. */
	if (*client >= 0) {
		poll(&(struct pollfd){ .fd = lfd, .events = POLLIN }, 1,
		    IO_TIMEOUT_MS);
	}
	*accepted = *client >= 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	close(lfd);
	if (*accepted < 0) {
		if (*client >= 0) {
			close(*client);
		}
		return -1;
	}
	return 0;
}

static long
fd_count(void)
{
	struct dirent *de;
	DIR *d;
	long n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1;		/* the directory's own fd */
}

static int
highest_fd(void)
{
	struct dirent *de;
	DIR *d;
	int fd, max = 2;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd > max && fd != dirfd(d)) {
			max = fd;
		}
	}
	closedir(d);
	return max;
}

/*
 * Uses up every fd number this process may open, so the kernel must drop
 * the next fd it would give us (MSG_CTRUNC): the library then sees a
 * NODE_HANDLE without its fd and NACKs it, as a Node receiver out of fds
 * would.
 */
static void
fill_fds(struct t *t)
{
	struct rlimit rl;
	int fd;

	CHECK(t, getrlimit(RLIMIT_NOFILE, &t->saved_rl) == 0);
	rl = t->saved_rl;
	rl.rlim_cur = (rlim_t)highest_fd() + 1;
	CHECK(t, setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (t->nfillers < MAX_FILLERS && (fd = dup(0)) >= 0) {
		t->fillers[t->nfillers++] = fd;
	}
	CHECK(t, errno == EMFILE);
	CHECK(t, dup(0) < 0);
}

static void
release_fds(struct t *t)
{
	while (t->nfillers > 0) {
		close(t->fillers[--t->nfillers]);
	}
	CHECK(t, setrlimit(RLIMIT_NOFILE, &t->saved_rl) == 0);
}

/* ---- handle-in: each kind C -> node, then used on the Node side ---------- */

static const char *const in_kinds[] = {
	"server-tcp", "server-unix", "socket-tcp", "socket-unix", "dgram",
	"native",
};
#define N_IN_KINDS (int)(sizeof(in_kinds) / sizeof(in_kinds[0]))

static void
in_send(struct t *t)
{
	const char *k = in_kinds[t->step];
	char msg[64], addr[160];
	int fd = -1, sv[2], r = -1, peer_port;

	snprintf(msg, sizeof(msg), "{\"kind\":\"%s\"}", k);
	if (strcmp(k, "server-tcp") == 0) {
		fd = tcp_listener(&t->port);
		r = send_handle(t, msg, CP_HANDLE_NET_SERVER, fd, 0, send_cb);
	} else if (strcmp(k, "server-unix") == 0) {
		snprintf(t->path, sizeof(t->path), "%s/server.sock", t->tmpdir);
		snprintf(addr, sizeof(addr), "unix:%s", t->path);
		CHECK(t, cp_listen(addr, 0, 0, &fd, addr, sizeof(addr)) == 0);
		r = send_handle(t, msg, CP_HANDLE_NET_SERVER, fd, 0, send_cb);
	} else if (strcmp(k, "socket-tcp") == 0) {
		CHECK(t, tcp_pair(&fd, &t->keep) == 0);
		r = send_handle(t, msg, CP_HANDLE_NET_SOCKET, fd, 0, send_cb);
	} else if (strcmp(k, "socket-unix") == 0) {
		CHECK(t, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		fd = sv[0];
		t->keep = sv[1];
		r = send_handle(t, msg, CP_HANDLE_NET_SOCKET, fd, 0, send_cb);
	} else if (strcmp(k, "dgram") == 0) {
		fd = udp_bound(&t->port);
		t->keep = udp_bound(&peer_port);
		r = send_handle(t, msg, CP_HANDLE_DGRAM_SOCKET, fd, 0, send_cb);
	} else if (strcmp(k, "native") == 0) {
		fd = tcp_listener(&t->port);
		r = send_handle(t, msg, CP_HANDLE_NET_NATIVE, fd, 0, send_cb);
	}
	CHECK(t, fd >= 0);
	/* The first send goes at once; later ones do too (nothing in flight). */
	CHECK(t, r == 0);
	/*
	 * Our copy is closed at once: the library keeps its own until the ACK,
	 * and from then on only Node holds the socket, so what works below
	 * works through Node.
	 */
	close(fd);
}

static void
in_start(struct t *t)
{
	snprintf(t->tmpdir, sizeof(t->tmpdir), "/tmp/cp-hparent-XXXXXX");
	CHECK(t, mkdtemp(t->tmpdir) != NULL);
	t->keep = -1;
	in_send(t);
}

/* Uses the handle Node reported on, from our side. */
static void
in_check(struct t *t, const json_t *r)
{
	const char *k = in_kinds[t->step];
	char line[256], want[256];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;
	ssize_t n;

	CHECK(t, strcmp(str(r, "kind"), k) == 0);
	if (strncmp(k, "server-", 7) == 0) {
		CHECK(t, strcmp(str(r, "ctor"), "Server") == 0);
		CHECK(t, json_is_true(json_object_get(r, "listening")));
		if (strcmp(k, "server-tcp") == 0) {
			CHECK(t, num(json_object_get(r, "address"), "port") == t->port);
			fd = tcp_connect(t->port);
		} else {
			/* Node cannot name a pipe server it did not bind itself. */
			fd = unix_connect(t->path);
		}
		CHECK(t, fd >= 0);
		snprintf(want, sizeof(want), "hello %d", t->pid);
	} else if (strncmp(k, "socket-", 7) == 0) {
		CHECK(t, strcmp(str(r, "ctor"), "Socket") == 0);
		CHECK(t, json_is_true(json_object_get(r, "readable")));
		CHECK(t, json_is_true(json_object_get(r, "writable")));
		fd = t->keep;
		t->keep = -1;
		CHECK(t, write_all(fd, "ping\n") == 0);
		snprintf(want, sizeof(want), "ping pong %d", t->pid);
	} else if (strcmp(k, "dgram") == 0) {
		/* dgram.Socket: constructed from dgramType, which we must send. */
		CHECK(t, strcmp(str(r, "ctor"), "Socket") == 0);
		CHECK(t, strcmp(str(r, "type"), "udp4") == 0);
		CHECK(t, num(r, "port") == t->port);
		fd = t->keep;
		t->keep = -1;
		a.sin_port = htons((uint16_t)t->port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(t, sendto(fd, "ping", 4, 0, (struct sockaddr *)&a,
		    sizeof(a)) == 4);
		snprintf(want, sizeof(want), "ping pong %d", t->pid);
		n = -1;
		if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
		    IO_TIMEOUT_MS) == 1) {
			n = recv(fd, line, sizeof(line) - 1, 0);
		}
		CHECK(t, n > 0);
		line[n > 0 ? n : 0] = '\0';
		CHECK(t, strcmp(line, want) == 0);
		close(fd);
		return;
	} else {
		/* net.Native: Node's raw TCP handle, served by a net.Server. */
		CHECK(t, strcmp(str(r, "ctor"), "TCP") == 0);
		fd = tcp_connect(t->port);
		CHECK(t, fd >= 0);
		snprintf(want, sizeof(want), "native %d", t->pid);
	}
	if (fd < 0) {
		return;
	}
	n = read_line(fd, line, sizeof(line));
	if (n < 0 || strcmp(line, want) != 0) {
		fprintf(stderr, "hparent in: %s: got '%s', want '%s'\n", k,
		    n < 0 ? "(timeout)" : line, want);
	}
	CHECK(t, n >= 0 && strcmp(line, want) == 0);
	close(fd);
}

static void
in_message(struct t *t, const struct cp_message *m)
{
	json_t *seen;
	size_t i;

	CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
	if ((seen = json_object_get(m->value, "seen")) != NULL) {
		/* Node saw our six messages and the end, nothing else. */
		CHECK(t, json_array_size(seen) == N_IN_KINDS + 1);
		for (i = 0; i < (size_t)N_IN_KINDS; i++) {
			CHECK(t, strcmp(str(json_array_get(seen, i), "kind"),
			    in_kinds[i]) == 0);
		}
		CHECK(t, value_is(json_array_get(seen, N_IN_KINDS), "\"end\""));
		hang_up(t);
		return;
	}
	in_check(t, m->value);
	if (++t->step < N_IN_KINDS) {
		in_send(t);
	} else {
		CHECK(t, send_str(t, "end") == 0);
	}
}

static void
in_end(struct t *t)
{
	/* Every handle was ACKed once: none failed, none was answered twice. */
	CHECK(t, t->ncb == N_IN_KINDS && t->ncb_err == 0);
	CHECK(t, t->nerr == 0);
}

/* ---- refusals: never a file, pipe, tty or wrong socket to Node ---------- */

static void
refuse_start(struct t *t)
{
	static const enum cp_handle_type all[] = {
		CP_HANDLE_NET_SERVER, CP_HANDLE_NET_SOCKET, CP_HANDLE_NET_NATIVE,
		CP_HANDLE_DGRAM_SOCKET, CP_HANDLE_DGRAM_NATIVE,
	};
	int file, pfd[2], pty, devnull, udp, port, ud[2], acc, cli, lis, i;
	FILE *tf;

	CHECK(t, (tf = tmpfile()) != NULL);
	file = tf != NULL ? fileno(tf) : -1;
	CHECK(t, pipe2(pfd, O_CLOEXEC) == 0);
	pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(t, pty >= 0 && isatty(pty));
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(t, devnull >= 0);
	/* A Node receiver aborts on these: they must never leave. */
	for (i = 0; i < (int)(sizeof(all) / sizeof(all[0])); i++) {
		CHECK(t, send_handle(t, "\"file\"", all[i], file, 0, send_cb) ==
		    UV_ENOTSOCK);
		CHECK(t, send_handle(t, "\"pipe\"", all[i], pfd[0], 0, send_cb) ==
		    UV_ENOTSOCK);
		CHECK(t, send_handle(t, "\"pipe\"", all[i], pfd[1], 0, send_cb) ==
		    UV_ENOTSOCK);
		CHECK(t, send_handle(t, "\"tty\"", all[i], pty, 0, send_cb) ==
		    UV_ENOTSOCK);
		CHECK(t, send_handle(t, "\"null\"", all[i], devnull, 0, send_cb) ==
		    UV_ENOTSOCK);
	}
	/* The wrong kind of socket for the type: Node would fail on it. */
	udp = udp_bound(&port);
	CHECK(t, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ud) == 0);
	CHECK(t, tcp_pair(&acc, &cli) == 0);
	lis = tcp_listener(&port);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, udp, 0, send_cb) ==
	    UV_EPROTOTYPE);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SERVER, udp, 0, send_cb) ==
	    UV_EPROTOTYPE);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, ud[0], 0, send_cb) ==
	    UV_EPROTOTYPE);
	CHECK(t, send_handle(t, "1", CP_HANDLE_DGRAM_SOCKET, ud[0], 0,
	    send_cb) == UV_EPROTOTYPE);
	CHECK(t, send_handle(t, "1", CP_HANDLE_DGRAM_SOCKET, acc, 0, send_cb) ==
	    UV_EPROTOTYPE);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SERVER, acc, 0, send_cb) ==
	    UV_EINVAL);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, lis, 0, send_cb) ==
	    UV_EINVAL);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NONE, acc, 0, send_cb) ==
	    UV_EINVAL);
	/* No message at all is Node's ERR_MISSING_ARGS. */
	CHECK(t, cp_channel_send_handle(t->ch, NULL, CP_HANDLE_NET_SOCKET, acc, 0,
	    send_cb, NULL) == UV_EINVAL);
	close(cli);
	CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, cli, 0, send_cb) ==
	    UV_EBADF);
	/* Nothing was queued and no callback will ever run for these. */
	CHECK(t, cp_channel_queue_size(t->ch) == 0);
	if (tf != NULL) {
		fclose(tf);
	}
	close(pfd[0]);
	close(pfd[1]);
	close(pty);
	close(devnull);
	close(udp);
	close(ud[0]);
	close(ud[1]);
	close(acc);
	close(lis);
	CHECK(t, send_str(t, "end") == 0);
}

static void
refuse_message(struct t *t, const struct cp_message *m)
{
	json_t *seen = json_object_get(m->value, "seen");

	/* Node saw the end and nothing else, not even an internal message. */
	if (!value_is(seen, "[{\"m\":\"end\",\"handle\":null}]")) {
		char *s = json_dumps(m->value, JSON_ENCODE_ANY);
		fprintf(stderr, "hparent refuse: node saw %s\n", s);
		free(s);
	}
	CHECK(t, value_is(seen, "[{\"m\":\"end\",\"handle\":null}]"));
	hang_up(t);
}

static void
refuse_end(struct t *t)
{
	CHECK(t, t->ncb == 0);
	CHECK(t, t->nmsg == 1);
}

/* ---- handle-out: each kind node -> C, in order, and used here ----------- */

enum { OUT_M1 = 1, OUT_AFTER = 2, OUT_M3 = 4, OUT_RET = 8, OUT_KEEP = 16,
	OUT_SOCK = 32, OUT_DGRAM = 64, OUT_NATIVE = 128, OUT_ALL = 255 };

static void
out_message(struct t *t, const struct cp_message *m)
{
	const json_t *v = m->value;
	const char *kind = str(v, "kind");
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;

	if (json_object_get(v, "reads") != NULL) {
		/* What Node's other ends read from the handles we wrote to. */
		CHECK(t, value_is(json_object_get(v, "reads"),
		    "{\"sock-keep\":\"c:sock-keep\",\"sock\":\"c:sock\","
		    "\"dgram\":\"c:dgram\"}"));
		CHECK(t, t->seen == OUT_ALL);
		hang_up(t);
		return;
	}
	if (t->nmsg == 1) {
		/* send(m1, server): the fd is bound to its own line. */
		CHECK(t, m->handle_type == CP_HANDLE_NET_SERVER && m->fd >= 0);
		CHECK(t, num(v, "m") == 1);
		CHECK(t, sockopt(m->fd, SO_ACCEPTCONN) == 1);
		CHECK(t, local_port(m->fd) == num(v, "port"));
		t->port = (int)num(v, "port");
		t->seen |= OUT_M1;
	} else if (t->nmsg == 2) {
		/* Queued behind the handle until our ACK, then in order. */
		CHECK(t, value_is(v, "\"after\""));
		CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
		t->seen |= OUT_AFTER;
	} else if (t->nmsg == 3) {
		CHECK(t, m->handle_type == CP_HANDLE_NET_SERVER && m->fd >= 0);
		CHECK(t, num(v, "m") == 3 && local_port(m->fd) == t->port);
		t->seen |= OUT_M3;
	} else if (json_object_get(v, "returns") != NULL) {
		/* send() says false once a handle is queued behind another. */
		CHECK(t, value_is(json_object_get(v, "returns"),
		    "[true,true,false]"));
		t->seen |= OUT_RET;
	} else if (strcmp(kind, "dgram") == 0) {
		CHECK(t, m->handle_type == CP_HANDLE_DGRAM_SOCKET && m->fd >= 0);
		CHECK(t, m->dgram_type != NULL && strcmp(m->dgram_type, "udp4") == 0);
		CHECK(t, sockopt(m->fd, SO_TYPE) == SOCK_DGRAM);
		CHECK(t, local_port(m->fd) == num(v, "port"));
		a.sin_port = htons((uint16_t)num(v, "peer"));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(t, sendto(m->fd, "c:dgram", 7, 0, (struct sockaddr *)&a,
		    sizeof(a)) == 7);
		t->seen |= OUT_DGRAM;
	} else if (strcmp(kind, "native") == 0) {
		CHECK(t, m->handle_type == CP_HANDLE_NET_NATIVE && m->fd >= 0);
		CHECK(t, sockopt(m->fd, SO_ACCEPTCONN) == 1);
		CHECK(t, local_port(m->fd) == num(v, "port"));
		t->seen |= OUT_NATIVE;
	} else if (strcmp(kind, "sock-keep") == 0 || strcmp(kind, "sock") == 0) {
		/* A server-accepted socket carries its server's key. */
		CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET && m->fd >= 0);
		CHECK(t, m->key != NULL && strncmp(m->key, "4:127.0.0.1:", 12) == 0);
		CHECK(t, sockopt(m->fd, SO_ACCEPTCONN) == 0);
		/* Ours to keep past the callback. */
		fd = cp_message_take_fd(m);
		CHECK(t, fd >= 0 && cp_message_take_fd(m) == -1);
		CHECK(t, write_all(fd, strcmp(kind, "sock") == 0 ? "c:sock\n" :
		    "c:sock-keep\n") == 0);
		close(fd);
		t->seen |= strcmp(kind, "sock") == 0 ? OUT_SOCK : OUT_KEEP;
	} else {
		CHECK(t, !"an unexpected message");
	}
}

/* ---- fd-coalescing: three lines and one fd in one read ------------------- */

static void
coalesce_message(struct t *t, const struct cp_message *m)
{
	char buf[4096];
	ssize_t n;
	int i, lines = 0;

	if (t->nmsg == 1) {
		CHECK(t, value_is(m->value, "\"ready\""));
		CHECK(t, send_str(t, "go") == 0);
		/*
		 * Hold the loop until the kernel holds all three lines: the
		 * library's next recvmsg then returns them together with the
		 * fd, and must bind the fd to the third line, not the first.
		 */
		for (i = 0; i < IO_TIMEOUT_MS / 10 && lines < 3; i++) {
			n = recv(cp_channel_fd(t->ch), buf, sizeof(buf),
			    MSG_PEEK | MSG_DONTWAIT);
			lines = 0;
			while (n > 0) {
				lines += buf[--n] == '\n';
			}
			if (lines < 3) {
				usleep(10000);
			}
		}
		CHECK(t, lines == 3);
		return;
	}
	if (t->nmsg == 2 || t->nmsg == 3) {
		CHECK(t, value_is(m->value, t->nmsg == 2 ? "\"a\"" : "\"a2\""));
		CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
		return;
	}
	CHECK(t, t->nmsg == 4);
	CHECK(t, num(m->value, "x") == 1);
	CHECK(t, m->handle_type == CP_HANDLE_NET_SERVER && m->fd >= 0);
	CHECK(t, local_port(m->fd) == num(m->value, "port"));
	CHECK(t, send_str(t, "end") == 0);
}

/* ---- nack-retransmit: Node's sender against our receiver ---------------- */

static void
nack_message(struct t *t, const struct cp_message *m)
{
	const json_t *v = m->value;
	int fd;

	if (value_is(v, "\"ready\"")) {
		fill_fds(t);
		CHECK(t, send_str(t, "go") == 0);
	} else if (m->handle_type != CP_HANDLE_NONE) {
		/*
		 * The retransmission: Node wraps its first frame in a net.Native
		 * frame.  We must see the inner type, key and message once.
		 */
		CHECK(t, t->n == 1 && t->emfile == 1 && t->nacked == 1);
		CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET);
		CHECK(t, value_is(v, "{\"n\":\"conn\"}"));
		CHECK(t, m->key != NULL && strncmp(m->key, "4:127.0.0.1:", 12) == 0);
		fd = m->fd;
		CHECK(t, fd >= 0 && write_all(fd, "c:conn\n") == 0);
	} else if (json_object_get(v, "read") != NULL) {
		CHECK(t, strcmp(str(v, "read"), "c:conn") == 0);
		CHECK(t, send_str(t, "end") == 0);
	} else if (json_object_get(v, "warning") != NULL) {
		/* Node gives up after 1 + 3 transmissions, all NACKed. */
		CHECK(t, t->n == 4 && t->emfile == 4 && t->nacked == 4);
		CHECK(t, strcmp(str(v, "warning"),
		    "SentHandleNotReceivedWarning") == 0);
		t->seen++;
		CHECK(t, send_str(t, "end") == 0);
	} else if (json_object_get(v, "cbs") != NULL) {
		/* Node calls back once per transmission. */
		CHECK(t, num(v, "cbs") == t->n + 1 || num(v, "cbs") == t->n);
		t->step = 1;
	} else {
		CHECK(t, !"an unexpected message");
	}
}

static void
nack_error(struct t *t, int err, const char *line, size_t len)
{
	if (err == UV_EMFILE) {
		/* The kernel dropped Node's fd: we are out of fd numbers. */
		if (++t->emfile == t->n) {
			release_fds(t);
		}
	} else if (err == UV_EBADF) {
		/* A NODE_HANDLE line without its fd: the library NACKed it. */
		t->nacked++;
		CHECK(t, len > 0 && memmem(line, len, "NODE_HANDLE", 11) != NULL);
	} else {
		CHECK(t, !"an unexpected error");
	}
}

static void
nack_end(struct t *t)
{
	CHECK(t, t->step == 1);
	CHECK(t, t->emfile == t->n && t->nacked == t->n);
	CHECK(t, t->n == 1 ? t->seen == 0 : t->seen == 1);
}

/* ---- missing-fd: a NODE_HANDLE line without its fd ----------------------- */

static void
missing_start(struct t *t)
{
	static const char line[] =
	    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\",\"msg\":\"x\"}\n";

	/* Raw, as a broken peer would: the library cannot send this. */
	CHECK(t, cp_channel_queue_size(t->ch) == 0);
	CHECK(t, write(cp_channel_fd(t->ch), line, sizeof(line) - 1) ==
	    (ssize_t)sizeof(line) - 1);
	CHECK(t, send_str(t, "end") == 0);
}

static void
missing_error(struct t *t, int err, const char *line, size_t len)
{
	/* Node's NACK, which we never asked for: reported, not fatal. */
	CHECK(t, err == UV_EPROTO);
	CHECK(t, len == 26 && memcmp(line, "{\"cmd\":\"NODE_HANDLE_NACK\"}", 26) == 0);
}

static void
missing_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, value_is(json_object_get(m->value, "seen"),
	    "[{\"m\":\"end\",\"handle\":null}]"));
	hang_up(t);
}

static void
missing_end(struct t *t)
{
	CHECK(t, t->nerr == 1);
}

/* ---- deferred-disconnect: disconnect() right behind a handle ------------- */

static void
ddisc_message(struct t *t, const struct cp_message *m)
{
	if (t->nmsg == 1) {
		CHECK(t, m->handle_type == CP_HANDLE_NET_SERVER && m->fd >= 0);
		CHECK(t, value_is(m->value, "{\"m\":\"h\"}"));
	} else {
		CHECK(t, t->nmsg == 2 && value_is(m->value, "\"q\""));
	}
}

static void
ddisc_end(struct t *t)
{
	CHECK(t, t->nmsg == 2);
}

/* ---- fd leaks: N handles C -> node ------------------------------------- */

static void sink_next(struct t *t);

static void
sink_cb(struct cp_channel *ch, int status, void *arg)
{
	struct t *t = cp_channel_data(ch);

	send_cb(ch, status, arg);
	if (t->ncb < t->n) {
		sink_next(t);
	} else {
		/* The library closed its copies on each ACK: back where we began. */
		CHECK(t, fd_count() == t->fds_before);
	}
}

static void
sink_next(struct t *t)
{
	int sv[2];

	CHECK(t, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(t, send_handle(t, "{\"s\":1}", CP_HANDLE_NET_SOCKET, sv[0], 0,
	    sink_cb) == 0);
	close(sv[0]);
	close(sv[1]);
}

static void
sink_message(struct t *t, const struct cp_message *m)
{
	const json_t *v = m->value;

	if (value_is(v, "\"ready\"")) {
		t->fds_before = fd_count();
		sink_next(t);
		return;
	}
	CHECK(t, num(v, "got") == t->n);
	if (num(v, "after") != num(v, "before")) {
		fprintf(stderr, "hparent sink: node fds %ld before, %ld after\n",
		    num(v, "before"), num(v, "after"));
	}
	CHECK(t, num(v, "after") == num(v, "before"));
	hang_up(t);
}

static void
sink_end(struct t *t)
{
	CHECK(t, t->ncb == t->n && t->ncb_err == 0);
}

/* ---- fd leaks: N handles node -> C ------------------------------------- */

static void
source_start(struct t *t)
{
	t->fds_before = fd_count();
}

static void
source_message(struct t *t, const struct cp_message *m)
{
	long fds;
	int fd;

	if (value_is(m->value, "\"done\"")) {
		CHECK(t, t->nmsg == t->n + 1);
		fds = fd_count();
		if (fds != t->fds_before) {
			fprintf(stderr, "hparent source: %ld fds before, %ld after\n",
			    t->fds_before, fds);
		}
		CHECK(t, fds == t->fds_before);
		CHECK(t, send_str(t, "bye") == 0);
		return;
	}
	CHECK(t, num(m->value, "i") == t->nmsg);
	CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET && m->fd >= 0);
	/* Half are taken and closed here, half left to the library. */
	if (t->nmsg % 2 == 0) {
		fd = cp_message_take_fd(m);
		CHECK(t, close(fd) == 0);
	}
}

/* ---- the send rate C -> node (for the benchmark) ------------------------ */

static void
rate_cb(struct cp_channel *ch, int status, void *arg)
{
	struct t *t = cp_channel_data(ch);

	send_cb(ch, status, arg);
	if (t->ncb < t->n) {
		CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, t->keep,
		    CP_SEND_KEEP_OPEN, rate_cb) >= 0);
	}
}

static void
rate_message(struct t *t, const struct cp_message *m)
{
	double s;
	int other;

	if (value_is(m->value, "\"ready\"")) {
		CHECK(t, tcp_pair(&t->keep, &other) == 0);
		close(other);
		t->t0 = uv_hrtime();
		/* One at a time: each waits for the ACK of the one before. */
		CHECK(t, send_handle(t, "1", CP_HANDLE_NET_SOCKET, t->keep,
		    CP_SEND_KEEP_OPEN, rate_cb) == 0);
		return;
	}
	s = (double)(uv_hrtime() - t->t0) / 1e9;
	printf("c->node: %ld handles in %.3f s: %.0f/s\n", t->n, s,
	    (double)t->n / s);
	close(t->keep);
	hang_up(t);
}

/* ---- a peer exits with our last line unread ----------------------------- */

static void
unread_wait(uv_timer_t *h)
{
	struct t *t = h->data;

	/*
	 * Wait, outside any read of the channel, until Node has closed its
	 * end: its last lines and the reset of the socket (our "x" is unread)
	 * are then seen by the loop at the same time.
	 */
	CHECK(t, poll(&(struct pollfd){ .fd = cp_channel_fd(t->ch),
	    .events = POLLRDHUP }, 1, IO_TIMEOUT_MS) == 1);
}

static void
unread_message(struct t *t, const struct cp_message *m)
{
	if (t->nmsg == 1) {
		CHECK(t, value_is(m->value, "\"ready\""));
		CHECK(t, send_str(t, "go") == 0);
	} else if (t->nmsg == 2) {
		CHECK(t, value_is(m->value, "\"got-go\""));
		/* Node is not reading now: this stays unread when it exits. */
		CHECK(t, send_str(t, "x") == 0);
		uv_timer_start(&t->timer, unread_wait, 0, 0);
	} else {
		CHECK(t, value_is(m->value, t->nmsg == 3 ? "\"a\"" : "\"b\""));
	}
}

static void
unread_end(struct t *t)
{
	/* Both lines sent before the exit, then a plain disconnect. */
	CHECK(t, t->nmsg == 4);
}

/* ---- cluster-primary: a Node cluster worker with a C primary ------------ */

static void
cluster_send(struct t *t, json_t *v, int fd)
{
	json_object_set_new(v, "cmd", json_string("NODE_CLUSTER"));
	json_object_set_new(v, "seq", json_integer(t->seq++));
	if (fd >= 0) {
		/* Cluster's shared handle: the listener as a raw net.Native. */
		CHECK(t, cp_channel_send_handle(t->ch, v, CP_HANDLE_NET_NATIVE, fd,
		    0, send_cb, NULL) == 0);
	} else {
		CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
	}
	json_decref(v);
}

static void
cluster_internal(struct t *t, const struct cp_message *m)
{
	const json_t *v = m->value;
	const char *act = str(v, "act");
	char key[128], line[128], want[64];
	int fd;

	CHECK(t, strcmp(str(v, "cmd"), "NODE_CLUSTER") == 0);
	if (strcmp(act, "online") == 0) {
		CHECK(t, t->step == 0);
		t->step = 1;
	} else if (strcmp(act, "queryServer") == 0) {
		/* Answer as a primary in SCHED_NONE mode: with the listener. */
		CHECK(t, t->step == 1);
		t->step = 2;
		t->listen_fd = tcp_listener(&t->port);
		CHECK(t, t->listen_fd >= 0);
		snprintf(key, sizeof(key), "%s:%ld:%ld:undefined:%ld",
		    str(v, "address"), num(v, "port"), num(v, "addressType"),
		    num(v, "index"));
		cluster_send(t, json_pack("{s:i, s:s, s:I, s:n}", "errno", 0,
		    "key", key, "ack", (json_int_t)num(v, "seq"), "data"),
		    t->listen_fd);
		close(t->listen_fd);
	} else if (strcmp(act, "listening") == 0) {
		CHECK(t, t->step == 2);
		t->step = 3;
		CHECK(t, num(v, "port") == t->port);
		fd = tcp_connect(t->port);
		CHECK(t, fd >= 0);
		snprintf(want, sizeof(want), "cluster %d", t->pid);
		CHECK(t, read_line(fd, line, sizeof(line)) >= 0 &&
		    strcmp(line, want) == 0);
		close(fd);
		/* worker.disconnect(): it closes its servers, then the channel. */
		cluster_send(t, json_pack("{s:s}", "act", "disconnect"), -1);
	} else if (strcmp(act, "close") == 0) {
		/* The worker closed its server; Node's primary does not answer. */
		CHECK(t, t->step == 3);
		t->step = 4;
	} else {
		char *s = json_dumps(v, JSON_COMPACT);
		fprintf(stderr, "hparent cluster: unexpected %s\n", s);
		free(s);
		CHECK(t, !"an unexpected cluster message");
	}
}

static void
cluster_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, value_is(m->value, "{\"isWorker\":true}"));
}

static void
cluster_end(struct t *t)
{
	CHECK(t, t->step == 4);
	CHECK(t, t->ncb == 1 && t->ncb_err == 0);
}

static char *cluster_env[] = { "NODE_UNIQUE_ID=1", NULL };

/* ---- the scenarios ------------------------------------------------------ */

static const struct scenario scenarios[] = {
	CASE("handle-in", "in", in_start, in_message, NULL, NULL, in_end)
	CASE("handle-refused", "refuse", refuse_start, refuse_message, NULL,
	    NULL, refuse_end)
	CASE("handle-out", "out", NULL, out_message)
	CASE("fd-coalescing", "coalesce", NULL, coalesce_message)
	CASE("nack-retransmit-node", "nack", NULL, nack_message, NULL,
	    nack_error, nack_end)
	CASE("nack-give-up-node", "nack", NULL, nack_message, NULL, nack_error,
	    nack_end, .n = 4)
	CASE("missing-fd-node", "missing", missing_start, missing_message, NULL,
	    missing_error, missing_end)
	CASE("deferred-disconnect-node", "ddisc", NULL, ddisc_message, NULL,
	    NULL, ddisc_end)
	CASE("fd-leak-c-to-node", "sink", NULL, sink_message, NULL, NULL,
	    sink_end, .n = 1000)
	CASE("fd-leak-node-to-c", "source", source_start, source_message,
	    .n = 1000)
	/* The benchmark's handle send rate (N from the command line). */
	CASE("rate", "rate", NULL, rate_message, .n = 100)
	CASE("peer-exit-unread", "unread", NULL, unread_message, NULL, NULL,
	    unread_end)
	CASE("cluster-primary", "cluster", NULL, cluster_message,
	    cluster_internal, NULL, cluster_end, cluster_env)
};

/* ---- events ------------------------------------------------------------- */

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct t *t = data;

	t->nmsg++;
	if (getenv("HPARENT_TRACE") != NULL) {
		fprintf(stderr, "hparent: message %.*s (fd %d)\n", (int)m->len,
		    m->line, m->fd);
	}
	if (node_uncaught("hparent", t->sc->name, m)) {
		CHECK(t, !"an uncaught exception in the child");
		return;
	}
	if (t->sc->message == NULL) {
		CHECK(t, !"a message was expected");
		return;
	}
	if (t->ch != NULL && !t->failed) {
		t->sc->message(t, m);
	}
}

static void
on_internal(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct t *t = data;

	if (getenv("HPARENT_TRACE") != NULL) {
		fprintf(stderr, "hparent: internal %.*s (fd %d)\n", (int)m->len,
		    m->line, m->fd);
	}
	if (t->sc->internal == NULL) {
		fprintf(stderr, "hparent %s: internal message: %.*s\n",
		    t->sc->name, (int)m->len, m->line);
		CHECK(t, !"no internal message was expected");
		return;
	}
	if (t->ch != NULL && !t->failed) {
		t->sc->internal(t, m);
	}
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	struct t *t = data;

	t->nerr++;
	if (t->sc->error == NULL) {
		fprintf(stderr, "hparent %s: channel error %s: %.*s\n",
		    t->sc->name, cp_err_name(err), (int)(len > 100 ? 100 : len),
		    line);
		CHECK(t, !"no channel error was expected");
		return;
	}
	t->sc->error(t, err, line, len);
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct t *t = data;

	if (err != 0) {
		fprintf(stderr, "hparent %s: disconnected: %s\n", t->sc->name,
		    cp_strerror(err));
	}
	CHECK(t, err == 0);
	t->disconnected = true;
	t->ch = NULL;
}

static void
on_exit_(struct cp_child *c, int64_t exit_status, int term_signal, void *data)
{
	struct t *t = data;

	t->exited = true;
	t->exit_status = exit_status;
	t->term_signal = term_signal;
}

static void
on_close(struct cp_child *c, void *data)
{
	struct t *t = data;

	cp_child_close(c, child_free_cb);
	t->child = NULL;
	uv_close((uv_handle_t *)&t->watchdog, NULL);
	uv_close((uv_handle_t *)&t->timer, NULL);
}

static void
watchdog_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	CHECK(t, !"the scenario did not finish in time");
	if (t->child != NULL && !t->exited) {
		cp_child_kill(t->child, SIGKILL);
	}
}

static const struct cp_child_events events = {
	.ipc = {
		.on_message = on_message,
		.on_internal = on_internal,
		.on_error = on_error,
		.on_disconnect = on_disconnect,
	},
	.on_exit = on_exit_,
	.on_close = on_close,
};

extern char **environ;

int
main(int argc, char *argv[])
{
	struct cp_spawn_options o = { 0 };
	const struct scenario *sc = NULL;
	struct t t = { 0 };
	char *args[4], **env = NULL, nbuf[32];
	size_t ne = 0, nx = 0;
	int r;

	if (argc == 2) {
		CASE_FIND(scenarios, argv[1]);	/* --list */
	}
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: hparent NODE CHILD_JS SCENARIO [N]\n");
		return 2;
	}
	if ((sc = CASE_FIND(scenarios, argv[3])) == NULL) {
		return 2;
	}
	t.sc = sc;
	t.n = argc == 5 ? atol(argv[4]) : sc->n > 0 ? sc->n : 1;
	t.keep = -1;
	t.listen_fd = -1;
	snprintf(nbuf, sizeof(nbuf), "%ld", t.n);
	args[0] = argv[2];
	args[1] = (char *)sc->js_case;
	args[2] = nbuf;
	args[3] = NULL;
	node_child_options(&o, stdio_, argv[1], args, CP_STDIO_IGNORE, 3);
	if (sc->env != NULL) {
		while (environ[ne] != NULL) {
			ne++;
		}
		while (sc->env[nx] != NULL) {
			nx++;
		}
		if ((env = calloc(ne + nx + 1, sizeof(*env))) == NULL) {
			return 2;
		}
		memcpy(env, environ, ne * sizeof(*env));
		memcpy(env + ne, sc->env, nx * sizeof(*env));
		o.env = env;
	}

	if (uv_loop_init(&t.loop) != 0) {
		return 2;
	}
	uv_timer_init(&t.loop, &t.watchdog);
	t.watchdog.data = &t;
	uv_timer_start(&t.watchdog, watchdog_cb, WATCHDOG_MS, 0);
	uv_unref((uv_handle_t *)&t.watchdog);
	uv_timer_init(&t.loop, &t.timer);
	t.timer.data = &t;
	if ((r = cp_child_spawn(&t.loop, &o, &events, &t, &t.child)) != 0) {
		fprintf(stderr, "hparent: cannot run %s: %s\n", argv[1],
		    cp_strerror(r));
		return 2;
	}
	free(env);
	t.ch = cp_child_channel(t.child);
	t.pid = cp_child_pid(t.child);
	if (sc->start != NULL) {
		sc->start(&t);
	}
	uv_run(&t.loop, UV_RUN_DEFAULT);
	CHECK(&t, uv_loop_close(&t.loop) == 0);

	CHECK(&t, t.disconnected);
	if (t.exit_status != 0 || t.term_signal != 0) {
		fprintf(stderr, "hparent %s: node exited with %lld, signal %d\n",
		    sc->name, (long long)t.exit_status, t.term_signal);
	}
	CHECK(&t, t.exited && t.exit_status == 0 && t.term_signal == 0);
	if (sc->end != NULL && t.failed == 0) {
		sc->end(&t);
	}
	/* Whatever happened, leave nothing behind. */
	if (t.path[0] != '\0') {
		unlink(t.path);
	}
	if (t.tmpdir[0] != '\0') {
		rmdir(t.tmpdir);
	}
	return node_case_result("hparent", sc->name, t.failed, t.nmsg);
}
