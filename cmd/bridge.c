/*
 * cmd/bridge.c - childproc-fork's bridge: each line of standard input is
 * a message to a worker, each message from a worker a line of standard
 * output; --end says when to disconnect once input is over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fork.h"

/* How long input may have ended, without --end, before we say we wait. */
#define WAIT_NOTICE_MS 2000

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

void
bridge_close_input(struct fork *f)
{
	f->input_done = true;
	cp_reader_close(f->in);
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

	/* Once per loop turn: push our output out, and resume input. */
	if (fflush(stdout) != 0 && !f->out_error) {
		f->out_error = true;
		/* A reader gone (EPIPE) ends us quietly, with 141 (cmd_finish). */
		if (cmd_stdout_error(errno) != EPIPE)
			cmd_warn("error writing standard output: %s",
			    strerror(errno));
		bridge_stop(f);
	}
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
	char *s;

	f->received++;
	if (!f->out_error) {
		if (f->tag)
			printf("{\"worker\":%d,\"message\":", cp_worker_slot(w) + 1);
		if (m->handle_type == CP_HANDLE_NONE) {
			fwrite(m->line, 1, m->len, stdout);
		} else {
			/* A handle cannot go to stdout: print its message only. */
			s = cp_json_stringify(m->value, NULL);
			fputs(s != NULL ? s : "null", stdout);
			free(s);
			cmd_warn("worker %d sent a %s handle; closed",
			    cp_worker_slot(w) + 1,
			    cp_handle_type_name(m->handle_type));
		}
		fputs(f->tag ? "}\n" : "\n", stdout);
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
}
