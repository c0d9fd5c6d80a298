/*
 * core/exec.c - exec, execFile and the sync forms on top of cp_child.
 *
 * One engine runs both: MODE_EXEC follows lib/child_process.js execFile()
 * (per-stream maxBuffer that truncates, decoding chunk by chunk, kill =
 * close stdout/stderr then signal), MODE_SYNC follows src/spawn_sync.cc
 * (total maxBuffer, errors ETIMEDOUT/ENOBUFS, Kill = signal then close
 * every pipe, stdin written and shut).  The sync functions run MODE_SYNC
 * on a private loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"

enum mode { MODE_EXEC, MODE_SYNC };

/* Node's AbortError, for an exec closed while it ran (cp_exec_close). */
#define ABORTED "The operation was aborted"

struct stream {
	struct cp_buf buf;	/* bytes, or text in exec's string encodings */
	struct cp__decoder dec;
	uint64_t count;		/* exec: what maxBuffer counts */
	bool capture;		/* a pipe we read */
	bool open;		/* still read: not at EOF, not destroyed */
};

struct cp_exec {
	uv_loop_t *loop;
	enum mode mode;
	cp_exec_cb cb;
	cp_exec_close_cb close_cb;
	void *data;
	int (*on_output)(struct cp_exec *, int, const char *, size_t, void *);
	struct cp_child *child;
	uv_timer_t timer;	/* the timeout; also defers a spawn error */
	/* our end of the child's stdin, when we write it (no SIGPIPE) */
	struct cp__writer *in;
	int handles;		/* timer and in, until closed */
	bool in_open;
	bool finishing;
	bool reported;		/* cb ran */
	bool closing;		/* cp_exec_close was called */
	bool exited;
	bool sync_killed;
	uint64_t max_buffer;
	uint64_t total;		/* sync: bytes of every pipe */
	int kill_signal;
	int pipe_error;		/* sync: writing input failed */
	char *input;
	size_t input_len;
	struct stream s[CP__STDIO_MAX];
	struct cp_result r;
};

void
cp_exec_options_init(struct cp_exec_options *o)
{
	*o = (struct cp_exec_options)CP_EXEC_OPTIONS_INIT;
}

static void
set_error(struct cp_exec *x, int err)
{
	/* spawn_sync.cc SetError: the first error wins. */
	if (x->r.error == 0)
		x->r.error = err;
}

/* ---- our own handles ------------------------------------------------------ */

static void
report(struct cp_exec *x)
{
	struct cp_result *r = &x->r;
	int fd;

	if (r->output_count > 0 && r->output == NULL &&
	    (r->output = calloc((size_t)r->output_count,
	    sizeof(*r->output))) == NULL) {
		/* Nothing to hand over: say why, with the output null. */
		r->output_count = 0;
		set_error(x, UV_ENOMEM);
	}
	for (fd = 0; fd < r->output_count; fd++) {
		if (!x->s[fd].capture)
			continue;
		if (x->s[fd].buf.data == NULL && cp_buf_grow(&x->s[fd].buf, 1) == 0)
			x->s[fd].buf.data[0] = '\0';
		r->output[fd].data = x->s[fd].buf.data;
		r->output[fd].len = x->s[fd].buf.len;
		memset(&x->s[fd].buf, 0, sizeof(x->s[fd].buf));
	}
	x->cb(x, r, x->data);
	x->reported = true;	/* after: a close in cb is called back below */
	/* Closed before or in cb: every handle is closed, close_cb is last. */
	if (x->closing && x->close_cb != NULL)
		x->close_cb(x, x->data);	/* may free x */
}

/* One of x's handles (the timer, stdin's writer, the child) is closed. */
static void
handle_done(struct cp_exec *x)
{
	if (--x->handles == 0 && x->finishing)
		report(x);
}

static void
handle_closed(uv_handle_t *h)
{
	handle_done(h->data);
}

static void
input_closed(struct cp__writer *w)
{
	handle_done(w->owner);
}

static void
child_closed(struct cp_child *c, void *data)
{
	cp_child_free(c);
	handle_done(data);
}

static void
close_input(struct cp_exec *x)
{
	if (!x->in_open)
		return;
	x->in_open = false;
	cp__writer_close(x->in, UV_ECANCELED, input_closed);
	x->in = NULL;
}

/* Everything of the child is over: close our handles, then call back. */
static void
finish(struct cp_exec *x)
{
	x->finishing = true;
	close_input(x);
	uv_timer_stop(&x->timer);
	uv_close((uv_handle_t *)&x->timer, handle_closed);
}

/* ---- stdin ---------------------------------------------------------------- */

static void
input_error(struct cp_exec *x, int status)
{
	/* spawnSync reports a failed write (EPIPE) once nothing else went wrong. */
	if (status < 0 && status != UV_ECANCELED && x->pipe_error == 0)
		x->pipe_error = status;
}

static void
input_written(struct cp__writer *w, void (*fn)(void), void *arg, int status)
{
	(void)fn;
	(void)arg;
	input_error(w->owner, status);
}

static void
input_ended(struct cp__writer *w, int status)
{
	struct cp_exec *x = w->owner;

	input_error(x, status);
	close_input(x);
}

static void
input_noop(void)
{
}

/*
 * Writes the input to our end of the child's stdin (fd, ours), then shuts
 * it.  A child gone before reading it gives EPIPE, never SIGPIPE.
 */
static void
start_input(struct cp_exec *x, int fd)
{
	int r;

	r = cp__writer_open(x->loop, fd, input_written, x, &x->in);
	close(fd);		/* the writer has its own copy */
	if (r != 0) {
		input_error(x, r);
		return;
	}
	x->handles++;
	x->in_open = true;
	if (x->input_len > 0 && (r = cp__writer_write(x->in, x->input,
	    x->input_len, input_noop, NULL)) < 0) {
		input_error(x, r);
		close_input(x);
		return;
	}
	cp__writer_end(x->in, input_ended);
}

/* ---- killing --------------------------------------------------------------- */

/* execFile's kill(): destroy stdout and stderr first, then signal. */
static void
exec_kill(struct cp_exec *x)
{
	int fd;

	for (fd = 1; fd <= 2; fd++) {
		if (x->s[fd].open) {
			x->s[fd].open = false;
			if (x->child != NULL)
				cp_child_close_fd(x->child, fd);
		}
	}
	x->r.killed = true;
	if (x->child != NULL)
		cp_child_kill(x->child, x->kill_signal);
}

/* spawn_sync.cc Kill(): once; signal if still running, then close pipes. */
static void
sync_kill(struct cp_exec *x)
{
	int fd, r;

	if (x->sync_killed)
		return;
	x->sync_killed = true;
	if (!x->exited && x->child != NULL) {
		r = cp_child_kill(x->child, x->kill_signal);
		if (r != 0 && r != UV_ESRCH) {
			set_error(x, r);
			cp_child_kill(x->child, SIGKILL);
		}
	}
	for (fd = 0; fd < CP__STDIO_MAX; fd++) {
		if (x->s[fd].capture && x->s[fd].open) {
			x->s[fd].open = false;
			if (x->child != NULL)
				cp_child_close_fd(x->child, fd);
		}
	}
	close_input(x);
	uv_timer_stop(&x->timer);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct cp_exec *x = t->data;

	/* Only a child still running counts as timed out (timeout(1)'s 124). */
	if (!x->exited)
		x->r.timed_out = true;
	if (x->mode == MODE_EXEC) {
		exec_kill(x);
	} else {
		set_error(x, UV_ETIMEDOUT);
		sync_kill(x);
	}
}

static void
defer_cb(uv_timer_t *t)
{
	finish(t->data);
}

/* ---- output ---------------------------------------------------------------- */

static void
over_max_buffer(struct cp_exec *x, int fd)
{
	if (x->r.error == 0) {
		x->r.error = CP_EXEC_MAXBUFFER;
		x->r.max_buffer_fd = fd;
	}
	exec_kill(x);
}

/*
 * Streaming: what the chunk added to the stream (from mark on) goes to
 * on_output instead of staying; stop reading the stream if it says so.
 */
static void
stream_out(struct cp_exec *x, int fd, size_t mark)
{
	struct stream *s = &x->s[fd];
	size_t len = s->buf.len - mark;

	if (x->on_output == NULL)
		return;
	s->buf.len = mark;
	if (len > 0 && x->on_output(x, fd, s->buf.data + mark, len,
	    x->data) < 0 && s->open) {
		s->open = false;
		if (x->child != NULL)
			cp_child_close_fd(x->child, fd);
	}
}

/* A decoded chunk (text from mark on) as execFile's 'data' handler sees it. */
static void
exec_text_chunk(struct cp_exec *x, int fd, size_t mark)
{
	struct stream *s = &x->s[fd];
	uint64_t length, keep;
	size_t tl = s->buf.len - mark;

	if (x->max_buffer == CP_MAX_BUFFER_INFINITY || tl == 0)
		return;
	length = cp__text_byte_length(x->r.encoding, s->buf.data + mark, tl);
	s->count += length;
	if (s->count <= x->max_buffer)
		return;
	/* String.prototype.slice: UTF-16 units, however many bytes they are. */
	keep = x->max_buffer - (s->count - length);
	s->buf.len = mark + cp__text_cut(s->buf.data + mark, tl, keep);
	s->buf.data[s->buf.len] = '\0';
	over_max_buffer(x, fd);
}

static void
exec_data(struct cp_exec *x, int fd, const char *buf, size_t len)
{
	struct stream *s = &x->s[fd];
	uint64_t keep;
	size_t mark;

	if (x->r.text) {
		mark = s->buf.len;
		if (cp__decoder_write(&s->dec, (const unsigned char *)buf, len,
		    &s->buf) != 0) {
			set_error(x, UV_ENOMEM);
			exec_kill(x);
			return;
		}
		exec_text_chunk(x, fd, mark);
		stream_out(x, fd, mark);
		return;
	}
	keep = len;
	if (x->max_buffer != CP_MAX_BUFFER_INFINITY) {
		s->count += len;
		if (s->count > x->max_buffer)
			keep = x->max_buffer - (s->count - len);
	}
	mark = s->buf.len;
	if (cp_buf_add(&s->buf, buf, (size_t)keep) != 0) {
		set_error(x, UV_ENOMEM);
		exec_kill(x);
		return;
	}
	if (keep < len)
		over_max_buffer(x, fd);
	stream_out(x, fd, mark);
}

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	struct cp_exec *x = data;
	struct stream *s = &x->s[fd];
	size_t mark;

	(void)c;
	if (!s->capture || !s->open)
		return;
	if (len == 0) {
		s->open = false;
		if (x->mode == MODE_EXEC && x->r.text) {
			/* decoder.end() is one more chunk, and counts as one. */
			mark = s->buf.len;
			if (cp__decoder_end(&s->dec, &s->buf) == 0) {
				exec_text_chunk(x, fd, mark);
				stream_out(x, fd, mark);
			}
		}
		return;
	}
	if (x->mode == MODE_EXEC) {
		exec_data(x, fd, buf, len);
		return;
	}
	if (cp_buf_add(&s->buf, buf, len) != 0) {
		set_error(x, UV_ENOMEM);
		sync_kill(x);
		return;
	}
	/* spawnSync: all pipes together, nothing cut. */
	x->total += len;
	if (x->max_buffer != CP_MAX_BUFFER_INFINITY &&
	    x->total > x->max_buffer) {
		set_error(x, UV_ENOBUFS);
		sync_kill(x);
	}
}

static void
on_exit_(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct cp_exec *x = data;

	(void)c;
	x->exited = true;
	/*
	 * Node has no name for real-time signals: its ChildProcess then
	 * reports the exit code libuv gives (0) and no signal.  spawnSync
	 * reports signal "" instead.
	 */
	if (sig != 0 && x->mode == MODE_EXEC && cp_signal_name(sig)[0] == '\0') {
		status = 0;
		sig = 0;
	}
	x->r.status = sig != 0 ? -1 : status;
	x->r.signal = sig;
	/* Node destroys child.stdin on exit. */
	if (x->mode == MODE_EXEC)
		close_input(x);
}

static void
on_close(struct cp_child *c, void *data)
{
	struct cp_exec *x = data;

	if (cp_child_killed(c))
		x->r.killed = true;
	cp_child_close(c, child_closed);
	x->child = NULL;
	if (x->mode == MODE_EXEC) {
		if (x->r.error == 0 && (x->r.status != 0 || x->r.signal != 0))
			x->r.error = CP_EXEC_FAILED;
	} else if (x->r.error == 0) {
		x->r.error = x->pipe_error;
	}
	finish(x);
}

static const struct cp_child_events child_events = {
	.on_data = on_data,
	.on_exit = on_exit_,
	.on_close = on_close,
};

/* ---- starting ------------------------------------------------------------- */

/* r->file, r->spawnargs and r->cmd, as Node's error objects name them. */
static int
describe(struct cp_result *r, const struct cp_spawn_options *so)
{
	size_t n = 0, i;

	if ((r->cmd = cp__join_words(so->file, so->args)) == NULL)
		return UV_ENOMEM;
	if (so->shell != NULL) {
		if ((r->file = strdup(so->shell)) == NULL ||
		    (r->spawnargs = calloc(3, sizeof(char *))) == NULL ||
		    (r->spawnargs[0] = strdup("-c")) == NULL ||
		    (r->spawnargs[1] = strdup(r->cmd)) == NULL)
			return UV_ENOMEM;
		return 0;
	}
	while (so->args != NULL && so->args[n] != NULL)
		n++;
	if ((r->file = strdup(so->file)) == NULL ||
	    (r->spawnargs = calloc(n + 1, sizeof(char *))) == NULL)
		return UV_ENOMEM;
	for (i = 0; i < n; i++)
		if ((r->spawnargs[i] = strdup(so->args[i])) == NULL)
			return UV_ENOMEM;
	return 0;
}

/* The errors Node's spawn() emits later rather than throws. */
static bool
reported_later(int err)
{
	return err == UV_EACCES || err == UV_EAGAIN || err == UV_EMFILE ||
	    err == UV_ENFILE || err == UV_ENOENT;
}

static int
start(uv_loop_t *loop, const struct cp_exec_options *o, enum mode mode,
    const char *def_shell, cp_exec_cb cb, void *data, struct cp_exec **xp)
{
	struct cp_spawn_options so;
	struct cp_stdio st[CP__STDIO_MAX];
	struct cp_exec *x;
	enum cp_encoding enc;
	uv_os_sock_t fds[2] = { -1, -1 };
	int r, fd;

	*xp = NULL;
	if (o->spawn.file == NULL || o->spawn.file[0] == '\0' || cb == NULL ||
	    o->spawn.stdio_count < 0 || o->spawn.stdio_count > CP__STDIO_MAX ||
	    (o->spawn.stdio_count > 0 && o->spawn.stdio == NULL))
		return UV_EINVAL;
	so = o->spawn;
	/* Our own copy of stdio: padded and changed below. */
	if (so.stdio_count > 0)
		memcpy(st, o->spawn.stdio, (size_t)so.stdio_count * sizeof(*st));
	so.stdio = st;
	so.timeout_ms = 0;		/* ours: see timeout_cb */
	so.serialization = NULL;
	so.max_message = 0;
	if (so.shell == NULL)
		so.shell = def_shell;
	if (mode == MODE_EXEC) {
		/* execFile passes spawn() only cwd, env, uid, gid and shell. */
		so.argv0 = NULL;
		so.flags &= ~(unsigned int)CP_SPAWN_DETACHED;
		so.stdio_count = 0;
		/* Our own additions: stdin not a pipe. */
		if ((o->flags & (CP_EXEC_STDIN_INHERIT | CP_EXEC_STDIN_IGNORE)) ==
		    (CP_EXEC_STDIN_INHERIT | CP_EXEC_STDIN_IGNORE) ||
		    (o->flags != 0 && o->input != NULL))
			return UV_EINVAL;
		if (o->flags != 0) {
			st[0].type = o->flags & CP_EXEC_STDIN_INHERIT ?
			    CP_STDIO_INHERIT : CP_STDIO_IGNORE;
			so.stdio_count = 1;
		}
	}
	/* Node pads a short stdio array with pipes up to fd 2. */
	for (; so.stdio_count < 3; so.stdio_count++)
		st[so.stdio_count].type = CP_STDIO_PIPE;
	for (fd = 0; fd < so.stdio_count; fd++)
		if (st[fd].type == CP_STDIO_IPC)
			return UV_EINVAL;	/* Node: ERR_IPC_SYNC_FORK */

	enc = o->encoding;
	if (enc == CP_ENC_DEFAULT)
		enc = mode == MODE_EXEC ? CP_ENC_UTF8 : CP_ENC_BUFFER;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return UV_ENOMEM;
	x->loop = loop;
	x->mode = mode;
	x->cb = cb;
	x->data = data;
	x->on_output = mode == MODE_EXEC ? o->on_output : NULL;
	x->max_buffer = o->max_buffer;
	x->kill_signal = so.kill_signal ? so.kill_signal : SIGTERM;
	x->r.sync = mode == MODE_SYNC;
	x->r.encoding = enc;
	x->r.text = mode == MODE_EXEC && enc != CP_ENC_BUFFER;
	x->r.status = -1;
	if ((r = describe(&x->r, &so)) != 0)
		goto fail;

	/* stdin: our own socketpair when we write it (input, or sync's EOF). */
	if (st[0].type == CP_STDIO_PIPE &&
	    (mode == MODE_SYNC || o->input != NULL)) {
		if (o->input_len > UINT32_MAX) {
			r = UV_EINVAL;
			goto fail;
		}
		if (o->input_len > 0) {
			if ((x->input = malloc(o->input_len)) == NULL) {
				r = UV_ENOMEM;
				goto fail;
			}
			memcpy(x->input, o->input, o->input_len);
			x->input_len = o->input_len;
		}
		if ((r = uv_socketpair(SOCK_STREAM, 0, fds, 0, 0)) != 0)
			goto fail;
		/* libuv must not get fd 0-2 (issue 7, 1). */
		fds[0] = cp__fd_above_stdio(fds[0]);
		fds[1] = cp__fd_above_stdio(fds[1]);
		if (fds[0] < 0 || fds[1] < 0) {
			r = fds[0] < 0 ? fds[0] : fds[1];
			if (fds[0] >= 0)
				close(fds[0]);
			if (fds[1] >= 0)
				close(fds[1]);
			fds[0] = fds[1] = -1;
			goto fail;
		}
		st[0].type = CP_STDIO_FD;
		st[0].fd = fds[1];
	}
	for (fd = 1; fd < so.stdio_count; fd++) {
		if (st[fd].type != CP_STDIO_PIPE)
			continue;
		x->s[fd].capture = true;
		x->s[fd].open = true;
		cp__decoder_init(&x->s[fd].dec, enc);
	}

	r = cp_child_spawn(loop, &so, &child_events, x, &x->child);
	if (fds[1] >= 0)
		close(fds[1]);		/* the child has its copy */
	if (r != 0 && mode == MODE_EXEC && !reported_later(r)) {
		if (fds[0] >= 0)
			close(fds[0]);
		goto fail;
	}
	uv_timer_init(loop, &x->timer);
	x->timer.data = x;
	x->handles++;
	if (r != 0) {
		/* As Node: the error arrives on a later turn of the loop. */
		if (fds[0] >= 0)
			close(fds[0]);
		x->child = NULL;
		x->r.error = r;
		x->r.output_count = mode == MODE_EXEC ? 3 : 0;
		uv_timer_start(&x->timer, defer_cb, 0, 0);
		*xp = x;
		return 0;
	}
	x->handles++;		/* the child, until its close_cb */
	x->r.pid = cp_child_pid(x->child);
	x->r.output_count = so.stdio_count;
	if (fds[0] >= 0)
		start_input(x, fds[0]);
	if (o->spawn.timeout_ms > 0)
		uv_timer_start(&x->timer, timeout_cb, o->spawn.timeout_ms, 0);
	*xp = x;
	return 0;

fail:
	cp_result_release(&x->r);
	free(x->input);
	free(x);
	return r;
}

int
cp_exec_file(uv_loop_t *loop, const struct cp_exec_options *o, cp_exec_cb cb,
    void *data, struct cp_exec **xp)
{
	return start(loop, o, MODE_EXEC, NULL, cb, data, xp);
}

int
cp_exec(uv_loop_t *loop, const struct cp_exec_options *o, cp_exec_cb cb,
    void *data, struct cp_exec **xp)
{
	return start(loop, o, MODE_EXEC, "/bin/sh", cb, data, xp);
}

int
cp_spawn_capture(uv_loop_t *loop, const struct cp_exec_options *o,
    cp_exec_cb cb, void *data, struct cp_exec **xp)
{
	return start(loop, o, MODE_SYNC, NULL, cb, data, xp);
}

struct cp_child *
cp_exec_child(const struct cp_exec *x)
{
	return x->child;
}

int
cp_exec_kill(struct cp_exec *x, int signum)
{
	if (x->child == NULL)
		return UV_ESRCH;
	return cp_child_kill(x->child, signum);
}

/* A close asked for after cb: only close_cb is left to call. */
static void
late_closed(uv_handle_t *h)
{
	struct cp_exec *x = h->data;

	if (x->close_cb != NULL)
		x->close_cb(x, x->data);	/* may free x */
}

void
cp_exec_close(struct cp_exec *x, cp_exec_close_cb close_cb)
{
	if (x->closing)
		return;
	x->closing = true;
	x->close_cb = close_cb;
	if (x->reported) {
		/* From the loop, never inside this call. */
		uv_timer_init(x->loop, &x->timer);
		x->timer.data = x;
		uv_close((uv_handle_t *)&x->timer, late_closed);
		return;
	}
	if (x->finishing)
		return;		/* report() calls close_cb after cb */
	/*
	 * Cancelled while running, as Node's exec with an aborted signal:
	 * cb gets UV_ECANCELED ("The operation was aborted") unless an error
	 * was set already, with the output so far.  The child is killed with
	 * SIGKILL (so nothing can hold the close), as kill() would, stdout and
	 * stderr closed first, and reaped before cb.
	 */
	set_error(x, UV_ECANCELED);
	if (x->child == NULL)
		return;		/* a spawn error, reported from the timer */
	uv_timer_stop(&x->timer);	/* the timeout */
	x->kill_signal = SIGKILL;
	if (x->mode == MODE_EXEC)
		exec_kill(x);
	else
		sync_kill(x);
	cp_child_kill(x->child, SIGKILL);
}

void
cp_exec_free(struct cp_exec *x)
{
	int fd;

	if (x == NULL)
		return;
	cp_result_release(&x->r);
	for (fd = 0; fd < CP__STDIO_MAX; fd++)
		cp_buf_release(&x->s[fd].buf);
	free(x->input);
	free(x);
}

void
cp_result_release(struct cp_result *r)
{
	size_t i;
	int fd;

	for (fd = 0; r->output != NULL && fd < r->output_count; fd++)
		free(r->output[fd].data);
	free(r->output);
	r->output = NULL;
	for (i = 0; r->spawnargs != NULL && r->spawnargs[i] != NULL; i++)
		free(r->spawnargs[i]);
	free(r->spawnargs);
	free(r->file);
	free(r->cmd);
	r->spawnargs = NULL;
	r->file = r->cmd = NULL;
	r->output_count = 0;
}

/* ---- the sync forms --------------------------------------------------------- */

static void
sync_done(struct cp_exec *x, struct cp_result *r, void *data)
{
	(void)x;
	(void)r;
	*(bool *)data = true;
}

static int
run_sync(const struct cp_exec_options *o, const char *def_shell,
    struct cp_result *out)
{
	uv_loop_t loop;
	struct cp_exec *x;
	struct cp_stdfds g;
	bool done = false;
	int r;

	/* Empty even on failure: cp_result_release(out) is always safe. */
	memset(out, 0, sizeof(*out));
	/* The loop's own fds must not land on a closed 0-2 (issue 7, 1). */
	cp__stdfds_hold(&g);
	r = uv_loop_init(&loop);
	cp__stdfds_release(&g);
	if (r != 0)
		return r;
	if ((r = start(&loop, o, MODE_SYNC, def_shell, sync_done, &done, &x)) == 0) {
		uv_run(&loop, UV_RUN_DEFAULT);
		if (!done) {
			/* Cannot happen: the loop only ends once x reported. */
			r = UV_EIO;
		} else {
			*out = x->r;
			memset(&x->r, 0, sizeof(x->r));
		}
		cp_exec_close(x, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		cp_exec_free(x);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return r;
}

int
cp_spawn_sync(const struct cp_exec_options *o, struct cp_result *r)
{
	return run_sync(o, NULL, r);
}

/* checkExecSyncError: an error, or an exit status other than 0. */
static int
check_exec_sync(struct cp_result *r)
{
	if (r->error == 0 && r->status != 0)
		r->error = CP_EXEC_FAILED;
	return r->error;
}

int
cp_exec_file_sync(const struct cp_exec_options *o, struct cp_result *r)
{
	char *cmd;
	int e;

	if ((e = run_sync(o, NULL, r)) != 0)
		return e;
	/* execFileSync's message: [argv0 || file, ...args].join(' '). */
	if (o->spawn.argv0 != NULL && o->spawn.argv0[0] != '\0' &&
	    (cmd = cp__join_words(o->spawn.argv0, o->spawn.args)) != NULL) {
		free(r->cmd);
		r->cmd = cmd;
	}
	return check_exec_sync(r);
}

int
cp_exec_sync(const struct cp_exec_options *o, struct cp_result *r)
{
	int e;

	if ((e = run_sync(o, "/bin/sh", r)) != 0)
		return e;
	return check_exec_sync(r);
}

/* ---- messages and JSON -------------------------------------------------- */

/* An output as Node holds it, as text (buffers read as UTF-8, as `${buf}`). */
static char *
output_text(const struct cp_result *r, int fd, size_t *lenp)
{
	const struct cp_output *o = &r->output[fd];
	char *s;

	*lenp = 0;
	if (fd >= r->output_count || o->data == NULL)
		return NULL;
	if (r->text) {
		if ((s = malloc(o->len + 1)) != NULL) {
			memcpy(s, o->data, o->len + 1);
			*lenp = o->len;
		}
		return s;
	}
	if (cp_encoding_to_string(r->encoding == CP_ENC_BUFFER ? CP_ENC_UTF8 :
	    r->encoding, o->data, o->len, &s, lenp) != 0)
		return NULL;
	return s;
}

/* Node's message, or NULL when out of memory (r->error is not 0). */
static char *
result_message(const struct cp_result *r)
{
	struct cp_buf b = CP_BUF_INIT;
	char *text = NULL, num[64];
	size_t tlen = 0;
	int n;

	if (r->error == UV_ECANCELED && r->pid != 0) {
		/* cp_exec_close: Node's AbortError. */
		if (cp_buf_add(&b, ABORTED, strlen(ABORTED)) != 0)
			goto fail;
		return b.data;
	}
	if (r->error < 0) {
		/* ErrnoException: `${syscall} ${code}` */
		if (cp_buf_add(&b, r->sync ? "spawnSync " : "spawn ",
		    r->sync ? 10 : 6) != 0 ||
		    cp_buf_add(&b, r->file, strlen(r->file)) != 0 ||
		    cp_buf_add(&b, " ", 1) != 0 ||
		    cp_buf_add(&b, cp_err_name(r->error),
		    strlen(cp_err_name(r->error))) != 0)
			goto fail;
		return b.data;
	}
	if (r->error == CP_EXEC_MAXBUFFER) {
		n = snprintf(num, sizeof(num), "%s maxBuffer length exceeded",
		    r->max_buffer_fd == 2 ? "stderr" : "stdout");
		if (cp_buf_add(&b, num, (size_t)n) != 0)
			goto fail;
		return b.data;
	}
	/* NULL for stderr there is no memory for: never a message cut short. */
	if ((text = output_text(r, 2, &tlen)) == NULL && r->output_count > 2 &&
	    r->output[2].data != NULL)
		goto fail;
	if (cp_buf_add(&b, "Command failed: ", 16) != 0 ||
	    cp_buf_add(&b, r->cmd, strlen(r->cmd)) != 0)
		goto fail;
	/* exec always adds "\n" + stderr; the sync forms only if there is some. */
	if (!r->sync || (r->output_count > 2 && r->output[2].data != NULL &&
	    r->output[2].len > 0))
		if (cp_buf_add(&b, "\n", 1) != 0 ||
		    (text != NULL && cp_buf_add(&b, text, tlen) != 0))
			goto fail;
	free(text);
	return b.data;
fail:
	free(text);
	cp_buf_release(&b);
	return NULL;
}

int
cp_result_message(const struct cp_result *r, char **msgp)
{
	*msgp = NULL;
	if (r->error == 0)
		return 0;
	if ((*msgp = result_message(r)) == NULL)
		return UV_ENOMEM;
	return 0;
}

/* JSON.stringify of a Buffer. */
static json_t *
buffer_json(const char *data, size_t len)
{
	json_t *o, *a;
	size_t i;

	o = json_object();
	a = json_array();
	if (o == NULL || a == NULL)
		goto fail;
	for (i = 0; i < len; i++)
		if (json_array_append_new(a, json_integer((unsigned char)data[i])) != 0)
			goto fail;
	if (json_object_set_new(o, "type", json_string("Buffer")) != 0)
		goto fail;
	if (json_object_set_new(o, "data", a) != 0) {
		a = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}

static json_t *
output_json(const struct cp_result *r, int fd)
{
	const struct cp_output *o = &r->output[fd];
	json_t *v;
	char *s;
	size_t len;

	if (fd >= r->output_count || o->data == NULL)
		return json_null();
	if (!r->text && r->encoding == CP_ENC_BUFFER)
		return buffer_json(o->data, o->len);
	if ((s = output_text(r, fd, &len)) == NULL)
		return NULL;
	/* nocheck: lone surrogates are kept as WTF-8 (see childproc.h). */
	v = json_stringn_nocheck(s, len);
	free(s);
	return v;
}

/* Sets key to v (a new reference; NULL means out of memory). */
static int
set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(obj, key, v);
}

static json_t *
strings_json(char **v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && v != NULL && v[i] != NULL; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ErrnoException's enumerable properties: errno, code, syscall[, path, spawnargs]. */
static int
errno_props(json_t *e, int err, const char *syscall, const char *file,
    char **spawnargs)
{
	char buf[512];

	if (file != NULL)
		snprintf(buf, sizeof(buf), "%s %s", syscall, file);
	else
		snprintf(buf, sizeof(buf), "%s", syscall);
	if (set(e, "errno", json_integer(err)) != 0 ||
	    set(e, "code", json_string(cp_err_name(err))) != 0 ||
	    set(e, "syscall", json_string(buf)) != 0)
		return -1;
	if (file == NULL)
		return 0;
	if (set(e, "path", json_string(file)) != 0 ||
	    set(e, "spawnargs", strings_json(spawnargs)) != 0)
		return -1;
	return 0;
}

static json_t *
exec_error_json(const struct cp_result *r)
{
	json_t *e;
	char *msg;

	if (r->error == 0)
		return json_null();
	if ((e = json_object()) == NULL || (msg = result_message(r)) == NULL)
		goto fail;
	if (set(e, "message", json_string(msg)) != 0) {
		free(msg);
		goto fail;
	}
	free(msg);
	if (r->error == UV_ECANCELED && r->pid != 0) {
		if (set(e, "code", json_string("ABORT_ERR")) != 0)
			goto fail;
	} else if (r->error < 0) {
		if (errno_props(e, r->error, "spawn", r->file, r->spawnargs) != 0)
			goto fail;
	} else if (r->error == CP_EXEC_MAXBUFFER) {
		if (set(e, "code",
		    json_string("ERR_CHILD_PROCESS_STDIO_MAXBUFFER")) != 0)
			goto fail;
	} else {
		if (set(e, "code", r->status >= 0 ? json_integer(r->status) :
		    json_null()) != 0 ||
		    set(e, "killed", json_boolean(r->killed)) != 0 ||
		    set(e, "signal", r->signal != 0 ?
		    json_string(cp_signal_name(r->signal)) : json_null()) != 0)
			goto fail;
	}
	if (set(e, "cmd", json_string(r->cmd)) != 0)
		goto fail;
	return e;
fail:
	json_decref(e);
	return NULL;
}

json_t *
cp_exec_result_json(const struct cp_result *r)
{
	json_t *o = json_object();

	if (o == NULL || set(o, "error", exec_error_json(r)) != 0 ||
	    set(o, "stdout", output_json(r, 1)) != 0 ||
	    set(o, "stderr", output_json(r, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
cp_exec_thrown_json(int err, enum cp_encoding enc)
{
	struct cp_output out[3];
	struct cp_result r;
	char msg[128];
	json_t *o, *e;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(out));
	r.output = out;
	r.encoding = enc == CP_ENC_DEFAULT ? CP_ENC_UTF8 : enc;
	r.text = r.encoding != CP_ENC_BUFFER;
	r.output_count = 3;
	r.output[1].data = r.output[2].data = (char *)"";
	snprintf(msg, sizeof(msg), "spawn %s", cp_err_name(err));
	o = json_object();
	e = json_object();
	if (o == NULL || e == NULL || set(e, "message", json_string(msg)) != 0 ||
	    errno_props(e, err, "spawn", NULL, NULL) != 0) {
		json_decref(e);
		json_decref(o);
		return NULL;
	}
	if (set(o, "error", e) != 0 || set(o, "stdout", output_json(&r, 1)) != 0 ||
	    set(o, "stderr", output_json(&r, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
cp_spawn_sync_result_json(const struct cp_result *r)
{
	json_t *o = json_object(), *e, *out;
	int fd;

	if (o == NULL)
		return NULL;
	if (r->error < 0) {
		/* JSON.stringify leaves out the (non-enumerable) message. */
		if ((e = json_object()) == NULL || set(o, "error", e) != 0 ||
		    errno_props(e, r->error, "spawnSync", r->file,
		    r->spawnargs) != 0)
			goto fail;
	}
	if (set(o, "status", r->status >= 0 ? json_integer(r->status) :
	    json_null()) != 0 ||
	    set(o, "signal", r->signal != 0 ?
	    json_string(cp_signal_name(r->signal)) : json_null()) != 0)
		goto fail;
	if (r->output_count == 0) {
		out = json_null();
	} else if ((out = json_array()) != NULL) {
		for (fd = 0; fd < r->output_count; fd++) {
			if (json_array_append_new(out, output_json(r, fd)) != 0) {
				json_decref(out);
				goto fail;
			}
		}
	}
	if (set(o, "output", out) != 0 ||
	    set(o, "pid", json_integer(r->pid)) != 0 ||
	    set(o, "stdout", r->output_count ? output_json(r, 1) : json_null()) != 0 ||
	    set(o, "stderr", r->output_count ? output_json(r, 2) : json_null()) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}
