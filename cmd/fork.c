/*
 * cmd/fork.c - childproc-fork: run Node modules with Node's IPC channel,
 * bridge it to stdin/stdout, and (with -n or --listen) act as the master
 * of a pool of workers sharing a listening socket.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "init.h"
#include "systemd.h"

enum {
	OPT_EXEC_PATH = OPT_FIRST_OWN,
	OPT_EXEC_ARG,
	OPT_END,
	OPT_END_MESSAGE,
	OPT_MAX_MESSAGE,
	OPT_DISPATCH,
	OPT_TAG,
	OPT_LISTEN,
	OPT_HANDLE_MESSAGE,
	OPT_RESTART,
	OPT_MAX_RESTARTS,
	OPT_GRACE,
	OPT_BALANCE,
	OPT_STATUS_FD,
};

enum end_mode { END_WAIT, END_REPLIES, END_IDLE, END_DISCONNECT };
enum restart { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS };

static const struct option longopts[] = {
	CMD_PROCESS_LONGOPTS,
	{ "exec-path",      required_argument, NULL, OPT_EXEC_PATH },
	{ "exec-arg",       required_argument, NULL, OPT_EXEC_ARG },
	{ "end",            required_argument, NULL, OPT_END },
	{ "end-message",    required_argument, NULL, OPT_END_MESSAGE },
	{ "max-message",    required_argument, NULL, OPT_MAX_MESSAGE },
	{ "workers",        required_argument, NULL, 'n' },
	{ "dispatch",       required_argument, NULL, OPT_DISPATCH },
	{ "tag",            no_argument,       NULL, OPT_TAG },
	{ "listen",         required_argument, NULL, OPT_LISTEN },
	{ "handle-message", required_argument, NULL, OPT_HANDLE_MESSAGE },
	{ "restart",        required_argument, NULL, OPT_RESTART },
	{ "max-restarts",   required_argument, NULL, OPT_MAX_RESTARTS },
	{ "grace",          required_argument, NULL, OPT_GRACE },
	{ "balance",        required_argument, NULL, OPT_BALANCE },
	{ "status-fd",      required_argument, NULL, OPT_STATUS_FD },
	{ NULL, 0, NULL, 0 },
};

struct master;

struct worker {
	struct master *m;
	int slot;			/* 0-based; shown 1-based */
	int pid;
	struct cp_child *child;
	struct cp_channel *ch;
	uv_timer_t grace;		/* SIGKILL after --grace once stopping */
	bool grace_on;
	bool ready;			/* first message, or server handle ACKed */
	bool stopping;			/* asked to go (stop, rolling restart) */
	bool retired;			/* replaced: its exit restarts nothing */
	bool exited;
	uint64_t started;		/* uv_now at spawn */
};

struct master {
	uv_loop_t *loop;
	struct cp_spawn_options opts;	/* for every worker */
	int nslots;
	struct worker **slot;		/* current worker per slot, or NULL */
	int *listen_fd;			/* per slot (reuseport) or [0] shared */
	int nlisten;
	int live;			/* workers spawned and not yet closed */
	bool pool;			/* master semantics (-n, --listen, --restart) */
	/* input */
	struct cp_reader *in;
	unsigned long lineno;
	unsigned long sent, received, lost;
	bool input_done;
	bool paused;
	int rr;				/* next slot for round-robin */
	bool broadcast;
	bool tag;
	enum end_mode end;
	uint64_t idle_ms;
	uv_timer_t idle;
	const char *end_message;
	bool ending;
	/* handles */
	json_t *handle_msg;
	const char *listen_spec;
	bool reuseport;
	char addr[300];
	/* restarts */
	enum restart restart;
	int max_restarts;
	uint64_t window_ms;
	uint64_t *restart_times;	/* ring of the last max_restarts */
	int nrestart;
	int *fails;			/* consecutive quick failures per slot */
	uv_timer_t *backoff;		/* per slot */
	bool *backoff_on;
	/* stopping */
	uint64_t grace_ms;
	bool stopping;
	int stop_signal;
	bool gave_up;
	int rolling;			/* slot being replaced by HUP, or -1 */
	bool roll_again;		/* HUP during a rolling restart */
	/* output */
	uv_check_t check;
	bool out_error;
	FILE *status;
	int status_code;
	uv_signal_t sig[8];
	int nsig;
	/* systemd and PID 1 (cmd/systemd.c, cmd/init.c) */
	bool activated;			/* listen_fd came from systemd */
	bool sd_ready;			/* READY=1 sent and no reload since */
};

static void spawn_worker(struct master *m, int slot);
static void stop_worker(struct worker *w, bool kill_now);
static void roll_next(struct master *m);

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: %s [options] MODULE [ARG...]\n"
"Run node [exec-args] MODULE ARG... with Node's IPC channel on fd 3, and\n"
"bridge it: each line of standard input is one JSON message to the child,\n"
"each message from the child is one line on standard output.  With -n or\n"
"--listen, run a pool of workers as a master.\n"
"\n"
"Bridge options:\n"
"      --exec-path=PATH       the node binary (default: node, found in PATH)\n"
"      --exec-arg=ARG         an argument for node before MODULE (repeatable)\n"
"      --end=MODE             when to stop once input has ended:\n"
"                             wait (default), replies, idle:DURATION, disconnect\n"
"      --end-message=JSON     send JSON when input ends\n"
"      --max-message=SIZE     longest message accepted (default 512M)\n"
"Master options:\n"
"  -n, --workers=N|auto       run N workers (auto: one per CPU)\n"
"      --dispatch=MODE        input to workers: round-robin (default) or broadcast\n"
"      --tag                  print {\"worker\":N,\"message\":MSG} lines\n"
"      --listen=[HOST:]PORT   open a listening socket (or unix:PATH) and send it\n"
"                             to every worker as a net.Server\n"
"      --handle-message=JSON  the message sent with it (default \"server\")\n"
"      --balance=MODE         shared (default) or reuseport\n"
"      --restart=POLICY       no (default), on-failure, always\n"
"      --max-restarts=N/DURATION  give up after N restarts within DURATION\n"
"                             (default 10/60s)\n"
"      --grace=DURATION       on TERM/INT, wait this long before SIGKILL\n"
"                             (default 5s)\n"
"      --status-fd=N          write status lines to fd N instead of stderr\n"
"Common options:\n"
"%s"
"\n"
"The child's stdout and stderr go to our stderr and its stdin is /dev/null,\n"
"unless --stdio says otherwise.  Exit status: the child's, 128+N after\n"
"signal N, 124 on timeout, 125 on our own error, 126/127 if node cannot be\n"
"run or found.\n", cmd_name, cmd_process_help);
}

static void
status(struct master *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
status(struct master *m, const char *fmt, ...)
{
	va_list ap;
	FILE *fp = m->status != NULL ? m->status : stderr;

	if (m->status == NULL) {
		fflush(stdout);
		fprintf(fp, "%s: ", cmd_name);
	}
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fflush(fp);
}

/* ---- input to the workers ---------------------------------------------- */

static struct cp_channel *
worker_channel(struct worker *w)
{
	if (w == NULL || w->stopping || w->exited || w->ch == NULL ||
	    !cp_channel_connected(w->ch))
		return NULL;
	return w->ch;
}

static void
disconnect_all(struct master *m)
{
	int i;

	m->ending = true;
	uv_timer_stop(&m->idle);
	for (i = 0; i < m->nslots; i++)
		if (worker_channel(m->slot[i]) != NULL)
			cp_channel_disconnect(m->slot[i]->ch);
}

static void
maybe_end(struct master *m)
{
	if (m->ending || !m->input_done)
		return;
	if (m->end == END_DISCONNECT ||
	    (m->end == END_REPLIES && m->received >= m->sent))
		disconnect_all(m);
}

static void
idle_cb(uv_timer_t *t)
{
	struct master *m = t->data;
	struct cp_channel *ch;
	int i;

	/*
	 * Silent is not idle while a worker has not even read what we sent
	 * (node still starting up, say): wait for it, then time the silence.
	 */
	for (i = 0; i < m->nslots; i++) {
		if ((ch = worker_channel(m->slot[i])) != NULL &&
		    (cp_channel_queue_size(ch) > 0 || cp_channel_unread(ch) > 0)) {
			uv_timer_start(&m->idle, idle_cb, m->idle_ms, 0);
			return;
		}
	}
	disconnect_all(m);
}

static void
restart_idle(struct master *m)
{
	if (m->end == END_IDLE && m->input_done && !m->ending)
		uv_timer_start(&m->idle, idle_cb, m->idle_ms, 0);
}

static void
close_input(struct master *m)
{
	m->input_done = true;
	cp_reader_close(m->in);
	m->in = NULL;
}

static int
send_line(struct master *m, const char *line, size_t len, json_error_t *e,
    int *busy)
{
	struct cp_channel *ch;
	int i, n, r = UV_EPIPE, sent = 0;

	for (i = 0; i < m->nslots; i++) {
		int s = m->broadcast ? i : (m->rr + i) % m->nslots;

		if ((ch = worker_channel(m->slot[s])) == NULL)
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
		if (!m->broadcast) {
			m->rr = (s + 1) % m->nslots;
			break;
		}
	}
	m->sent += (unsigned long)sent;
	return sent > 0 ? 0 : r;
}

static void
input_ended(struct master *m)
{
	json_error_t e;
	int busy = 0, r;

	if (m->input_done)
		return;
	close_input(m);
	if (m->end_message != NULL) {
		r = send_line(m, m->end_message, strlen(m->end_message), &e, &busy);
		if (r < 0)
			cmd_warn("--end-message not sent: %s", cp_strerror(r));
		else
			m->sent--;	/* no reply is awaited for it */
	}
	restart_idle(m);
	maybe_end(m);
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
	struct master *m = data;
	json_error_t e;
	int n, busy = 0;

	(void)r;
	if (err == UV_EOF) {
		input_ended(m);
		return;
	}
	if (err != 0 && err != UV_EMSGSIZE) {
		cmd_warn("standard input: %s", cp_strerror(err));
		input_ended(m);
		return;
	}
	m->lineno++;
	if (err == UV_EMSGSIZE) {
		cmd_warn("line %lu: longer than --max-message (%zu bytes), not sent",
		    m->lineno, len);
		m->lost++;
		return;
	}
	if (blank(line, len))
		return;
	n = send_line(m, line, len, &e, &busy);
	if (n == UV_EPROTO) {
		cmd_warn("line %lu: invalid JSON (%s at column %d), not sent",
		    m->lineno, e.text, e.column);
		m->lost++;
		return;
	}
	if (n < 0) {
		/* advanced: a JSON text that is not a valid tagged form */
		cmd_warn("line %lu: not sent: %s", m->lineno,
		    n == UV_EPIPE ? "the channel is closed" :
		    n == UV_EINVAL && e.text[0] ? e.text : cp_strerror(n));
		m->lost++;
		return;
	}
	if (busy && !m->paused) {
		/* Node's send() said false: wait for the channel to drain. */
		m->paused = true;
		cp_reader_pause(m->in);
	}
}

static void
check_cb(uv_check_t *h)
{
	struct master *m = h->data;
	struct cp_channel *ch;
	size_t q = 0;
	int i;

	/* Once per loop turn: push our output out, and resume input. */
	if (fflush(stdout) != 0 && !m->out_error) {
		m->out_error = true;
		cmd_warn("error writing standard output");
		close_input(m);
		disconnect_all(m);
	}
	if (m->paused && m->in != NULL) {
		for (i = 0; i < m->nslots; i++)
			if ((ch = worker_channel(m->slot[i])) != NULL)
				q += cp_channel_queue_size(ch);
		if (q < CP_SEND_HIGH_WATER / 2) {
			m->paused = false;
			cp_reader_resume(m->in);
		}
	}
}

/* ---- events of a worker ------------------------------------------------ */

/* Tells systemd once every slot has a ready worker (and no roll is on). */
static void
sd_ready(struct master *m)
{
	int i;

	if (m->sd_ready || m->rolling >= 0 || m->stopping)
		return;
	for (i = 0; i < m->nslots; i++)
		if (m->slot[i] == NULL || !m->slot[i]->ready)
			return;
	m->sd_ready = true;
	cmd_sd_notify("READY=1\nSTATUS=%d worker%s ready", m->nslots,
	    m->nslots == 1 ? "" : "s");
}

static void
set_ready(struct worker *w)
{
	struct master *m = w->m;

	if (w->ready)
		return;
	w->ready = true;
	m->fails[w->slot] = 0;
	if (m->rolling == w->slot)
		roll_next(m);
	else
		sd_ready(m);
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m_, void *data)
{
	struct worker *w = data;
	struct master *m = w->m;
	json_t *v;
	char *s;

	(void)ch;
	m->received++;
	set_ready(w);
	if (!m->out_error) {
		if (m->tag)
			printf("{\"worker\":%d,\"message\":", w->slot + 1);
		if (m_->handle_type == CP_HANDLE_NONE) {
			fwrite(m_->line, 1, m_->len, stdout);
		} else {
			/* A handle cannot go to stdout: print its message only. */
			v = m_->value;
			s = cp_json_stringify(v, NULL);
			fputs(s != NULL ? s : "null", stdout);
			free(s);
			cmd_warn("worker %d sent a %s handle; closed", w->slot + 1,
			    cp_handle_type_name(m_->handle_type));
		}
		fputs(m->tag ? "}\n" : "\n", stdout);
	}
	restart_idle(m);
	maybe_end(m);
}

static void
on_ipc_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	struct worker *w = data;

	(void)ch;
	if (err == UV_EMSGSIZE)
		cmd_warn("worker %d sent a message of %zu bytes, over "
		    "--max-message; skipped", w->slot + 1, len);
	else if (err == UV_EPROTO)
		cmd_warn("worker %d sent a line that is not JSON, skipped: %.*s",
		    w->slot + 1, (int)(len > 200 ? 200 : len), line);
	else
		cmd_warn("worker %d: IPC channel: %s", w->slot + 1,
		    cp_strerror(err));
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct worker *w = data;
	struct master *m = w->m;
	int i;

	(void)ch;
	w->ch = NULL;
	if (err != 0)
		cmd_warn("worker %d: IPC channel: %s", w->slot + 1,
		    cp_strerror(err));
	/* Without a pool, input can go nowhere once the only channel is gone. */
	if (!m->pool && !m->input_done)
		close_input(m);
	for (i = 0; i < m->nslots; i++)
		if (worker_channel(m->slot[i]) != NULL)
			return;
	uv_timer_stop(&m->idle);
}

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	(void)c;
	(void)fd;
	(void)data;
	/* Piped child output goes to our stderr: stdout carries messages. */
	if (len > 0)
		fwrite(buf, 1, len, stderr);
}

static void
handle_sent(struct cp_channel *ch, int st, void *arg)
{
	struct worker *w = arg;

	(void)ch;
	if (st == 0)
		set_ready(w);		/* it has the socket: as good as listening */
	else
		cmd_warn("worker %d did not take the server handle: %s",
		    w->slot + 1, cp_strerror(st));
}

static bool
crash_loop(struct master *m)
{
	uint64_t now = uv_now(m->loop);
	int i, n = 0;

	m->restart_times[m->nrestart++ % m->max_restarts] = now;
	for (i = 0; i < m->max_restarts && i < m->nrestart; i++)
		if (now - m->restart_times[i] <= m->window_ms)
			n++;
	return n >= m->max_restarts && m->nrestart > m->max_restarts;
}

static void
backoff_cb(uv_timer_t *t)
{
	struct master *m = t->data;
	int slot = (int)(t - m->backoff);

	m->backoff_on[slot] = false;
	if (!m->stopping && m->slot[slot] == NULL)
		spawn_worker(m, slot);
}

static void
on_exit_(struct cp_child *c, int64_t code, int sig, void *data)
{
	struct worker *w = data;
	struct master *m = w->m;
	const char *sn;
	uint64_t delay;
	bool failed = code != 0 || sig != 0, restart;
	int i;

	w->exited = true;
	if (w->grace_on)
		uv_timer_stop(&w->grace);
	if (sig != 0) {
		sn = cp_signal_name(sig);
		if (m->pool)
			status(m, "worker %d pid %d killed by %s", w->slot + 1,
			    w->pid, sn[0] != '\0' ? sn : "a signal");
	} else if (m->pool) {
		status(m, "worker %d pid %d exited with code %lld", w->slot + 1,
		    w->pid, (long long)code);
	}
	m->status_code = cp_exit_status(code, sig, cp_child_timed_out(c));
	if (w->retired || m->slot[w->slot] != w)
		return;
	m->slot[w->slot] = NULL;
	if (m->rolling == w->slot && !w->stopping)
		roll_next(m);
	restart = !m->stopping && !w->stopping && !m->gave_up &&
	    (m->restart == RESTART_ALWAYS ||
	    (m->restart == RESTART_ON_FAILURE && failed));
	if (!restart) {
		/* A pool without restarts ends when no worker is left. */
		for (i = 0; i < m->nslots; i++)
			if (m->slot[i] != NULL)
				return;
		if (!m->input_done)
			close_input(m);
		return;
	}
	if (crash_loop(m)) {
		m->gave_up = true;
		status(m, "workers restarted %d times within %llums "
		    "(--max-restarts); giving up after worker %d pid %d",
		    m->max_restarts, (unsigned long long)m->window_ms,
		    w->slot + 1, w->pid);
		m->stopping = true;
		if (!m->input_done)
			close_input(m);
		for (i = 0; i < m->nslots; i++)
			if (m->slot[i] != NULL)
				stop_worker(m->slot[i], false);
		return;
	}
	/* Exponential backoff for workers that die before they are ready. */
	if (!w->ready || uv_now(m->loop) - w->started < 1000)
		m->fails[w->slot]++;
	else
		m->fails[w->slot] = 0;
	delay = m->fails[w->slot] == 0 ? 0 :
	    100ull << (m->fails[w->slot] > 7 ? 7 : m->fails[w->slot] - 1);
	status(m, "worker %d restarting in %llums", w->slot + 1,
	    (unsigned long long)delay);
	m->backoff_on[w->slot] = true;
	uv_timer_start(&m->backoff[w->slot], backoff_cb, delay, 0);
}

static void
worker_freed(uv_handle_t *h)
{
	free(h->data);
}

static void
on_close(struct cp_child *c, void *data)
{
	struct worker *w = data;
	struct master *m = w->m;
	int i;

	cp_child_free(c);
	w->child = NULL;
	m->live--;
	if (w->grace_on) {
		w->grace.data = w;
		uv_close((uv_handle_t *)&w->grace, worker_freed);
	} else {
		free(w);
	}
	if (m->live > 0)
		return;
	for (i = 0; i < m->nslots; i++)
		if (m->backoff_on[i])
			return;
	/* Nothing left to run: let the loop end. */
	for (i = 0; i < m->nsig; i++)
		uv_close((uv_handle_t *)&m->sig[i], NULL);
	m->nsig = 0;
	if (!m->input_done)
		close_input(m);
	uv_close((uv_handle_t *)&m->idle, NULL);
	uv_close((uv_handle_t *)&m->check, NULL);
	for (i = 0; i < m->nslots; i++)
		uv_close((uv_handle_t *)&m->backoff[i], NULL);
}

static const struct cp_child_events events = {
	.ipc = {
		.on_message = on_message,
		.on_error = on_ipc_error,
		.on_disconnect = on_disconnect,
	},
	.on_data = on_data,
	.on_exit = on_exit_,
	.on_close = on_close,
};

/* ---- starting and stopping workers ------------------------------------- */

static void
grace_cb(uv_timer_t *t)
{
	struct worker *w = t->data;

	if (!w->exited) {
		status(w->m, "worker %d pid %d outlived --grace; SIGKILL",
		    w->slot + 1, w->pid);
		cp_child_kill(w->child, SIGKILL);
	}
}

/* Graceful: disconnect, then SIGKILL after --grace.  kill_now: SIGKILL. */
static void
stop_worker(struct worker *w, bool kill_now)
{
	struct master *m = w->m;

	if (w->exited)
		return;
	if (kill_now) {
		cp_child_kill(w->child, SIGKILL);
		return;
	}
	if (w->stopping)
		return;
	w->stopping = true;
	if (w->ch != NULL && cp_channel_connected(w->ch))
		cp_channel_disconnect(w->ch);
	if (!w->grace_on && uv_timer_init(m->loop, &w->grace) == 0) {
		w->grace.data = w;
		w->grace_on = true;
	}
	if (w->grace_on)
		uv_timer_start(&w->grace, grace_cb, m->grace_ms, 0);
}

static void
spawn_worker(struct master *m, int slot)
{
	struct worker *w;
	int r, lfd, i;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cmd_warn("out of memory");
		return;
	}
	w->m = m;
	w->slot = slot;
	w->started = uv_now(m->loop);
	r = cp_child_spawn(m->loop, &m->opts, &events, w, &w->child);
	if (r != 0) {
		free(w);
		if (r == UV_ENOENT && m->opts.cwd != NULL &&
		    access(m->opts.cwd, F_OK) != 0)
			cmd_warn("cannot run '%s': directory '%s' does not exist",
			    m->opts.file, m->opts.cwd);
		else
			cmd_warn("cannot run '%s': %s", m->opts.file,
			    cp_strerror(r));
		if (m->status_code == 0 || m->live == 0)
			m->status_code = cmd_exit_for_error(r);
		return;
	}
	m->live++;
	m->slot[slot] = w;
	w->pid = cp_child_pid(w->child);
	w->ch = cp_child_channel(w->child);
	if (m->pool)
		status(m, "worker %d pid %d started", slot + 1, w->pid);
	/* reuseport: this slot's socket; else each socket (systemd's). */
	for (i = 0; m->nlisten > 0 && w->ch != NULL &&
	    i < (m->reuseport ? 1 : m->nlisten); i++) {
		lfd = m->listen_fd[m->reuseport ? slot : i];
		r = cp_channel_send_handle(w->ch, m->handle_msg,
		    CP_HANDLE_NET_SERVER, lfd, 0, handle_sent, w);
		if (r < 0)
			cmd_warn("cannot send the server to worker %d: %s",
			    slot + 1, cp_strerror(r));
	}
}

/* HUP: replace the workers one at a time, each after the last is up. */
static void
roll_next(struct master *m)
{
	struct worker *old;
	int slot = m->rolling + 1;

	if (m->stopping) {
		m->rolling = -1;
		return;
	}
	if (slot >= m->nslots) {
		m->rolling = -1;
		status(m, "rolling restart done");
		m->sd_ready = false;
		sd_ready(m);
		if (m->roll_again) {
			m->roll_again = false;
			m->rolling = -1;
			roll_next(m);
		}
		return;
	}
	m->rolling = slot;
	old = m->slot[slot];
	if (old != NULL) {
		old->retired = true;
		m->slot[slot] = NULL;
		stop_worker(old, false);
	}
	spawn_worker(m, slot);
	if (m->slot[slot] == NULL)
		roll_next(m);		/* could not start: go on with the next */
}

static void
signal_cb(uv_signal_t *h, int signum)
{
	struct master *m = h->data;
	int i;

	if (!m->pool) {
		/* One child: signals are for it, as with env(1) or timeout(1). */
		if (m->slot[0] != NULL && !m->slot[0]->exited)
			cp_child_kill(m->slot[0]->child, signum);
		return;
	}
	if (signum == SIGHUP) {
		if (m->stopping)
			return;
		if (m->rolling >= 0) {
			m->roll_again = true;
			return;
		}
		status(m, "SIGHUP: rolling restart");
		cmd_sd_reloading("rolling restart");
		m->rolling = -1;
		roll_next(m);
		return;
	}
	if (m->stopping && signum != SIGQUIT)
		return;
	m->stopping = true;
	m->stop_signal = signum;
	cmd_sd_notify("STOPPING=1\nSTATUS=stopping (%s)", cp_signal_name(signum));
	status(m, "%s: stopping %d worker%s", cp_signal_name(signum), m->live,
	    m->live == 1 ? "" : "s");
	if (!m->input_done)
		close_input(m);
	for (i = 0; i < m->nslots; i++) {
		if (m->backoff_on[i]) {
			uv_timer_stop(&m->backoff[i]);
			m->backoff_on[i] = false;
		}
	}
	/* Retired workers still draining are reached through their children. */
	for (i = 0; i < m->nslots; i++)
		if (m->slot[i] != NULL)
			stop_worker(m->slot[i], signum == SIGQUIT);
	if (m->live == 0) {
		/* on_close will not come: end the loop from here. */
		for (i = 0; i < m->nsig; i++)
			uv_close((uv_handle_t *)&m->sig[i], NULL);
		m->nsig = 0;
		uv_close((uv_handle_t *)&m->idle, NULL);
		uv_close((uv_handle_t *)&m->check, NULL);
		for (i = 0; i < m->nslots; i++)
			uv_close((uv_handle_t *)&m->backoff[i], NULL);
	}
}

/* ---- options ----------------------------------------------------------- */

static void
parse_end(struct master *m, const char *s)
{
	if (strcmp(s, "wait") == 0)
		m->end = END_WAIT;
	else if (strcmp(s, "replies") == 0)
		m->end = END_REPLIES;
	else if (strcmp(s, "disconnect") == 0)
		m->end = END_DISCONNECT;
	else if (strncmp(s, "idle:", 5) == 0) {
		m->end = END_IDLE;
		m->idle_ms = cmd_parse_duration(s + 5, "idle");
	} else
		cmd_die("invalid --end mode '%s': expected wait, replies, "
		    "idle:DURATION or disconnect", s);
}

static int
parse_workers(const char *s)
{
	char *end;
	long n;

	if (strcmp(s, "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		return n > 0 ? (int)n : 1;
	}
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 1 || n > 1024)
		cmd_die("invalid --workers '%s': a number from 1 to 1024, or auto", s);
	return (int)n;
}

static void
parse_max_restarts(struct master *m, const char *s)
{
	char *end;
	long n;

	n = strtol(s, &end, 10);
	if (end == s || n < 1 || n > 100000 || (*end != '\0' && *end != '/'))
		cmd_die("invalid --max-restarts '%s': expected N or N/DURATION", s);
	m->max_restarts = (int)n;
	if (*end == '/')
		m->window_ms = cmd_parse_duration(end + 1, "max-restarts");
}

static json_t *
parse_json_arg(const char *opt, const char *s)
{
	json_error_t e;
	json_t *v;

	if ((v = json_loadb(s, strlen(s), JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &e)) == NULL)
		cmd_die("%s: invalid JSON: %s", opt, e.text);
	return v;
}

int
main(int argc, char *argv[])
{
	struct cmd_common co = { 0 };
	struct master m = { 0 };
	const char *exec_path = "node";
	char **exec_args = NULL, **args = NULL, **env;
	size_t n_exec = 0, i, nargs, max_message = 0;
	bool inf, restart_set = false;
	int ch, r, fd, nworkers = 1, status_fd = -1, j;
	uv_loop_t loop;

	cmd_init("childproc-fork", argv);
	m.restart = RESTART_NO;
	m.max_restarts = 10;
	m.window_ms = 60000;
	m.grace_ms = 5000;
	m.rolling = -1;
	while ((ch = getopt_long(argc, argv, "+" CMD_PROCESS_SHORTOPTS "n:",
	    longopts, NULL)) != -1) {
		if (cmd_common_option(&co, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			usage(stdout);
			return cmd_finish(0);
		case OPT_EXEC_PATH:
			exec_path = optarg;
			break;
		case OPT_EXEC_ARG:
			exec_args = realloc(exec_args, (n_exec + 1) * sizeof(*exec_args));
			if (exec_args == NULL)
				cmd_die("out of memory");
			exec_args[n_exec++] = optarg;
			break;
		case OPT_END:
			parse_end(&m, optarg);
			break;
		case OPT_END_MESSAGE:
			json_decref(parse_json_arg("--end-message", optarg));
			m.end_message = optarg;
			break;
		case OPT_MAX_MESSAGE:
			max_message = cmd_parse_size(optarg, "max-message", &inf);
			if (inf)
				max_message = 0;
			break;
		case 'n':
			nworkers = parse_workers(optarg);
			m.pool = true;
			break;
		case OPT_DISPATCH:
			if (strcmp(optarg, "broadcast") == 0)
				m.broadcast = true;
			else if (strcmp(optarg, "round-robin") == 0)
				m.broadcast = false;
			else
				cmd_die("invalid --dispatch '%s': round-robin or "
				    "broadcast", optarg);
			break;
		case OPT_TAG:
			m.tag = true;
			break;
		case OPT_LISTEN:
			m.listen_spec = optarg;
			m.pool = true;
			break;
		case OPT_HANDLE_MESSAGE:
			json_decref(m.handle_msg);
			m.handle_msg = parse_json_arg("--handle-message", optarg);
			break;
		case OPT_RESTART:
			if (strcmp(optarg, "no") == 0)
				m.restart = RESTART_NO;
			else if (strcmp(optarg, "on-failure") == 0)
				m.restart = RESTART_ON_FAILURE;
			else if (strcmp(optarg, "always") == 0)
				m.restart = RESTART_ALWAYS;
			else
				cmd_die("invalid --restart '%s': no, on-failure or "
				    "always", optarg);
			restart_set = true;
			break;
		case OPT_MAX_RESTARTS:
			parse_max_restarts(&m, optarg);
			break;
		case OPT_GRACE:
			m.grace_ms = cmd_parse_duration(optarg, "grace");
			break;
		case OPT_BALANCE:
			if (strcmp(optarg, "reuseport") == 0)
				m.reuseport = true;
			else if (strcmp(optarg, "shared") == 0)
				m.reuseport = false;
			else
				cmd_die("invalid --balance '%s': shared or reuseport",
				    optarg);
			break;
		case OPT_STATUS_FD:
			fd = (int)strtol(optarg, NULL, 10);
			if (fd < 0 || fcntl(fd, F_GETFD) < 0 ||
			    (m.status = fdopen(dup(fd), "w")) == NULL)
				cmd_die("--status-fd: '%s' is not an open fd", optarg);
			status_fd = fd;
			break;
		default:
			cmd_usage_error();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		cmd_warn("missing MODULE");
		cmd_usage_error();
	}
	if (restart_set && m.restart != RESTART_NO)
		m.pool = true;
	if (m.handle_msg == NULL)
		m.handle_msg = json_string("server");
	(void)status_fd;

	/* node [exec-args] MODULE ARG... */
	nargs = n_exec + (size_t)argc;
	if ((args = calloc(nargs + 1, sizeof(*args))) == NULL)
		cmd_die("out of memory");
	for (i = 0; i < n_exec; i++)
		args[i] = exec_args[i];
	for (i = 0; i < (size_t)argc; i++)
		args[n_exec + i] = argv[i];

	/* systemd's variables are the master's, not the workers'. */
	cmd_sd_init();
	if ((r = cmd_sd_listen_fds()) < 0)
		cmd_die("socket activation: LISTEN_FDS: %s", cp_strerror(r));
	if (r > 0) {
		if (m.reuseport)
			cmd_die("--balance reuseport cannot use the sockets passed "
			    "by systemd (one socket per worker is needed)");
		m.activated = true;
		m.pool = true;
		m.nlisten = r;
		if (m.listen_spec != NULL)
			cmd_warn("--listen %s ignored: using the %d socket%s "
			    "passed by systemd", m.listen_spec, r, r == 1 ? "" : "s");
		m.listen_spec = NULL;
	}
	env = cmd_build_env(&co);
	m.opts.file = exec_path;
	m.opts.args = args;
	cmd_apply_common(&co, &m.opts, env);
	m.opts.max_message = max_message;
	if (co.stdio != NULL) {
		cmd_parse_stdio(co.stdio, &m.opts);
		for (fd = 0; fd < m.opts.stdio_count; fd++)
			if (m.opts.stdio[fd].type == CP_STDIO_IPC)
				break;
		if (fd == m.opts.stdio_count) {
			if (m.opts.stdio_count == CP_STDIO_MAX)
				cmd_die("--stdio: no room for the IPC channel");
			m.opts.stdio[m.opts.stdio_count++].type = CP_STDIO_IPC;
		}
	} else {
		/* Our stdout carries messages: the child's output goes to stderr. */
		m.opts.stdio[0].type = CP_STDIO_IGNORE;
		m.opts.stdio[1].type = CP_STDIO_FD;
		m.opts.stdio[1].fd = 2;
		m.opts.stdio[2].type = CP_STDIO_INHERIT;
		m.opts.stdio[3].type = CP_STDIO_IPC;
		m.opts.stdio_count = 4;
	}

	m.nslots = nworkers;
	m.slot = calloc((size_t)nworkers, sizeof(*m.slot));
	m.fails = calloc((size_t)nworkers, sizeof(*m.fails));
	m.backoff = calloc((size_t)nworkers, sizeof(*m.backoff));
	m.backoff_on = calloc((size_t)nworkers, sizeof(*m.backoff_on));
	m.restart_times = calloc((size_t)m.max_restarts, sizeof(*m.restart_times));
	m.listen_fd = calloc((size_t)(m.nlisten > nworkers ? m.nlisten :
	    nworkers), sizeof(*m.listen_fd));
	if (m.slot == NULL || m.fails == NULL || m.backoff == NULL ||
	    m.backoff_on == NULL || m.restart_times == NULL || m.listen_fd == NULL)
		cmd_die("out of memory");

	for (j = 0; m.activated && j < m.nlisten; j++) {
		m.listen_fd[j] = SD_LISTEN_FDS_START + j;
		if ((r = cmd_sock_addr(m.listen_fd[j], m.addr,
		    sizeof(m.addr))) != 0)
			cmd_die("socket activation: fd %d%s%s%s is not a listening "
			    "stream socket: %s", m.listen_fd[j],
			    cmd_sd_fd_name(m.listen_fd[j]) ? " (" : "",
			    cmd_sd_fd_name(m.listen_fd[j]) ?
			    cmd_sd_fd_name(m.listen_fd[j]) : "",
			    cmd_sd_fd_name(m.listen_fd[j]) ? ")" : "", cp_strerror(r));
	}
	if (m.listen_spec != NULL) {
		/* One socket for all, or one per worker on the same port. */
		const char *spec = m.listen_spec;

		m.nlisten = m.reuseport ? nworkers : 1;
		for (j = 0; j < m.nlisten; j++) {
			r = cp_listen(spec, m.reuseport ? CP_LISTEN_REUSEPORT : 0, 0,
			    &m.listen_fd[j], m.addr, sizeof(m.addr));
			if (r != 0)
				cmd_die("cannot listen on '%s': %s", spec,
				    cp_strerror(r));
			spec = m.addr;	/* the port actually bound, for the rest */
		}
	}

	if ((r = uv_loop_init(&loop)) != 0)
		cmd_die("cannot start the event loop: %s", cp_strerror(r));
	m.loop = &loop;
	uv_timer_init(&loop, &m.idle);
	m.idle.data = &m;
	uv_check_init(&loop, &m.check);
	m.check.data = &m;
	uv_check_start(&m.check, check_cb);
	uv_unref((uv_handle_t *)&m.check);
	for (j = 0; j < nworkers; j++) {
		uv_timer_init(&loop, &m.backoff[j]);
		m.backoff[j].data = &m;
	}
	if (m.activated) {
		char a[300];

		for (j = 0; j < m.nlisten; j++) {
			cmd_sock_addr(m.listen_fd[j], a, sizeof(a));
			status(&m, "listening on %s (from systemd, fd %d%s%s)", a,
			    m.listen_fd[j], cmd_sd_fd_name(m.listen_fd[j]) ?
			    ", " : "", cmd_sd_fd_name(m.listen_fd[j]) ?
			    cmd_sd_fd_name(m.listen_fd[j]) : "");
		}
	} else if (m.nlisten > 0)
		status(&m, "listening on %s (%s)", m.addr,
		    m.reuseport ? "reuseport" : "shared");
	/* Orphans of our workers, or of anyone as PID 1, are ours to reap. */
	if ((m.pool || cmd_init_is_pid1()) && (r = cmd_init_reaper(&loop)) != 0)
		cmd_warn("cannot reap orphans: %s", cp_strerror(r));
	if ((r = cmd_sd_start_watchdog(&loop)) != 0)
		cmd_warn("systemd watchdog: %s", cp_strerror(r));

	for (j = 0; j < nworkers; j++)
		spawn_worker(&m, j);
	if (m.live == 0) {
		uv_close((uv_handle_t *)&m.idle, NULL);
		uv_close((uv_handle_t *)&m.check, NULL);
		for (j = 0; j < nworkers; j++)
			uv_close((uv_handle_t *)&m.backoff[j], NULL);
		cmd_init_stop();
		cmd_sd_stop();
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		r = m.status_code;
		goto out;
	}
	{
		/* As PID 1 the bridge forwards what tini forwards, too. */
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
		    SIGUSR1, SIGUSR2, SIGWINCH };
		int nsigs = !m.pool && cmd_init_is_pid1() ? 7 : 4;

		for (j = 0; j < nsigs; j++) {
			if (uv_signal_init(&loop, &m.sig[m.nsig]) != 0)
				continue;
			m.sig[m.nsig].data = &m;
			uv_signal_start(&m.sig[m.nsig], signal_cb, sigs[j]);
			uv_unref((uv_handle_t *)&m.sig[m.nsig]);
			m.nsig++;
		}
	}
	if ((r = cp_reader_open(&loop, 0, max_message, on_line, &m, &m.in)) != 0) {
		cmd_warn("standard input: %s", cp_strerror(r));
		m.in = NULL;
		input_ended(&m);
	}

	uv_run(&loop, UV_RUN_DEFAULT);
	cmd_init_stop();
	cmd_sd_stop();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (m.lost > 0)
		cmd_warn("%lu input line%s not delivered", m.lost,
		    m.lost == 1 ? " was" : "s were");
	r = m.status_code;
	if (m.pool && m.stopping && !m.gave_up)
		r = 0;			/* a stop we were asked for */
	else if (m.gave_up && r == 0)
		r = CMD_EXIT_FAILURE;
	if (m.out_error)
		r = CMD_EXIT_FAILURE;
out:
	for (j = 0; j < m.nlisten; j++)
		close(m.listen_fd[j]);
	if (m.listen_spec != NULL && strncmp(m.listen_spec, "unix:", 5) == 0)
		unlink(m.listen_spec + 5);
	if (m.status != NULL)
		fclose(m.status);
	json_decref(m.handle_msg);
	free(m.slot);
	free(m.fails);
	free(m.backoff);
	free(m.backoff_on);
	free(m.restart_times);
	free(m.listen_fd);
	cmd_free_env(env);
	free(args);
	free(exec_args);
	cmd_release_common(&co);
	return cmd_finish(r);
}
