/*
 * pool-api.c - the library's readiness-gated rolling restart
 * (cp_pool_restart), on workers that are shell scripts, no node: each
 * reads a mode file (in a private temporary directory) when it starts; "good" says "up" on its channel (its
 * first message: ready) and stays until the channel closes, "crash"
 * exits 1 at once, "never" stays without a word.
 *
 *	pool-api
 *
 * 1. A roll onto "crash": CP_POOL_REPLACE_FAILED (exit 1), then
 *    CP_POOL_ROLL_FAILED at slot 0; both slots keep their workers.
 * 2. A roll onto "never" (ready_timeout_ms): CP_POOL_REPLACE_FAILED with
 *    UV_ETIMEDOUT, CP_POOL_ROLL_FAILED; the workers are kept again.
 * 3. A roll onto "good": CP_POOL_ROLL_DONE, every worker new, the old
 *    ones gone gracefully (exit 0 once their channel closed).
 * Also: max_connections without the rr cluster is UV_ENOTSUP; handing
 * servers over (cp_pool_adopt_server, cp_pool_servers): an adopted
 * socket is listed under its key, taken (closed with the pool), refused
 * without the cluster, twice, for a pipe, for TCP under reuseport.
 * Exits 0 if every check passed, 1 otherwise.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

#define N 2

static int failed;

static void
check_failed(void *ctx, int line, const char *what)
{
	(void)ctx;
	fprintf(stderr, "pool-api.c:%d: check failed: %s\n", line, what);
	failed = 1;
}

static const char script[] =
    "read mode < \"$1\"\n"
    "case $mode in\n"
    "good) printf '\"up\"\\n' >&3; exec cat <&3 >/dev/null ;;\n"
    "crash) exit 1 ;;\n"
    "*) exec cat <&3 >/dev/null ;;\n"
    "esac\n";

static const struct cp_stdio stdio_[4] = {
	{ .type = CP_STDIO_IGNORE }, { .type = CP_STDIO_INHERIT },
	{ .type = CP_STDIO_INHERIT }, { .type = CP_STDIO_IPC },
};

struct t {
	uv_loop_t loop;
	struct cp_pool *pool;
	uv_timer_t next, watchdog;
	const char *modefile;
	int phase;			/* 0 start, 1 crash, 2 never, 3 good */
	int pids[N];			/* the slots' workers before the roll */
	int replace_failed, roll_failed, roll_done, old_exited_0;
	int fail_err, fail_status;
	bool closed;
};

static void
set_mode(struct t *t, const char *mode)
{
	FILE *fp = fopen(t->modefile, "w");

	CHECK(NULL, fp != NULL);
	if (fp == NULL)
		return;
	fprintf(fp, "%s\n", mode);
	fclose(fp);
}

static bool
all_ready(struct t *t)
{
	struct cp_worker *w;
	int i;

	for (i = 0; i < N; i++)
		if ((w = cp_pool_worker(t->pool, i)) == NULL ||
		    cp_worker_state(w) != CP_WORKER_READY)
			return false;
	return true;
}

static void
save_pids(struct t *t)
{
	int i;

	for (i = 0; i < N; i++)
		t->pids[i] = cp_worker_pid(cp_pool_worker(t->pool, i));
}

static bool
same_pids(struct t *t)
{
	struct cp_worker *w;
	int i;

	for (i = 0; i < N; i++)
		if ((w = cp_pool_worker(t->pool, i)) == NULL ||
		    cp_worker_pid(w) != t->pids[i])
			return false;
	return true;
}

static void
closed_cb(struct cp_pool *p, void *data)
{
	struct t *t = data;

	(void)p;
	t->closed = true;
	uv_close((uv_handle_t *)&t->next, NULL);
	uv_close((uv_handle_t *)&t->watchdog, NULL);
}

/* The next phase, out of the pool's callbacks. */
static void
next_cb(uv_timer_t *h)
{
	struct t *t = h->data;
	static const char *const modes[] = { NULL, "crash", "never", "good" };

	if (t->phase == 3) {
		cp_pool_close(t->pool, closed_cb);
		return;
	}
	t->phase++;
	save_pids(t);
	set_mode(t, modes[t->phase]);
	t->replace_failed = t->roll_failed = 0;
	CHECK(NULL, cp_pool_restart(t->pool) == 0);
	/* A second one is queued behind it. */
	if (t->phase == 1)
		CHECK(NULL, cp_pool_restart(t->pool) == 1);
}

static void
on_event(struct cp_pool *p, const struct cp_pool_event *e, void *data)
{
	struct t *t = data;
	int i;

	(void)p;
	switch (e->type) {
	case CP_POOL_STATE:
		if (t->phase == 0 && all_ready(t))
			uv_timer_start(&t->next, next_cb, 0, 0);
		if (cp_worker_state(e->worker) != CP_WORKER_EXITED || t->phase != 3)
			break;
		for (i = 0; i < N; i++)
			if (cp_worker_pid(e->worker) == t->pids[i] &&
			    e->exit_status == 0 && e->term_signal == 0)
				t->old_exited_0++;
		break;
	case CP_POOL_REPLACE_FAILED:
		t->replace_failed++;
		t->fail_err = e->err;
		t->fail_status = (int)e->exit_status;
		CHECK(NULL, e->slot == 0);
		CHECK(NULL, e->worker != NULL &&
		    cp_worker_pid(e->worker) != t->pids[0]);
		break;
	case CP_POOL_ROLL_FAILED:
		t->roll_failed++;
		CHECK(NULL, e->slot == 0);
		CHECK(NULL, t->replace_failed >= 1);
		CHECK(NULL, same_pids(t));
		if (t->phase == 1)
			CHECK(NULL, t->fail_err == 0 && t->fail_status == 1);
		else if (t->phase == 2)
			CHECK(NULL, t->fail_err == UV_ETIMEDOUT);
		else
			CHECK(NULL, !"a roll onto good code failed");
		/* Phase 1 queued another roll: it fails the same way. */
		if (t->phase != 1 || t->roll_failed == 2)
			uv_timer_start(&t->next, next_cb, 0, 0);
		break;
	case CP_POOL_ROLL_DONE:
		t->roll_done++;
		CHECK(NULL, t->phase == 3);
		for (i = 0; i < N; i++)
			CHECK(NULL, cp_pool_worker(t->pool, i) != NULL &&
			    cp_worker_pid(cp_pool_worker(t->pool, i)) != t->pids[i] &&
			    cp_worker_state(cp_pool_worker(t->pool, i)) ==
			    CP_WORKER_READY);
		uv_timer_start(&t->next, next_cb, 0, 0);
		break;
	case CP_POOL_GIVE_UP:
	case CP_POOL_SPAWN_ERROR:
		CHECK(NULL, !"give-up or spawn error");
		break;
	default:
		break;
	}
}

static void
watchdog_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	fprintf(stderr, "pool-api.c: stuck in phase %d\n", t->phase);
	failed = 1;
	cp_pool_close(t->pool, closed_cb);
}

/* max_connections counts the pool's own rr dispatch: nothing else. */
static void
check_notsup(uv_loop_t *loop, struct cp_pool_options *o)
{
	struct cp_pool_options x = *o;
	struct cp_pool *p = NULL;

	x.max_connections = 10;
	CHECK(NULL, cp_pool_create(loop, &x, NULL, NULL, &p) == UV_ENOTSUP);
	x.flags |= CP_POOL_CLUSTER;
	x.sched = CP_SCHED_NONE;
	CHECK(NULL, cp_pool_create(loop, &x, NULL, NULL, &p) == UV_ENOTSUP);
	CHECK(NULL, p == NULL);
}

static void
sub_closed(struct cp_pool *p, void *data)
{
	(void)p;
	*(bool *)data = true;
}

/*
 * A listening TCP socket on 127.0.0.1 and port (0: chosen by the
 * kernel), with SO_REUSEPORT if reuseport.
 */
static int
listener(int port, bool reuseport)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (fd < 0 || (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
	    &on, sizeof(on)) != 0) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 16) != 0) {
		perror("pool-api: listener");
		exit(1);
	}
	return fd;
}

static int
tcp_listener(void)
{
	return listener(0, false);
}

static int
port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	return ntohs(sin.sin_port);
}

struct listed {
	int n, fd;
	char key[64];
};

static int
list_cb(const char *key, int fd, void *arg)
{
	struct listed *l = arg;

	l->n++;
	l->fd = fd;
	snprintf(l->key, sizeof(l->key), "%s", key);
	return 0;
}

/* A pool made with x, checked by fn, then closed and freed. */
static void
with_pool(uv_loop_t *loop, const struct cp_pool_options *x,
    void (*fn)(struct cp_pool *))
{
	struct cp_pool *p = NULL;
	bool closed = false;

	CHECK(NULL, cp_pool_create(loop, x, NULL, &closed, &p) == 0);
	if (p == NULL)
		return;
	fn(p);
	cp_pool_close(p, sub_closed);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(NULL, closed);
	cp_pool_free(p);
}

static void
adopt_plain(struct cp_pool *p)
{
	int fd = tcp_listener();

	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", fd) == UV_EINVAL);
	CHECK(NULL, cp_pool_servers(p, list_cb, &(struct listed){ 0 }) == 0);
	CHECK(NULL, cp_pool_pending(p) == 0);
	CHECK(NULL, fcntl(fd, F_GETFD) >= 0);		/* still ours */
	close(fd);
}

static int adopted_fd = -1;

static void
adopt_rr(struct cp_pool *p)
{
	struct listed l = { 0 };
	int fd = tcp_listener(), other = tcp_listener(), pp[2];

	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", fd) == 0);
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", other) ==
	    UV_EEXIST);
	CHECK(NULL, pipe(pp) == 0);
	CHECK(NULL, cp_pool_adopt_server(p, "pipe", pp[0]) == UV_ENOTSOCK);
	CHECK(NULL, cp_pool_servers(p, list_cb, &l) == 1);
	CHECK(NULL, l.n == 1 && l.fd == fd &&
	    strcmp(l.key, "127.0.0.1:0:4:-1:0") == 0);
	cp_pool_release_servers(p);
	CHECK(NULL, cp_pool_pending(p) == 0);
	close(other);
	close(pp[0]);
	close(pp[1]);
	adopted_fd = fd;
}

/*
 * Under none the socket itself goes to the workers, sent unchecked: it is
 * made non-blocking when adopted (a blocking one hangs Node 18 workers).
 */
static void
adopt_none(struct cp_pool *p)
{
	int fd = tcp_listener();

	CHECK(NULL, !(fcntl(fd, F_GETFL) & O_NONBLOCK));
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", fd) == 0);
	CHECK(NULL, fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/*
 * Under reuseport a TCP socket joins its server's SO_REUSEPORT group:
 * one without it is refused, another of the group is taken under the
 * same key (USR2 hands every slot's), one on another address is not, and
 * each is listed.
 */
static void
adopt_reuseport(struct cp_pool *p)
{
	int fd = tcp_listener(), a = listener(0, true);
	int b = listener(port_of(a), true), c = listener(0, true);
	struct listed l = { 0 };

	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", fd) == UV_ENOTSUP);
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", a) == 0);
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", fd) == UV_EINVAL);
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", c) == UV_EINVAL);
	CHECK(NULL, cp_pool_adopt_server(p, "127.0.0.1:0:4:-1:0", b) == 0);
	CHECK(NULL, fcntl(b, F_GETFL) & O_NONBLOCK);
	CHECK(NULL, cp_pool_servers(p, list_cb, &l) == 2);
	CHECK(NULL, l.n == 2 && strcmp(l.key, "127.0.0.1:0:4:-1:0") == 0);
	close(fd);
	close(c);
}

static void
check_adopt(uv_loop_t *loop, const struct cp_pool_options *o)
{
	struct cp_pool_options x = *o;

	with_pool(loop, &x, adopt_plain);
	x.flags |= CP_POOL_CLUSTER;
	x.sched = CP_SCHED_RR;
	with_pool(loop, &x, adopt_rr);
	/* Taken: the pool closed it with its server. */
	CHECK(NULL, adopted_fd >= 0 && fcntl(adopted_fd, F_GETFD) < 0);
	x.sched = CP_SCHED_NONE;
	with_pool(loop, &x, adopt_none);
	x.sched = CP_SCHED_REUSEPORT;
	with_pool(loop, &x, adopt_reuseport);
}

int
main(int argc, char **argv)
{
	static const struct cp_pool_events ev = { .on_event = on_event };
	struct cp_pool_options o = CP_POOL_OPTIONS_INIT;
	char *args[] = { "-c", (char *)script, "sh", NULL, NULL };
	char dir[] = "/tmp/cp-pool-api.XXXXXX", file[64];
	struct t t = { 0 };

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL) {
		perror("pool-api: mkdtemp");
		return 1;
	}
	snprintf(file, sizeof(file), "%s/mode", dir);
	t.modefile = file;
	args[3] = file;
	set_mode(&t, "good");
	uv_loop_init(&t.loop);
	o.spawn.file = "/bin/sh";
	o.spawn.args = args;
	o.spawn.stdio = stdio_;
	o.spawn.stdio_count = 4;
	o.workers = N;
	o.restart = CP_RESTART_ON_FAILURE;
	o.ready_settle_ms = 300;
	o.ready_timeout_ms = 5000;
	o.grace_ms = 10000;
	check_notsup(&t.loop, &o);
	check_adopt(&t.loop, &o);
	CHECK(NULL, cp_pool_create(&t.loop, &o, &ev, &t, &t.pool) == 0);
	uv_timer_init(&t.loop, &t.next);
	uv_timer_init(&t.loop, &t.watchdog);
	t.next.data = t.watchdog.data = &t;
	uv_timer_start(&t.watchdog, watchdog_cb, 120000, 0);
	CHECK(NULL, cp_pool_start(t.pool) == 0);
	uv_run(&t.loop, UV_RUN_DEFAULT);
	CHECK(NULL, t.closed);
	CHECK(NULL, t.phase == 3 && t.roll_done == 1);
	CHECK(NULL, t.old_exited_0 == N);
	cp_pool_free(t.pool);
	CHECK(NULL, uv_loop_close(&t.loop) == 0);
	unlink(file);
	rmdir(dir);
	if (failed == 0)
		printf("pool-api: ok\n");
	return failed;
}
