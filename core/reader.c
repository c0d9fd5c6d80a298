/* core/reader.c - line input from any fd: pipe, socket, tty or file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "internal.h"

#define CHUNK 65536

struct cp_reader {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tty_t tty;
		uv_timer_t timer;	/* files: only there to close through the loop */
	} h;
	uv_fs_t fsreq;
	uv_loop_t *loop;
	struct cp_frame frame;
	cp_line_cb cb;
	cp_reader_close_cb close_cb;
	void *data;
	int fd;
	bool is_file;
	bool paused;
	bool reading;			/* a stream read or fs read is active */
	bool done;			/* EOF or error delivered */
	bool closing;
	bool fs_busy;			/* an fs read is in flight */
	bool handle_closed;		/* the uv handle's close has run */
};

static void file_read(struct cp_reader *r);

static void
free_handle(uv_handle_t *h)
{
	free(h);	/* h is the first member of the reader */
}

static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct cp_reader *r = arg;

	if (!r->closing && !r->done)
		r->cb(r, err, line, len, r->data);
}

static void
finish(struct cp_reader *r, int err)
{
	size_t n;
	char *p, *line;

	if (r->done || r->closing)
		return;
	/* A last line without a newline is still a line. */
	if ((n = cp_frame_pending(&r->frame)) > 0 && r->frame.skipped == 0) {
		line = r->frame.buf.data + r->frame.start;
		if (cp_frame_reserve(&r->frame, 1, &p, &n) == 0) {
			line = r->frame.buf.data + r->frame.start;
			n = r->frame.buf.len - r->frame.start;
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			on_line(r, 0, line, n);
		}
	}
	if (r->closing)
		return;
	r->done = true;
	r->cb(r, err, NULL, 0, r->data);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct cp_reader *r = h->data;
	size_t len;
	char *p;

	(void)suggested;
	if (cp_frame_reserve(&r->frame, CHUNK, &p, &len) != 0) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = p;
	buf->len = len;
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct cp_reader *r = s->data;

	(void)buf;
	if (nread > 0) {
		cp_frame_commit(&r->frame, (size_t)nread, on_line, r);
		return;
	}
	if (nread == 0)
		return;
	uv_read_stop(s);
	r->reading = false;
	finish(r, nread == UV_EOF ? UV_EOF : (int)nread);
}

/* Closed once the handle is and no fs read is in flight: close_cb, last. */
static void
maybe_closed(struct cp_reader *r)
{
	if (!r->handle_closed || r->fs_busy)
		return;
	cp_frame_release(&r->frame);
	if (r->close_cb != NULL)
		r->close_cb(r, r->data);	/* may free r */
}

static void
handle_closed(uv_handle_t *h)
{
	struct cp_reader *r = h->data;

	r->handle_closed = true;
	maybe_closed(r);
}

static void
fs_cb(uv_fs_t *req)
{
	struct cp_reader *r = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	if (!r->closing) {
		/* fs_busy stays set in here: a close from a callback waits for us. */
		if (n > 0)
			cp_frame_commit(&r->frame, (size_t)n, on_line, r);
		else
			finish(r, n == 0 ? UV_EOF : (int)n);
	}
	r->fs_busy = false;
	if (r->closing) {
		maybe_closed(r);
		return;
	}
	if (n > 0 && !r->paused && !r->done)
		file_read(r);
}

static void
file_read(struct cp_reader *r)
{
	uv_buf_t b;
	size_t len;
	char *p;
	int e;

	if (r->fs_busy || r->done)
		return;
	if ((e = cp_frame_reserve(&r->frame, CHUNK, &p, &len)) != 0) {
		finish(r, e);
		return;
	}
	b = uv_buf_init(p, (unsigned int)(len < CHUNK ? len : CHUNK));
	r->fsreq.data = r;
	if ((e = uv_fs_read(r->loop, &r->fsreq, r->fd, &b, 1, -1, fs_cb)) != 0) {
		finish(r, e);
		return;
	}
	r->fs_busy = true;
}

int
cp_reader_open(uv_loop_t *loop, int fd, size_t max_line, cp_line_cb cb,
    void *data, struct cp_reader **rp)
{
	struct cp_reader *r;
	uv_handle_type t;
	int e, dfd = -1;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return UV_ENOMEM;
	r->loop = loop;
	r->cb = cb;
	r->data = data;
	r->fd = fd;
	cp_frame_init(&r->frame, max_line);
	t = uv_guess_handle(fd);
	if (t == UV_TTY) {
		e = uv_tty_init(loop, &r->h.tty, fd, 1);
	} else if (t == UV_NAMED_PIPE || t == UV_TCP || t == UV_UNKNOWN_HANDLE) {
		/* libuv closes what it opens: give it a copy of fd. */
		if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			free(r);
			return CP_ERR(errno);
		}
		if ((e = uv_pipe_init(loop, &r->h.pipe, 0)) == 0 &&
		    (e = uv_pipe_open(&r->h.pipe, dfd)) != 0) {
			r->h.handle.data = NULL;
			uv_close(&r->h.handle, free_handle);
			close(dfd);
			cp_frame_release(&r->frame);
			return e;
		}
	} else {
		t = UV_FILE;
		e = 0;
	}
	if (t == UV_FILE) {
		r->is_file = true;
		e = uv_timer_init(loop, &r->h.timer);
	}
	if (e != 0) {
		if (dfd >= 0)
			close(dfd);
		cp_frame_release(&r->frame);
		free(r);
		return e;
	}
	r->h.handle.data = r;
	*rp = r;
	cp_reader_resume(r);
	return 0;
}

void
cp_reader_pause(struct cp_reader *r)
{
	r->paused = true;
	if (!r->is_file && r->reading) {
		uv_read_stop(&r->h.stream);
		r->reading = false;
	}
}

void
cp_reader_resume(struct cp_reader *r)
{
	int e;

	r->paused = false;
	if (r->done || r->closing)
		return;
	if (r->is_file) {
		file_read(r);
		return;
	}
	if (!r->reading) {
		if ((e = uv_read_start(&r->h.stream, alloc_cb, read_cb)) != 0) {
			finish(r, e);
			return;
		}
		r->reading = true;
	}
}

void
cp_reader_close(struct cp_reader *r, cp_reader_close_cb close_cb)
{
	if (r == NULL || r->closing)
		return;
	r->closing = true;
	r->close_cb = close_cb;
	if (r->fs_busy)
		uv_cancel((uv_req_t *)&r->fsreq);
	uv_close(&r->h.handle, handle_closed);
}

void
cp_reader_free(struct cp_reader *r)
{
	free(r);
}
