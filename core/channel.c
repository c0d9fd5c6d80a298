/* core/channel.c - Node's IPC channel over a libuv IPC pipe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "internal.h"

struct write_req {
	uv_write_t req;
	struct cp_channel *ch;
	cp_send_cb cb;
	void *arg;
	char *buf;			/* owned copy of the bytes */
};

static void finish_close(struct cp_channel *ch);

void
cp__ignore_sigpipe(void)
{
	struct sigaction sa;

	/* Node runs with SIGPIPE ignored; a dead peer must give EPIPE, not kill us. */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    !(sa.sa_flags & SA_SIGINFO)) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

void
cp__channel_init(struct cp_channel *ch, const struct cp_channel_events *ev,
    void *data, size_t max_message)
{
	memset(ch, 0, sizeof(*ch));
	ch->ev = ev;
	ch->data = data;
	ch->fd = -1;
	cp_frame_init(&ch->frame, max_message);
	ch->pipe.data = ch;
	cp__ignore_sigpipe();
}

void *
cp_channel_data(const struct cp_channel *ch)
{
	return ch->data;
}

bool
cp_channel_connected(const struct cp_channel *ch)
{
	return ch->connected;
}

size_t
cp_channel_queue_size(const struct cp_channel *ch)
{
	return ch->opened && !ch->closing ?
	    uv_stream_get_write_queue_size((const uv_stream_t *)&ch->pipe) : 0;
}

void
cp_channel_ref(struct cp_channel *ch)
{
	uv_ref((uv_handle_t *)&ch->pipe);
}

void
cp_channel_unref(struct cp_channel *ch)
{
	uv_unref((uv_handle_t *)&ch->pipe);
}

void
cp_channel_set_max_message(struct cp_channel *ch, size_t max)
{
	ch->frame.max = max ? max : CP_FRAME_DEFAULT_MAX;
}

int
cp_channel_fd(const struct cp_channel *ch)
{
	return ch->opened && !ch->closing ? ch->fd : -1;
}

/* ---- reading ---------------------------------------------------------- */

static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct cp_channel *ch = arg;
	struct cp_message m;
	json_t *v;

	if (ch->free_on_close)
		return;
	if (err != 0) {
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, err, line, len, ch->data);
		return;
	}
	if (cp_msg_decode(line, len, &v, NULL) != 0) {
		if (ch->ev->on_error != NULL)
			ch->ev->on_error(ch, UV_EPROTO, line, len, ch->data);
		return;
	}
	m.value = v;
	m.line = line;
	m.len = len;
	if (cp_msg_is_internal(v)) {
		if (ch->ev->on_internal != NULL)
			ch->ev->on_internal(ch, &m, ch->data);
	} else if (ch->ev->on_message != NULL) {
		ch->ev->on_message(ch, &m, ch->data);
	}
	json_decref(v);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct cp_channel *ch = h->data;
	size_t len;
	char *p;

	(void)suggested;
	/* Read straight into the framer: no copy per chunk. */
	if (cp_frame_reserve(&ch->frame, 65536, &p, &len) != 0) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = p;
	buf->len = len;
}

static void
close_cb(uv_handle_t *h)
{
	finish_close(h->data);
}

static void
start_close(struct cp_channel *ch)
{
	if (ch->closing)
		return;
	ch->closing = 1;
	ch->connected = 0;
	uv_close((uv_handle_t *)&ch->pipe, close_cb);
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct cp_channel *ch = s->data;

	(void)buf;
	if (nread > 0) {
		cp_frame_commit(&ch->frame, (size_t)nread, on_line, ch);
		return;
	}
	if (nread == 0)
		return;
	/* EOF or an error: the peer is gone.  A partial line is dropped, as Node does. */
	if (nread != UV_EOF)
		ch->end_err = (int)nread;
	ch->eof = 1;
	uv_read_stop(s);
	start_close(ch);
}

int
cp__channel_start(struct cp_channel *ch)
{
	uv_os_fd_t fd;
	int r;

	if ((r = uv_fileno((uv_handle_t *)&ch->pipe, &fd)) != 0)
		return r;
	ch->fd = fd;
	ch->opened = 1;
	ch->connected = 1;
	return uv_read_start((uv_stream_t *)&ch->pipe, alloc_cb, read_cb);
}

/* ---- writing ---------------------------------------------------------- */

static void
maybe_finish_disconnect(struct cp_channel *ch)
{
	if (!ch->connected && !ch->closing && ch->writes == 0 &&
	    cp_channel_queue_size(ch) == 0)
		start_close(ch);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct cp_channel *ch = w->ch;

	ch->writes--;
	if (w->cb != NULL && !ch->free_on_close)
		w->cb(ch, status, w->arg);
	free(w->buf);
	free(w);
	if (status == UV_EPIPE || status == UV_ECONNRESET) {
		/* The peer is gone; reading will see the EOF too. */
		ch->connected = 0;
	}
	maybe_finish_disconnect(ch);
}

static int
queue_write(struct cp_channel *ch, const char *data, size_t len,
    cp_send_cb cb, void *arg)
{
	struct write_req *w;
	uv_buf_t b;
	int r;

	if ((w = malloc(sizeof(*w))) == NULL)
		return UV_ENOMEM;
	if ((w->buf = malloc(len ? len : 1)) == NULL) {
		free(w);
		return UV_ENOMEM;
	}
	memcpy(w->buf, data, len);
	w->ch = ch;
	w->cb = cb;
	w->arg = arg;
	b = uv_buf_init(w->buf, (unsigned int)len);
	if ((r = uv_write(&w->req, (uv_stream_t *)&ch->pipe, &b, 1, write_cb)) != 0) {
		free(w->buf);
		free(w);
		return r;
	}
	ch->writes++;
	return 0;
}

/* Writes one complete line (with its '\n'). */
static int
write_line(struct cp_channel *ch, const char *data, size_t len, cp_send_cb cb,
    void *arg)
{
	uv_buf_t b;
	int n, r;

	if (!ch->connected)
		return UV_EPIPE;
	if (len > UINT32_MAX)
		return UV_EMSGSIZE;
	/*
	 * With nothing queued and no callback to call, try the socket at
	 * once: most messages need no request at all.
	 */
	if (cb == NULL && ch->writes == 0 && cp_channel_queue_size(ch) == 0) {
		b = uv_buf_init((char *)data, (unsigned int)len);
		n = uv_try_write((uv_stream_t *)&ch->pipe, &b, 1);
		if (n == (int)len)
			return 0;
		if (n < 0 && n != UV_EAGAIN) {
			if (n == UV_EPIPE || n == UV_ECONNRESET)
				ch->connected = 0;
			return n;
		}
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if ((r = queue_write(ch, data, len, cb, arg)) != 0)
		return r;
	return cp_channel_queue_size(ch) >= CP_SEND_HIGH_WATER ? 1 : 0;
}

int
cp_channel_send(struct cp_channel *ch, const json_t *value, cp_send_cb cb,
    void *arg)
{
	int r;

	if (!ch->connected)
		return UV_EPIPE;
	ch->scratch.len = 0;
	if ((r = cp_msg_encode(value, &ch->scratch)) != 0)
		return r;
	r = write_line(ch, ch->scratch.data, ch->scratch.len, cb, arg);
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

	if (!ch->connected)
		return UV_EPIPE;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if ((r = cp_msg_validate(line, len, error)) != 0)
		return r;
	if (memchr(line, '\n', len) != NULL)
		return UV_EPROTO;
	if ((copy = malloc(len + 1)) == NULL)
		return UV_ENOMEM;
	memcpy(copy, line, len);
	copy[len] = '\n';
	r = write_line(ch, copy, len + 1, cb, arg);
	free(copy);
	return r;
}

int
cp_channel_disconnect(struct cp_channel *ch)
{
	if (!ch->connected || ch->closing)
		return UV_ENOTCONN;
	ch->connected = 0;
	maybe_finish_disconnect(ch);
	return 0;
}

/* ---- closing ---------------------------------------------------------- */

static void
finish_close(struct cp_channel *ch)
{
	cp_frame_release(&ch->frame);
	cp_buf_release(&ch->scratch);
	ch->fd = -1;
	ch->closed = 1;
	if (!ch->disconnected && !ch->free_on_close) {
		ch->disconnected = 1;
		if (ch->ev->on_disconnect != NULL)
			ch->ev->on_disconnect(ch, ch->end_err, ch->data);
	}
	if (ch->child != NULL) {
		cp__child_channel_closed(ch->child);
		return;
	}
	if (ch->free_on_close)
		free(ch);
}

void
cp__channel_shut(struct cp_channel *ch)
{
	if (ch->opened)
		start_close(ch);
}

void
cp_channel_close(struct cp_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->closed) {
		free(ch);
		return;
	}
	ch->free_on_close = 1;
	start_close(ch);
}

/* ---- child role ------------------------------------------------------- */

int
cp_channel_open_fd(uv_loop_t *loop, int fd, const struct cp_channel_events *ev,
    void *data, struct cp_channel **chp)
{
	struct cp_channel *ch;
	struct stat st;
	int type, r;
	socklen_t sl = sizeof(type);
	struct sockaddr_storage ss;
	socklen_t al = sizeof(ss);

	*chp = NULL;
	if (fd < 0)
		return UV_EINVAL;
	if (fstat(fd, &st) != 0)
		return UV_EBADF;
	if (!S_ISSOCK(st.st_mode))
		return UV_ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 ||
	    type != SOCK_STREAM)
		return UV_ENOTSOCK;
	if (getsockname(fd, (struct sockaddr *)&ss, &al) != 0 ||
	    ss.ss_family != AF_UNIX)
		return UV_ENOTSOCK;
	/* Our own children must not inherit the channel. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return CP_ERR(errno);
	if ((ch = malloc(sizeof(*ch))) == NULL)
		return UV_ENOMEM;
	cp__channel_init(ch, ev, data, 0);
	if ((r = uv_pipe_init(loop, &ch->pipe, 1)) != 0) {
		free(ch);
		return r;
	}
	ch->pipe.data = ch;
	ch->free_on_close = 0;
	if ((r = uv_pipe_open(&ch->pipe, fd)) != 0 ||
	    (r = cp__channel_start(ch)) != 0) {
		ch->free_on_close = 1;
		ch->disconnected = 1;	/* no callback for a failed open */
		uv_close((uv_handle_t *)&ch->pipe, close_cb);
		ch->closing = 1;
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
	if (*mode != '\0' && strcmp(mode, "json") != 0)
		return strcmp(mode, "advanced") == 0 ? UV_ENOTSUP : UV_EPROTO;
	return cp_channel_open_fd(loop, (int)fd, ev, data, chp);
}
