/*
 * cmd/pool.c - childproc-fork's front-end to the library's pool: status
 * lines for its events, the master's signals, and the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fork.h"

extern char **environ;
#include "init.h"
#include "systemd.h"

/* Writes all of buf to fd (a short write goes on; errors are dropped). */
static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * --status-format json: {"time":...,"level":...,"master":PID,"message":...}
 * with "slot" and "pid" when the message is about a worker ("worker N pid
 * P ..." or "worker N ..."), and "signal" when it is about a signal.
 */
/* Now, UTC, to the millisecond: "2026-12-01T03:08:55.123Z". */
static void
json_time(char *when, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(when, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + len, size - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One JSON object as a line, in one write. */
static void
write_json_line(int fd, json_t *o)
{
	char *s;
	size_t len;

	if ((s = json_dumps(o, JSON_COMPACT)) != NULL) {
		len = strlen(s);
		s[len] = '\n';		/* over the NUL: one write for the line */
		write_all(fd, s, len + 1);
		free(s);
	}
}

static void
status_json(int fd, const char *level, const char *msg)
{
	char when[40], sig[16];
	int slot = 0, pid = 0, k = 0;
	json_t *o;

	json_time(when, sizeof(when));
	o = json_pack("{s:s, s:s, s:i, s:s}", "time", when, "level", level,
	    "master", (int)getpid(), "message", msg);
	if (o == NULL)
		return;
	if (sscanf(msg, "worker %d pid %d%n", &slot, &pid, &k) == 2 ||
	    sscanf(msg, "worker %d%n", &slot, &k) == 1) {
		json_object_set_new(o, "slot", json_integer(slot));
		if (pid > 0)
			json_object_set_new(o, "pid", json_integer(pid));
	}
	if (sscanf(msg, "SIG%14[A-Z0-9+]:", sig) == 1) {
		char name[20];

		snprintf(name, sizeof(name), "SIG%s", sig);
		json_object_set_new(o, "signal", json_string(name));
	}
	write_json_line(fd, o);
	json_decref(o);
}

/*
 * One status line, in one write(2): workers write to the same stderr,
 * and a line written in pieces gets theirs spliced into it.
 */
static void
vstatus(struct fork *f, const char *level, int fd, const char *fmt,
    va_list ap)
{
	char buf[1024];
	size_t len = 0;
	int m;

	if (!f->status_json && fd == STDERR_FILENO) {
		fflush(stdout);
		len = (size_t)snprintf(buf, sizeof(buf), "%s: ", cmd_name);
	}
	m = vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	if (m < 0)
		return;
	if ((size_t)m >= sizeof(buf) - len - 1)
		m = (int)(sizeof(buf) - len - 2);	/* cut, but whole */
	if (f->status_json) {
		status_json(fd, level, buf);
		return;
	}
	len += (size_t)m;
	buf[len++] = '\n';
	write_all(fd, buf, len);
}

void
fork_status(struct fork *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vstatus(f, "info", f->status_fd >= 0 ? f->status_fd : STDERR_FILENO,
	    fmt, ap);
	va_end(ap);
}

/* A warning of the running master: cmd_warn's line, or JSON (stderr). */
void
fork_warn(struct fork *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vstatus(f, "warning", STDERR_FILENO, fmt, ap);
	va_end(ap);
}

/* ---- pool events ------------------------------------------------------- */

static void upgrade_ready(struct fork *f);

/* Tells systemd once every slot has a ready worker (and no roll is on). */
static void
sd_ready(struct fork *f)
{
	struct cp_worker *w;
	int i, n = cp_pool_size(f->pool);

	if (f->sd_ready || f->rolling || f->stopping)
		return;
	for (i = 0; i < n; i++)
		if ((w = cp_pool_worker(f->pool, i)) == NULL ||
		    cp_worker_state(w) != CP_WORKER_READY)
			return;
	f->sd_ready = true;
	cmd_sd_notify("READY=1\nSTATUS=%d worker%s ready", n, n == 1 ? "" : "s");
	upgrade_ready(f);
}

static void
worker_exited(struct fork *f, const struct cp_pool_event *e)
{
	struct cp_worker *w = e->worker;
	const char *sn;

	if (e->term_signal != 0) {
		sn = cp_signal_name(e->term_signal);
		if (f->master)
			fork_status(f, "worker %d pid %d killed by %s",
			    e->slot + 1, cp_worker_pid(w),
			    sn[0] != '\0' ? sn : "a signal");
	} else if (f->master) {
		fork_status(f, "worker %d pid %d exited with code %lld",
		    e->slot + 1, cp_worker_pid(w), (long long)e->exit_status);
	}
	f->status_code = cp_exit_status(0, e->exit_status, e->term_signal,
	    e->timed_out);
}

static void
spawn_failed(struct fork *f, const struct cp_pool_event *e)
{
	char node_text[PATH_MAX + 64];
	int st;

	/* Node's words: ENOENT comes as an 'error' naming node, the rest thrown. */
	if (e->err == UV_ENOENT)
		snprintf(node_text, sizeof(node_text), "spawn %s %s", f->file,
		    cp_err_name(e->err));
	else
		snprintf(node_text, sizeof(node_text), "spawn %s",
		    cp_err_name(e->err));
	/* A bad -C is 125, as env -C: cmd_spawn_failed says which. */
	st = cmd_spawn_failed(f->cwd, f->file, e->err, node_text);
	if (f->status_code == 0 || cp_pool_live(f->pool) == 0)
		f->status_code = st;
}

/*
 * A line tagged with 0x02: Bun's cluster messages (cluster-protocol.md
 * 12.2).  Bun cannot take a socket from a primary that is not Bun, nor
 * reads our untagged replies, so say once what that means, and make its
 * listen() that will never complete an error here rather than a silence.
 */
static bool
bun_line(struct fork *f, const struct cp_pool_event *e)
{
	json_t *m;
	const char *act, *addr;
	char where[300];
	json_int_t port;

	if (e->len < 2 || e->line[0] != '\x02' ||
	    (m = json_loadb(e->line + 1, e->len - 1, 0, NULL)) == NULL)
		return false;
	act = json_string_value(json_object_get(m, "act"));
	if (act != NULL && strcmp(act, "online") == 0)
		fork_warn(f, "worker %d runs Bun, whose cluster messages are "
		    "its own: it gets no socket from us (its http servers bind "
		    "their own; see childproc-fork(1), Bun and Deno workers)",
		    e->slot + 1);
	else if (act != NULL && strcmp(act, "queryServer") == 0) {
		addr = json_string_value(json_object_get(m, "address"));
		port = json_integer_value(json_object_get(m, "port"));
		/* HOST:PORT, or a unix path (no port) as it is */
		if (port >= 0)
			snprintf(where, sizeof(where), "%s:%lld",
			    addr != NULL ? addr : "::", (long long)port);
		else
			snprintf(where, sizeof(where), "%s",
			    addr != NULL ? addr : "?");
		fork_status(f, "worker %d: cannot listen on %s: Bun takes no "
		    "socket from a primary that is not Bun (its listen() never "
		    "completes)", e->slot + 1, where);
	}
	json_decref(m);
	return true;
}

static void
ipc_error(struct fork *f, const struct cp_pool_event *e)
{
	int n = e->slot + 1;

	if (e->err == UV_EPROTO && bun_line(f, e))
		return;
	if (e->err == UV_EMSGSIZE)
		fork_warn(f, "worker %d sent a message of %zu bytes, over "
		    "--max-message; skipped", n, e->len);
	else if (e->err == UV_EPROTO)
		fork_warn(f, "worker %d sent a line that is not JSON, skipped: %.*s",
		    n, (int)(e->len > 200 ? 200 : e->len), e->line);
	else
		fork_warn(f, "worker %d: IPC channel: %s", n, cp_strerror(e->err));
}

/* The roll is over; the pool starts the one queued behind it, if any. */
static bool
roll_queued(struct fork *f)
{
	if (!f->roll_queued || f->stopping || cp_pool_stopping(f->pool))
		return false;
	f->roll_queued = false;
	fork_status(f, "rolling restart (queued)");
	cmd_sd_reloading("rolling restart");
	return true;
}

/* A replacement failed before it was ready: the slot's worker stays. */
static void
replace_failed(struct fork *f, const struct cp_pool_event *e)
{
	struct cp_worker *old = cp_pool_worker(f->pool, e->slot);
	char why[128], stays[64] = "";
	const char *sn;

	if (e->err == UV_ETIMEDOUT)
		snprintf(why, sizeof(why), "was not ready within %llums "
		    "(--ready-timeout)", (unsigned long long)f->ready_timeout_ms);
	else if (e->term_signal != 0 && (sn = cp_signal_name(e->term_signal))[0])
		snprintf(why, sizeof(why), "was killed by %s before it was ready",
		    sn);
	else if (e->term_signal != 0)
		snprintf(why, sizeof(why), "was killed by signal %d before it "
		    "was ready", e->term_signal);
	else
		snprintf(why, sizeof(why), "exited with code %lld before it was "
		    "ready", (long long)e->exit_status);
	if (old != NULL)
		snprintf(stays, sizeof(stays), "; pid %d keeps serving",
		    cp_worker_pid(old));
	fork_status(f, "worker %d: replacement pid %d %s%s", e->slot + 1,
	    cp_worker_pid(e->worker), why, stays);
}

/* The roll stopped: say so, and tell systemd the reload is over. */
static void
roll_failed(struct fork *f, const struct cp_pool_event *e)
{
	int n = cp_pool_size(f->pool);

	if (e->worker == NULL)
		fork_status(f, "rolling restart stopped at worker %d of %d: "
		    "no replacement could be started; the workers not "
		    "replaced keep serving", e->slot + 1, n);
	else
		fork_status(f, "rolling restart stopped at worker %d of %d: "
		    "pid %d failed; the workers not replaced keep serving",
		    e->slot + 1, n, cp_worker_pid(e->worker));
	if (roll_queued(f))
		return;
	f->rolling = false;
	f->sd_ready = true;
	cmd_sd_notify("READY=1\nSTATUS=rolling restart failed at worker %d "
	    "of %d; the workers not replaced keep serving", e->slot + 1, n);
}

/* Nothing runs any more: let the loop end. */
static void
pool_empty(struct fork *f)
{
	if (f->done)
		return;
	f->done = true;
	fork_upgrade_end(f);
	fork_signals_stop(f);
	fork_watch_stop(f);
	bridge_close(f);
	cp_pool_close(f->pool, NULL);
}

static void
on_event(struct cp_pool *p, const struct cp_pool_event *e, void *data)
{
	struct fork *f = data;
	struct cp_worker *w = e->worker;

	(void)p;
	switch (e->type) {
	case CP_POOL_STATE:
		if (cp_worker_state(w) == CP_WORKER_STARTING) {
			f->spawned[e->slot]++;
			if (f->master)
				fork_status(f, "worker %d pid %d started",
				    e->slot + 1, cp_worker_pid(w));
		}
		else if (cp_worker_state(w) == CP_WORKER_EXITED)
			worker_exited(f, e);
		else if (cp_worker_state(w) == CP_WORKER_READY) {
			if (f->master)
				fork_status(f, "worker %d pid %d ready",
				    e->slot + 1, cp_worker_pid(w));
			sd_ready(f);
		}
		break;
	case CP_POOL_SPAWN_ERROR:
		spawn_failed(f, e);
		break;
	case CP_POOL_RESTART:
		fork_status(f, "worker %d restarting in %llums", e->slot + 1,
		    (unsigned long long)e->delay_ms);
		break;
	case CP_POOL_GRACE_KILL:
		/* One child stopped for a closed stdout ends quietly (141). */
		if (!f->master && cmd_stdout_closed())
			break;
		fork_status(f, "worker %d pid %d outlived --grace; SIGKILL",
		    e->slot + 1, cp_worker_pid(w));
		break;
	case CP_POOL_GIVE_UP:
		f->gave_up = true;
		fork_status(f, "workers restarted %d times within %llums "
		    "(--max-restarts); giving up after worker %d pid %d",
		    f->max_restarts, (unsigned long long)f->window_ms,
		    e->slot + 1, cp_worker_pid(w));
		bridge_close_input(f);
		break;
	case CP_POOL_ROLL_DONE:
		fork_status(f, "rolling restart done");
		if (roll_queued(f))
			break;
		f->rolling = false;
		f->sd_ready = false;
		sd_ready(f);
		break;
	case CP_POOL_IPC_ERROR:
		ipc_error(f, e);
		break;
	case CP_POOL_DISCONNECT:
		if (e->err != 0)
			fork_warn(f, "worker %d: IPC channel: %s", e->slot + 1,
			    cp_strerror(e->err));
		bridge_on_disconnect(f, w);
		break;
	case CP_POOL_HANDLE_ERROR:
		fork_warn(f, "worker %d did not take the server handle: %s",
		    e->slot + 1, cp_strerror(e->err));
		break;
	case CP_POOL_SERVER_OPEN:
		fork_status(f, "listening on %s (%s, %s)", e->address, e->kind,
		    e->sched);
		break;
	case CP_POOL_SERVER_ERROR:
		fork_status(f, "worker %d: cannot listen on %s: %s (%s)",
		    e->slot + 1, e->address, cp_strerror(e->err),
		    cp_err_name(e->err));
		break;
	case CP_POOL_SERVER_CLOSE:
		fork_status(f, "closed %s", e->address);
		break;
	case CP_POOL_EMPTY:
		pool_empty(f);
		break;
	case CP_POOL_REPLACE_FAILED:
		replace_failed(f, e);
		break;
	case CP_POOL_ROLL_FAILED:
		roll_failed(f, e);
		break;
	case CP_POOL_RECYCLE:
		fork_status(f, "worker %d pid %d accepted %llu connections "
		    "(--max-requests); replacing it", e->slot + 1,
		    cp_worker_pid(w),
		    (unsigned long long)cp_worker_connections(w));
		break;
	case CP_POOL_NOT_READY:
		fork_status(f, "worker %d pid %d is not ready after %llums "
		    "(--ready-timeout)", e->slot + 1, cp_worker_pid(w),
		    (unsigned long long)f->ready_timeout_ms);
		break;
	}
}

static void
on_message(struct cp_pool *p, struct cp_worker *w, const struct cp_message *m,
    void *data)
{
	(void)p;
	bridge_on_message(data, w, m);
}

/* ---- --prefix: workers' output, line by line -------------------------- */

#define OUT_LINE_MAX 65536	/* a longer line is cut into lines this long */

/*
 * --status-format json: {"time","master","slot","pid","stream","message"},
 * the text as Node's toString() reads it (bad UTF-8 is U+FFFD).
 */
static bool
out_json(struct fork_out *o, int i, const char *text, size_t len)
{
	char when[40], *u;
	size_t ulen;
	json_t *j;

	if (cp_encoding_to_string(CP_ENC_UTF8, text, len, &u, &ulen) != 0)
		return false;
	json_time(when, sizeof(when));
	j = json_pack("{s:s, s:i, s:i, s:i, s:s, s:s%}", "time", when,
	    "master", (int)getpid(), "slot", o->slot + 1, "pid", o->pid,
	    "stream", i == 0 ? "stdout" : "stderr", "message", u, ulen);
	free(u);
	if (j == NULL)
		return false;
	write_json_line(STDERR_FILENO, j);
	json_decref(j);
	return true;
}

/* One whole line "[SLOT] text\n" in one write, so that none splices. */
static void
out_line(struct fork_out *o, int i, const char *text, size_t len)
{
	char pre[24], *line;
	int np;

	if (o->json && out_json(o, i, text, len))
		return;
	np = snprintf(pre, sizeof(pre), "[%d] ", o->slot + 1);

	if ((line = malloc((size_t)np + len + 1)) == NULL) {
		write_all(STDERR_FILENO, text, len);	/* whole, if not tagged */
		return;
	}
	memcpy(line, pre, (size_t)np);
	memcpy(line + np, text, len);
	line[(size_t)np + len] = '\n';
	write_all(STDERR_FILENO, line, (size_t)np + len + 1);
	free(line);
}

static void
out_free(struct fork *f, struct fork_out *o)
{
	struct fork_out **pp;

	for (pp = &f->outs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	free(o->buf[0]);
	free(o->buf[1]);
	free(o);
}

/* The worker's buffers, made at its first output. */
static struct fork_out *
out_of(struct fork *f, struct cp_worker *w)
{
	struct fork_out *o = cp_worker_data(w);

	if (o != NULL)
		return o;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->slot = cp_worker_slot(w);
	o->pid = cp_worker_pid(w);
	o->json = f->status_json;
	o->next = f->outs;
	f->outs = o;
	cp_worker_set_data(w, o);
	return o;
}

/* Appends n bytes to stream i's partial line; false: out of memory. */
static bool
out_keep(struct fork_out *o, int i, const char *buf, size_t n)
{
	size_t cap = o->cap[i] ? o->cap[i] : 256;
	char *nb;

	if (o->len[i] + n > o->cap[i]) {
		while (cap < o->len[i] + n)
			cap *= 2;
		if ((nb = realloc(o->buf[i], cap)) == NULL)
			return false;
		o->buf[i] = nb;
		o->cap[i] = cap;
	}
	memcpy(o->buf[i] + o->len[i], buf, n);
	o->len[i] += n;
	return true;
}

/*
 * Writes each line buf ends (after stream i's partial line), keeps the
 * rest; a line reaching OUT_LINE_MAX is written as one line there.
 */
static void
out_add(struct fork_out *o, int i, const char *buf, size_t len)
{
	const char *nl;
	size_t n, take;
	bool ends;

	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (o->len[i] == 0 && nl != NULL && n <= OUT_LINE_MAX) {
			out_line(o, i, buf, n);		/* whole: no copy */
			buf += n + 1;
			len -= n + 1;
			continue;
		}
		take = n < OUT_LINE_MAX - o->len[i] ? n : OUT_LINE_MAX - o->len[i];
		ends = nl != NULL && take == n;
		if (!out_keep(o, i, buf, take)) {
			/* Out of memory: what we have, then this, as lines. */
			if (o->len[i] > 0)
				out_line(o, i, o->buf[i], o->len[i]);
			out_line(o, i, buf, take);
			o->len[i] = 0;
		} else if (ends || o->len[i] == OUT_LINE_MAX) {
			out_line(o, i, o->buf[i], o->len[i]);
			o->len[i] = 0;
		}
		buf += take + (ends ? 1 : 0);
		len -= take + (ends ? 1 : 0);
	}
}

/* The stream ended: its last line, newline or not; then maybe the rest. */
static void
out_end(struct fork *f, struct fork_out *o, int i)
{
	if (o->len[i] > 0)
		out_line(o, i, o->buf[i], o->len[i]);
	o->len[i] = 0;
	o->ended[i] = true;
	if (o->ended[0] && o->ended[1])
		out_free(f, o);
}

void
fork_out_flush_all(struct fork *f)
{
	while (f->outs != NULL) {
		out_end(f, f->outs, 0);
		if (f->outs != NULL)
			out_end(f, f->outs, 1);
	}
}

static void
on_data(struct cp_pool *p, struct cp_worker *w, int fd, const char *buf,
    size_t len, void *data)
{
	struct fork *f = data;
	struct fork_out *o;

	(void)p;
	/* Piped child output goes to our stderr: stdout carries messages. */
	if (!f->prefix || (fd != 1 && fd != 2)) {
		if (len > 0)
			fwrite(buf, 1, len, stderr);
		return;
	}
	if ((o = out_of(f, w)) == NULL) {
		if (len > 0)
			write_all(STDERR_FILENO, buf, len);
		return;
	}
	if (len > 0)
		out_add(o, fd - 1, buf, len);
	else
		out_end(f, o, fd - 1);
}

const struct cp_pool_events fork_pool_events = {
	.on_event = on_event,
	.on_message = on_message,
	.on_data = on_data,
};

/* ---- signals ----------------------------------------------------------- */

static void
stop_cb(struct fork *f, int signum)
{
	int live = cp_pool_live(f->pool);

	if (f->stopping && signum != SIGQUIT)
		return;
	f->stopping = true;
	cmd_sd_notify("STOPPING=1\nSTATUS=stopping (%s)", cp_signal_name(signum));
	fork_status(f, "%s: stopping %d worker%s", cp_signal_name(signum), live,
	    live == 1 ? "" : "s");
	bridge_close_input(f);
	cp_pool_stop(f->pool, signum == SIGQUIT);
}

static void
reload(struct fork *f)
{
	if (f->stopping || cp_pool_stopping(f->pool))
		return;
	if (f->rolling) {
		if (cp_pool_restart(f->pool) == 1 && !f->roll_queued) {
			f->roll_queued = true;
			fork_status(f, "SIGHUP: rolling restart queued");
		}
		return;
	}
	/* Said first: the roll's own lines follow at once. */
	f->rolling = true;
	fork_status(f, "SIGHUP: rolling restart");
	cmd_sd_reloading("rolling restart");
	if (cp_pool_restart(f->pool) < 0)
		f->rolling = false;
}

int
fork_scale(struct fork *f, int n, const char *says, const char **why)
{
	static char buf[128];
	struct cp_worker *w;
	int old = cp_pool_size(f->pool), i, r;

	if (f->stopping || cp_pool_stopping(f->pool)) {
		*why = "the pool is stopping";
		return UV_ECANCELED;
	}
	if (n < 1 || n > f->max_workers) {
		snprintf(buf, sizeof(buf), "%s: from 1 to %d workers "
		    "(--max-workers)", says, f->max_workers);
		*why = buf;
		return UV_EINVAL;
	}
	if (n == old)
		return 0;
	/* The workers that will go, named while they are in their slots. */
	for (i = old - 1; i >= n; i--)
		if ((w = cp_pool_worker(f->pool, i)) != NULL)
			fork_status(f, "worker %d pid %d stopping (%s)", i + 1,
			    cp_worker_pid(w), says);
	if ((r = cp_pool_scale(f->pool, n)) != 0) {
		snprintf(buf, sizeof(buf), "%s: %s", says, r == UV_ENOTSUP ?
		    "--balance reuseport opened one socket per worker at "
		    "start: no more workers than -n" : cp_strerror(r));
		*why = buf;
		return r;
	}
	/* A slot that comes back is new: its restarts count from 0. */
	for (i = n; i < old; i++)
		f->spawned[i] = 0;
	fork_status(f, "%s: %d -> %d worker%s", says, old, n, n == 1 ? "" : "s");
	cmd_sd_notify("STATUS=%d worker%s", n, n == 1 ? "" : "s");
	return 0;
}

/* ---- USR2: a new master in our place ----------------------------------- */

#define UP_FDS "CHILDPROC_UPGRADE_FDS"
#define UP_PIPE "CHILDPROC_UPGRADE_PIPE"
#define UP_SERVERS "CHILDPROC_UPGRADE_SERVERS"
#define UP_WORKERS "CHILDPROC_UPGRADE_WORKERS"
#define UP_STATUS "CHILDPROC_UPGRADE_STATUS_FD"

/* A new master: once all its workers are ready, the old one may go. */
static void
upgrade_ready(struct fork *f)
{
	if (!f->up_child)
		return;
	f->up_child = false;
	write_all(f->up_fd, "ready\n", 6);
	close(f->up_fd);
}

/* An inherited fd number from the environment, or -1 if the variable is bad. */
static int
env_fd(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 3 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}

/* UP_SERVERS: [[KEY, FD], ...], the old cluster's servers (fork.c adopts). */
static void
inherit_servers(struct fork *f, const char *s)
{
	json_error_t je;
	json_t *a, *e;
	size_t i;
	int fd;

	if ((a = json_loads(s, 0, &je)) == NULL || !json_is_array(a))
		cmd_die("%s: not a JSON array: %s", UP_SERVERS, s);
	json_array_foreach(a, i, e) {
		if (!json_is_array(e) || json_array_size(e) != 2 ||
		    !json_is_string(json_array_get(e, 0)) ||
		    !json_is_integer(json_array_get(e, 1)) ||
		    (fd = (int)json_integer_value(json_array_get(e, 1))) < 3 ||
		    fcntl(fd, F_GETFD) < 0)
			cmd_die("%s: bad entry %zu in %s", UP_SERVERS, i, s);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	f->adopt = a;
}

int
fork_upgrade_inherit(struct fork *f, int **fdsp)
{
	const char *s = getenv(UP_FDS), *pp = getenv(UP_PIPE);
	char *end, a[300];
	int *fds = NULL, n = 0, fd;
	long v;

	*fdsp = NULL;
	if (s == NULL || pp == NULL)
		return 0;
	if ((f->up_fd = env_fd(pp)) < 0)
		cmd_die("%s: '%s' is not an open fd", UP_PIPE, pp);
	f->up_child = true;
	fcntl(f->up_fd, F_SETFD, FD_CLOEXEC);
	while (*s != '\0') {
		v = strtol(s, &end, 10);
		if (end == s || (*end != ',' && *end != '\0') || v < 3 ||
		    v > INT_MAX)
			cmd_die("%s: bad list '%s'", UP_FDS, getenv(UP_FDS));
		fd = (int)v;
		if (cmd_sock_addr(fd, a, sizeof(a)) != 0)
			cmd_die("%s: fd %d is not a listening socket", UP_FDS, fd);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if ((fds = realloc(fds, (size_t)(n + 1) * sizeof(*fds))) == NULL)
			cmd_die("out of memory");
		fds[n++] = fd;
		s = *end == ',' ? end + 1 : end;
	}
	if ((s = getenv(UP_SERVERS)) != NULL)
		inherit_servers(f, s);
	if ((s = getenv(UP_WORKERS)) != NULL &&
	    (v = strtol(s, &end, 10)) > 0 && *end == '\0' && v <= INT_MAX)
		f->up_workers = (int)v;
	/* Ours, not our workers'. */
	unsetenv(UP_FDS);
	unsetenv(UP_PIPE);
	unsetenv(UP_SERVERS);
	unsetenv(UP_WORKERS);
	*fdsp = fds;
	return n;
}

/*
 * --status-fd N in a new master: N was the old master's, and is closed on
 * exec; the old master passes the descriptor it writes to instead.
 */
int
fork_upgrade_status_fd(int fd)
{
	int up = env_fd(getenv(UP_STATUS));

	unsetenv(UP_STATUS);
	if (up < 0)
		return fd;
	fcntl(up, F_SETFD, FD_CLOEXEC);
	return up;
}

void
fork_upgrade_adopt(struct fork *f)
{
	char a[300];
	size_t i;
	json_t *e;
	int fd, r;

	json_array_foreach(f->adopt, i, e) {
		fd = (int)json_integer_value(json_array_get(e, 1));
		if ((r = cp_pool_adopt_server(f->pool, json_string_value(
		    json_array_get(e, 0)), fd)) != 0) {
			fork_warn(f, "cannot take the old master's fd %d: %s", fd,
			    cp_strerror(r));
			close(fd);
			continue;
		}
		if (cmd_sock_addr(fd, a, sizeof(a)) != 0)
			snprintf(a, sizeof(a), "a datagram socket");
		fork_status(f, "listening on %s (from the old master, fd %d)", a,
		    fd);
	}
	json_decref(f->adopt);
	f->adopt = NULL;
}

/* The control socket is ours again (the new master left it). */
static void
control_back(struct fork *f)
{
	int r;

	if (f->control != NULL && f->ctl == NULL &&
	    (r = cmd_control_open(f->loop, f->control, &fork_control_ops, f,
	    &f->ctl)) != 0)
		fork_warn(f, "--control '%s': %s", f->control, cp_strerror(r));
}

static void
up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char b[64];

	(void)h;
	(void)suggested;
	buf->base = b;
	buf->len = sizeof(b);
}

static void
up_closed(uv_handle_t *h)
{
	struct fork *f = h->data;

	f->up_closing--;
}

/* Closes an upgrade handle if on: a new USR2 waits until all are closed. */
static void
up_close(struct fork *f, uv_handle_t *h, bool *on)
{
	if (!*on)
		return;
	*on = false;
	f->up_closing++;
	uv_close(h, up_closed);
}

static void
up_signal(struct fork *f, int signum)
{
	if (f->up_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, f->up_pidfd, signum, NULL, 0);
	else if (f->up_pid > 0)
		kill(f->up_pid, signum);	/* our child, not reaped before EOF */
}

/* We are done with the new master: stopped, failed or in our place. */
static void
up_end(struct fork *f)
{
	up_close(f, (uv_handle_t *)&f->up_timer, &f->up_timer_on);
	up_close(f, (uv_handle_t *)&f->up_exit, &f->up_exit_on);
	if (f->up_pidfd >= 0) {
		close(f->up_pidfd);
		f->up_pidfd = -1;
	}
	if (!f->handed_over)
		f->up_pid = 0;
}

/* A new master we stopped has exited (the reaper reaps it). */
static void
up_gone(struct fork *f)
{
	int pid = f->up_pid;

	up_end(f);
	control_back(f);
	fork_status(f, "SIGUSR2: new master pid %d is gone; this one goes on "
	    "serving", pid);
}

/* Its pidfd is readable: it exited. */
static void
up_exit_cb(uv_poll_t *h, int status, int events)
{
	struct fork *f = h->data;

	(void)status;
	(void)events;
	/* Readable for good: once is enough. */
	up_close(f, (uv_handle_t *)&f->up_exit, &f->up_exit_on);
	if (f->up_gave_up && !f->handed_over)
		up_gone(f);
	/* Otherwise its pipe's end says what happened. */
}

/* Handed over: our accepted connections reach our workers, then they go. */
static void
drain_cb(uv_timer_t *t)
{
	struct fork *f = t->data;

	if (cp_pool_pending(f->pool) > 0 &&
	    uv_now(f->loop) - f->drain_start < f->grace_ms)
		return;
	f->drain_on = false;
	uv_close((uv_handle_t *)&f->drain, NULL);
	cp_pool_stop(f->pool, false);
}

static void
up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct fork *f = st->data;
	int pid = f->up_pid;

	if (nread > 0 && !f->handed_over && !f->up_gave_up &&
	    memmem(buf->base, (size_t)nread, "ready", 5) != NULL) {
		/* Its workers serve: ours leave, and so do we. */
		f->handed_over = true;
		up_end(f);
		fork_status(f, "SIGUSR2: new master pid %d is ready; stopping "
		    "the old workers", pid);
		cmd_sd_notify("MAINPID=%d\nSTATUS=upgraded: master pid %d", pid,
		    pid);
		f->stopping = true;
		bridge_close_input(f);
		/* The new master accepts from now on; ours take what we have. */
		cp_pool_release_servers(f->pool);
		f->drain_start = uv_now(f->loop);
		uv_timer_init(f->loop, &f->drain);
		f->drain.data = f;
		f->drain_on = true;
		uv_timer_start(&f->drain, drain_cb, 0, 10);
		return;
	}
	if (nread >= 0)
		return;
	up_close(f, (uv_handle_t *)&f->up, &f->up_open);
	if (f->handed_over)
		return;
	if (f->up_gave_up) {
		/* Said when we stopped it; up_exit_cb says when it is gone. */
		if (!f->up_exit_on && f->up_pid != 0)
			up_gone(f);
		return;
	}
	up_end(f);
	control_back(f);
	fork_status(f, "SIGUSR2: new master pid %d ended before it was ready; "
	    "this one goes on serving", pid);
	cmd_sd_notify("STATUS=upgrade failed: new master pid %d ended before "
	    "it was ready", pid);
}

/* --ready-timeout for the new master: stop it (TERM), then SIGKILL. */
static void
up_timeout(uv_timer_t *t)
{
	struct fork *f = t->data;

	if (f->up_gave_up) {
		/* Still there after its --grace: up_exit_cb follows. */
		up_signal(f, SIGKILL);
		return;
	}
	f->up_gave_up = true;
	fork_status(f, "SIGUSR2: new master pid %d was not ready within %llums "
	    "(--ready-timeout); stopping it, this one goes on serving",
	    f->up_pid, (unsigned long long)f->ready_timeout_ms);
	cmd_sd_notify("STATUS=upgrade failed: new master pid %d was not ready "
	    "within %llums", f->up_pid, (unsigned long long)f->ready_timeout_ms);
	up_signal(f, SIGTERM);
	/* Its own workers get its --grace: a second more for it to go. */
	uv_timer_start(&f->up_timer, up_timeout, f->grace_ms + 1000, 0);
}

static int
up_server(const char *key, int fd, void *arg)
{
	json_t *a = arg;

	return json_array_append_new(a, json_pack("[s, i]", key, fd)) != 0 ?
	    UV_ENOMEM : 0;
}

/* NAME=VALUE, allocated, or NULL. */
static char *
env_var(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s=%s", name, value);
	return s;
}

static void
upgrade(struct fork *f)
{
	char **env, fdlist[256], num[32], *servers = NULL;
	size_t n = 0, i, len = 0, nours;
	int p[2] = { -1, -1 }, pid, j, nsrv = 0, *srv = NULL;
	json_t *a = NULL, *e;

	if (f->stopping || cp_pool_stopping(f->pool))
		return;
	if (f->nlisten == 0 && !f->cluster) {
		fork_status(f, "SIGUSR2: ignored: no socket of ours to hand a new "
		    "master (--no-cluster without --listen)");
		return;
	}
	if (f->up_pid != 0 || f->up_closing > 0) {
		fork_status(f, "SIGUSR2: ignored: new master pid %d is %s",
		    f->up_pid, f->up_gave_up ? "being stopped" : "starting");
		return;
	}
	fdlist[0] = '\0';
	for (j = 0; j < f->nlisten; j++)
		len += (size_t)snprintf(fdlist + len, sizeof(fdlist) - len,
		    "%s%d", j > 0 ? "," : "", f->listen_fds[j]);
	/* Cluster mode: the servers opened so far, with their keys. */
	if (f->cluster && ((a = json_array()) == NULL ||
	    cp_pool_servers(f->pool, up_server, a) < 0 ||
	    (servers = json_dumps(a, JSON_COMPACT)) == NULL ||
	    (srv = calloc(json_array_size(a) + 1, sizeof(*srv))) == NULL)) {
		fork_status(f, "SIGUSR2: cannot start a new master: out of memory");
		goto out;
	}
	json_array_foreach(a, i, e)
		srv[nsrv++] = (int)json_integer_value(json_array_get(e, 1));
	if (len >= sizeof(fdlist) || pipe2(p, O_CLOEXEC) != 0) {
		fork_status(f, "SIGUSR2: cannot start a new master: %s",
		    len >= sizeof(fdlist) ? "too many sockets" : strerror(errno));
		goto out;
	}
	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 9, sizeof(*env))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	nours = n;
	snprintf(num, sizeof(num), "%d", p[1]);
	env[n++] = env_var(UP_PIPE, num);
	env[n++] = env_var(UP_FDS, fdlist);
	if (servers != NULL)
		env[n++] = env_var(UP_SERVERS, servers);
	/* As many workers as we have now (TTIN, TTOU, scale), not -n. */
	snprintf(num, sizeof(num), "%d", cp_pool_size(f->pool));
	env[n++] = env_var(UP_WORKERS, num);
	if (f->status_fd >= 0) {
		snprintf(num, sizeof(num), "%d", f->status_fd);
		env[n++] = env_var(UP_STATUS, num);
	}
	for (i = nours; i < n; i++)
		if (env[i] == NULL) {
			fork_status(f, "SIGUSR2: cannot start a new master: out "
			    "of memory");
			for (i = nours; i < n; i++)
				free(env[i]);
			free(env);
			goto out;
		}
	n += (size_t)cmd_sd_child_env(env + n);
	env[n] = NULL;
	/* The new master takes the control socket's path over. */
	if (f->ctl != NULL) {
		cmd_control_close(f->ctl);
		f->ctl = NULL;
	}
	if ((pid = fork()) == 0) {
		/* Our standard fds may be close-on-exec (libuv's doing): not its. */
		for (j = 0; j < 3; j++)
			fcntl(j, F_SETFD, 0);
		for (j = 0; j < f->nlisten; j++)
			fcntl(f->listen_fds[j], F_SETFD, 0);
		for (j = 0; j < nsrv; j++)
			fcntl(srv[j], F_SETFD, 0);
		if (f->status_fd >= 0)
			fcntl(f->status_fd, F_SETFD, 0);
		fcntl(p[1], F_SETFD, 0);
		/* It decides its policy as we did, from SCHED_OTHER. */
		if (f->batch) {
			struct sched_param sp = { .sched_priority = 0 };

			(void)sched_setscheduler(0, SCHED_OTHER, &sp);
		}
		/* By name, as we were started: the binary may be a new one. */
		execvpe(f->argv[0], f->argv, env);
		_exit(127);
	}
	for (i = nours; i < n; i++)
		free(env[i]);		/* ours: UP_* and systemd's */
	free(env);
	if (pid < 0) {
		fork_status(f, "SIGUSR2: cannot start a new master: %s",
		    strerror(errno));
		control_back(f);
		goto out;
	}
	close(p[1]);
	p[1] = -1;
	f->up_pid = pid;
	f->up_gave_up = false;
	if ((f->up_pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
		fcntl(f->up_pidfd, F_SETFD, FD_CLOEXEC);
		if (uv_poll_init(f->loop, &f->up_exit, f->up_pidfd) == 0) {
			f->up_exit.data = f;
			f->up_exit_on = true;
			uv_poll_start(&f->up_exit, UV_READABLE, up_exit_cb);
		}
	}
	uv_pipe_init(f->loop, &f->up, 0);
	f->up.data = f;
	uv_pipe_open(&f->up, p[0]);
	p[0] = -1;
	f->up_open = true;
	uv_unref((uv_handle_t *)&f->up);
	uv_read_start((uv_stream_t *)&f->up, up_alloc, up_read);
	if (f->ready_timeout_ms > 0) {
		uv_timer_init(f->loop, &f->up_timer);
		f->up_timer.data = f;
		f->up_timer_on = true;
		uv_timer_start(&f->up_timer, up_timeout, f->ready_timeout_ms, 0);
	}
	fork_status(f, "SIGUSR2: starting a new master, pid %d (%d worker%s, "
	    "%d socket%s)", pid, cp_pool_size(f->pool),
	    cp_pool_size(f->pool) == 1 ? "" : "s", f->nlisten + nsrv,
	    f->nlisten + nsrv == 1 ? "" : "s");
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	json_decref(a);
	free(servers);
	free(srv);
}

void
fork_upgrade_end(struct fork *f)
{
	up_close(f, (uv_handle_t *)&f->up, &f->up_open);
	up_end(f);
	if (f->drain_on) {
		f->drain_on = false;
		uv_close((uv_handle_t *)&f->drain, NULL);
	}
}

/* TTIN: one worker more; TTOU: one less, the highest slot, never the last. */
static void
scale_signal(struct fork *f, int signum)
{
	const char *sn = cp_signal_name(signum), *why;
	int n = cp_pool_size(f->pool);

	if (signum == SIGTTOU && n == 1) {
		fork_status(f, "%s: 1 worker left, not removing it (TERM stops "
		    "the pool)", sn);
		return;
	}
	if (signum == SIGTTIN && n >= f->max_workers) {
		fork_status(f, "%s: %d workers already (--max-workers); not "
		    "adding one", sn, n);
		return;
	}
	if (fork_scale(f, signum == SIGTTIN ? n + 1 : n - 1, sn, &why) != 0)
		fork_status(f, "%s", why);
}

static void
signal_cb(uv_signal_t *h, int signum)
{
	struct fork *f = h->data;
	struct cp_worker *w;
	const char *sn;

	if (!f->master) {
		/* One child: signals are for it, as with env(1) or timeout(1). */
		if ((w = cp_pool_worker(f->pool, 0)) != NULL)
			cp_worker_kill(w, signum);
		return;
	}
	switch (signum) {
	case SIGHUP:
		reload(f);
		break;
	case SIGINT:
	case SIGTERM:
	case SIGQUIT:
		stop_cb(f, signum);
		break;
	case SIGTTIN:
	case SIGTTOU:
		scale_signal(f, signum);
		break;
	case SIGUSR2:
		upgrade(f);
		break;
	default:
		/*
		 * Whatever else would kill or stop us by default must not:
		 * the workers would go with the master.
		 */
		sn = cp_signal_name(signum);
		if (sn[0] != '\0')
			fork_status(f, "%s: ignored", sn);
		else
			fork_status(f, "signal %d: ignored", signum);
		break;
	}
}

/*
 * The master handles every signal whose default action would end or stop
 * it.  One child gets the stop signals, as timeout(1) passes them on.
 */
void
fork_signals_start(struct fork *f)
{
	static const int master_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
	    SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGTTIN, SIGTTOU };
	/* As PID 1 the bridge forwards what tini forwards, too. */
	static const int child_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGUSR1, SIGUSR2, SIGWINCH };
	int sigs[64], n = 0, i, nchild = cmd_init_is_pid1() ? 7 : 4;

	if (f->master) {
		for (i = 0; i < (int)(sizeof(master_sigs) / sizeof(*master_sigs)); i++)
			sigs[n++] = master_sigs[i];
		for (i = SIGRTMIN; i <= SIGRTMAX && n < 64; i++)
			sigs[n++] = i;
	} else {
		for (i = 0; i < nchild; i++)
			sigs[n++] = child_sigs[i];
	}
	for (i = 0; i < n && f->nsig < (int)(sizeof(f->sig) / sizeof(*f->sig)); i++) {
		if (uv_signal_init(f->loop, &f->sig[f->nsig]) != 0)
			continue;
		f->sig[f->nsig].data = f;
		if (uv_signal_start(&f->sig[f->nsig], signal_cb, sigs[i]) != 0) {
			uv_close((uv_handle_t *)&f->sig[f->nsig], NULL);
			continue;
		}
		uv_unref((uv_handle_t *)&f->sig[f->nsig]);
		f->nsig++;
	}
}

void
fork_signals_stop(struct fork *f)
{
	int i;

	for (i = 0; i < f->nsig; i++)
		uv_close((uv_handle_t *)&f->sig[i], NULL);
	f->nsig = 0;
}

/* ---- recycling: --heartbeat and --max-memory ---------------------------- */

/* A worker's resident memory from /proc, in bytes; 0 if unknown. */
static uint64_t
worker_rss(int pid)
{
	char path[64], line[128];
	unsigned long long kb = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(fp);
	return (uint64_t)kb * 1024;
}

static void
ping_cb(struct cp_channel *ch, int st, void *arg)
{
	struct fork_beat *b = arg;
	struct cp_worker *w = cp_pool_worker(b->f->pool, b->slot);

	/* An answer from the slot's current worker (an ACK: not Node, alive). */
	if ((st == 0 || st == UV_EPROTO) && w != NULL &&
	    cp_worker_channel(w) == ch)
		b->out = false;
}

static void
check_worker(struct fork *f, struct cp_worker *w, uint64_t now)
{
	struct fork_beat *b = &f->beats[cp_worker_slot(w)];
	struct cp_channel *ch = cp_worker_channel(w);
	int slot = cp_worker_slot(w), pid = cp_worker_pid(w);
	uint64_t rss;

	if (f->heartbeat_ms > 0 && b->out && now - b->sent >= f->heartbeat_ms) {
		/* Its event loop is stuck: no graceful way out of that. */
		fork_status(f, "worker %d pid %d missed its heartbeat (no answer "
		    "in %llums); SIGKILL", slot + 1, pid,
		    (unsigned long long)(now - b->sent));
		b->out = false;
		cp_pool_replace(f->pool, w, true);
		return;
	}
	if (f->heartbeat_ms > 0 && !b->out && ch != NULL &&
	    cp_channel_ping(ch, ping_cb, b) == 0) {
		b->out = true;
		b->sent = now;
	}
	/* It serves until its replacement is ready: said once. */
	if (f->max_memory > 0 && (rss = worker_rss(pid)) > f->max_memory &&
	    cp_pool_replace(f->pool, w, false) == 0)
		fork_status(f, "worker %d pid %d uses %lluMiB, over --max-memory; "
		    "replacing it", slot + 1, pid, (unsigned long long)(rss >> 20));
}

static void
watch_cb(uv_timer_t *t)
{
	struct fork *f = t->data;
	uint64_t now = uv_now(f->loop);
	struct cp_worker *w;
	int i, n = cp_pool_size(f->pool);

	if (f->stopping || cp_pool_stopping(f->pool))
		return;
	for (i = 0; i < n; i++) {
		w = cp_pool_worker(f->pool, i);
		/* Started workers are not held to it yet: Node may be loading. */
		if (w == NULL || cp_worker_state(w) != CP_WORKER_READY) {
			f->beats[i].out = false;
			continue;
		}
		check_worker(f, w, now);
	}
}

void
fork_watch_start(struct fork *f)
{
	uint64_t every;
	int i, n = cp_pool_capacity(f->pool);	/* scale may grow it */

	if (f->heartbeat_ms == 0 && f->max_memory == 0)
		return;
	if ((f->beats = calloc((size_t)n, sizeof(*f->beats))) == NULL)
		cmd_die("out of memory");
	for (i = 0; i < n; i++) {
		f->beats[i].f = f;
		f->beats[i].slot = i;
	}
	/* A ping every quarter heartbeat; memory once a second at least. */
	every = f->heartbeat_ms > 0 ? f->heartbeat_ms / 4 : 1000;
	if (f->max_memory > 0 && every > 1000)
		every = 1000;
	if (every < 10)
		every = 10;
	uv_timer_init(f->loop, &f->watch);
	f->watch.data = f;
	f->watch_on = true;
	uv_timer_start(&f->watch, watch_cb, every, every);
	uv_unref((uv_handle_t *)&f->watch);
}

void
fork_watch_stop(struct fork *f)
{
	if (f->watch_on) {
		f->watch_on = false;
		uv_close((uv_handle_t *)&f->watch, NULL);
	}
}

/* ---- the control socket ------------------------------------------------ */

static const char *
slot_state(const struct fork *f, int slot)
{
	struct cp_worker *w = cp_pool_worker(f->pool, slot);

	if (w == NULL)
		return cp_pool_stopping(f->pool) || f->done ? "stopped" : "waiting";
	switch (cp_worker_state(w)) {
	case CP_WORKER_READY:
		return "ready";
	case CP_WORKER_STOPPING:
		return "stopping";
	default:
		return "starting";
	}
}

static json_t *
ctl_status(void *data)
{
	struct fork *f = data;
	uint64_t now = uv_now(f->loop);
	struct cp_worker *w;
	json_t *ws;
	int i, n = cp_pool_size(f->pool);

	ws = json_array();
	for (i = 0; i < n; i++) {
		w = cp_pool_worker(f->pool, i);
		json_array_append_new(ws, json_pack("{s:i, s:i, s:s, s:o, s:i, s:o}",
		    "slot", i + 1,
		    "pid", w != NULL ? cp_worker_pid(w) : 0,
		    "state", slot_state(f, i),
		    "uptime_ms", w != NULL ? json_integer((json_int_t)(now -
		    cp_worker_started(w))) : json_null(),
		    "restarts", f->spawned[i] > 0 ? (int)f->spawned[i] - 1 : 0,
		    /* counted only where we hand them out (rr) */
		    "connections", w != NULL && f->counts ?
		    json_integer((json_int_t)cp_worker_connections(w)) :
		    json_null()));
	}
	return json_pack("{s:i, s:I, s:s, s:i, s:i, s:o}",
	    "pid", (int)getpid(),
	    "uptime_ms", (json_int_t)(now - f->started),
	    "state", f->stopping ? "stopping" : f->rolling ? "reloading" :
	    "running",
	    "workers_wanted", n,
	    "workers_max", f->max_workers,
	    "workers", ws);
}

static int
ctl_reload(void *data, const char **why)
{
	struct fork *f = data;

	if (f->stopping || cp_pool_stopping(f->pool)) {
		*why = "the pool is stopping";
		return UV_ECANCELED;
	}
	reload(f);
	return 0;
}

static int
ctl_stop(void *data, const char **why)
{
	(void)why;
	stop_cb(data, SIGTERM);
	return 0;
}

static int
ctl_scale(void *data, int n, const char **why)
{
	return fork_scale(data, n, "scale", why);
}

const struct cmd_control_ops fork_control_ops = {
	.status = ctl_status,
	.scale = ctl_scale,
	.reload = ctl_reload,
	.stop = ctl_stop,
};
