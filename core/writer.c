/*
 * core/writer.c - writing to a child's pipe without SIGPIPE.
 *
 * libuv's uv_write uses write(2): when the child has closed its end, the
 * kernel raises SIGPIPE, which kills a program that has not ignored it.
 * The library may not change the disposition behind the caller's back, so
 * it writes itself with send(MSG_NOSIGNAL) (the pipes are socketpairs) on
 * its own copy of the fd, under a uv_poll_t that waits for room only while
 * something is queued.  A copy of the fd is a separate epoll registration,
 * so a uv_pipe_t may keep reading the original.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

struct cp__wreq {
	struct cp__wreq *next;
	size_t len;
	size_t off;
	void (*fn)(void);	/* the caller's callback, given back to dispatch */
	void *arg;
	char data[];
};

static void writer_poll_cb(uv_poll_t *h, int status, int events);

int
cp__writer_open(uv_loop_t *loop, int fd, cp__writer_dispatch dispatch,
    void *owner, struct cp__writer **wp)
{
	struct cp__writer *w;
	int dfd, r, fl;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0)
		return CP_ERR(errno);
	if ((fl = fcntl(dfd, F_GETFL)) < 0 ||
	    fcntl(dfd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = CP_ERR(errno);
		close(dfd);
		return r;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		close(dfd);
		return UV_ENOMEM;
	}
	if ((r = uv_poll_init(loop, &w->poll, dfd)) != 0) {
		close(dfd);
		free(w);
		return r;
	}
	w->poll.data = w;
	w->fd = dfd;
	w->dispatch = dispatch;
	w->owner = owner;
	*wp = w;
	return 0;
}

static void
finish_req(struct cp__writer *w, struct cp__wreq *q, int status)
{
	if (q->fn != NULL)
		w->dispatch(w, q->fn, q->arg, status);
	free(q);
}

/* Fails everything queued with status. */
static void
fail_all(struct cp__writer *w, int status)
{
	struct cp__wreq *q;

	while ((q = w->head) != NULL) {
		w->head = q->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued -= q->len - q->off;
		finish_req(w, q, status);
	}
}

/*
 * Writes what the socket takes.  Callbacks run only when may_call_back
 * (from the poll, never inside cp__writer_write).  Returns 0 or an error.
 */
static int
flush(struct cp__writer *w, bool may_call_back)
{
	struct cp__wreq *q;
	ssize_t n;

	while ((q = w->head) != NULL) {
		if (q->off == q->len) {
			if (q->fn != NULL && !may_call_back)
				return 0;
			w->head = q->next;
			if (w->head == NULL)
				w->tail = NULL;
			finish_req(w, q, 0);
			continue;
		}
		do
			n = send(w->fd, q->data + q->off, q->len - q->off,
			    MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
			    CP_ERR(errno);
		q->off += (size_t)n;
		w->queued -= (size_t)n;
		if (q->off < q->len)
			return 0;	/* full */
	}
	return 0;
}

static void
update(struct cp__writer *w)
{
	bool want = w->head != NULL || (w->ending && !w->shut);

	if (w->closing)
		return;
	if (want && !w->polling) {
		w->polling = true;
		uv_poll_start(&w->poll, UV_WRITABLE, writer_poll_cb);
	} else if (!want && w->polling) {
		w->polling = false;
		uv_poll_stop(&w->poll);
	}
}

static void
maybe_shut(struct cp__writer *w)
{
	int r = 0;

	if (!w->ending || w->shut || w->head != NULL || w->closing)
		return;
	w->shut = true;
	if (w->err == 0 && shutdown(w->fd, SHUT_WR) != 0 && errno != ENOTCONN)
		r = CP_ERR(errno);
	if (w->on_end != NULL)
		w->on_end(w, w->err != 0 ? w->err : r);
}

static void
writer_poll_cb(uv_poll_t *h, int status, int events)
{
	struct cp__writer *w = h->data;
	int r;

	(void)events;
	/* POLLERR (the peer is gone) comes as a status: send says which. */
	(void)status;
	if (w->err == 0 && (r = flush(w, true)) != 0) {
		/* EPIPE: the child closed its end; nothing more can go. */
		w->err = r;
	}
	if (w->err != 0)
		fail_all(w, w->err);
	if (w->closing)
		return;
	update(w);
	maybe_shut(w);
}

int
cp__writer_write(struct cp__writer *w, const char *buf, size_t len,
    void (*fn)(void), void *arg)
{
	struct cp__wreq *q;
	ssize_t n = 0;
	int r;

	if (w->closing || w->ending)
		return UV_EBADF;
	if (w->err != 0)
		return w->err;
	/* Nothing queued and nobody to call back: try at once. */
	if (w->head == NULL && fn == NULL) {
		do
			n = send(w->fd, buf, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				r = CP_ERR(errno);
				w->err = r;
				return r;
			}
			n = 0;
		}
		if ((size_t)n == len)
			return 0;
	}
	if ((q = malloc(sizeof(*q) + len - (size_t)n)) == NULL)
		return UV_ENOMEM;
	memcpy(q->data, buf + n, len - (size_t)n);
	q->next = NULL;
	q->len = len - (size_t)n;
	q->off = 0;
	q->fn = fn;
	q->arg = arg;
	if (w->tail != NULL)
		w->tail->next = q;
	else
		w->head = q;
	w->tail = q;
	w->queued += q->len;
	if ((r = flush(w, false)) != 0)
		w->err = r;	/* reported from the poll, to q's callback */
	if (w->err != 0 && !w->polling) {
		w->polling = true;
		uv_poll_start(&w->poll, UV_WRITABLE, writer_poll_cb);
	}
	update(w);
	return w->queued >= CP_SEND_HIGH_WATER ? 1 : 0;
}

void
cp__writer_end(struct cp__writer *w, void (*on_end)(struct cp__writer *, int))
{
	if (w->closing || w->ending)
		return;
	w->ending = true;
	w->on_end = on_end;
	/* Reported from the poll, never from inside this call. */
	w->polling = true;
	uv_poll_start(&w->poll, UV_WRITABLE, writer_poll_cb);
}

static void
writer_closed(uv_handle_t *h)
{
	struct cp__writer *w = h->data;

	close(w->fd);
	if (w->on_closed != NULL)
		w->on_closed(w);
	free(w);
}

void
cp__writer_close(struct cp__writer *w, int status,
    void (*on_closed)(struct cp__writer *))
{
	if (w->closing)
		return;
	w->closing = true;
	w->on_closed = on_closed;
	fail_all(w, status);
	uv_close((uv_handle_t *)&w->poll, writer_closed);
}

size_t
cp__writer_queued(const struct cp__writer *w)
{
	return w->queued;
}
