/*
 * core/channel.c - Node's IPC channel: json lines and handle passing.
 *
 * The socket is driven with recvmsg/sendmsg under a uv_poll_t rather than
 * a uv_pipe_t: received fds must be bound to the NODE_HANDLE lines of the
 * read that brought them, whatever their kind (libuv can only hand over
 * the kinds it knows),
 * and a handle must go out on the same sendmsg as its whole line without
 * wrapping the caller's fd in a libuv handle.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define MAX_FDS_PER_READ CP_MAX_FDS_PER_READ
#define READ_CHUNK 65536
/* Reads per poll callback before letting the loop serve others. */
#define READS_PER_TURN 16
/* Node: MAX_HANDLE_RETRANSMISSIONS. */
#define MAX_RETRANSMISSIONS 3
#define SOCKET_POLL_MS 100
/*
 * Lines sent while the channel is reading (replies from a message
 * callback) after the first one, which goes at once, are gathered and
 * written together once this much is waiting, and after each chunk read:
 * one sendmsg for a few dozen small messages instead of one each, yet
 * batches small enough that the peer works on the first ones while we
 * make the next (measured: tests/bench).
 */
#define GATHER_MAX 1024

struct wentry {
	struct wentry *next;
	char *buf;
	size_t len;
	size_t cap;			/* of buf: plain lines are appended */
	size_t off;			/* bytes already written */
	int fd;				/* sent with the first byte, or -1; ours */
	cp_send_cb cb;
	void *arg;
	json_t *msg;			/* handle sends: the user's message */
	enum cp_handle_type type;
	unsigned int flags;
	int tries;
	bool priority;			/* ACK/NACK/answers: not held behind a handle */
	bool ping;			/* cp_channel_ping: a NACK is the answer */
};

static void finish_close(struct cp_channel *ch);
static void update_poll(struct cp_channel *ch);
static void poll_cb(uv_poll_t *h, int status, int events);
static int flush_queue(struct cp_channel *ch, bool may_call_back);
static void check_sockets(struct cp_channel *ch);

static const char *const handle_names[] = {
	[CP_HANDLE_NONE] = NULL,
	[CP_HANDLE_NET_SERVER] = "net.Server",
	[CP_HANDLE_NET_SOCKET] = "net.Socket",
	[CP_HANDLE_NET_NATIVE] = "net.Native",
	[CP_HANDLE_DGRAM_SOCKET] = "dgram.Socket",
	[CP_HANDLE_DGRAM_NATIVE] = "dgram.Native",
};

const char *
cp_handle_type_name(enum cp_handle_type t)
{
	if ((size_t)t >= ARRAY_SIZE(handle_names))
		return NULL;
	return handle_names[t];
}

static enum cp_handle_type
handle_type_of(const char *s)
{
	size_t i;

	for (i = 1; i < ARRAY_SIZE(handle_names); i++)
		if (s != NULL && strcmp(handle_names[i], s) == 0)
			return (enum cp_handle_type)i;
	return CP_HANDLE_NONE;
}

void
cp__channel_init(struct cp_channel *ch, const struct cp_channel_events *ev,
    void *data, size_t max_message)
{
	memset(ch, 0, sizeof(*ch));
	if (ev != NULL)
		ch->ev_copy = *ev;
	ch->ev = &ch->ev_copy;
	ch->data = data;
	ch->fd = -1;
	ch->rx_fd = -1;
	cp_frame_init(&ch->frame, max_message);
}

void *
cp_channel_data(const struct cp_channel *ch)
{
	return ch->data;
}

bool
cp_channel_connected(const struct cp_channel *ch)
{
	return CH_HAS(ch, CH_CONNECTED);
}

size_t
cp_channel_queue_size(const struct cp_channel *ch)
{
	return ch->queued;
}

size_t
cp_channel_unread(const struct cp_channel *ch)
{
	int n = 0;

	if (!CH_HAS(ch, CH_OPENED) || CH_HAS(ch, CH_CLOSING) ||
	    ioctl(ch->fd, SIOCOUTQ, &n) != 0 || n < 0)
		return 0;
	return (size_t)n;
}

void
cp_channel_ref(struct cp_channel *ch)
{
	CH_CLEAR(ch, CH_UNREF);
	if (CH_HAS(ch, CH_OPENED) && !CH_HAS(ch, CH_CLOSING))
		uv_ref((uv_handle_t *)&ch->poll);
}

void
cp_channel_unref(struct cp_channel *ch)
{
	CH_SET(ch, CH_UNREF);
	/* Not while writes are queued: update_poll unrefs once they are done. */
	if (CH_HAS(ch, CH_OPENED) && !CH_HAS(ch, CH_CLOSING) && ch->wq == NULL)
		uv_unref((uv_handle_t *)&ch->poll);
}

void
cp_channel_set_max_message(struct cp_channel *ch, size_t max)
{
	ch->frame.max = max ? max : CP_FRAME_DEFAULT_MAX;
}

int
cp_channel_fd(const struct cp_channel *ch)
{
	return CH_HAS(ch, CH_OPENED) && !CH_HAS(ch, CH_CLOSING) ? ch->fd : -1;
}

int
cp_message_take_fd(const struct cp_message *m)
{
	struct cp_channel *ch = m->owner_;
	int fd;

	/* The channel, not m, records that the fd changed hands. */
	if (ch == NULL || m->fd < 0 || ch->rx_fd != m->fd)
		return -1;
	fd = ch->rx_fd;
	ch->rx_fd = -1;
	return fd;
}

/* ---- the write queue --------------------------------------------------- */

static void
free_entry(struct wentry *w)
{
	if (w->fd >= 0)
		close(w->fd);
	json_decref(w->msg);
	free(w->buf);
	free(w);
}

static void
push_entry(struct cp_channel *ch, struct wentry *w)
{
	struct wentry **pp;

	if (w->priority) {
		/* After a line already begun, before anything else. */
		pp = &ch->wq;
		if (*pp != NULL && (*pp)->off > 0)
			pp = &(*pp)->next;
		while (*pp != NULL && (*pp)->priority)
			pp = &(*pp)->next;
		w->next = *pp;
		*pp = w;
		if (w->next == NULL)
			ch->wq_tail = w;
	} else {
		w->next = NULL;
		if (ch->wq_tail != NULL)
			ch->wq_tail->next = w;
		else
			ch->wq = w;
		ch->wq_tail = w;
	}
	ch->queued += w->len - w->off;
}

static struct wentry *
pop_entry(struct cp_channel *ch)
{
	struct wentry *w = ch->wq;

	ch->wq = w->next;
	if (ch->wq == NULL)
		ch->wq_tail = NULL;
	return w;
}

/* The head may go out now: nothing is held behind an unanswered handle. */
static bool
head_ready(const struct cp_channel *ch)
{
	const struct wentry *w = ch->wq;

	return w != NULL && (w->off > 0 || w->priority || ch->inflight == NULL);
}

static ssize_t
write_some(struct cp_channel *ch, struct wentry *w)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = w->buf + w->off;
	iov.iov_len = w->len - w->off;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (w->off == 0 && w->fd >= 0) {
		/* The fd rides on the first byte of its line, as Node does. */
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &w->fd, sizeof(int));
	}
	do
		n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * Every accepted send gets its callback, after a close too (UV_ECANCELED),
 * as libuv's write requests do: close_cb comes after all of them.
 */
static void
call_back(struct cp_channel *ch, struct wentry *w, int status)
{
	if (w->cb != NULL)
		w->cb(ch, status, w->arg);
}

/* The entry's callback comes with the peer's answer, not with the write. */
static bool
answered(const struct wentry *w)
{
	return w->type != CP_HANDLE_NONE || w->ping;
}

/*
 * Writes what can be written.  Callbacks run only when may_call_back
 * (not inside cp_channel_send); otherwise entries with a callback wait
 * for the poll callback.  Returns 0 or the write error.
 */
static int
flush_queue(struct cp_channel *ch, bool may_call_back)
{
	struct wentry *w;
	ssize_t n;

	while (head_ready(ch) && !CH_HAS(ch, CH_CLOSING)) {
		w = ch->wq;
		/* A handle's callback waits for its ACK: it may go at once. */
		if (w->cb != NULL && !may_call_back && !answered(w))
			break;
		n = write_some(ch, w);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return CP_ERR(errno);
		}
		w->off += (size_t)n;
		ch->queued -= (size_t)n;
		if (w->off < w->len)
			break;		/* the socket is full */
		pop_entry(ch);
		if (answered(w)) {
			/* Node: everything else waits for this handle's ACK/NACK. */
			ch->handles_queued--;
			ch->inflight = w;
			continue;
		}
		call_back(ch, w, 0);
		free_entry(w);
	}
	return 0;
}

static void
fail_queue(struct cp_channel *ch, int err)
{
	struct wentry *w;

	while (ch->wq != NULL) {
		w = pop_entry(ch);
		call_back(ch, w, err);
		free_entry(w);
	}
	ch->queued = 0;
	ch->handles_queued = 0;
	if ((w = ch->inflight) != NULL) {
		ch->inflight = NULL;
		call_back(ch, w, err);
		free_entry(w);
	}
}

static void
handle_closed(uv_handle_t *h)
{
	struct cp_channel *ch = h->data;

	if (--ch->closes == 0)
		finish_close(ch);
}

static void
start_close(struct cp_channel *ch, int err)
{
	if (CH_HAS(ch, CH_CLOSING))
		return;
	if (CH_HAS(ch, CH_GATHERING)) {
		/* Closed from a callback: write what would have gone at once. */
		CH_CLEAR(ch, CH_GATHERING);
		flush_queue(ch, false);
	}
	CH_SET(ch, CH_CLOSING);
	CH_CLEAR(ch, CH_CONNECTED);
	if (err != 0 && ch->end_err == 0)
		ch->end_err = err;
	/*
	 * The channel is finished (and may be freed) once both handles are
	 * closed, whatever order the loop closes them in.
	 */
	if (CH_HAS(ch, CH_SOCK_TIMER)) {
		CH_CLEAR(ch, CH_SOCK_TIMER);
		ch->closes++;
		uv_close((uv_handle_t *)&ch->sock_timer, handle_closed);
	}
	ch->closes++;
	uv_close((uv_handle_t *)&ch->poll, handle_closed);
}

static void
maybe_finish_disconnect(struct cp_channel *ch)
{
	/* Node defers a disconnect while a handle awaits its ACK; so do we. */
	if ((ch->flags & (CH_CONNECTED | CH_DISCONNECTING | CH_CLOSING)) ==
	    CH_DISCONNECTING &&
	    ch->wq == NULL && ch->inflight == NULL)
		start_close(ch, 0);
}

static void
update_poll(struct cp_channel *ch)
{
	int events = CH_HAS(ch, CH_PAUSED) ? 0 : UV_READABLE;

	if (CH_HAS(ch, CH_CLOSING))
		return;
	/*
	 * Node: a write in progress keeps even an unref'd channel alive, so
	 * the loop cannot end with messages still queued.
	 */
	if (CH_HAS(ch, CH_UNREF)) {
		if (ch->wq != NULL) {
			uv_ref((uv_handle_t *)&ch->poll);
		} else {
			uv_unref((uv_handle_t *)&ch->poll);
		}
	}
	if (head_ready(ch))
		events |= UV_WRITABLE;
	if (events != ch->events) {
		ch->events = events;
		if (events == 0)
			uv_poll_stop(&ch->poll);
		else
			uv_poll_start(&ch->poll, events, poll_cb);
	}
}

void
cp_channel_pause(struct cp_channel *ch)
{
	if (CH_HAS(ch, CH_PAUSED))
		return;
	CH_SET(ch, CH_PAUSED);
	if (CH_HAS(ch, CH_OPENED) && !CH_HAS(ch, CH_CLOSING))
		update_poll(ch);
}

void
cp_channel_resume(struct cp_channel *ch)
{
	if (!CH_HAS(ch, CH_PAUSED))
		return;
	CH_CLEAR(ch, CH_PAUSED);
	if (CH_HAS(ch, CH_OPENED) && !CH_HAS(ch, CH_CLOSING))
		update_poll(ch);
}

bool
cp_channel_paused(const struct cp_channel *ch)
{
	return CH_HAS(ch, CH_PAUSED);
}

/* Queues a complete line (copied); fd (>= 0) is ours and goes with it. */
static int
enqueue(struct cp_channel *ch, const char *data, size_t len, int fd,
    bool priority, cp_send_cb cb, void *arg, struct wentry **wp)
{
	struct wentry *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return UV_ENOMEM;
	if ((w->buf = malloc(len)) == NULL) {
		free(w);
		return UV_ENOMEM;
	}
	memcpy(w->buf, data, len);
	w->len = len;
	w->cap = len;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	w->priority = priority;
	push_entry(ch, w);
	if (wp != NULL)
		*wp = w;
	return 0;
}

/*
 * Appends a plain line to the last entry if that is plain too (no fd, no
 * callback, not an answer) and small: many messages, one write.  Returns
 * 0, 1 if it cannot, or UV_ENOMEM.
 */
static int
append_line(struct cp_channel *ch, const char *data, size_t len)
{
	struct wentry *w = ch->wq_tail;
	size_t ncap;
	char *nbuf;

	if (w == NULL || w->cb != NULL || w->fd >= 0 || w->priority ||
	    w->type != CP_HANDLE_NONE || w->ping ||
	    w->len - w->off + len > GATHER_MAX)
		return 1;
	if (w->len + len > w->cap) {
		ncap = w->cap * 2 > w->len + len ? w->cap * 2 : w->len + len;
		if ((nbuf = realloc(w->buf, ncap)) == NULL)
			return UV_ENOMEM;
		w->buf = nbuf;
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	ch->queued += len;
	return 0;
}

/* Sends one complete line (with its '\n'). */
static int
write_line(struct cp_channel *ch, const char *data, size_t len, bool priority,
    cp_send_cb cb, void *arg)
{
	struct wentry w0, *w;
	ssize_t n;
	int r;

	/*
	 * Nothing queued and nobody to call back: try the socket at once, so
	 * most messages cost one write(2) and no allocation.
	 */
	if (cb == NULL && ch->wq == NULL &&
	    !(CH_HAS(ch, CH_GATHERING) && CH_HAS(ch, CH_BATCH_BEGUN)) &&
	    (priority || ch->inflight == NULL)) {
		/* While reading, the first reply still goes at once. */
		if (CH_HAS(ch, CH_GATHERING))
			CH_SET(ch, CH_BATCH_BEGUN);
		memset(&w0, 0, sizeof(w0));
		w0.buf = (char *)data;
		w0.len = len;
		w0.fd = -1;
		n = write_some(ch, &w0);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				r = CP_ERR(errno);
				if (r == UV_EPIPE || r == UV_ECONNRESET)
					CH_CLEAR(ch, CH_CONNECTED);
				return r;
			}
			n = 0;
		}
		/*
		 * Queue the rest at the head, marked begun: nothing may cut in
		 * before it, and it goes out as soon as the socket drains (Node
		 * hangs if told to disconnect with half a line buffered).
		 */
		r = enqueue(ch, data, len, -1, priority, NULL, NULL, &w);
		if (r == 0) {
			w->off = (size_t)n;
			ch->queued -= (size_t)n;
		}
	} else if (cb != NULL || priority ||
	    (r = append_line(ch, data, len)) == 1) {
		r = enqueue(ch, data, len, -1, priority, cb, arg, NULL);
	}
	if (r != 0)
		return r;
	if (CH_HAS(ch, CH_GATHERING)) {
		/* A batch is full once a line needs an entry of its own. */
		if (ch->wq != ch->wq_tail)
			flush_queue(ch, false);
	} else {
		update_poll(ch);
	}
	return ch->queued >= CP_SEND_HIGH_WATER ? 1 : 0;
}

int
cp_channel_send(struct cp_channel *ch, const json_t *value, cp_send_cb cb,
    void *arg)
{
	int r;

	if (!CH_HAS(ch, CH_CONNECTED))
		return UV_EPIPE;
	ch->scratch.len = 0;
	if ((r = cp__channel_encode(ch, value, &ch->scratch)) != 0)
		return r;
	r = write_line(ch, ch->scratch.data, ch->scratch.len, false, cb, arg);
	/* Do not keep a huge buffer around after a huge message. */
	if (ch->scratch.cap > (1u << 20))
		cp_buf_release(&ch->scratch);
	return r;
}

int
cp_channel_send_line(struct cp_channel *ch, const char *line, size_t len,
    json_error_t *error, cp_send_cb cb, void *arg)
{
	char *copy;
	int r;

	if (!CH_HAS(ch, CH_CONNECTED))
		return UV_EPIPE;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (CH_HAS(ch, CH_ADVANCED))	/* the JSON form of a value, sent as V8's */
		return cp__channel_send_text(ch, line, len, error, cb, arg);
	if ((r = cp_msg_validate(line, len, error)) != 0)
		return r;
	if (memchr(line, '\n', len) != NULL)
		return UV_EPROTO;
	if ((copy = malloc(len + 1)) == NULL)
		return UV_ENOMEM;
	memcpy(copy, line, len);
	copy[len] = '\n';
	r = write_line(ch, copy, len + 1, false, cb, arg);
	free(copy);
	return r;
}

/* An internal message of ours (ACK, NACK, socket-list answers). */
static void
send_internal(struct cp_channel *ch, const char *cmd, const char *key,
    json_int_t count, bool with_count)
{
	json_t *v;

	if (CH_HAS(ch, CH_CLOSING))
		return;
	v = json_pack("{s:s}", "cmd", cmd);
	if (v == NULL)
		return;
	if (key != NULL)
		json_object_set_new(v, "key", json_string(key));
	if (with_count)
		json_object_set_new(v, "count", json_integer(count));
	ch->scratch.len = 0;
	if (cp__channel_encode(ch, v, &ch->scratch) == 0)
		write_line(ch, ch->scratch.data, ch->scratch.len, true, NULL, NULL);
	json_decref(v);
}

/* ---- sending handles --------------------------------------------------- */

/* Checks that fd is something Node can take as a handle of type t. */
static int
check_handle_fd(int fd, enum cp_handle_type t, const char **dgram_type)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st;
	int type, listening = 0;
	socklen_t il = sizeof(type);

	if (fstat(fd, &st) != 0)
		return UV_EBADF;
	/* A file, tty or pipe makes Node's receiver abort (SIGABRT). */
	if (!S_ISSOCK(st.st_mode))
		return UV_ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return CP_ERR(errno);
	il = sizeof(listening);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il);
	switch (t) {
	case CP_HANDLE_NET_SERVER:
	case CP_HANDLE_NET_SOCKET:
	case CP_HANDLE_NET_NATIVE:
		if (type != SOCK_STREAM || (ss.ss_family != AF_INET &&
		    ss.ss_family != AF_INET6 && ss.ss_family != AF_UNIX))
			return UV_EPROTOTYPE;
		if (t == CP_HANDLE_NET_SERVER && !listening)
			return UV_EINVAL;	/* Node's listen() would fail */
		if (t == CP_HANDLE_NET_SOCKET && listening)
			return UV_EINVAL;
		return 0;
	case CP_HANDLE_DGRAM_SOCKET:
	case CP_HANDLE_DGRAM_NATIVE:
		if (type != SOCK_DGRAM || (ss.ss_family != AF_INET &&
		    ss.ss_family != AF_INET6))
			return UV_EPROTOTYPE;
		*dgram_type = ss.ss_family == AF_INET ? "udp4" : "udp6";
		return 0;
	default:
		return UV_EINVAL;
	}
}

static int
encode_handle_line(struct cp_channel *ch, const json_t *msg,
    enum cp_handle_type type, const char *dgram_type)
{
	json_t *v;
	int r;

	v = json_pack("{s:s, s:s}", "cmd", "NODE_HANDLE", "type",
	    cp_handle_type_name(type));
	if (v == NULL)
		return UV_ENOMEM;
	if (msg != NULL &&
	    json_object_set_new(v, "msg", cp__channel_msg_out(ch, v, msg)) != 0) {
		json_decref(v);
		return UV_ENOMEM;
	}
	if (dgram_type != NULL && type == CP_HANDLE_DGRAM_SOCKET)
		json_object_set_new(v, "dgramType", json_string(dgram_type));
	ch->scratch.len = 0;
	r = cp__channel_encode(ch, v, &ch->scratch);
	json_decref(v);
	return r;
}

/*
 * Queues a handle: fd is sent as a copy, the caller's stays the caller's.
 * Unless reading (the lines gathered then go out after the chunk), it is
 * written at once when nothing holds it back: its callback waits for the
 * ACK anyway, and a round through the poll would cost a loop turn and
 * three epoll_ctl (libuv's uv_poll_start deletes and adds the fd again).
 */
static int
queue_handle(struct cp_channel *ch, const json_t *msg,
    enum cp_handle_type type, const char *dgram_type, int fd,
    unsigned int flags, cp_send_cb cb, void *arg)
{
	struct wentry *w;
	int r, dfd, held;

	if ((r = encode_handle_line(ch, msg, type, dgram_type)) != 0)
		return r;
	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return CP_ERR(errno);
	if ((r = enqueue(ch, ch->scratch.data, ch->scratch.len, dfd, false, cb,
	    arg, &w)) != 0) {
		close(dfd);
		return r;
	}
	w->type = type;
	w->flags = flags;
	w->msg = json_incref((json_t *)msg);
	ch->handles_queued++;
	/* Held behind another handle: Node's send() says false then too. */
	held = ch->queued >= CP_SEND_HIGH_WATER || ch->inflight != NULL ||
	    ch->handles_queued > 1;
	/*
	 * A write error is left to the poll, which reports it to cb.  While
	 * reading, poll_cb flushes and updates the poll once it is done (a
	 * poll changed and changed back costs libuv three epoll_ctl).
	 */
	if (!CH_HAS(ch, CH_GATHERING)) {
		flush_queue(ch, false);
		update_poll(ch);
	}
	return held ? 1 : 0;
}

int
cp_channel_send_handle(struct cp_channel *ch, const json_t *msg,
    enum cp_handle_type type, int fd, unsigned int flags, cp_send_cb cb,
    void *arg)
{
	const char *dgram_type = NULL;
	int r, fl;

	if (!CH_HAS(ch, CH_CONNECTED))
		return UV_EPIPE;
	if (msg == NULL)
		return UV_EINVAL;	/* Node: ERR_MISSING_ARGS */
	if ((r = check_handle_fd(fd, type, &dgram_type)) != 0)
		return r;
	/*
	 * Node's sockets are all non-blocking; a blocking one would make a
	 * worker that loses a race for a connection sleep in accept().  The
	 * flag belongs to the socket, so the caller's copy changes too.
	 */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return CP_ERR(errno);
	return queue_handle(ch, msg, type, dgram_type, fd, flags, cb, arg);
}

int
cp__channel_send_own(struct cp_channel *ch, const json_t *msg,
    enum cp_handle_type type, int fd, cp_send_cb cb, void *arg)
{
	if (!CH_HAS(ch, CH_CONNECTED))
		return UV_EPIPE;
	if (type == CP_HANDLE_DGRAM_SOCKET)
		return UV_EINVAL;	/* needs the dgramType a check finds */
	return queue_handle(ch, msg, type, NULL, fd, 0, cb, arg);
}

int
cp_channel_ping(struct cp_channel *ch, cp_send_cb cb, void *arg)
{
	static const char line[] = "{\"cmd\":\"NODE_HANDLE\"}\n";
	struct wentry *w;
	int r;

	if (!CH_HAS(ch, CH_CONNECTED))
		return UV_EPIPE;
	if ((r = enqueue(ch, line, sizeof(line) - 1, -1, false, cb, arg,
	    &w)) != 0)
		return r;
	w->ping = true;
	ch->handles_queued++;
	if (!CH_HAS(ch, CH_GATHERING)) {	/* as queue_handle */
		flush_queue(ch, false);
		update_poll(ch);
	}
	return 0;
}

/* The peer answered the handle in flight. */
static void
handle_answered(struct cp_channel *ch, bool ack, const struct cp_message *m)
{
	struct wentry *w = ch->inflight;
	int fd;

	if (w == NULL) {
		/* Node dies of an unasked ACK; we report it and go on. */
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, UV_EPROTO, m->line, m->len, ch->data);
		return;
	}
	ch->inflight = NULL;
	if (w->ping) {
		/* A NACK: the peer's event loop read it.  An ACK: not Node. */
		call_back(ch, w, ack ? UV_EPROTO : 0);
		free_entry(w);
		return;
	}
	if (!ack && w->type == CP_HANDLE_NET_SOCKET &&
	    !(w->flags & CP_SEND_KEEP_OPEN) && w->tries < MAX_RETRANSMISSIONS) {
		/* Node retries a plain net.Socket up to three times. */
		w->tries++;
		w->off = 0;
		w->priority = true;	/* first in line, after a line begun */
		push_entry(ch, w);
		w->priority = false;
		ch->handles_queued++;
		return;
	}
	fd = w->fd;
	w->fd = -1;
	if (fd >= 0)
		close(fd);
	call_back(ch, w, ack ? 0 : UV_ECONNREFUSED);
	free_entry(w);
}

/* ---- received sockets with a key (NODE_SOCKET_* answers) ---------------- */

struct keyed_socket {
	struct keyed_socket *next;
	char *key;
	ino_t ino;
	dev_t dev;
};

/*
 * How many sockets received under key are still open in this process:
 * the program owns the fds, so look for any fd of ours that still refers
 * to each socket.  key "" only prunes closed entries.
 */
static json_int_t
count_open(struct cp_channel *ch, const char *key)
{
	struct keyed_socket *k, **pp;
	struct dirent *de;
	struct stat st;
	json_int_t n = 0;
	DIR *d;
	int fd;
	bool *alive;
	size_t i, nk = 0;

	for (k = ch->keyed; k != NULL; k = k->next)
		nk++;
	if (nk == 0 || (alive = calloc(nk, sizeof(*alive))) == NULL)
		return 0;
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			fd = atoi(de->d_name);
			if (fd == dirfd(d) || fstat(fd, &st) != 0 ||
			    !S_ISSOCK(st.st_mode))
				continue;
			for (i = 0, k = ch->keyed; k != NULL; k = k->next, i++)
				if (k->ino == st.st_ino && k->dev == st.st_dev)
					alive[i] = true;
		}
		closedir(d);
	} else {
		for (i = 0; i < nk; i++)
			alive[i] = true;	/* cannot tell: assume open */
	}
	i = 0;
	for (pp = &ch->keyed; (k = *pp) != NULL; i++) {
		if (!alive[i]) {
			*pp = k->next;
			free(k->key);
			free(k);
			continue;
		}
		if (strcmp(k->key, key) == 0)
			n++;
		pp = &k->next;
	}
	free(alive);
	return n;
}

static void
sock_timer_cb(uv_timer_t *t)
{
	check_sockets(t->data);
}

/* Answers pending NODE_SOCKET_NOTIFY_CLOSE requests whose sockets are all closed. */
static void
check_sockets(struct cp_channel *ch)
{
	size_t i, o = 0;

	for (i = 0; i < ch->n_notify; i++) {
		if (count_open(ch, ch->notify[i]) == 0) {
			send_internal(ch, "NODE_SOCKET_ALL_CLOSED", ch->notify[i], 0,
			    false);
			free(ch->notify[i]);
		} else {
			ch->notify[o++] = ch->notify[i];
		}
	}
	ch->n_notify = o;
	if (o == 0 && CH_HAS(ch, CH_SOCK_TIMER))
		uv_timer_stop(&ch->sock_timer);
	update_poll(ch);
}

static void
remember_socket(struct cp_channel *ch, const char *key, int fd)
{
	struct keyed_socket *k;
	struct stat st;

	if (fstat(fd, &st) != 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return;
	if ((k->key = strdup(key)) == NULL) {
		free(k);
		return;
	}
	k->ino = st.st_ino;
	k->dev = st.st_dev;
	k->next = ch->keyed;
	ch->keyed = k;
}

static void
notify_close(struct cp_channel *ch, const char *key)
{
	char **n;

	if (count_open(ch, key) == 0) {
		send_internal(ch, "NODE_SOCKET_ALL_CLOSED", key, 0, false);
		return;
	}
	if ((n = realloc(ch->notify, (ch->n_notify + 1) * sizeof(*n))) == NULL)
		return;
	ch->notify = n;
	if ((n[ch->n_notify] = strdup(key)) == NULL)
		return;
	ch->n_notify++;
	if (!CH_HAS(ch, CH_SOCK_TIMER)) {
		uv_timer_init(ch->poll.loop, &ch->sock_timer);
		ch->sock_timer.data = ch;
		uv_unref((uv_handle_t *)&ch->sock_timer);
		CH_SET(ch, CH_SOCK_TIMER);
	}
	uv_timer_start(&ch->sock_timer, sock_timer_cb, SOCKET_POLL_MS,
	    SOCKET_POLL_MS);
}

/* ---- reading ----------------------------------------------------------- */

/*
 * The fd for a NODE_HANDLE line that begins at stream offset off: the
 * next one of the read that brought those bytes (ipc-protocol.md 4.1:
 * the fd-carrying segment ends its read, so its line begins there), or
 * -1.  Like Node, an fd is never carried over to a later read's lines.
 */
static int
claim_fd(struct cp_channel *ch, uint64_t off)
{
	struct cp_rxfds *g;
	int i;

	for (i = 0; i < ch->nrx; i++) {
		g = &ch->rx[i];
		if (g->start <= off && off < g->end && g->used < g->n)
			return g->fds[g->used++];
	}
	return -1;
}

static void
close_group(struct cp_rxfds *g)
{
	while (g->used < g->n)
		close(g->fds[g->used++]);
}

/*
 * After a read's lines were handled: fds no line can claim any more are
 * closed at once (a peer must not fill our fd table with strays).  Only
 * a group in which the incomplete line began can still be claimed.
 */
static void
drop_stray_fds(struct cp_channel *ch)
{
	uint64_t p = ch->frame.line_off;
	int i, o = 0;

	for (i = 0; i < ch->nrx; i++) {
		if (ch->rx[i].start <= p && p < ch->rx[i].end &&
		    ch->rx[i].used < ch->rx[i].n) {
			if (o != i)
				ch->rx[o] = ch->rx[i];
			o++;
		} else {
			close_group(&ch->rx[i]);
		}
	}
	ch->nrx = o;
}

static void
close_all_fds(struct cp_channel *ch)
{
	int i;

	for (i = 0; i < ch->nrx; i++)
		close_group(&ch->rx[i]);
	ch->nrx = 0;
}

static void
deliver(struct cp_channel *ch, struct cp_message *m, bool internal)
{
	int saved = ch->rx_fd;

	m->owner_ = ch;
	ch->rx_fd = m->fd;
	if (internal) {
		if (ch->ev->on_internal != NULL)
			ch->ev->on_internal(ch, m, ch->data);
	} else if (ch->ev->on_message != NULL) {
		ch->ev->on_message(ch, m, ch->data);
	}
	/* An fd the program did not take is closed: nothing leaks. */
	if (ch->rx_fd >= 0)
		close(ch->rx_fd);
	ch->rx_fd = saved;
}

static void
on_handle_message(struct cp_channel *ch, struct cp_message *m, json_t *v)
{
	json_t *inner = v, *msg, *key, *dt, *rebased;
	const char *type;
	int fd;

	/*
	 * Node's retransmission of a net.Socket wraps the whole first frame:
	 * {"cmd":"NODE_HANDLE","type":"net.Native","msg":{"cmd":"NODE_HANDLE",...}}.
	 * Unwrap it and answer once (Node itself would ACK twice).
	 */
	msg = json_object_get(v, "msg");
	if (json_is_object(msg) && json_is_string(json_object_get(msg, "cmd")) &&
	    strcmp(json_string_value(json_object_get(msg, "cmd")),
	    "NODE_HANDLE") == 0)
		inner = msg;
	if ((fd = claim_fd(ch, ch->frame.line_off)) < 0) {
		/* Node: a NODE_HANDLE without an fd is NACKed and dropped. */
		send_internal(ch, "NODE_HANDLE_NACK", NULL, 0, false);
		/* A bare one is a ping (cp_channel_ping), not an error. */
		if (ch->ev->on_error != NULL && json_object_size(v) > 1)
			ch->ev->on_error(ch, UV_EBADF, m->line, m->len, ch->data);
		return;
	}
	type = json_string_value(json_object_get(inner, "type"));
	if (handle_type_of(type) == CP_HANDLE_NONE) {
		/*
		 * A type we cannot name (Node's receiver throws on it): the fd
		 * is closed, the sender told, the program shown the line.
		 */
		close(fd);
		send_internal(ch, "NODE_HANDLE_NACK", NULL, 0, false);
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, UV_EPROTO, m->line, m->len, ch->data);
		return;
	}
	send_internal(ch, "NODE_HANDLE_ACK", NULL, 0, false);
	key = json_object_get(inner, "key");
	dt = json_object_get(inner, "dgramType");
	msg = json_object_get(inner, "msg");
	m->handle_type = handle_type_of(type);
	m->fd = fd;
	m->key = json_is_string(key) ? json_string_value(key) : NULL;
	m->dgram_type = json_is_string(dt) ? json_string_value(dt) : NULL;
	if (m->key != NULL && m->handle_type == CP_HANDLE_NET_SOCKET)
		remember_socket(ch, m->key, fd);
	rebased = cp__channel_msg_in(ch, v, msg);
	m->value = rebased != NULL ? rebased : msg != NULL ? msg : json_null();
	deliver(ch, m, cp_msg_is_internal(msg));
	json_decref(rebased);
}

static void
on_internal_message(struct cp_channel *ch, struct cp_message *m, json_t *v)
{
	const char *cmd = json_string_value(json_object_get(v, "cmd"));
	const char *key = json_string_value(json_object_get(v, "key"));

	if (strcmp(cmd, "NODE_HANDLE") == 0) {
		on_handle_message(ch, m, v);
	} else if (strcmp(cmd, "NODE_HANDLE_ACK") == 0) {
		handle_answered(ch, true, m);
	} else if (strcmp(cmd, "NODE_HANDLE_NACK") == 0) {
		handle_answered(ch, false, m);
	} else if (strcmp(cmd, "NODE_SOCKET_GET_COUNT") == 0 && key != NULL) {
		send_internal(ch, "NODE_SOCKET_COUNT", key, count_open(ch, key),
		    true);
	} else if (strcmp(cmd, "NODE_SOCKET_NOTIFY_CLOSE") == 0 && key != NULL) {
		notify_close(ch, key);
	} else {
		deliver(ch, m, true);
	}
}

static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct cp_channel *ch = arg;
	struct cp_message m;
	json_t *v;
	int r;

	if (CH_HAS(ch, CH_CANCELLED))
		return;		/* closed by the program: no more events */
	if (err != 0) {
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, err, line, len, ch->data);
		return;
	}
	if ((r = cp__channel_decode(ch, &line, &len, &v)) != 0) {
		/* UV_EPROTO, or UV_ENOMEM: the line could not be read whole. */
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, r == UV_ENOMEM ? r : UV_EPROTO,
			    line, len, ch->data);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.value = v;
	m.line = line;
	m.len = len;
	m.fd = -1;
	if (cp_msg_is_internal(v))
		on_internal_message(ch, &m, v);
	else
		deliver(ch, &m, false);
	json_decref(v);
}

/* Keeps the fds of a read of n bytes for the lines that begin in it. */
static void
keep_fds(struct cp_channel *ch, struct msghdr *mh, size_t n)
{
	struct cp_rxfds *g = NULL;
	struct cmsghdr *c;
	int *fds, fd;
	size_t nf, i;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(c);
		if (g == NULL && n > 0 && ch->nrx < (int)ARRAY_SIZE(ch->rx)) {
			g = &ch->rx[ch->nrx++];
			g->start = ch->frame.total;
			g->end = g->start + n;
			g->n = g->used = 0;
		}
		for (i = 0; i < nf; i++) {
			/* With no bytes (or no room) no line can claim it. */
			if (g == NULL || g->n >= MAX_FDS_PER_READ) {
				close(fds[i]);
				continue;
			}
			/*
			 * With 0-2 closed it may have landed there; the program
			 * may give it to libuv, whose close path asserts fd > 2.
			 */
			if ((fd = cp__fd_above_stdio(fds[i])) >= 0)
				g->fds[g->n++] = fd;
		}
	}
}

/* Reads until EAGAIN (or for a while).  Returns 0, or UV_EOF / an error. */
static int
read_some(struct cp_channel *ch)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS_PER_READ * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
	struct iovec iov;
	char *p;
	size_t room;
	ssize_t n;
	int i, r;

	for (i = 0; i < READS_PER_TURN &&
	    !(ch->flags & (CH_CLOSING | CH_PAUSED)); i++) {
		if ((r = cp_frame_reserve(&ch->frame, READ_CHUNK, &p, &room)) != 0)
			return r;
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = p;
		iov.iov_len = room;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		do
			n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return CP_ERR(errno);
		}
		if (mh.msg_controllen > 0)
			keep_fds(ch, &mh, (size_t)n);
		if (mh.msg_flags & MSG_CTRUNC) {
			/* The kernel dropped fds; a NODE_HANDLE will be NACKed. */
			if (ch->ev->on_error != NULL)
				ch->ev->on_error(ch, UV_EMFILE, "", 0, ch->data);
		}
		if (n == 0)
			return UV_EOF;
		cp__channel_commit(ch, (size_t)n, on_line);
		drop_stray_fds(ch);
		/* Replies to this chunk go out before the next read. */
		if (CH_HAS(ch, CH_GATHERING) && !CH_HAS(ch, CH_CLOSING))
			flush_queue(ch, false);
		CH_CLEAR(ch, CH_BATCH_BEGUN);
		/*
		 * A short read drained the socket: the poll says when more
		 * comes (it is level-triggered), so no recvmsg for EAGAIN.
		 */
		if ((size_t)n < room)
			break;
	}
	return 0;
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct cp_channel *ch = h->data;
	int r;

	if (CH_HAS(ch, CH_CLOSING))
		return;
	if (status < 0) {
		/*
		 * libuv turns POLLERR into UV_EBADF and stops the handle.  A
		 * Unix socket gets POLLERR (ECONNRESET) when the peer closed
		 * with lines of ours unread: what it sent before closing is
		 * still here, so read it (the read then ends in the error);
		 * update_poll restarts the handle if more is left.
		 */
		events = CH_HAS(ch, CH_PAUSED) ? 0 : UV_READABLE;
		ch->events = 0;
	}
	if ((events & (UV_READABLE | UV_DISCONNECT)) && !CH_HAS(ch, CH_PAUSED)) {
		/* What the callbacks send is gathered and written just after. */
		CH_SET(ch, CH_GATHERING);
		CH_CLEAR(ch, CH_BATCH_BEGUN);
		r = read_some(ch);
		CH_CLEAR(ch, CH_GATHERING);
		if (r != 0) {
			if (!CH_HAS(ch, CH_CLOSING))
				flush_queue(ch, false);
			/*
			 * EOF or error: the peer is gone; a partial line is dropped.
			 * A reset is the peer closing with our lines unread: Node
			 * counts it as a plain disconnect, and so do we.
			 */
			start_close(ch, r == UV_EOF || r == UV_ECONNRESET ? 0 : r);
			return;
		}
	}
	if (!CH_HAS(ch, CH_CLOSING) && (r = flush_queue(ch, true)) != 0) {
		if (r == UV_EPIPE || r == UV_ECONNRESET) {
			/*
			 * The peer closed; read what it sent before that.  Its EOF
			 * comes next and closes the channel.
			 */
			CH_CLEAR(ch, CH_CONNECTED);
			fail_queue(ch, r);
		} else {
			start_close(ch, r);
			return;
		}
	}
	if (CH_HAS(ch, CH_CLOSING))
		return;
	maybe_finish_disconnect(ch);
	update_poll(ch);
}

int
cp__channel_start(struct cp_channel *ch, uv_loop_t *loop, int fd)
{
	int r, fl;

	ch->fd = fd;
	ch->loop = loop;
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return CP_ERR(errno);
	if ((r = uv_poll_init(loop, &ch->poll, fd)) != 0)
		return r;
	ch->poll.data = ch;
	ch->fd = fd;
	CH_SET(ch, CH_OPENED);
	CH_SET(ch, CH_CONNECTED);
	ch->events = UV_READABLE;
	if ((r = uv_poll_start(&ch->poll, UV_READABLE, poll_cb)) != 0) {
		start_close(ch, r);
		return r;
	}
	if (CH_HAS(ch, CH_UNREF))
		uv_unref((uv_handle_t *)&ch->poll);
	return 0;
}

int
cp_channel_disconnect(struct cp_channel *ch)
{
	if (!CH_HAS(ch, CH_CONNECTED) || CH_HAS(ch, CH_CLOSING))
		return UV_ENOTCONN;
	CH_CLEAR(ch, CH_CONNECTED);
	CH_SET(ch, CH_DISCONNECTING);
	maybe_finish_disconnect(ch);
	if (!CH_HAS(ch, CH_CLOSING))
		update_poll(ch);
	return 0;
}

/* ---- closing ----------------------------------------------------------- */

/* The last callback: close_cb, once cp_channel_close asked for it. */
static void
call_close_cb(struct cp_channel *ch)
{
	cp_channel_close_cb cb = ch->close_cb;

	ch->close_cb = NULL;
	if (cb != NULL)
		cb(ch, ch->data);	/* may free ch */
}

static void
finish_close(struct cp_channel *ch)
{
	struct keyed_socket *k;
	struct cp_child *owner = ch->child;
	size_t i;

	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	/*
	 * Closed by the program: what was queued is cancelled.  Ended by the
	 * peer (EOF, reset): it can never be written, EPIPE as for a send
	 * made after.
	 */
	fail_queue(ch, CH_HAS(ch, CH_CANCELLED) ? UV_ECANCELED : UV_EPIPE);
	close_all_fds(ch);
	while ((k = ch->keyed) != NULL) {
		ch->keyed = k->next;
		free(k->key);
		free(k);
	}
	for (i = 0; i < ch->n_notify; i++)
		free(ch->notify[i]);
	free(ch->notify);
	ch->notify = NULL;
	ch->n_notify = 0;
	cp_frame_release(&ch->frame);
	cp__channel_serial_release(ch);
	cp_buf_release(&ch->scratch);
	if (!CH_HAS(ch, CH_DISCONNECTED) && !CH_HAS(ch, CH_CANCELLED)) {
		CH_SET(ch, CH_DISCONNECTED);
		if (ch->ev->on_disconnect != NULL)
			ch->ev->on_disconnect(ch, ch->end_err, ch->data);
	}
	/*
	 * Only now: a cp_channel_close from the callbacks above finds the
	 * channel closing and leaves its close_cb to us.
	 */
	CH_SET(ch, CH_CLOSED);
	if (CH_HAS(ch, CH_FREE_SELF)) {
		free(ch);
		return;
	}
	if (CH_HAS(ch, CH_CLOSE_CALLED))
		call_close_cb(ch);	/* ch may be gone now */
	if (owner != NULL)
		cp__child_channel_closed(owner);
}

void
cp__channel_shut(struct cp_channel *ch)
{
	CH_SET(ch, CH_CANCELLED);
	if (CH_HAS(ch, CH_OPENED))
		start_close(ch, 0);
	else if (!CH_HAS(ch, CH_CLOSED))
		finish_close(ch);
}

/* A close asked for after the channel had closed by itself. */
static void
late_closed(uv_handle_t *h)
{
	struct cp_channel *ch = h->data;
	struct cp_child *owner = ch->child;

	call_close_cb(ch);		/* ch may be gone now */
	if (owner != NULL)
		cp__child_release(owner);
}

void
cp_channel_close(struct cp_channel *ch, cp_channel_close_cb close_cb)
{
	if (ch == NULL || CH_HAS(ch, CH_CLOSE_CALLED))
		return;
	CH_SET(ch, CH_CLOSE_CALLED);
	ch->close_cb = close_cb;
	CH_SET(ch, CH_CANCELLED);
	if (!CH_HAS(ch, CH_CLOSED)) {
		/* finish_close calls close_cb once every handle is closed. */
		if (CH_HAS(ch, CH_OPENED))
			start_close(ch, 0);
		else
			finish_close(ch);
		return;
	}
	/*
	 * Closed already (the peer went, on_disconnect ran): close_cb still
	 * comes from the loop, never from inside this call.  The timer is
	 * only there to be closed; a child waits for it.
	 */
	uv_timer_init(ch->loop, &ch->sock_timer);
	ch->sock_timer.data = ch;
	if (ch->child != NULL)
		cp__child_hold(ch->child);
	uv_close((uv_handle_t *)&ch->sock_timer, late_closed);
}

void
cp_channel_free(struct cp_channel *ch)
{
	if (ch == NULL)
		return;
	/* A child's channel: the child must not free it again. */
	if (ch->child != NULL)
		cp__child_forget_channel(ch->child, ch);
	free(ch);
}

/* ---- child role -------------------------------------------------------- */

int
cp_channel_open_fd(uv_loop_t *loop, int fd, const struct cp_channel_events *ev,
    void *data, struct cp_channel **chp)
{
	struct cp_channel *ch;
	struct sockaddr_storage ss;
	socklen_t al = sizeof(ss), sl;
	struct stat st;
	int type, r, listening = 0;

	*chp = NULL;
	if (fd < 0)
		return UV_EINVAL;
	if (fstat(fd, &st) != 0)
		return UV_EBADF;
	if (!S_ISSOCK(st.st_mode))
		return UV_ENOTSOCK;
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 ||
	    type != SOCK_STREAM)
		return UV_ENOTSOCK;
	if (getsockname(fd, (struct sockaddr *)&ss, &al) != 0 ||
	    ss.ss_family != AF_UNIX)
		return UV_ENOTSOCK;
	/*
	 * A listening or unconnected socket would hang or fail late: a
	 * channel needs a peer now.  getpeername fails on both.
	 */
	sl = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) == 0 &&
	    listening)
		return UV_ENOTCONN;
	al = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &al) != 0)
		return errno == ENOTCONN ? UV_ENOTCONN : CP_ERR(errno);
	/* Our own children must not inherit the channel. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return CP_ERR(errno);
	if ((ch = malloc(sizeof(*ch))) == NULL)
		return UV_ENOMEM;
	cp__channel_init(ch, ev, data, 0);
	if ((r = cp__channel_start(ch, loop, fd)) != 0) {
		if (!CH_HAS(ch, CH_OPENED)) {
			cp_frame_release(&ch->frame);
			cp__channel_serial_release(ch);
			free(ch);
		} else {
			CH_SET(ch, CH_FREE_SELF);	/* freed once closed */
			ch->fd = -1;			/* the caller keeps fd */
		}
		return r;
	}
	*chp = ch;
	return 0;
}

int
cp_channel_open_env(uv_loop_t *loop, const struct cp_channel_events *ev,
    void *data, struct cp_channel **chp)
{
	const char *s, *m;
	char num[32], mode[16];
	char *end;
	long fd;
	int r;

	*chp = NULL;
	s = getenv("NODE_CHANNEL_FD");
	if (s == NULL || *s == '\0')
		return UV_ENOENT;
	if (strlen(s) >= sizeof(num))
		s = "x";	/* too long to be an fd number */
	snprintf(num, sizeof(num), "%s", s);
	m = getenv("NODE_CHANNEL_SERIALIZATION_MODE");
	snprintf(mode, sizeof(mode), "%s", m != NULL ? m : "");
	/* Node deletes both before using them; so must we, valid or not. */
	unsetenv("NODE_CHANNEL_FD");
	unsetenv("NODE_CHANNEL_SERIALIZATION_MODE");
	errno = 0;
	fd = strtol(num, &end, 10);
	if (errno != 0 || end == num || *end != '\0' || fd < 0 || fd > INT32_MAX)
		return UV_EINVAL;
	if (*mode != '\0' && strcmp(mode, "json") != 0 &&
	    strcmp(mode, "advanced") != 0)
		return UV_EPROTO;
	if ((r = cp_channel_open_fd(loop, (int)fd, ev, data, chp)) != 0)
		return r;
	/* Nothing was read or sent yet: the loop has not run. */
	if (*mode != '\0')
		cp_channel_set_serialization(*chp, mode);
	return 0;
}
