/*
 * core/cluster.c - the primary's side of Node's cluster protocol
 * (cluster-protocol.md): workers' listen() and bind() come as queryServer
 * messages; each address gets one server, shared by every worker that
 * asks for it, created on demand.  Policies: rr (we accept and hand each
 * connection over with newconn), none (every worker gets the listening
 * socket), reuseport (each slot gets a socket of its own on the same
 * address).  UDP always gets the bound socket itself, as in Node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cluster.h"

#define MAX_REFUSALS 64		/* a connection refused this often is closed */
#define RETRY_MIN_MS 20		/* refused: wait, doubling, before offering again */
#define RETRY_MAX_MS 1000
#define LINGER_MS 60000		/* a server its workers left (not closed) stays */
#define ACCEPT_BATCH 64

enum skind { S_TCP, S_UNIX, S_UDP };

struct server;

/* An accepted connection not yet taken by a worker. */
struct conn {
	struct conn *next;
	int fd;
	int refusals;
	long seq;			/* its newconn, while in flight */
	struct server *srv;		/* NULL once the server is gone */
};

/*
 * reuseport: a socket of the group that no slot owns.  The kernel queues
 * connections on every socket of the group, and resets those waiting on
 * one when it closes.  Two kinds:
 *  - an orphan (cw set): the socket of a slot whose worker is leaving
 *    (disconnected, still up).  We accept its connections and hand them
 *    to the other workers (newconn, which a worker's shared handle takes
 *    as its own accept would) until the worker says its copy is closed,
 *    or is gone; then we take what is left and close ours.
 *  - a spare (cw NULL): one adopted from an old master beyond the first.
 *    A slot that needs a socket takes it; until then, while some worker
 *    serves, we accept on it and hand its connections over the same way.
 */
struct orphan {
	struct orphan *next;
	struct server *srv;
	struct cp__cluster_worker *cw;	/* whose it was; NULL: a spare */
	int fd;
	uv_poll_t poll;
	bool polling;
};

struct user {
	struct cp__cluster_worker *cw;
	unsigned long ticket;		/* free since: the oldest free goes first */
	bool busy;			/* a newconn in flight */
	bool cooling;			/* refused one: waits for the retry timer */
};

struct server {
	struct cp__cluster *cl;
	struct server *next;
	char *key;
	char label[300];		/* "127.0.0.1:8080", "[::]:80", a path */
	enum skind kind;
	bool rr;			/* we accept (TCP and Unix under rr) */
	bool reuseport;			/* a socket per slot (TCP under reuseport) */
	int fd;				/* the socket, or -1 (reuseport) */
	int *slot_fd;			/* reuseport: per slot, or -1 */
	int *slot_refs;
	struct orphan *orphans;		/* reuseport: leaving slots', spares */
	struct sockaddr_storage sa;	/* bound address (reuseport binds it again) */
	socklen_t salen;
	bool v6only;
	int backlog;
	char *path;			/* Unix: unlinked when closed */
	json_t *data;			/* the first non-null data (TLS ticket keys) */
	struct user *users;
	int nusers, capusers;
	struct conn *pending, *pending_tail;
	unsigned long ticket;
	uv_poll_t poll;
	bool poll_init, polling;
	uv_timer_t timer;		/* retry of refused connections, or linger */
	bool lingering;
	uint64_t retry_ms;
	int nhandles;			/* handles not yet closed once closing */
	bool closing;
};

struct cp__cluster_worker {
	struct cp__cluster *cl;
	struct cp__cluster_worker *next, *prev;	/* cl->workers */
	struct cp_worker *w;
	struct conn **inflight;		/* newconns sent, awaiting the reply */
	int ninflight, capinflight;
	bool disconnect_sent;
	bool exited_after_disconnect;
	bool gone;
};

struct cp__cluster {
	struct cp_pool *pool;
	uv_loop_t *loop;
	enum cp_sched sched;
	int nslots;
	long seq;			/* one counter for the primary, as Node's */
	struct server *servers;
	struct cp__cluster_worker *workers;
	int closing_servers;
	bool closing;
	bool released;			/* handed over: we accept no more */
	void (*done)(struct cp_pool *);
};

static void server_close(struct server *s);
static void distribute(struct server *s);

/* ---- sending ----------------------------------------------------------- */

static struct cp_channel *
cw_channel(struct cp__cluster_worker *cw)
{
	struct cp_channel *ch;

	if (cw->gone || (ch = cp_worker_channel(cw->w)) == NULL ||
	    !cp_channel_connected(ch))
		return NULL;
	return ch;
}

/*
 * Sends o (an object whose first key is "cmd"), with "seq" added last as
 * Node's sendHelper does; with a handle when fd >= 0.  Takes o.  Returns
 * the seq used, or a negative code.
 */
static long
send_cluster(struct cp__cluster_worker *cw, json_t *o, int fd,
    enum cp_handle_type type, cp_send_cb cb, void *arg)
{
	struct cp_channel *ch = cw_channel(cw);
	long seq = cw->cl->seq;
	int r;

	if (o == NULL)
		return UV_ENOMEM;
	if (ch == NULL) {
		json_decref(o);
		return UV_EPIPE;
	}
	if (json_object_set_new(o, "seq", json_integer(seq)) != 0) {
		json_decref(o);
		return UV_ENOMEM;
	}
	if (fd >= 0)	/* ours: opened, accepted or adopted non-blocking */
		r = cp__channel_send_own(ch, o, type, fd, cb, arg);
	else
		r = cp_channel_send(ch, o, cb, arg);
	json_decref(o);
	if (r < 0)
		return r;
	cw->cl->seq++;
	return seq;
}

static json_t *
cluster_msg(void)
{
	json_t *o = json_object();

	if (o != NULL && json_object_set_new(o, "cmd",
	    json_string("NODE_CLUSTER")) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- keys --------------------------------------------------------------- */

/* `${v}` of a JavaScript template literal, for the JSON values a query has. */
static void
js_str(struct cp_buf *b, json_t *v)
{
	char tmp[64];
	const char *s = tmp;

	if (v == NULL)
		s = "undefined";
	else if (json_is_null(v))
		s = "null";
	else if (json_is_true(v))
		s = "true";
	else if (json_is_false(v))
		s = "false";
	else if (json_is_integer(v))
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
	else if (json_is_string(v)) {
		cp_buf_add(b, json_string_value(v), json_string_length(v));
		return;
	} else if (json_is_object(v))
		s = "[object Object]";
	else
		s = "";
	cp_buf_add(b, s, strlen(s));
}

/*
 * Node v18/v20's key, `${address}:${port}:${addressType}:${fd}:${index}`:
 * with the index it is unique among one worker's servers, which v22+
 * workers also need (their own primary's shorter key is not).
 */
static char *
make_key(json_t *m)
{
	static const char *const fields[] = { "address", "port",
	    "addressType", "fd", "index" };
	struct cp_buf b = CP_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		if (i > 0)
			cp_buf_add(&b, ":", 1);
		js_str(&b, json_object_get(m, fields[i]));
	}
	if (cp_buf_add(&b, "", 1) != 0) {
		cp_buf_release(&b);
		return NULL;
	}
	return b.data;
}

/* ---- opening sockets ---------------------------------------------------- */

static int
sock_error(int fd)
{
	int e = CP_ERR(errno);

	if (fd >= 0)
		close(fd);
	return e;
}

/* A TCP listener on sa (SO_REUSEADDR as libuv sets it). */
static int
open_tcp(const struct sockaddr *sa, socklen_t salen, bool v6only,
    bool reuseport, int backlog, int *fdp)
{
	int fd, one = 1, v6 = v6only ? 1 : 0;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return sock_error(-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) != 0) ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6, sizeof(v6)) != 0) ||
	    bind(fd, sa, salen) != 0 || listen(fd, backlog) != 0)
		return sock_error(fd);
	*fdp = fd;
	return 0;
}

static int
parse_ip(const char *addr, int family, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 0 || port > 65535)
		return UV_EINVAL;
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1 ? 0 : UV_EINVAL;
	}
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*in6);
	return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1 ? 0 : UV_EINVAL;
}

static void
sa_label(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%d", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%d", host, ntohs(in6->sin6_port));
	}
}

static int
int_field(json_t *m, const char *k, int def)
{
	json_t *v = json_object_get(m, k);

	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

/* TCP: address null is "::" dual stack, else 0.0.0.0 (Node's rule). */
static int
bind_tcp(struct server *s, json_t *m, bool reuseport)
{
	const char *addr = json_string_value(json_object_get(m, "address"));
	int port = int_field(m, "port", -1), type = int_field(m, "addressType", 4);
	int flags = int_field(m, "flags", 0), r, tries, fam;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (port < 0 || port > 65535 || (type != 4 && type != 6 &&
	    !json_is_null(json_object_get(m, "addressType"))))
		return UV_EINVAL;
	s->v6only = (flags & 1) != 0;
	for (tries = 0; tries < 2; tries++) {
		if (addr == NULL) {
			fam = tries == 0 ? AF_INET6 : AF_INET;
			r = parse_ip(tries == 0 ? "::" : "0.0.0.0", fam, port, &ss,
			    &sl);
		} else {
			fam = type == 6 || strchr(addr, ':') != NULL ?
			    AF_INET6 : AF_INET;
			r = parse_ip(addr, fam, port, &ss, &sl);
		}
		if (r == 0)
			r = open_tcp((struct sockaddr *)&ss, sl, s->v6only,
			    reuseport, s->backlog, &s->fd);
		if (r == 0 || addr != NULL || r == UV_EADDRINUSE)
			break;
	}
	if (r != 0)
		return r;
	s->salen = sizeof(s->sa);
	if (getsockname(s->fd, (struct sockaddr *)&s->sa, &s->salen) != 0)
		return sock_error(-1);
	sa_label(&s->sa, s->label, sizeof(s->label));
	return 0;
}

static int
bind_udp(struct server *s, json_t *m, bool v6)
{
	const char *addr = json_string_value(json_object_get(m, "address"));
	int port = int_field(m, "port", 0), flags = int_field(m, "flags", 0);
	int fd, one = 1, r, fam = v6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (addr == NULL)
		addr = v6 ? "::" : "0.0.0.0";
	if ((r = parse_ip(addr, fam, port, &ss, &sl)) != 0)
		return r;
	if ((fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return sock_error(-1);
	if (((flags & 4) && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0) ||
	    (v6 && (flags & 1) && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &one, sizeof(one)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0)
		return sock_error(fd);
	s->fd = fd;
	s->salen = sizeof(s->sa);
	getsockname(fd, (struct sockaddr *)&s->sa, &s->salen);
	sa_label(&s->sa, s->label, sizeof(s->label));
	return 0;
}

/* A Unix path; readableAll/writableAll chmod it as libuv does. */
static int
bind_unix(struct server *s, json_t *m)
{
	const char *path = json_string_value(json_object_get(m, "address"));
	struct sockaddr_un sun;
	struct stat st;
	char cwd[4096];
	mode_t mode = 0;
	size_t cl;
	int fd;

	if (path == NULL || path[0] == '\0')
		return UV_EINVAL;
	/* Too long for sun_path: relative to our cwd, as Node's primary tries. */
	if (strlen(path) >= sizeof(sun.sun_path) &&
	    getcwd(cwd, sizeof(cwd)) != NULL && (cl = strlen(cwd)) > 0 &&
	    strncmp(path, cwd, cl) == 0 && path[cl] == '/')
		path += cl + 1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return UV_ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return sock_error(-1);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return sock_error(fd);
	if (json_is_true(json_object_get(m, "readableAll")))
		mode |= 0444;
	if (json_is_true(json_object_get(m, "writableAll")))
		mode |= 0222;
	if (listen(fd, s->backlog) != 0 ||
	    (mode != 0 && (stat(path, &st) != 0 ||
	    chmod(path, (st.st_mode & 0777) | mode) != 0))) {
		int e = sock_error(fd);

		unlink(path);
		return e;
	}
	if ((s->path = strdup(path)) == NULL) {
		close(fd);
		unlink(path);
		return UV_ENOMEM;
	}
	s->fd = fd;
	snprintf(s->label, sizeof(s->label), "%s", path);
	return 0;
}

/* ---- servers ------------------------------------------------------------ */

static void
emit_server(struct server *s, enum cp_pool_event_type type,
    struct cp__cluster_worker *cw, int err, const char *label)
{
	struct cp_pool_event e = { .type = type, .slot = -1, .err = err,
	    .address = label };

	e.kind = s->kind == S_UNIX ? "unix" : s->kind == S_UDP ?
	    (s->sa.ss_family == AF_INET6 ? "udp6" : "udp4") : "tcp";
	e.sched = !s->rr && !s->reuseport ? "none" : s->rr ? "rr" : "reuseport";
	if (s->kind == S_UDP)
		e.sched = "shared";
	if (cw != NULL) {
		e.worker = cw->w;
		e.slot = cp_worker_slot(cw->w);
	}
	cp__pool_emit(s->cl->pool, &e);
}

static struct server *
find_server(struct cp__cluster *cl, const char *key)
{
	struct server *s;

	for (s = cl->servers; s != NULL; s = s->next)
		if (!s->closing && strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

/* Up to max connections (all with -1) waiting on lfd, to s's queue. */
static void
accept_some(struct server *s, int lfd, int max)
{
	struct conn *c;
	int i, fd;

	for (i = 0; max < 0 || i < max; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;		/* EAGAIN, or EMFILE and the like: later */
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			break;
		}
		c->fd = fd;
		c->srv = s;
		c->seq = -1;
		if (s->pending_tail != NULL)
			s->pending_tail->next = c;
		else
			s->pending = c;
		s->pending_tail = c;
	}
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct server *s = h->data;

	(void)events;
	if (status < 0) {
		/* The socket is broken: stop polling it rather than spin. */
		uv_poll_stop(&s->poll);
		s->polling = false;
		return;
	}
	accept_some(s, s->fd, ACCEPT_BATCH);
	distribute(s);
}

static void
orphan_poll_cb(uv_poll_t *h, int status, int events)
{
	struct orphan *o = h->data;

	(void)events;
	if (status < 0) {
		uv_poll_stop(&o->poll);
		return;
	}
	accept_some(o->srv, o->fd, ACCEPT_BATCH);
	distribute(o->srv);
}

static void
orphan_closed(uv_handle_t *h)
{
	free(h->data);
}

/* o goes from its server's list and its poll closes; its fd stays. */
static int
orphan_unlink(struct orphan *o)
{
	struct orphan **pp;
	int fd = o->fd;

	for (pp = &o->srv->orphans; *pp != o; pp = &(*pp)->next)
		;
	*pp = o->next;
	uv_close((uv_handle_t *)&o->poll, orphan_closed);
	return fd;
}

/* o's socket closes; with take, what waits on it joins its server's queue. */
static void
orphan_end(struct orphan *o, bool take)
{
	if (take)
		accept_some(o->srv, o->fd, -1);
	close(orphan_unlink(o));
}

/* fd (ours) watched as o of s for cw (NULL: a spare, polled as serving says). */
static int
orphan_new(struct server *s, struct cp__cluster_worker *cw, int fd)
{
	struct orphan *o;
	int r;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return UV_ENOMEM;
	if ((r = uv_poll_init_socket(s->cl->loop, &o->poll, fd)) != 0) {
		free(o);
		return r;
	}
	o->srv = s;
	o->cw = cw;
	o->fd = fd;
	o->poll.data = o;
	o->next = s->orphans;
	s->orphans = o;
	if (cw != NULL) {
		uv_poll_start(&o->poll, UV_READABLE, orphan_poll_cb);
		o->polling = true;
	}
	return 0;
}

/* A spare socket of s for a slot, or -1. */
static int
spare_take(struct server *s)
{
	struct orphan *o;

	for (o = s->orphans; o != NULL; o = o->next)
		if (o->cw == NULL)
			return orphan_unlink(o);
	return -1;
}

/* The orphans of cw in s end: its copies are closed. */
static void
orphans_end(struct server *s, struct cp__cluster_worker *cw)
{
	struct orphan *o, *next;

	for (o = s->orphans; o != NULL; o = next) {
		next = o->next;
		if (o->cw == cw)
			orphan_end(o, true);
	}
}

/*
 * Whether u takes connections: not a replacement still proving itself
 * (the pool's readiness), which could crash with them.
 */
static bool
serving(const struct user *u)
{
	return cp__worker_serving(u->cw->w);
}

/*
 * rr, and reuseport's spares: accept while someone can take the
 * connections; else they queue in the kernel.
 */
static void
update_poll(struct server *s)
{
	struct orphan *o;
	bool want = false;
	int i;

	for (i = 0; i < s->nusers && !s->closing && !s->cl->released &&
	    !want; i++)
		want = serving(&s->users[i]);
	for (o = s->orphans; o != NULL; o = o->next) {
		if (o->cw != NULL || o->polling == want)
			continue;
		if (want)
			uv_poll_start(&o->poll, UV_READABLE, orphan_poll_cb);
		else
			uv_poll_stop(&o->poll);
		o->polling = want;
	}
	want = want && s->rr;
	if (!s->poll_init || want == s->polling)
		return;
	if (want)
		uv_poll_start(&s->poll, UV_READABLE, poll_cb);
	else
		uv_poll_stop(&s->poll);
	s->polling = want;
}

static void
push_front(struct server *s, struct conn *c)
{
	c->next = s->pending;
	s->pending = c;
	if (s->pending_tail == NULL)
		s->pending_tail = c;
	c->seq = -1;
}

static struct conn *
pop_front(struct server *s)
{
	struct conn *c = s->pending;

	if (c != NULL) {
		s->pending = c->next;
		if (s->pending == NULL)
			s->pending_tail = NULL;
		c->next = NULL;
	}
	return c;
}

static void
conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

static struct user *
find_user(struct server *s, struct cp__cluster_worker *cw)
{
	int i;

	for (i = 0; i < s->nusers; i++)
		if (s->users[i].cw == cw)
			return &s->users[i];
	return NULL;
}

static int
inflight_add(struct cp__cluster_worker *cw, struct conn *c)
{
	struct conn **n;

	if (cw->ninflight == cw->capinflight) {
		n = realloc(cw->inflight, (size_t)(cw->capinflight * 2 + 4) *
		    sizeof(*n));
		if (n == NULL)
			return UV_ENOMEM;
		cw->inflight = n;
		cw->capinflight = cw->capinflight * 2 + 4;
	}
	cw->inflight[cw->ninflight++] = c;
	return 0;
}

static struct conn *
inflight_take(struct cp__cluster_worker *cw, long seq)
{
	struct conn *c;
	int i;

	for (i = 0; i < cw->ninflight; i++) {
		if (cw->inflight[i]->seq == seq) {
			c = cw->inflight[i];
			cw->inflight[i] = cw->inflight[--cw->ninflight];
			return c;
		}
	}
	return NULL;
}

/* A connection back to its server's queue, or closed if it cannot go on. */
static void
requeue(struct conn *c, bool refused)
{
	struct server *s = c->srv;

	if (s == NULL || s->closing || (refused && ++c->refusals >= MAX_REFUSALS)) {
		conn_close(c);
		return;
	}
	push_front(s, c);
}

static void newconn_sent(struct cp_channel *ch, int status, void *arg);
static void cool(struct server *s, struct user *u);

/* Node's handoff(): the oldest connection to this worker, or it waits free. */
static void
handoff(struct server *s, struct user *u)
{
	struct cp__cluster_worker *cw = u->cw;
	struct conn *c;
	json_t *o;
	long seq;

	if (u->busy || u->cooling || !serving(u) || (c = pop_front(s)) == NULL)
		return;
	o = cluster_msg();
	if (o != NULL && (json_object_set_new(o, "act", json_string("newconn")) != 0 ||
	    json_object_set_new(o, "key", json_string(s->key)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	seq = send_cluster(cw, o, c->fd, CP_HANDLE_NET_NATIVE, newconn_sent,
	    (void *)(intptr_t)cw->cl->seq);
	if (seq < 0 || inflight_add(cw, c) != 0) {
		/* This worker cannot take it (its channel is going): the next. */
		push_front(s, c);
		cool(s, u);
		return;
	}
	c->seq = seq;
	u->busy = true;
}

static void
distribute(struct server *s)
{
	struct user *best;
	int i;

	while (s->pending != NULL && !s->closing) {
		best = NULL;
		for (i = 0; i < s->nusers; i++) {
			struct user *u = &s->users[i];

			if (!u->busy && !u->cooling && serving(u) &&
			    (best == NULL || u->ticket < best->ticket))
				best = u;
		}
		if (best == NULL)
			return;
		handoff(s, best);
	}
}

static void
timer_cb(uv_timer_t *t)
{
	struct server *s = t->data;
	int i;

	if (s->lingering) {
		/* Nobody came back for it. */
		server_close(s);
		return;
	}
	for (i = 0; i < s->nusers; i++) {
		if (s->users[i].cooling) {
			s->users[i].cooling = false;
			s->users[i].ticket = ++s->ticket;
		}
	}
	distribute(s);
}

/* A refusal: this worker rests a little, doubling, so refusals never spin. */
static void
cool(struct server *s, struct user *u)
{
	u->cooling = true;
	if (uv_is_active((uv_handle_t *)&s->timer))
		return;
	uv_timer_start(&s->timer, timer_cb, s->retry_ms, 0);
	s->retry_ms = s->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    s->retry_ms * 2;
}

/* The reply {ack, accepted} to a newconn. */
static void
newconn_reply(struct cp__cluster_worker *cw, struct conn *c, bool accepted)
{
	struct server *s = c->srv;
	struct user *u = s != NULL ? find_user(s, cw) : NULL;

	if (u != NULL)
		u->busy = false;
	if (accepted) {
		conn_close(c);		/* the worker has its own copy */
		cp__worker_connection(cw->w);	/* may start replacing it */
		if (s != NULL)
			s->retry_ms = RETRY_MIN_MS;
		if (u != NULL) {
			u->ticket = ++s->ticket;
			handoff(s, u);
		}
	} else {
		requeue(c, true);
		if (u != NULL)
			cool(s, u);
	}
	if (s != NULL)
		distribute(s);
}

static void
newconn_sent(struct cp_channel *ch, int status, void *arg)
{
	struct cp__cluster_worker *cw = cp__channel_cluster_worker(ch);
	struct conn *c;

	if (status == 0 || cw == NULL)
		return;
	/* NACKed (no fd arrived) or never written: no reply will come. */
	if ((c = inflight_take(cw, (long)(intptr_t)arg)) != NULL)
		newconn_reply(cw, c, false);
}

static void
server_handle_closed(uv_handle_t *h)
{
	struct server *s = h->data;
	struct cp__cluster *cl = s->cl;
	struct server **pp;

	if (--s->nhandles > 0)
		return;
	for (pp = &cl->servers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s->key);
	free(s);
	if (--cl->closing_servers == 0 && cl->closing && cl->done != NULL) {
		void (*done)(struct cp_pool *) = cl->done;

		cl->done = NULL;
		done(cl->pool);
	}
}

static void
server_close(struct server *s)
{
	struct cp__cluster_worker *cw;
	struct conn *c;
	int i, j;

	if (s->closing)
		return;
	s->closing = true;
	s->cl->closing_servers++;
	/* Connections on their way to a worker are closed when answered. */
	for (cw = s->cl->workers; cw != NULL; cw = cw->next)
		for (j = 0; j < cw->ninflight; j++)
			if (cw->inflight[j]->srv == s)
				cw->inflight[j]->srv = NULL;
	s->nusers = 0;
	/* Before the server's own handles: their close frees it. */
	while (s->orphans != NULL)
		orphan_end(s->orphans, false);
	while ((c = pop_front(s)) != NULL)
		conn_close(c);
	emit_server(s, CP_POOL_SERVER_CLOSE, NULL, 0, s->label);
	s->nhandles = 1;
	uv_close((uv_handle_t *)&s->timer, server_handle_closed);
	if (s->poll_init) {
		s->nhandles++;
		uv_close((uv_handle_t *)&s->poll, server_handle_closed);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	for (i = 0; s->slot_fd != NULL && i < s->cl->nslots; i++)
		if (s->slot_fd[i] >= 0)
			close(s->slot_fd[i]);
	free(s->slot_fd);
	free(s->slot_refs);
	s->slot_fd = s->slot_refs = NULL;
	if (s->path != NULL)
		unlink(s->path);	/* as libuv does for a pipe server */
	free(s->path);
	s->path = NULL;
	json_decref(s->data);
	s->data = NULL;
	free(s->users);
	s->users = NULL;
}

/*
 * reuseport: the last worker of a slot left s, and fd, its socket, goes.
 * For the last worker of all, it stays as the lingering server's socket,
 * clients waiting in its backlog for the next worker.  Otherwise what
 * waits on it goes to the others: at once if the worker's copy is closed
 * (it said so, or it is gone), else through an orphan until it is.
 */
static void
slot_left(struct server *s, struct cp__cluster_worker *cw, int fd,
    bool closed)
{
	bool going = s->closing || s->cl->closing ||
	    cp__pool_closing(s->cl->pool);

	if (s->cl->released) {
		close(fd);	/* handed over: the new master's to serve */
		return;
	}
	if (s->nusers == 0 && s->fd < 0 && !closed && !going) {
		s->fd = fd;
		return;
	}
	if (!closed && !cw->gone && !going && orphan_new(s, cw, fd) == 0)
		return;
	if (!going)
		accept_some(s, fd, -1);
	close(fd);
}

/*
 * The worker leaves s.  By its own close, s goes when nobody is left, as
 * in Node.  When it exits or is disconnected, s stays a while (LINGER_MS),
 * listening, so that its replacement gets the same socket and clients
 * wait in the backlog instead of being refused.
 */
static void
server_remove(struct server *s, struct cp__cluster_worker *cw, bool closed)
{
	struct user *u = find_user(s, cw);
	int slot = cp_worker_slot(cw->w);

	if (closed)
		orphans_end(s, cw);	/* it says its copy is closed */
	if (u == NULL)
		return;
	*u = s->users[--s->nusers];
	if (s->reuseport && s->slot_refs != NULL && --s->slot_refs[slot] == 0) {
		slot_left(s, cw, s->slot_fd[slot], closed);
		s->slot_fd[slot] = -1;
	}
	if (s->nusers > 0)
		return;
	if (closed || cp__pool_closing(s->cl->pool) || s->cl->closing) {
		server_close(s);
		return;
	}
	update_poll(s);
	s->lingering = true;
	uv_timer_start(&s->timer, timer_cb, LINGER_MS, 0);
}

static int
server_add(struct server *s, struct cp__cluster_worker *cw)
{
	struct user *n;
	int slot = cp_worker_slot(cw->w), r, fd;

	if (find_user(s, cw) != NULL)
		return 0;
	if (s->reuseport && s->slot_fd[slot] < 0 && s->fd >= 0) {
		s->slot_fd[slot] = s->fd;
		s->fd = -1;
	} else if (s->reuseport && s->slot_fd[slot] < 0 &&
	    (fd = spare_take(s)) >= 0) {
		s->slot_fd[slot] = fd;	/* an old master's, its queue kept */
	} else if (s->reuseport && s->slot_fd[slot] < 0) {
		r = open_tcp((struct sockaddr *)&s->sa, s->salen, s->v6only, true,
		    s->backlog, &fd);
		if (r != 0)
			return r;
		s->slot_fd[slot] = fd;
	}
	if (s->nusers == s->capusers) {
		n = realloc(s->users, (size_t)(s->capusers * 2 + 4) * sizeof(*n));
		if (n == NULL)
			return UV_ENOMEM;
		s->users = n;
		s->capusers = s->capusers * 2 + 4;
	}
	if (s->reuseport)
		s->slot_refs[slot]++;
	s->users[s->nusers++] = (struct user){ .cw = cw, .ticket = ++s->ticket };
	if (s->lingering) {
		s->lingering = false;
		uv_timer_stop(&s->timer);
	}
	update_poll(s);
	return 0;
}

/* A server with its socket: its handles made, and in cl's list. */
static void
server_link(struct cp__cluster *cl, struct server *s)
{
	uv_timer_init(cl->loop, &s->timer);
	s->timer.data = s;
	if (s->rr && uv_poll_init_socket(cl->loop, &s->poll, s->fd) == 0) {
		s->poll.data = s;
		s->poll_init = true;
	}
	s->next = cl->servers;
	cl->servers = s;
}

static int
server_new(struct cp__cluster *cl, const char *key, json_t *m,
    struct server **sp)
{
	const char *type = json_string_value(json_object_get(m, "addressType"));
	json_t *fdv = json_object_get(m, "fd");
	struct server *s;
	int r, backlog = int_field(m, "backlog", 0), i;

	*sp = NULL;
	/* listen({fd}) names a descriptor of ours: not supported (Node's EINVAL). */
	if (json_is_integer(fdv) && json_integer_value(fdv) >= 0)
		return UV_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return UV_ENOMEM;
	s->cl = cl;
	s->fd = -1;
	s->backlog = backlog > 0 ? backlog : 511;
	s->retry_ms = RETRY_MIN_MS;
	if ((s->key = strdup(key)) == NULL) {
		free(s);
		return UV_ENOMEM;
	}
	if (type != NULL && (strcmp(type, "udp4") == 0 ||
	    strcmp(type, "udp6") == 0)) {
		s->kind = S_UDP;
		r = bind_udp(s, m, type[3] == '6');
	} else if (int_field(m, "addressType", 0) == -1 &&
	    int_field(m, "port", 0) == -1) {
		s->kind = S_UNIX;
		s->rr = cl->sched == CP_SCHED_RR;
		r = bind_unix(s, m);
	} else {
		s->kind = S_TCP;
		s->rr = cl->sched == CP_SCHED_RR;
		s->reuseport = cl->sched == CP_SCHED_REUSEPORT;
		r = bind_tcp(s, m, s->reuseport);
		if (r == 0 && s->reuseport) {
			/* That first socket goes to the first slot that asks. */
			s->slot_fd = malloc((size_t)cl->nslots * sizeof(int));
			s->slot_refs = calloc((size_t)cl->nslots, sizeof(int));
			if (s->slot_fd == NULL || s->slot_refs == NULL)
				r = UV_ENOMEM;
			for (i = 0; s->slot_fd != NULL && i < cl->nslots; i++)
				s->slot_fd[i] = -1;
		}
	}
	if (r != 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s->slot_fd);
		free(s->slot_refs);
		free(s->path);
		free(s->key);
		free(s);
		return r;
	}
	server_link(cl, s);
	*sp = s;
	return 0;
}

/* The sockname of an rr TCP reply: {address, family, port}. */
static json_t *
sockname(struct server *s)
{
	char host[INET6_ADDRSTRLEN] = "";
	int port;

	if (s->sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&s->sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	return json_pack("{s:s, s:s, s:i}", "address", host, "family",
	    s->sa.ss_family == AF_INET ? "IPv4" : "IPv6", "port", port);
}

/* The reply's common part: {cmd, errno, key, ack, data}. */
static json_t *
reply_msg(json_t *errno_v, const char *key, json_t *ack, json_t *data)
{
	json_t *o = cluster_msg();

	if (o == NULL || json_object_set_new(o, "errno", errno_v) != 0 ||
	    json_object_set_new(o, "key", json_string(key)) != 0 ||
	    json_object_set(o, "ack", ack) != 0 ||
	    json_object_set(o, "data", data != NULL ? data : json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
error_event(struct cp__cluster *cl, struct cp__cluster_worker *cw, json_t *m,
    int err)
{
	struct server tmp = { .cl = cl, .kind = S_TCP, .fd = -1 };
	const char *addr = json_string_value(json_object_get(m, "address"));
	const char *type = json_string_value(json_object_get(m, "addressType"));
	int port = int_field(m, "port", -1);
	char label[300];

	if (type != NULL) {
		tmp.kind = S_UDP;
		tmp.sa.ss_family = strcmp(type, "udp6") == 0 ? AF_INET6 : AF_INET;
	} else if (int_field(m, "addressType", 0) == -1) {
		tmp.kind = S_UNIX;
	}
	tmp.rr = cl->sched == CP_SCHED_RR;
	tmp.reuseport = cl->sched == CP_SCHED_REUSEPORT && tmp.kind == S_TCP;
	if (addr == NULL)
		addr = tmp.kind == S_UDP ? "" : "::";
	if (port >= 0 && tmp.kind != S_UNIX)
		snprintf(label, sizeof(label), strchr(addr, ':') != NULL ?
		    "[%s]:%d" : "%s:%d", addr, port);
	else
		snprintf(label, sizeof(label), "%s", addr);
	emit_server(&tmp, CP_POOL_SERVER_ERROR, cw, err, label);
}

static void
query_server(struct cp__cluster *cl, struct cp__cluster_worker *cw, json_t *m)
{
	json_t *ack = json_object_get(m, "seq"), *data = json_object_get(m, "data");
	json_t *o;
	struct server *s;
	char *key;
	int r, fd;

	/* Node's primary ignores a worker on its way out. */
	if (cw->disconnect_sent || cw->exited_after_disconnect || ack == NULL)
		return;
	if ((key = make_key(m)) == NULL)
		return;
	s = find_server(cl, key);
	r = s != NULL ? 0 : server_new(cl, key, m, &s);
	if (r == 0 && s != NULL && s->nusers == 0 && !s->lingering)
		emit_server(s, CP_POOL_SERVER_OPEN, cw, 0, s->label);
	if (r == 0 && (r = server_add(s, cw)) != 0 && s->nusers == 0 &&
	    !s->lingering)
		server_close(s);
	if (r != 0) {
		/* The libuv errno the worker reports as "bind EADDRINUSE ...". */
		error_event(cl, cw, m, r);
		send_cluster(cw, reply_msg(json_integer(r), key, ack, data), -1,
		    CP_HANDLE_NONE, NULL, NULL);
		free(key);
		return;
	}
	free(key);
	if (s->data == NULL && data != NULL && !json_is_null(data))
		s->data = json_incref(data);
	if (s->rr) {
		o = reply_msg(json_null(), s->key, ack, s->data != NULL ? s->data :
		    data);
		if (o != NULL && s->kind == S_TCP)
			json_object_set_new(o, "sockname", sockname(s));
		send_cluster(cw, o, -1, CP_HANDLE_NONE, NULL, NULL);
		distribute(s);
		return;
	}
	fd = s->reuseport ? s->slot_fd[cp_worker_slot(cw->w)] : s->fd;
	send_cluster(cw, reply_msg(json_integer(0), s->key, ack,
	    s->data != NULL ? s->data : data), fd,
	    s->kind == S_UDP ? CP_HANDLE_DGRAM_NATIVE : CP_HANDLE_NET_NATIVE,
	    NULL, NULL);
}

/* ---- handing servers over (a new master, USR2) ------------------------ */

/* Whether the boolean socket option opt (SO_REUSEPORT...) is on for fd. */
static bool
sock_flag(int fd, int opt)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, opt, &on, &len) == 0 && on != 0;
}

/*
 * Non-blocking, as the sockets we open (send_cluster sends them
 * unchecked): a worker handed a blocking one (Node 18) hangs.
 */
static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return CP_ERR(errno);
	return 0;
}

/*
 * Reuseport: one more socket of s's group from an old master, a spare
 * for a slot (same address, SO_REUSEPORT, a listening TCP socket).
 */
static int
adopt_more(struct server *s, int fd)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int r;

	if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0)
		return CP_ERR(errno);
	if (!sock_flag(fd, SO_ACCEPTCONN) || salen != s->salen ||
	    memcmp(&sa, &s->sa, salen) != 0)
		return UV_EINVAL;	/* not a listener on s's address */
	if (!sock_flag(fd, SO_REUSEPORT))
		return UV_ENOTSUP;
	if ((r = set_nonblock(fd)) != 0)
		return r;
	if ((r = orphan_new(s, NULL, fd)) != 0)
		return r;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	update_poll(s);
	return 0;
}

/*
 * A socket another primary opened for key: a server no worker uses yet,
 * lingering (LINGER_MS) until one asks for key, as a server its workers
 * left does.  Its kind is the socket's own.  Under reuseport, more
 * sockets of the group may come for the same key (adopt_more).
 */
int
cp__cluster_adopt(struct cp__cluster *cl, const char *key, int fd)
{
	struct sockaddr_un *sun;
	struct server *s;
	int type, r = 0, i;
	socklen_t len = sizeof(type);

	if (key == NULL || fd < 0)
		return UV_EINVAL;
	if ((s = find_server(cl, key)) != NULL)
		return s->reuseport && !s->closing ? adopt_more(s, fd) : UV_EEXIST;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return CP_ERR(errno);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return UV_ENOMEM;
	s->cl = cl;
	s->fd = fd;
	s->backlog = 511;
	s->retry_ms = RETRY_MIN_MS;
	s->salen = sizeof(s->sa);
	if (getsockname(fd, (struct sockaddr *)&s->sa, &s->salen) != 0)
		r = CP_ERR(errno);
	else if (type == SOCK_DGRAM && (s->sa.ss_family == AF_INET ||
	    s->sa.ss_family == AF_INET6))
		s->kind = S_UDP;
	else if (type != SOCK_STREAM)
		r = UV_EINVAL;
	else if (s->sa.ss_family == AF_UNIX)
		s->kind = S_UNIX;
	else if (s->sa.ss_family == AF_INET || s->sa.ss_family == AF_INET6)
		s->kind = S_TCP;
	else
		r = UV_EINVAL;
	/*
	 * Reuseport: a socket per slot, of one SO_REUSEPORT group; one not
	 * made so cannot join it.
	 */
	if (r == 0 && s->kind == S_TCP && cl->sched == CP_SCHED_REUSEPORT) {
		s->reuseport = true;
		if (!sock_flag(fd, SO_REUSEPORT))
			r = UV_ENOTSUP;
		else if ((s->slot_fd = malloc((size_t)cl->nslots *
		    sizeof(int))) == NULL || (s->slot_refs =
		    calloc((size_t)cl->nslots, sizeof(int))) == NULL)
			r = UV_ENOMEM;
		for (i = 0; s->slot_fd != NULL && i < cl->nslots; i++)
			s->slot_fd[i] = -1;
	}
	if (r == 0 && s->kind == S_UNIX) {
		sun = (struct sockaddr_un *)&s->sa;
		if (s->salen <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0')
			r = UV_EINVAL;		/* unnamed or abstract */
		else if ((s->path = strdup(sun->sun_path)) == NULL)
			r = UV_ENOMEM;
		else
			snprintf(s->label, sizeof(s->label), "%s", s->path);
	} else if (r == 0) {
		sa_label(&s->sa, s->label, sizeof(s->label));
	}
	if (r == 0 && (s->key = strdup(key)) == NULL)
		r = UV_ENOMEM;
	if (r == 0)
		r = set_nonblock(fd);
	if (r != 0) {
		free(s->slot_fd);
		free(s->slot_refs);
		free(s->key);
		free(s->path);
		free(s);
		return r;		/* fd stays the caller's */
	}
	s->rr = cl->sched == CP_SCHED_RR && s->kind != S_UDP;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	server_link(cl, s);
	s->lingering = true;
	uv_timer_start(&s->timer, timer_cb, LINGER_MS, 0);
	return 0;
}

int
cp__cluster_servers(struct cp__cluster *cl, cp_pool_server_cb cb,
    void *arg)
{
	struct server *s;
	struct orphan *o;
	int n = 0, r, i;

	for (s = cl->servers; s != NULL; s = s->next) {
		if (s->closing)
			continue;
		if (s->fd >= 0) {
			if ((r = cb(s->key, s->fd, arg)) != 0)
				return r < 0 ? r : n;
			n++;
		}
		if (!s->reuseport)
			continue;
		/* Every socket of the group, under one key: the slots'... */
		for (i = 0; i < cl->nslots; i++) {
			if (s->slot_fd[i] < 0)
				continue;
			if ((r = cb(s->key, s->slot_fd[i], arg)) != 0)
				return r < 0 ? r : n;
			n++;
		}
		/* ... and those of leaving workers, and spares. */
		for (o = s->orphans; o != NULL; o = o->next) {
			if ((r = cb(s->key, o->fd, arg)) != 0)
				return r < 0 ? r : n;
			n++;
		}
	}
	return n;
}

void
cp__cluster_release(struct cp__cluster *cl)
{
	struct server *s;

	cl->released = true;
	for (s = cl->servers; s != NULL; s = s->next) {
		if (s->closing)
			continue;
		/* Handed over: the new master serves them, we take none. */
		while (s->orphans != NULL)
			orphan_end(s->orphans, false);
		update_poll(s);
		/* The new owner of the path unlinks it, not us. */
		free(s->path);
		s->path = NULL;
	}
}

int
cp__cluster_pending(const struct cp__cluster *cl)
{
	const struct cp__cluster_worker *cw;
	const struct server *s;
	const struct conn *c;
	int n = 0;

	for (s = cl->servers; s != NULL; s = s->next)
		for (c = s->pending; c != NULL; c = c->next)
			n++;
	for (cw = cl->workers; cw != NULL; cw = cw->next)
		n += cw->ninflight;
	return n;
}

/* ---- the pool's side ---------------------------------------------------- */

int
cp__cluster_create(struct cp_pool *p, uv_loop_t *loop, enum cp_sched sched,
    int nslots, struct cp__cluster **clp)
{
	struct cp__cluster *cl;

	if (sched != CP_SCHED_RR && sched != CP_SCHED_NONE &&
	    sched != CP_SCHED_REUSEPORT)
		return UV_EINVAL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return UV_ENOMEM;
	cl->pool = p;
	cl->loop = loop;
	cl->sched = sched;
	cl->nslots = nslots;
	*clp = cl;
	return 0;
}

struct cp__cluster_worker *
cp__cluster_worker_new(struct cp__cluster *cl, struct cp_worker *w)
{
	struct cp__cluster_worker *cw = calloc(1, sizeof(*cw));

	if (cw != NULL) {
		cw->cl = cl;
		cw->w = w;
		cw->next = cl->workers;
		if (cl->workers != NULL)
			cl->workers->prev = cw;
		cl->workers = cw;
	}
	return cw;
}

void
cp__cluster_worker_free(struct cp__cluster *cl, struct cp__cluster_worker *cw)
{
	if (cw == NULL)
		return;
	cp__cluster_worker_gone(cl, cw);
	if (cw->prev != NULL)
		cw->prev->next = cw->next;
	else
		cl->workers = cw->next;
	if (cw->next != NULL)
		cw->next->prev = cw->prev;
	free(cw->inflight);
	free(cw);
}

void
cp__cluster_worker_gone(struct cp__cluster *cl, struct cp__cluster_worker *cw)
{
	struct server *s, *next;
	struct conn *c;

	if (cw->gone)
		return;
	cw->gone = true;
	/* Connections handed to it and not answered go to another worker. */
	while (cw->ninflight > 0) {
		c = cw->inflight[--cw->ninflight];
		requeue(c, false);
	}
	for (s = cl->servers; s != NULL; s = next) {
		next = s->next;
		if (!s->closing) {
			orphans_end(s, cw);
			server_remove(s, cw, false);
		}
	}
	for (s = cl->servers; s != NULL; s = s->next)
		if (!s->closing)
			distribute(s);
}

void
cp__cluster_worker_serving(struct cp__cluster *cl,
    struct cp__cluster_worker *cw)
{
	struct server *s;

	for (s = cl->servers; s != NULL; s = s->next) {
		if (s->closing || find_user(s, cw) == NULL)
			continue;
		update_poll(s);
		distribute(s);
	}
}

int
cp__cluster_disconnect(struct cp__cluster *cl, struct cp__cluster_worker *cw)
{
	struct server *s, *next;
	json_t *o;

	if (cw->disconnect_sent || cw_channel(cw) == NULL)
		return UV_ENOTCONN;
	o = cluster_msg();
	if (o != NULL && json_object_set_new(o, "act",
	    json_string("disconnect")) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (send_cluster(cw, o, -1, CP_HANDLE_NONE, NULL, NULL) < 0)
		return UV_ENOTCONN;
	cw->disconnect_sent = true;
	/* As Node's primary: no more connections for it. */
	for (s = cl->servers; s != NULL; s = next) {
		next = s->next;
		if (!s->closing)
			server_remove(s, cw, false);
	}
	return 0;
}

void
cp__cluster_message(struct cp__cluster *cl, struct cp__cluster_worker *cw,
    const struct cp_message *msg)
{
	json_t *m = msg->value, *ack;
	const char *cmd, *act, *key;
	struct server *s;
	struct conn *c;
	json_t *o;

	if (!json_is_object(m) || (cmd = json_string_value(json_object_get(m,
	    "cmd"))) == NULL || strcmp(cmd, "NODE_CLUSTER") != 0)
		return;
	/* A reply to one of ours: only newconn expects one. */
	ack = json_object_get(m, "ack");
	if (json_is_integer(ack) && (c = inflight_take(cw,
	    (long)json_integer_value(ack))) != NULL) {
		newconn_reply(cw, c, json_is_true(json_object_get(m, "accepted")));
		return;
	}
	if ((act = json_string_value(json_object_get(m, "act"))) == NULL)
		return;
	if (strcmp(act, "online") == 0) {
		cp__worker_online(cw->w);
	} else if (strcmp(act, "queryServer") == 0) {
		query_server(cl, cw, m);
	} else if (strcmp(act, "listening") == 0) {
		cp__worker_ready(cw->w);
	} else if (strcmp(act, "close") == 0) {
		if ((key = json_string_value(json_object_get(m, "key"))) != NULL &&
		    (s = find_server(cl, key)) != NULL) {
			server_remove(s, cw, true);
			if (!s->closing)
				distribute(s);	/* what its socket held */
		}
	} else if (strcmp(act, "exitedAfterDisconnect") == 0 ||
	    strcmp(act, "suicide") == 0) {
		/* It leaves for good: a voluntary exit, not restarted. */
		cw->exited_after_disconnect = true;
		cp__worker_voluntary(cw->w);
		o = cluster_msg();
		if (o != NULL && json_object_set(o, "ack",
		    json_object_get(m, "seq") != NULL ? json_object_get(m, "seq") :
		    json_null()) != 0) {
			json_decref(o);
			o = NULL;
		}
		send_cluster(cw, o, -1, CP_HANDLE_NONE, NULL, NULL);
	}
	/* Anything else (unknown acts, stale replies) is ignored, as Node does. */
}

void
cp__cluster_close(struct cp__cluster *cl, void (*done)(struct cp_pool *))
{
	struct server *s, *next;

	cl->closing = true;
	for (s = cl->servers; s != NULL; s = next) {
		next = s->next;
		server_close(s);
	}
	if (cl->closing_servers == 0) {
		done(cl->pool);
		return;
	}
	cl->done = done;
}

void
cp__cluster_free(struct cp__cluster *cl)
{
	free(cl);
}
