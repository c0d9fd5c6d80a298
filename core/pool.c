/*
 * core/pool.c - a pool of workers: slots, restarts with backoff, rolling
 * restarts and stopping.  With CP_POOL_CLUSTER the workers are Node
 * cluster workers, and core/cluster.c answers their internal messages.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

extern char **environ;

struct cp_worker {
	struct cp_pool *pool;
	struct cp_worker *next, *prev;	/* p->all: every worker not yet closed */
	int slot;
	int id;
	int pid;
	enum cp_worker_state state;
	struct cp_child *child;
	struct cp_channel *ch;		/* while open */
	uv_timer_t grace;		/* SIGKILL after grace_ms once stopping */
	uv_timer_t ready_t;		/* ready_timeout_ms, then ready_settle_ms */
	int handles;			/* of grace and ready_t, not yet closed */
	bool signalled;			/* said it is ready: settling */
	bool holding;			/* a replacement's sockets wait ... */
	bool alive;			/* ... its runtime answered a ping: settling */
	bool held;			/* ... and were sent once it had settled */
	bool candidate;			/* a replacement not yet in its slot */
	unsigned roll;			/* the roll that started it, or 0 */
	bool retired;			/* replaced: its exit restarts nothing */
	bool voluntary;			/* asked to leave, or left on its own */
	bool exited;
	uint64_t started;		/* uv_now at spawn */
	uint64_t conns;			/* rr connections it accepted */
	uint64_t conns_max;		/* replaced at this many, or 0 */
	void *data;			/* the caller's */
	struct cp__cluster_worker *cw;	/* cluster state, or NULL */
};

struct pool_slot {
	struct cp_pool *pool;
	struct cp_worker *w;		/* current worker, or NULL */
	/*
	 * Its replacement, started while w keeps serving: it takes the slot
	 * once READY, and w is stopped then; if it fails first, w stays.
	 */
	struct cp_worker *cand;
	uv_timer_t backoff;		/* restart delay */
	bool backoff_on;
	bool owed;			/* a restart waits for cand to fail */
	int fails;			/* quick exits in a row */
};

struct cp_pool {
	uv_loop_t *loop;
	struct cp_pool_options o;
	struct cp_pool_events ev;
	void *data;
	json_t *handle_msg;
	json_t *ready_msg;		/* copy of o.ready_message, or NULL */
	int *listen_fds;		/* copy of o.listen_fds (fds borrowed) */
	struct pool_slot *slots;	/* cap of them; nslots in use */
	int nslots;
	int cap;			/* the most slots cp_pool_scale may make */
	int ninit;			/* slots whose backoff timer is initialised */
	struct cp_worker *all;
	int live;			/* workers spawned and not yet closed */
	int next_id;
	uint64_t *restart_times;	/* ring of the last max_restarts */
	unsigned long nrestart;
	int rolling;			/* slot being replaced, or -1 */
	unsigned roll;			/* the current roll's number (from 1) */
	bool roll_again;		/* restart asked for during a roll */
	bool started;
	bool stopping;
	bool gave_up;
	bool empty;			/* CP_POOL_EMPTY sent since the last spawn */
	bool closing;
	bool finishing;			/* closing our own handles */
	int handles;			/* our own uv handles not yet closed */
	cp_pool_close_cb close_cb;
	struct cp__cluster *cluster;	/* CP_POOL_CLUSTER, else NULL */
};

static struct cp_worker *spawn_worker(struct cp_pool *p, int slot, bool cand);
static void stop_worker(struct cp_worker *w, bool now);
static uint64_t restart_delay(struct cp_pool *p, struct cp_worker *w);
static void backoff_cb(uv_timer_t *t);
static void roll_next(struct cp_pool *p);
static void maybe_empty(struct cp_pool *p);
static void finish(struct cp_pool *p);

const char *
cp_worker_state_name(enum cp_worker_state s)
{
	switch (s) {
	case CP_WORKER_STARTING:
		return "starting";
	case CP_WORKER_ONLINE:
		return "online";
	case CP_WORKER_READY:
		return "ready";
	case CP_WORKER_STOPPING:
		return "stopping";
	case CP_WORKER_EXITED:
		return "exited";
	}
	return "unknown";
}

/* ---- events ------------------------------------------------------------ */

static void
emit(struct cp_pool *p, struct cp_pool_event *e)
{
	if (p->ev.on_event != NULL)
		p->ev.on_event(p, e, p->data);
}

static void
emit_simple(struct cp_pool *p, enum cp_pool_event_type type,
    struct cp_worker *w, int slot)
{
	struct cp_pool_event e = { .type = type, .worker = w, .slot = slot };

	emit(p, &e);
}

static void
set_state(struct cp_worker *w, enum cp_worker_state s)
{
	struct cp_pool_event e = { .type = CP_POOL_STATE, .worker = w };

	if (w->state == s)
		return;
	e.slot = w->slot;
	e.old_state = w->state;
	w->state = s;
	emit(w->pool, &e);
}

/* ---- readiness --------------------------------------------------------- */

void
cp__pool_emit(struct cp_pool *p, struct cp_pool_event *e)
{
	emit(p, e);
}

bool
cp__pool_closing(const struct cp_pool *p)
{
	return p->stopping || p->closing;
}

void
cp__worker_online(struct cp_worker *w)
{
	if (w->state == CP_WORKER_STARTING)
		set_state(w, CP_WORKER_ONLINE);
}

void
cp__worker_voluntary(struct cp_worker *w)
{
	w->voluntary = true;
}

struct cp__cluster_worker *
cp__channel_cluster_worker(struct cp_channel *ch)
{
	struct cp_worker *w = cp_channel_data(ch);

	return w != NULL ? w->cw : NULL;
}

static void ready_cb(uv_timer_t *t);
static void send_sockets(struct cp_worker *w);
static void promote(struct cp_worker *c);
static void roll_fail(struct cp_pool *p, struct cp_worker *w);

/* It stayed up ready_settle_ms after its signal: READY. */
static void
worker_settled(struct cp_worker *w)
{
	struct cp_pool *p = w->pool;

	uv_timer_stop(&w->ready_t);
	if (w->exited || (w->state != CP_WORKER_STARTING &&
	    w->state != CP_WORKER_ONLINE))
		return;
	set_state(w, CP_WORKER_READY);
	if (w->exited || w->state != CP_WORKER_READY || p->stopping)
		return;			/* changed by the event's handler */
	if (w->candidate)
		promote(w);
}

/*
 * The worker says it is ready (listening, its socket acknowledged, a
 * message).  Saying so is not enough: it is READY once it has stayed up
 * ready_settle_ms more, so that a worker that crashes soon after it
 * listens never takes the place of one that works.
 */
static void
worker_signal(struct cp_worker *w)
{
	struct cp_pool *p = w->pool;

	if (w->signalled || w->exited || (w->state != CP_WORKER_STARTING &&
	    w->state != CP_WORKER_ONLINE))
		return;
	w->signalled = true;
	if (w->holding)
		return;			/* READY once its sockets go */
	if (w->held || p->o.ready_settle_ms == 0) {
		worker_settled(w);
		return;
	}
	uv_timer_start(&w->ready_t, ready_cb, p->o.ready_settle_ms, 0);
}

/* A random number from 0 to n, without touching the process's PRNG. */
static uint64_t
jitter(uint64_t n)
{
	uint64_t r = 0;

	if (n == 0 || uv_random(NULL, NULL, &r, sizeof(r), 0, NULL) != 0)
		return 0;
	return n == UINT64_MAX ? r : r % (n + 1);
}

void
cp__worker_connection(struct cp_worker *w)
{
	struct cp_pool *p = w->pool;

	w->conns++;
	if (w->conns_max == 0 || w->conns < w->conns_max || w->exited ||
	    w->retired || w->candidate || p->stopping ||
	    p->slots[w->slot].w != w)
		return;
	/* Again after as many more, should this replacement fail. */
	w->conns_max = w->conns + p->o.max_connections;
	if (p->slots[w->slot].cand != NULL)
		return;			/* a roll or a recycling is on it */
	emit_simple(p, CP_POOL_RECYCLE, w, w->slot);
	if (!w->exited && !p->stopping && p->slots[w->slot].w == w)
		cp_pool_replace(p, w, false);
}

bool
cp__worker_serving(const struct cp_worker *w)
{
	return !w->candidate && !w->retired;
}

void
cp__worker_ready(struct cp_worker *w)
{
	/* With ready_message, only that message counts. */
	if (w->pool->ready_msg == NULL)
		worker_signal(w);
}

/* ---- replacements ------------------------------------------------------ */

/*
 * A slot's restart that waited for its replacement, which failed: the
 * slot is empty, so it starts again as after a failure of its own.
 */
static void
restart_owed(struct cp_pool *p, struct pool_slot *s, struct cp_worker *failed)
{
	struct cp_pool_event e = { .type = CP_POOL_RESTART };

	if (!s->owed || s->w != NULL || s->cand != NULL || p->stopping ||
	    p->gave_up)
		return;
	s->owed = false;
	e.slot = (int)(s - p->slots);
	e.delay_ms = failed != NULL ? restart_delay(p, failed) : p->o.backoff_ms;
	emit(p, &e);
	if (p->stopping || s->w != NULL || s->cand != NULL)
		return;
	s->backoff_on = true;
	uv_timer_start(&s->backoff, backoff_cb, e.delay_ms, 0);
}

/* c is no replacement any more: it leaves (if it has not), its slot stays. */
static void
drop_cand(struct cp_worker *c)
{
	struct cp_pool *p = c->pool;
	struct pool_slot *s = &p->slots[c->slot];

	if (s->cand == c)
		s->cand = NULL;
	c->candidate = false;
	c->retired = true;
	stop_worker(c, false);
	restart_owed(p, s, c);
}

/*
 * A replacement exited (e carries how) or was not READY within
 * ready_timeout_ms (e->err UV_ETIMEDOUT): the slot keeps its worker, and
 * a roll stops there.
 */
static void
cand_failed(struct cp_worker *c, struct cp_pool_event *e)
{
	struct cp_pool *p = c->pool;
	bool rolling = c->roll != 0 && c->roll == p->roll && p->rolling >= 0;

	e->type = CP_POOL_REPLACE_FAILED;
	e->worker = c;
	e->slot = c->slot;
	emit(p, e);
	drop_cand(c);
	if (rolling && p->rolling >= 0 && c->roll == p->roll)
		roll_fail(p, c);
}

/* What is left of ready_timeout_ms since w started (1 ms at least). */
static uint64_t
time_left(struct cp_worker *w)
{
	uint64_t up = uv_now(w->pool->loop) - w->started;

	return up + 1 < w->pool->o.ready_timeout_ms ?
	    w->pool->o.ready_timeout_ms - up : 1;
}

/*
 * A held replacement's runtime answered: its module has loaded and its
 * event loop turns.  From now on it has ready_settle_ms to crash.
 */
static void
alive_cb(struct cp_channel *ch, int st, void *arg)
{
	struct cp_worker *w = arg;

	(void)ch;
	if (st != 0 && st != UV_EPROTO)
		return;			/* the channel is gone: its exit follows */
	if (w->exited || !w->holding || w->alive)
		return;
	w->alive = true;
	uv_timer_start(&w->ready_t, ready_cb, w->pool->o.ready_settle_ms, 0);
}

static void
ready_cb(uv_timer_t *t)
{
	struct cp_worker *w = t->data;
	struct cp_pool *p = w->pool;
	struct cp_pool_event e = { .type = CP_POOL_NOT_READY, .worker = w,
	    .slot = w->slot, .err = UV_ETIMEDOUT };

	if (w->exited || (w->state != CP_WORKER_STARTING &&
	    w->state != CP_WORKER_ONLINE))
		return;
	if (w->holding && (w->alive || w->signalled)) {
		/* It stayed up: now it may have its sockets. */
		w->holding = false;
		w->held = true;
		send_sockets(w);
		if (w->exited || w->state != CP_WORKER_STARTING)
			return;
		if (w->signalled)
			worker_settled(w);
		else if (p->o.ready_timeout_ms > 0)
			uv_timer_start(&w->ready_t, ready_cb, time_left(w), 0);
		return;
	}
	if (w->signalled) {
		worker_settled(w);
		return;
	}
	/* Not ready in time: a replacement fails; another is only reported. */
	if (w->candidate)
		cand_failed(w, &e);
	else
		emit(w->pool, &e);
}

/* c is READY: it takes its slot, and the worker it replaces leaves. */
static void
promote(struct cp_worker *c)
{
	struct cp_pool *p = c->pool;
	struct pool_slot *s = &p->slots[c->slot];
	struct cp_worker *old = s->w;

	s->cand = NULL;
	s->owed = false;
	c->candidate = false;
	if (s->backoff_on) {
		uv_timer_stop(&s->backoff);
		s->backoff_on = false;
	}
	s->w = c;
	if (c->cw != NULL)
		cp__cluster_worker_serving(p->cluster, c->cw);
	if (old != NULL) {
		old->retired = true;
		stop_worker(old, false);
	}
	if (!p->stopping && p->rolling == c->slot && c->roll == p->roll &&
	    s->w == c)
		roll_next(p);
}

/* ---- the worker's child events ----------------------------------------- */

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct cp_worker *w = data;
	struct cp_pool *p = w->pool;

	(void)ch;
	/* Its first message, or the one named, says it is ready. */
	if (p->ready_msg == NULL || json_equal(m->value, p->ready_msg))
		worker_signal(w);
	if (p->ev.on_message != NULL)
		p->ev.on_message(p, w, m, p->data);
}

static void
on_internal(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct cp_worker *w = data;

	(void)ch;
	if (w->cw != NULL)
		cp__cluster_message(w->pool->cluster, w->cw, m);
}

static void
on_ipc_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	struct cp_worker *w = data;
	struct cp_pool_event e = { .type = CP_POOL_IPC_ERROR, .worker = w,
	    .slot = w->slot, .err = err, .line = line, .len = len };

	(void)ch;
	emit(w->pool, &e);
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct cp_worker *w = data;
	struct cp_pool_event e = { .type = CP_POOL_DISCONNECT, .worker = w,
	    .slot = w->slot, .err = err };

	(void)ch;
	w->ch = NULL;
	if (w->cw != NULL)
		cp__cluster_worker_gone(w->pool->cluster, w->cw);
	emit(w->pool, &e);
}

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	struct cp_worker *w = data;
	struct cp_pool *p = w->pool;

	(void)c;
	if (p->ev.on_data != NULL)
		p->ev.on_data(p, w, fd, buf, len, p->data);
}

/* Whether this restart makes too many within the window. */
static bool
crash_loop(struct cp_pool *p)
{
	uint64_t now = uv_now(p->loop);
	unsigned long i, max = (unsigned long)p->o.max_restarts, n = 0;

	if (max == 0)
		return false;
	p->restart_times[p->nrestart++ % max] = now;
	for (i = 0; i < max && i < p->nrestart; i++)
		if (now - p->restart_times[i] <= p->o.restart_window_ms)
			n++;
	return n >= max && p->nrestart > max;
}

static void
backoff_cb(uv_timer_t *t)
{
	struct pool_slot *s = t->data;
	struct cp_pool *p = s->pool;

	s->backoff_on = false;
	if (s->cand != NULL)
		s->owed = true;		/* the replacement on its way takes it */
	else if (!p->stopping && s->w == NULL && s - p->slots < p->nslots)
		spawn_worker(p, (int)(s - p->slots), false);
	maybe_empty(p);
}

/*
 * The delay before a slot starts again.  Only a worker that stayed up
 * stable_ms clears the slot's failures: readiness does not, or a worker
 * that crashes soon after it is ready would be restarted at the first
 * step for ever.
 */
static uint64_t
restart_delay(struct cp_pool *p, struct cp_worker *w)
{
	struct pool_slot *s = &p->slots[w->slot];
	uint64_t d;
	int i;

	if (uv_now(p->loop) - w->started < p->o.stable_ms)
		s->fails++;
	else
		s->fails = 0;
	if (s->fails == 0)
		return 0;
	d = p->o.backoff_ms;
	for (i = 1; i < s->fails && d < p->o.backoff_max_ms; i++)
		d *= 2;
	return d < p->o.backoff_max_ms ? d : p->o.backoff_max_ms;
}

static void
on_exit_(struct cp_child *c, int64_t code, int sig, void *data)
{
	struct cp_worker *w = data;
	struct cp_pool *p = w->pool;
	struct pool_slot *s = &p->slots[w->slot];
	struct cp_pool_event e = { .type = CP_POOL_STATE, .worker = w,
	    .slot = w->slot, .exit_status = code, .term_signal = sig };
	bool failed = code != 0 || sig != 0, restart, current, cand;
	uint64_t delay;

	w->exited = true;
	uv_timer_stop(&w->grace);
	uv_timer_stop(&w->ready_t);
	if (w->cw != NULL)
		cp__cluster_worker_gone(p->cluster, w->cw);
	current = !w->retired && s->w == w;
	cand = w->candidate && s->cand == w;
	if (current)
		s->w = NULL;		/* the slot is free from this event on */
	e.old_state = w->state;
	e.voluntary = w->voluntary;
	e.timed_out = cp_child_timed_out(c);
	w->state = CP_WORKER_EXITED;
	emit(p, &e);
	if (cand && w->candidate && s->cand == w) {
		/* Exited before it was READY: the slot's worker stays. */
		e.err = 0;
		cand_failed(w, &e);
		return;
	}
	if (!current)
		return;
	/* One this roll put in place failed: roll no further. */
	if (!w->voluntary && w->roll != 0 && w->roll == p->roll &&
	    p->rolling >= 0)
		roll_fail(p, w);
	restart = !p->stopping && !w->voluntary && !p->gave_up &&
	    (p->o.restart == CP_RESTART_ALWAYS ||
	    (p->o.restart == CP_RESTART_ON_FAILURE && failed));
	if (!restart)
		return;
	if (crash_loop(p)) {
		p->gave_up = true;
		emit_simple(p, CP_POOL_GIVE_UP, w, w->slot);
		cp_pool_stop(p, false);
		return;
	}
	delay = restart_delay(p, w);
	if (s->cand != NULL) {
		s->owed = true;		/* the replacement on its way takes it */
		return;
	}
	e = (struct cp_pool_event){ .type = CP_POOL_RESTART, .slot = w->slot,
	    .delay_ms = delay };
	emit(p, &e);
	if (p->stopping || s->w != NULL || s->cand != NULL)
		return;			/* stopped or filled from the event */
	s->backoff_on = true;
	uv_timer_start(&s->backoff, backoff_cb, delay, 0);
}

static void
worker_release(struct cp_worker *w)
{
	struct cp_pool *p = w->pool;

	if (--w->handles > 0)
		return;
	free(w);
	p->live--;
	maybe_empty(p);
}

static void
worker_freed(uv_handle_t *h)
{
	worker_release(h->data);
}

/* The child's close_cb: the worker waits for it as for its handles. */
static void
child_closed(struct cp_child *c, void *data)
{
	cp_child_free(c);
	worker_release(data);
}

static void
on_close(struct cp_child *c, void *data)
{
	struct cp_worker *w = data;
	struct cp_pool *p = w->pool;

	cp_child_close(c, child_closed);
	w->child = NULL;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->all = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	if (w->cw != NULL)
		cp__cluster_worker_free(p->cluster, w->cw);
	w->cw = NULL;
	uv_close((uv_handle_t *)&w->grace, worker_freed);
	uv_close((uv_handle_t *)&w->ready_t, worker_freed);
}

static const struct cp_child_events child_events = {
	.ipc = {
		.on_message = on_message,
		.on_internal = on_internal,
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
	struct cp_worker *w = t->data;

	if (w->exited)
		return;
	emit_simple(w->pool, CP_POOL_GRACE_KILL, w, w->slot);
	if (!w->exited && w->child != NULL)
		cp_child_kill(w->child, SIGKILL);
}

/* Graceful: disconnect, then SIGKILL after grace_ms.  now: SIGKILL. */
static void
stop_worker(struct cp_worker *w, bool now)
{
	struct cp_pool *p = w->pool;

	if (w->exited)
		return;
	w->voluntary = true;
	uv_timer_stop(&w->ready_t);
	if (w->state != CP_WORKER_STOPPING) {
		set_state(w, CP_WORKER_STOPPING);
		if (w->exited)
			return;		/* the event's handler killed it */
		if (!now) {
			/* A cluster worker closes its servers and leaves. */
			if (w->cw != NULL)
				cp__cluster_disconnect(p->cluster, w->cw);
			else if (w->ch != NULL && cp_channel_connected(w->ch))
				cp_channel_disconnect(w->ch);
			uv_timer_start(&w->grace, grace_cb, p->o.grace_ms, 0);
		}
	}
	if (now && w->child != NULL)
		cp_child_kill(w->child, SIGKILL);
}

static bool
env_ours(const char *s, unsigned int flags)
{
	if (strncmp(s, "NODE_UNIQUE_ID=", 15) == 0)
		return true;
	return (flags & CP_POOL_SLOT_ENV) &&
	    (strncmp(s, "CHILDPROC_WORKER=", 17) == 0 ||
	    strncmp(s, "NODE_APP_INSTANCE=", 18) == 0);
}

/* The worker's environment: the pool's with our variables set (vars holds them). */
static char **
worker_env(struct cp_pool *p, struct cp_worker *w, char vars[3][48])
{
	char *const *env = p->o.spawn.env != NULL ? p->o.spawn.env : environ;
	char **out;
	size_t n = 0, i, o = 0;

	while (env[n] != NULL)
		n++;
	if ((out = calloc(n + 4, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!env_ours(env[i], p->o.flags))
			out[o++] = env[i];
	if (p->o.flags & CP_POOL_CLUSTER) {
		snprintf(vars[2], 48, "NODE_UNIQUE_ID=%d", w->id);
		out[o++] = vars[2];
	}
	if (p->o.flags & CP_POOL_SLOT_ENV) {
		snprintf(vars[0], 48, "CHILDPROC_WORKER=%d", w->slot + 1);
		snprintf(vars[1], 48, "NODE_APP_INSTANCE=%d", w->slot);
		out[o++] = vars[0];
		out[o++] = vars[1];
	}
	out[o] = NULL;
	return out;
}

static void
handle_sent(struct cp_channel *ch, int st, void *arg)
{
	struct cp_worker *w = arg;
	struct cp_pool_event e = { .type = CP_POOL_HANDLE_ERROR, .worker = w,
	    .slot = w->slot, .err = st };

	(void)ch;
	if (st == 0) {
		/* It has the socket: as good as listening. */
		if (w->pool->ready_msg == NULL)
			worker_signal(w);
	} else {
		emit(w->pool, &e);
	}
}

/* Its listening sockets: its own (per slot), or every one. */
static void
send_sockets(struct cp_worker *w)
{
	struct cp_pool *p = w->pool;
	struct cp_pool_event e;
	bool per_slot = (p->o.flags & CP_POOL_LISTEN_PER_SLOT) != 0;
	int i, r, fd;

	for (i = 0; i < (per_slot ? 1 : p->o.listen_count); i++) {
		if (w->ch == NULL || w->exited ||
		    w->state != CP_WORKER_STARTING)
			break;
		fd = p->listen_fds[per_slot ? w->slot : i];
		r = cp_channel_send_handle(w->ch, p->handle_msg,
		    CP_HANDLE_NET_SERVER, fd, 0, handle_sent, w);
		if (r < 0) {
			e = (struct cp_pool_event){ .type = CP_POOL_HANDLE_ERROR,
			    .worker = w, .slot = w->slot, .err = r };
			emit(p, &e);
		}
	}
}

/*
 * Starts a worker for slot: as its worker, or (cand) as the replacement of
 * the one there.  Returns it, or NULL (CP_POOL_SPAWN_ERROR was emitted).
 */
static struct cp_worker *
spawn_worker(struct cp_pool *p, int slot, bool cand)
{
	struct cp_spawn_options so = p->o.spawn;
	struct cp_pool_event e = { .type = CP_POOL_SPAWN_ERROR, .slot = slot };
	struct cp_worker *w;
	char vars[3][48], **env;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		e.err = UV_ENOMEM;
		emit(p, &e);
		return NULL;
	}
	w->pool = p;
	w->slot = slot;
	w->id = ++p->next_id;
	w->state = CP_WORKER_EXITED;	/* until it is spawned */
	w->grace.data = w;
	w->ready_t.data = w;
	if ((env = worker_env(p, w, vars)) == NULL) {
		r = UV_ENOMEM;
		goto fail;
	}
	if (p->cluster != NULL &&
	    (w->cw = cp__cluster_worker_new(p->cluster, w)) == NULL) {
		free(env);
		r = UV_ENOMEM;
		goto fail;
	}
	so.env = env;
	/* No worker outlives its master (even one SIGKILLed), unless detached. */
	if (!(so.flags & CP_SPAWN_DETACHED))
		so.flags |= CP_SPAWN_DIE_WITH_PARENT;
	r = cp_child_spawn(p->loop, &so, &child_events, w, &w->child);
	free(env);
	if (r != 0)
		goto fail;
	uv_timer_init(p->loop, &w->grace);
	uv_timer_init(p->loop, &w->ready_t);
	w->handles = 3;		/* grace, ready_t and the child */
	if (p->o.max_connections > 0)
		w->conns_max = p->o.max_connections +
		    jitter(p->o.max_connections_jitter);
	w->started = uv_now(p->loop);
	w->pid = cp_child_pid(w->child);
	w->ch = cp_child_channel(w->child);
	w->next = p->all;
	if (p->all != NULL)
		p->all->prev = w;
	p->all = w;
	p->live++;
	p->empty = false;
	if (cand) {
		w->candidate = true;
		p->slots[slot].cand = w;
	} else {
		p->slots[slot].w = w;
	}
	/*
	 * A replacement gets its sockets only once it is up (its runtime
	 * answers a ping) and has stayed up ready_settle_ms more: one that
	 * crashes soon after it starts never takes connections with it.
	 */
	if (p->o.ready_timeout_ms > 0)
		uv_timer_start(&w->ready_t, ready_cb, p->o.ready_timeout_ms, 0);
	w->holding = cand && p->o.listen_count > 0 && p->o.ready_settle_ms > 0 &&
	    w->ch != NULL && cp_channel_ping(w->ch, alive_cb, w) == 0;
	set_state(w, CP_WORKER_STARTING);
	if (!w->holding)
		send_sockets(w);
	return w;
fail:
	if (w->cw != NULL)
		cp__cluster_worker_free(p->cluster, w->cw);
	free(w);
	p->next_id--;			/* never seen: the id is not used up */
	e.err = r;
	emit(p, &e);
	return NULL;
}

/*
 * A replacement for slot, started while its worker keeps serving.  A
 * replacement already on its way is dropped (it may run older code).  An
 * empty slot waiting to restart waits for the replacement instead.
 */
static struct cp_worker *
start_cand(struct cp_pool *p, int slot, unsigned roll)
{
	struct pool_slot *s = &p->slots[slot];
	struct cp_worker *c;

	if (s->cand != NULL) {
		c = s->cand;
		s->cand = NULL;
		c->candidate = false;
		c->retired = true;
		stop_worker(c, false);
		if (p->stopping)
			return NULL;
	}
	if (s->backoff_on) {
		uv_timer_stop(&s->backoff);
		s->backoff_on = false;
		s->owed = true;
	}
	if ((c = spawn_worker(p, slot, true)) != NULL)
		c->roll = roll;
	else
		restart_owed(p, s, NULL);
	return c;
}

/* A queued roll, once the last one is over. */
static void
roll_again(struct cp_pool *p)
{
	if (p->roll_again && !p->stopping && p->rolling < 0) {
		p->roll_again = false;
		p->roll++;
		roll_next(p);
	}
}

/*
 * The roll stops: w (a replacement, or a worker it put in place) failed.
 * The replacement under way, if another, is dropped; every slot not yet
 * replaced keeps its worker.
 */
static void
roll_fail(struct cp_pool *p, struct cp_worker *w)
{
	struct cp_worker *c;
	int slot = p->rolling;

	p->rolling = -1;
	if (slot >= 0 && (c = p->slots[slot].cand) != NULL && c != w &&
	    c->roll == p->roll)
		drop_cand(c);
	emit_simple(p, CP_POOL_ROLL_FAILED, w, w->slot);
	roll_again(p);
}

/* Rolling restart: the next slot, once the last replacement is READY. */
static void
roll_next(struct cp_pool *p)
{
	int slot = p->rolling + 1;

	if (p->stopping) {
		p->rolling = -1;
		return;
	}
	if (slot >= p->nslots) {
		p->rolling = -1;
		emit_simple(p, CP_POOL_ROLL_DONE, NULL, -1);
		roll_again(p);
		return;
	}
	p->rolling = slot;
	if (start_cand(p, slot, p->roll) == NULL && p->rolling == slot &&
	    !p->stopping) {
		/* Could not start: the old workers stay. */
		p->rolling = -1;
		emit_simple(p, CP_POOL_ROLL_FAILED, NULL, slot);
		roll_again(p);
	}
}

/* CP_POOL_EMPTY once nothing runs or waits to run; closes when closing. */
static void
maybe_empty(struct cp_pool *p)
{
	int i;

	if (p->live > 0)
		return;
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].backoff_on)
			return;
	if (!p->empty) {
		p->empty = true;
		emit_simple(p, CP_POOL_EMPTY, NULL, -1);
	}
	if (p->closing)
		finish(p);
}

/* ---- the public side --------------------------------------------------- */

static void
handle_done(struct cp_pool *p)
{
	if (--p->handles == 0 && p->close_cb != NULL)
		p->close_cb(p, p->data);
}

static void
pool_handle_closed(uv_handle_t *h)
{
	handle_done(h->data);
}

/* Every worker is gone: close our own handles, then call close_cb. */
static void
finish(struct cp_pool *p)
{
	int i;

	if (p->finishing || p->live > 0)
		return;
	p->finishing = true;
	for (i = 0; i < p->ninit; i++) {
		uv_timer_stop(&p->slots[i].backoff);
		p->slots[i].backoff_on = false;
		p->slots[i].backoff.data = p;
		p->handles++;
		uv_close((uv_handle_t *)&p->slots[i].backoff, pool_handle_closed);
	}
	if (p->cluster != NULL) {
		p->handles++;
		cp__cluster_close(p->cluster, handle_done);
	}
}

/* Readies slots up to n (their timers are closed in finish). */
static void
init_slots(struct cp_pool *p, int n)
{
	for (; p->ninit < n; p->ninit++) {
		p->slots[p->ninit].pool = p;
		uv_timer_init(p->loop, &p->slots[p->ninit].backoff);
		p->slots[p->ninit].backoff.data = &p->slots[p->ninit];
	}
}

int
cp_pool_create(uv_loop_t *loop, const struct cp_pool_options *opts,
    const struct cp_pool_events *ev, void *data, struct cp_pool **pp)
{
	struct cp_pool *p;
	int i, ipc = 0, r;

	*pp = NULL;
	for (i = 0; i < opts->spawn.stdio_count; i++)
		if (opts->spawn.stdio[i].type == CP_STDIO_IPC)
			ipc++;
	/* Only the rr primary sees the connections it could count. */
	if (opts->max_connections > 0 && (!(opts->flags & CP_POOL_CLUSTER) ||
	    opts->sched != CP_SCHED_RR))
		return UV_ENOTSUP;
	if (ipc != 1 || opts->workers < 1 || opts->max_restarts < 0 ||
	    opts->max_workers < 0 ||
	    opts->listen_count < 0 || ((opts->flags & CP_POOL_LISTEN_PER_SLOT) &&
	    opts->listen_count != opts->workers) ||
	    (opts->listen_count > 0 && opts->listen_fds == NULL))
		return UV_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return UV_ENOMEM;
	p->loop = loop;
	p->o = *opts;
	if (ev != NULL)
		p->ev = *ev;
	p->data = data;
	p->rolling = -1;
	p->nslots = opts->workers;
	p->cap = opts->max_workers > opts->workers ? opts->max_workers :
	    opts->workers;
	p->handle_msg = opts->handle_message != NULL ?
	    json_deep_copy(opts->handle_message) : json_string("server");
	if (opts->ready_message != NULL &&
	    (p->ready_msg = json_deep_copy(opts->ready_message)) == NULL) {
		r = UV_ENOMEM;
		goto fail;
	}
	p->slots = calloc((size_t)p->cap, sizeof(*p->slots));
	p->restart_times = calloc((size_t)opts->max_restarts + 1,
	    sizeof(*p->restart_times));
	if (opts->listen_count > 0 && (p->listen_fds = calloc(
	    (size_t)opts->listen_count, sizeof(*p->listen_fds))) != NULL)
		memcpy(p->listen_fds, opts->listen_fds,
		    (size_t)opts->listen_count * sizeof(*p->listen_fds));
	if (p->handle_msg == NULL || p->slots == NULL ||
	    p->restart_times == NULL ||
	    (opts->listen_count > 0 && p->listen_fds == NULL)) {
		r = UV_ENOMEM;
		goto fail;
	}
	if ((opts->flags & CP_POOL_CLUSTER) && (r = cp__cluster_create(p, loop,
	    opts->sched, p->cap, &p->cluster)) != 0)
		goto fail;
	p->o.listen_fds = p->listen_fds;
	p->o.handle_message = NULL;
	p->o.ready_message = NULL;
	init_slots(p, p->nslots);
	*pp = p;
	return 0;
fail:
	json_decref(p->handle_msg);
	json_decref(p->ready_msg);
	free(p->slots);
	free(p->restart_times);
	free(p->listen_fds);
	free(p);
	return r;
}

int
cp_pool_start(struct cp_pool *p)
{
	int i;

	if (p->started || p->closing)
		return UV_EALREADY;
	p->started = true;
	for (i = 0; i < p->nslots && !p->stopping; i++)
		if (p->slots[i].w == NULL)
			spawn_worker(p, i, false);
	maybe_empty(p);
	return 0;
}

void
cp_pool_stop(struct cp_pool *p, bool now)
{
	struct cp_worker *w, *next;
	int i;

	if (p->stopping && !now)
		return;
	p->stopping = true;
	p->rolling = -1;
	p->roll_again = false;
	for (i = 0; i < p->nslots; i++) {
		if (p->slots[i].backoff_on) {
			uv_timer_stop(&p->slots[i].backoff);
			p->slots[i].backoff_on = false;
		}
		/* Replacements leave as the others do: nothing fails now. */
		if ((w = p->slots[i].cand) != NULL) {
			w->candidate = false;
			w->retired = true;
			p->slots[i].cand = NULL;
		}
		p->slots[i].owed = false;
	}
	/* Retired workers still draining are in the list too. */
	for (w = p->all; w != NULL; w = next) {
		next = w->next;
		stop_worker(w, now);
	}
	maybe_empty(p);
}

int
cp_pool_restart(struct cp_pool *p)
{
	if (p->stopping)
		return UV_ECANCELED;
	if (p->rolling >= 0) {
		p->roll_again = true;
		return 1;
	}
	p->roll++;
	roll_next(p);
	return 0;
}

int
cp_pool_replace(struct cp_pool *p, struct cp_worker *w, bool now)
{
	struct pool_slot *s;
	int slot;

	if (p->stopping)
		return UV_ECANCELED;
	if (w == NULL || w->pool != p || w->exited || w->retired ||
	    p->slots[w->slot].w != w)
		return UV_EINVAL;
	slot = w->slot;
	s = &p->slots[slot];
	if (now) {
		w->retired = true;
		s->w = NULL;
		stop_worker(w, true);
		/* A replacement on its way takes the slot once READY. */
		if (p->stopping || s->w != NULL || s->cand != NULL)
			return 0;
		spawn_worker(p, slot, false);
		return 0;
	}
	if (s->cand != NULL)
		return UV_EALREADY;
	start_cand(p, slot, 0);
	return 0;
}

/* Takes slots from n up out of use: their workers leave gracefully. */
static void
shrink(struct cp_pool *p, int n)
{
	struct pool_slot *s;
	struct cp_worker *w;
	int i, old = p->nslots;

	p->nslots = n;
	for (i = old - 1; i >= n; i--) {
		s = &p->slots[i];
		if (s->backoff_on) {
			uv_timer_stop(&s->backoff);
			s->backoff_on = false;
		}
		s->fails = 0;
		s->owed = false;
		/* A replacement on its way leaves too: no slot to take. */
		if ((w = s->cand) != NULL) {
			w->candidate = false;
			w->retired = true;
			s->cand = NULL;
			stop_worker(w, false);
		}
		if ((w = s->w) != NULL) {
			/* As a replaced worker: its exit restarts nothing. */
			w->retired = true;
			s->w = NULL;
			stop_worker(w, false);
		}
	}
	/* A roll on a slot that is gone is over: the lower ones are done. */
	if (p->rolling >= p->nslots && !p->stopping) {
		p->rolling = p->nslots - 1;
		roll_next(p);
	}
	maybe_empty(p);
}

int
cp_pool_scale(struct cp_pool *p, int n)
{
	int i;

	if (p->stopping || p->closing)
		return UV_ECANCELED;
	if (n < 1 || n > p->cap)
		return UV_EINVAL;
	if ((p->o.flags & CP_POOL_LISTEN_PER_SLOT) && n > p->o.listen_count)
		return UV_ENOTSUP;	/* no socket for the new slots */
	if (n < p->nslots) {
		shrink(p, n);
		return 0;
	}
	init_slots(p, n);
	for (i = p->nslots; i < n; i++) {
		p->slots[i].w = p->slots[i].cand = NULL;
		p->slots[i].owed = false;
		p->slots[i].fails = 0;
	}
	i = p->nslots;
	p->nslots = n;
	/* Stop if an event's handler stops the pool or scales it again. */
	for (; p->started && i < n && i < p->nslots && !p->stopping; i++)
		if (p->slots[i].w == NULL && !p->slots[i].backoff_on)
			spawn_worker(p, i, false);
	return 0;
}

int
cp_pool_capacity(const struct cp_pool *p)
{
	return p->cap;
}

void
cp_pool_close(struct cp_pool *p, cp_pool_close_cb close_cb)
{
	if (p->closing)
		return;
	p->closing = true;
	p->close_cb = close_cb;
	cp_pool_stop(p, false);
	finish(p);
}

void
cp_pool_free(struct cp_pool *p)
{
	if (p == NULL)
		return;
	if (p->cluster != NULL)
		cp__cluster_free(p->cluster);
	json_decref(p->handle_msg);
	json_decref(p->ready_msg);
	free(p->slots);
	free(p->restart_times);
	free(p->listen_fds);
	free(p);
}

int
cp_pool_adopt_server(struct cp_pool *p, const char *key, int fd)
{
	if (p->cluster == NULL)
		return UV_EINVAL;
	if (cp__pool_closing(p))
		return UV_ECANCELED;
	return cp__cluster_adopt(p->cluster, key, fd);
}

int
cp_pool_servers(struct cp_pool *p, cp_pool_server_cb cb, void *arg)
{
	return p->cluster != NULL ? cp__cluster_servers(p->cluster, cb, arg) : 0;
}

void
cp_pool_release_servers(struct cp_pool *p)
{
	if (p->cluster != NULL)
		cp__cluster_release(p->cluster);
}

int
cp_pool_pending(const struct cp_pool *p)
{
	return p->cluster != NULL ? cp__cluster_pending(p->cluster) : 0;
}

int
cp_pool_size(const struct cp_pool *p)
{
	return p->nslots;
}

struct cp_worker *
cp_pool_worker(const struct cp_pool *p, int slot)
{
	if (slot < 0 || slot >= p->nslots)
		return NULL;
	return p->slots[slot].w;
}

int
cp_pool_live(const struct cp_pool *p)
{
	return p->live;
}

bool
cp_pool_stopping(const struct cp_pool *p)
{
	return p->stopping;
}

void *
cp_pool_data(const struct cp_pool *p)
{
	return p->data;
}

int
cp_worker_slot(const struct cp_worker *w)
{
	return w->slot;
}

int
cp_worker_id(const struct cp_worker *w)
{
	return w->id;
}

int
cp_worker_pid(const struct cp_worker *w)
{
	return w->pid;
}

enum cp_worker_state
cp_worker_state(const struct cp_worker *w)
{
	return w->state;
}

struct cp_channel *
cp_worker_channel(const struct cp_worker *w)
{
	return w->ch;
}

uint64_t
cp_worker_started(const struct cp_worker *w)
{
	return w->started;
}

uint64_t
cp_worker_connections(const struct cp_worker *w)
{
	return w->conns;
}

int
cp_worker_kill(struct cp_worker *w, int signum)
{
	if (w->exited || w->child == NULL)
		return UV_ESRCH;
	/* cp_child_kill(c, 0) only probes now; this keeps its documented 0. */
	return cp_child_kill(w->child, signum == 0 ? SIGTERM : signum);
}

int
cp_worker_disconnect(struct cp_worker *w)
{
	if (w->exited || w->ch == NULL || !cp_channel_connected(w->ch))
		return UV_ENOTCONN;
	w->voluntary = true;
	if (w->cw != NULL)
		return cp__cluster_disconnect(w->pool->cluster, w->cw);
	return cp_channel_disconnect(w->ch);
}

void
cp_worker_set_data(struct cp_worker *w, void *data)
{
	w->data = data;
}

void *
cp_worker_data(const struct cp_worker *w)
{
	return w->data;
}
