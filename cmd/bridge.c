/*
 * cmd/bridge.c - childproc-fork's bridge: each line of standard input is
 * a message to a worker, each message from a worker a line of standard
 * output; --end says when to disconnect once input is over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"

/* How long input may have ended, without --end, before we say we wait. */
#define WAIT_NOTICE_MS 2000

/*
 * Standard output is written by a thread of its own, so that a reader
 * that stops reading blocks that thread's write(2), never the loop: our
 * signals are still acted on (and forwarded) at once.  Without O_NONBLOCK,
 * which would change the file description we share with whoever else
 * holds it.  Messages are appended whole, so none is split or spliced.
 * Past OUT_HIGH bytes waiting, the workers' channels are paused (their
 * send() then returns false), and resumed below OUT_LOW.
 */
#define OUT_HIGH (1024 * 1024)
#define OUT_LOW (256 * 1024)

static struct out {
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t cond;
	uv_async_t async;		/* the thread tells the loop: drained, error */
	char *buf;			/* waiting, appended by the loop */
	size_t len, cap;
	size_t writing;			/* bytes the thread is writing */
	int err;			/* errno of a failed write, or 0 */
	bool quit;			/* no more will come: drain and end */
	bool started;
	bool paused;			/* the channels are paused */
} out;

/* The worker's channel if input may go to it, else NULL. */
static struct cp_channel *
worker_channel(struct cp_worker *w)
{
	struct cp_channel *ch;

	if (w == NULL || cp_worker_state(w) >= CP_WORKER_STOPPING ||
	    (ch = cp_worker_channel(w)) == NULL || !cp_channel_connected(ch))
		return NULL;
	return ch;
}

static struct cp_channel *
slot_channel(struct fork *f, int slot)
{
	return worker_channel(cp_pool_worker(f->pool, slot));
}

/* Node's worker.disconnect() for each (a cluster worker closes its servers). */
static void
disconnect_all(struct fork *f)
{
	int i;

	f->ending = true;
	uv_timer_stop(&f->idle);
	for (i = 0; i < cp_pool_size(f->pool); i++)
		if (slot_channel(f, i) != NULL)
			cp_worker_disconnect(cp_pool_worker(f->pool, i));
}

/*
 * Our output cannot go anywhere: stop the workers as a stop signal would
 * (disconnect, SIGKILL after --grace).  A disconnect alone is not enough:
 * a child that sends in a loop without returning to its event loop never
 * sees it (Node's send() on a closed channel fails without a word, and
 * returns true), and would keep us, and itself, running for ever.
 */
static void
bridge_stop(struct fork *f)
{
	bridge_close_input(f);
	f->ending = true;
	uv_timer_stop(&f->idle);
	cp_pool_stop(f->pool, false);
}

/* ---- standard output ---------------------------------------------------- */

static void
out_thread(void *arg)
{
	char *wbuf = NULL;
	size_t wcap = 0, n, off;
	ssize_t w;
	int err = 0;

	(void)arg;
	uv_mutex_lock(&out.lock);
	for (;;) {
		while (out.len == 0 && !out.quit)
			uv_cond_wait(&out.cond, &out.lock);
		if (out.len == 0)
			break;
		/* Take what waits (swap the buffers), write it unlocked. */
		n = out.len;
		{
			char *t = out.buf;
			size_t c = out.cap;

			out.buf = wbuf;
			out.cap = wcap;
			wbuf = t;
			wcap = c;
		}
		out.len = 0;
		out.writing = n;
		uv_mutex_unlock(&out.lock);
		for (off = 0; off < n && err == 0; off += (size_t)w) {
			if ((w = write(STDOUT_FILENO, wbuf + off, n - off)) < 0) {
				w = 0;
				if (errno != EINTR)
					err = errno;
			}
		}
		uv_mutex_lock(&out.lock);
		out.writing = 0;
		if (err != 0) {
			/* Nothing more can go: what waits is dropped, and so on. */
			out.err = err;
			out.len = 0;
		}
		uv_async_send(&out.async);
		if (err != 0 && !out.quit) {
			/* Wait for the quit; appends are refused meanwhile. */
			while (!out.quit)
				uv_cond_wait(&out.cond, &out.lock);
			break;
		}
	}
	uv_mutex_unlock(&out.lock);
	free(wbuf);
}

static void
pause_channels(struct fork *f, bool pause)
{
	struct cp_worker *w;
	struct cp_channel *ch;
	int i;

	for (i = 0; i < cp_pool_size(f->pool); i++) {
		if ((w = cp_pool_worker(f->pool, i)) == NULL ||
		    (ch = cp_worker_channel(w)) == NULL)
			continue;
		if (pause)
			cp_channel_pause(ch);
		else
			cp_channel_resume(ch);
	}
}

/* The loop's side: the thread drained below OUT_LOW, or failed. */
static void
out_async_cb(uv_async_t *h)
{
	struct fork *f = h->data;
	size_t waiting;
	int err;

	uv_mutex_lock(&out.lock);
	err = out.err;
	waiting = out.len + out.writing;
	uv_mutex_unlock(&out.lock);
	if (err != 0 && !f->out_error) {
		f->out_error = true;
		/* A reader gone (EPIPE) ends us quietly, with 141 (cmd_finish). */
		if (cmd_stdout_error(err) != EPIPE)
			cmd_warn("error writing standard output: %s",
			    strerror(err));
		bridge_stop(f);
	}
	if (out.paused && (err != 0 || waiting < OUT_LOW)) {
		out.paused = false;
		/* Nothing is held back now: the loop may end without us. */
		uv_unref((uv_handle_t *)&out.async);
		pause_channels(f, false);
	}
}

/* Queues one line of output (whole); pauses the workers past OUT_HIGH. */
static void
out_write(struct fork *f, const char *a, size_t alen, const char *b,
    size_t blen, const char *c, size_t clen)
{
	size_t need, waiting, cap;
	char *p;

	uv_mutex_lock(&out.lock);
	if (out.err != 0) {
		uv_mutex_unlock(&out.lock);
		return;
	}
	need = out.len + alen + blen + clen;
	if (need > out.cap) {
		for (cap = out.cap ? out.cap : 65536; cap < need; cap *= 2)
			;
		if ((p = realloc(out.buf, cap)) == NULL) {
			uv_mutex_unlock(&out.lock);
			cmd_die("out of memory");
		}
		out.buf = p;
		out.cap = cap;
	}
	memcpy(out.buf + out.len, a, alen);
	memcpy(out.buf + out.len + alen, b, blen);
	memcpy(out.buf + out.len + alen + blen, c, clen);
	out.len = need;
	waiting = out.len + out.writing;
	uv_cond_signal(&out.cond);
	uv_mutex_unlock(&out.lock);
	if (waiting > OUT_HIGH && !out.paused) {
		out.paused = true;
		/* The loop must wait for the drain that resumes them. */
		uv_ref((uv_handle_t *)&out.async);
		pause_channels(f, true);
	}
}

static int
out_start(struct fork *f)
{
	int r;

	if ((r = uv_mutex_init(&out.lock)) != 0)
		return r;
	if ((r = uv_cond_init(&out.cond)) != 0) {
		uv_mutex_destroy(&out.lock);
		return r;
	}
	if ((r = uv_async_init(f->loop, &out.async, out_async_cb)) != 0 ||
	    (r = uv_thread_create(&out.thread, out_thread, NULL)) != 0) {
		cmd_die("cannot start the output thread: %s", cp_strerror(r));
	}
	out.async.data = f;
	uv_unref((uv_handle_t *)&out.async);
	out.started = true;
	return 0;
}

/*
 * Writes what still waits (blocking, as cat would: our signal handlers
 * are gone by now, so a stop signal ends us) and ends the thread.
 */
static void
out_stop(void)
{
	if (!out.started)
		return;
	out.started = false;
	uv_mutex_lock(&out.lock);
	out.quit = true;
	uv_cond_signal(&out.cond);
	uv_mutex_unlock(&out.lock);
	uv_thread_join(&out.thread);
	if (out.err != 0)
		cmd_stdout_error(out.err);	/* said (or not) at cmd_finish */
	uv_close((uv_handle_t *)&out.async, NULL);
	uv_cond_destroy(&out.cond);
	uv_mutex_destroy(&out.lock);
	free(out.buf);
	out.buf = NULL;
}

static void
maybe_end(struct fork *f)
{
	if (f->ending || !f->input_done)
		return;
	if (f->end == END_DISCONNECT ||
	    (f->end == END_REPLIES && f->received >= f->sent))
		disconnect_all(f);
}

static void
idle_cb(uv_timer_t *t)
{
	struct fork *f = t->data;
	struct cp_channel *ch;
	int i;

	/*
	 * Silent is not idle while a worker has not even read what we sent
	 * (node still starting up, say): wait for it, then time the silence.
	 */
	for (i = 0; i < cp_pool_size(f->pool); i++) {
		if ((ch = slot_channel(f, i)) != NULL &&
		    (cp_channel_queue_size(ch) > 0 || cp_channel_unread(ch) > 0)) {
			uv_timer_start(&f->idle, idle_cb, f->idle_ms, 0);
			return;
		}
	}
	disconnect_all(f);
}

static void
restart_idle(struct fork *f)
{
	if (f->end == END_IDLE && f->input_done && !f->ending && f->bridge_open)
		uv_timer_start(&f->idle, idle_cb, f->idle_ms, 0);
}

static void
input_closed(struct cp_reader *r, void *data)
{
	(void)data;
	cp_reader_free(r);	/* nothing of the bridge waits for it */
}

void
bridge_close_input(struct fork *f)
{
	f->input_done = true;
	cp_reader_close(f->in, input_closed);
	f->in = NULL;
}

static int
send_line(struct fork *f, const char *line, size_t len, json_error_t *e,
    int *busy)
{
	struct cp_channel *ch;
	int i, n, r = UV_EPIPE, sent = 0, nslots = cp_pool_size(f->pool);

	for (i = 0; i < nslots; i++) {
		int s = f->broadcast ? i : (f->rr + i) % nslots;

		if ((ch = slot_channel(f, s)) == NULL)
			continue;
		n = cp_channel_send_line(ch, line, len, e, NULL, NULL);
		if (n == UV_EPROTO)
			return n;
		if (n < 0) {
			r = n;
			continue;
		}
		if (n == 1)
			*busy = 1;
		sent++;
		if (!f->broadcast) {
			f->rr = (s + 1) % nslots;
			break;
		}
	}
	f->sent += (unsigned long)sent;
	return sent > 0 ? 0 : r;
}

/*
 * Input has ended, --end was not given, and the child is still there a
 * while later: Node's fork waits for it, and so do we, but not without a
 * word, or `echo '{"x":1}' | childproc-fork server.js` just hangs.
 */
static void
wait_notice_cb(uv_timer_t *t)
{
	(void)t;
	cmd_warn("standard input has ended; waiting for the child to exit or "
	    "disconnect, as Node does (--end wait).  To stop once input ends: "
	    "--end replies, --end idle:500ms or --end disconnect");
}

static void
input_ended(struct fork *f)
{
	json_error_t e;
	int busy = 0, r;

	if (f->input_done)
		return;
	bridge_close_input(f);
	if (f->end_message != NULL) {
		r = send_line(f, f->end_message, strlen(f->end_message), &e,
		    &busy);
		if (r < 0)
			cmd_warn("--end-message not sent: %s", cp_strerror(r));
		else
			f->sent--;	/* no reply is awaited for it */
	}
	restart_idle(f);
	maybe_end(f);
	/* (The idle timer is free with --end wait; unref'd: it holds nothing.) */
	if (f->end == END_WAIT && !f->end_given && !f->master &&
	    f->bridge_open && !f->ending) {
		uv_timer_start(&f->idle, wait_notice_cb, WAIT_NOTICE_MS, 0);
		uv_unref((uv_handle_t *)&f->idle);
	}
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void
on_line(struct cp_reader *r, int err, char *line, size_t len, void *data)
{
	struct fork *f = data;
	json_error_t e;
	int n, busy = 0;

	(void)r;
	if (err == UV_EOF) {
		input_ended(f);
		return;
	}
	if (err != 0 && err != UV_EMSGSIZE) {
		cmd_warn("standard input: %s", cp_strerror(err));
		input_ended(f);
		return;
	}
	f->lineno++;
	if (err == UV_EMSGSIZE) {
		cmd_warn("line %lu: longer than --max-message (%zu bytes), not sent",
		    f->lineno, len);
		f->lost++;
		return;
	}
	if (blank(line, len))
		return;
	n = send_line(f, line, len, &e, &busy);
	if (n == UV_EPROTO) {
		cmd_warn("line %lu: invalid JSON (%s at column %d), not sent",
		    f->lineno, e.text, e.column);
		f->lost++;
		return;
	}
	if (n < 0) {
		/* advanced: a JSON text that is not a valid tagged form */
		cmd_warn("line %lu: not sent: %s", f->lineno,
		    n == UV_EPIPE ? "the channel is closed" :
		    n == UV_EINVAL && e.text[0] ? e.text : cp_strerror(n));
		f->lost++;
		return;
	}
	if (busy && !f->paused) {
		/* Node's send() said false: wait for the channel to drain. */
		f->paused = true;
		cp_reader_pause(f->in);
	}
}

static void
check_cb(uv_check_t *h)
{
	struct fork *f = h->data;
	struct cp_channel *ch;
	size_t q = 0;
	int i;

	/* Once per loop turn: hold new workers back too, and resume input. */
	if (out.paused)
		pause_channels(f, true);
	if (f->paused && f->in != NULL) {
		for (i = 0; i < cp_pool_size(f->pool); i++)
			if ((ch = slot_channel(f, i)) != NULL)
				q += cp_channel_queue_size(ch);
		if (q < CP_SEND_HIGH_WATER / 2) {
			f->paused = false;
			cp_reader_resume(f->in);
		}
	}
}

void
bridge_on_message(struct fork *f, struct cp_worker *w,
    const struct cp_message *m)
{
	char *s, tag[64];
	size_t tlen = 0;

	f->received++;
	if (!f->out_error) {
		if (f->tag)
			tlen = (size_t)snprintf(tag, sizeof(tag),
			    "{\"worker\":%d,\"message\":", cp_worker_slot(w) + 1);
		if (m->handle_type == CP_HANDLE_NONE) {
			out_write(f, tag, tlen, m->line, m->len,
			    f->tag ? "}\n" : "\n", f->tag ? 2 : 1);
		} else {
			/* A handle cannot go to stdout: print its message only. */
			s = cp_json_stringify(m->value, NULL);
			out_write(f, tag, tlen, s != NULL ? s : "null",
			    s != NULL ? strlen(s) : 4,
			    f->tag ? "}\n" : "\n", f->tag ? 2 : 1);
			free(s);
			cmd_warn("worker %d sent a %s handle; closed",
			    cp_worker_slot(w) + 1,
			    cp_handle_type_name(m->handle_type));
		}
	}
	restart_idle(f);
	maybe_end(f);
}

void
bridge_on_disconnect(struct fork *f, struct cp_worker *w)
{
	int i;

	(void)w;
	/* Without a pool, input can go nowhere once the only channel is gone. */
	if (!f->master && !f->input_done)
		bridge_close_input(f);
	for (i = 0; i < cp_pool_size(f->pool); i++)
		if (slot_channel(f, i) != NULL)
			return;
	if (f->bridge_open)
		uv_timer_stop(&f->idle);
}

void
bridge_init(struct fork *f)
{
	uv_timer_init(f->loop, &f->idle);
	f->idle.data = f;
	uv_check_init(f->loop, &f->check);
	f->check.data = f;
	uv_check_start(&f->check, check_cb);
	uv_unref((uv_handle_t *)&f->check);
	out_start(f);
	f->bridge_open = true;
}

void
bridge_start_input(struct fork *f)
{
	int r;

	if ((r = cp_reader_open(f->loop, 0, f->max_message, on_line, f,
	    &f->in)) != 0) {
		cmd_warn("standard input: %s", cp_strerror(r));
		f->in = NULL;
		input_ended(f);
	}
}

void
bridge_close(struct fork *f)
{
	if (!f->input_done)
		bridge_close_input(f);
	if (!f->bridge_open)
		return;
	f->bridge_open = false;
	uv_close((uv_handle_t *)&f->idle, NULL);
	uv_close((uv_handle_t *)&f->check, NULL);
	out_stop();
}
