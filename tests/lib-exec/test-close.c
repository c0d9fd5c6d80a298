/*
 * tests/lib-exec/test-close.c - the one lifecycle of every object
 * (childproc(3), "Object model"): cp_X_close(obj, close_cb) is safe from
 * the object's own callbacks and idempotent, close_cb runs exactly once
 * and nothing of the object runs after it, cp_X_free may be called in it,
 * and nothing is left behind: no fd (counted in /proc/self/fd), no zombie.
 *
 * Every callback checks that close_cb has not run yet; close_cb frees the
 * object, so a callback after it is also a use after free under ASan.
 *
 * Usage: test-close NAME runs one case; test-close --list lists them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

static uv_loop_t loop;
static int closes;		/* close_cb calls */
static int events;		/* callbacks of the object, before close_cb */
static int fds_before;

/* Open fds of this process (the directory's own fd not counted). */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ASSERT(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void
begin(void)
{
	fds_before = count_fds();
	ASSERT(uv_loop_init(&loop) == 0);
}

/*
 * Runs the loop out: every close ran once, and nothing is left open but
 * the test's own fds (kept: the ones it opened since begin and still holds).
 */
static void
end(int want_closes, int kept)
{
	ASSERT(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	ASSERT_EQ(closes, want_closes);
	ASSERT(uv_loop_close(&loop) == 0);
	ASSERT_EQ(count_fds(), fds_before + kept);
}

/* An event of the object: close_cb must not have run. */
static void
event(void)
{
	ASSERT_EQ(closes, 0);
	events++;
}

/* A timer that calls fn once, after ms. */
static void
later(uv_timer_t *t, uint64_t ms, void (*fn)(uv_timer_t *))
{
	ASSERT(uv_timer_init(&loop, t) == 0);
	ASSERT(uv_timer_start(t, fn, ms, 0) == 0);
}

static void
close_timer(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
}

/*
 * The close_cbs of each object: counted, then the object freed, so that a
 * callback after close_cb is a use after free; and a second close's
 * close_cb, which must never run.
 */
#define CLOSE_CBS(obj, type, free_fn)					\
static void								\
obj##_closed(struct type *o, void *data)				\
{									\
	ASSERT(data == &loop);						\
	closes++;							\
	free_fn(o);							\
}									\
static void								\
obj##_closed_other(struct type *o, void *data)				\
{									\
	(void)o;							\
	(void)data;							\
	ASSERT(!"only the first close_cb runs");			\
}
CLOSE_CBS(channel, cp_channel, cp_channel_free)
CLOSE_CBS(reader, cp_reader, cp_reader_free)
CLOSE_CBS(child, cp_child, cp_child_free)
CLOSE_CBS(exec, cp_exec, cp_exec_free)

/* ---- cp_channel --------------------------------------------------------- */

/* Closes from on_message, twice: no message after, one close_cb. */
static void
close_on_message(struct cp_channel *ch, const struct cp_message *m,
    void *data)
{
	(void)m;
	(void)data;
	event();
	cp_channel_close(ch, channel_closed);
	cp_channel_close(ch, channel_closed_other);
	ASSERT_EQ(closes, 0);		/* from the loop, not in the call */
}

static void
no_disconnect(struct cp_channel *ch, int err, void *data)
{
	(void)ch;
	(void)err;
	(void)data;
	ASSERT(!"on_disconnect after cp_channel_close");
}

/* A channel on one end of a socketpair; *peer is the other end. */
static struct cp_channel *
channel_pair(const struct cp_channel_events *ev, int *peer)
{
	struct cp_channel *ch;
	int sv[2];

	ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ASSERT(cp_channel_open_fd(&loop, sv[0], ev, &loop, &ch) == 0);
	*peer = sv[1];
	return ch;
}

static void
test_channel_in_callback(void)
{
	static const struct cp_channel_events ev = {
		.on_message = close_on_message,
		.on_disconnect = no_disconnect,
	};
	static const char lines[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
	int peer;

	begin();
	channel_pair(&ev, &peer);
	ASSERT(write(peer, lines, sizeof(lines) - 1) ==
	    (ssize_t)sizeof(lines) - 1);
	end(1, 1);
	ASSERT_EQ(events, 1);
	close(peer);
}

static int cancelled;

static void
send_done(struct cp_channel *ch, int status, void *arg)
{
	(void)ch;
	(void)arg;
	ASSERT_EQ(closes, 0);
	ASSERT_EQ(status, UV_ECANCELED);
	cancelled++;
}

/* Sends still queued get UV_ECANCELED, before close_cb. */
static void
test_channel_cancels(void)
{
	static const struct cp_channel_events ev = {
		.on_disconnect = no_disconnect,
	};
	struct cp_channel *ch;
	json_t *big;
	char *s;
	int peer, i, sent = 0;

	begin();
	ch = channel_pair(&ev, &peer);
	/* The peer reads nothing: most of this stays queued. */
	s = calloc(1, 1 << 20);
	ASSERT(s != NULL);
	memset(s, 'x', (1 << 20) - 1);
	big = json_string(s);
	free(s);
	for (i = 0; i < 8; i++) {
		ASSERT(cp_channel_send(ch, big, send_done, NULL) >= 0);
		sent++;
	}
	json_decref(big);
	cp_channel_close(ch, channel_closed);
	end(1, 1);
	/* What reached the kernel before the close is not cancelled... */
	ASSERT(cancelled >= 1 && cancelled <= sent);
	close(peer);
}

static struct cp_channel *late_ch;

static void
close_late(uv_timer_t *t)
{
	cp_channel_close(late_ch, channel_closed);
	cp_channel_close(late_ch, channel_closed_other);
	ASSERT_EQ(closes, 0);
	close_timer(t);
}

static uv_timer_t timer;

static void
disconnected_close_later(struct cp_channel *ch, int err, void *data)
{
	(void)data;
	ASSERT_EQ(err, 0);
	event();
	late_ch = ch;
	later(&timer, 1, close_late);
}

static void
disconnected_close_now(struct cp_channel *ch, int err, void *data)
{
	(void)data;
	ASSERT_EQ(err, 0);
	event();
	cp_channel_close(ch, channel_closed);
	ASSERT_EQ(closes, 0);
}

/*
 * The peer went (on_disconnect ran): the channel is still closed and freed
 * by the rule, from on_disconnect or later.
 */
static void
test_channel_after_peer(void)
{
	static const struct cp_channel_events now = {
		.on_disconnect = disconnected_close_now,
	};
	static const struct cp_channel_events after = {
		.on_disconnect = disconnected_close_later,
	};
	int peer;

	begin();
	channel_pair(&now, &peer);
	close(peer);
	end(1, 0);
	ASSERT_EQ(events, 1);

	closes = events = 0;
	begin();
	channel_pair(&after, &peer);
	close(peer);
	end(1, 0);
	ASSERT_EQ(events, 1);
}

/* ---- cp_reader ---------------------------------------------------------- */

static void
close_on_line(struct cp_reader *r, int err, char *line, size_t len,
    void *data)
{
	(void)line;
	(void)len;
	(void)data;
	ASSERT_EQ(err, 0);
	event();
	cp_reader_close(r, reader_closed);
	cp_reader_close(r, reader_closed_other);
	ASSERT_EQ(closes, 0);
}

/* Closed from its line callback, on a pipe and on a file. */
static void
test_reader_in_callback(void)
{
	static const char lines[] = "one\ntwo\nthree\n";
	char path[] = "/tmp/test-close.XXXXXX";
	struct cp_reader *r;
	int p[2], fd;

	begin();
	ASSERT(pipe2(p, O_CLOEXEC) == 0);
	ASSERT(write(p[1], lines, sizeof(lines) - 1) ==
	    (ssize_t)sizeof(lines) - 1);
	ASSERT(cp_reader_open(&loop, p[0], 0, close_on_line, &loop, &r) == 0);
	end(1, 2);
	ASSERT_EQ(events, 1);
	close(p[0]);
	close(p[1]);

	closes = events = 0;
	ASSERT((fd = mkstemp(path)) >= 0);
	unlink(path);
	ASSERT(write(fd, lines, sizeof(lines) - 1) ==
	    (ssize_t)sizeof(lines) - 1);
	ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	begin();
	ASSERT(cp_reader_open(&loop, fd, 0, close_on_line, &loop, &r) == 0);
	end(1, 0);
	ASSERT_EQ(events, 1);
	close(fd);
}

static void
no_line(struct cp_reader *r, int err, char *line, size_t len, void *data)
{
	(void)r;
	(void)err;
	(void)line;
	(void)len;
	(void)data;
	ASSERT(!"no line after cp_reader_close");
}

/* Closed before any line was read (twice): no callback but close_cb. */
static void
test_reader_twice(void)
{
	struct cp_reader *r;
	int p[2];

	begin();
	ASSERT(pipe2(p, O_CLOEXEC) == 0);
	ASSERT(write(p[1], "x\n", 2) == 2);
	ASSERT(cp_reader_open(&loop, p[0], 0, no_line, &loop, &r) == 0);
	cp_reader_close(r, reader_closed);
	cp_reader_close(r, reader_closed_other);
	ASSERT_EQ(closes, 0);
	end(1, 2);
	close(p[0]);
	close(p[1]);
}


/* ---- cp_child ------------------------------------------------------------ */

/* pid was ours and is reaped: not a zombie, not running, not waitable. */
static void
assert_reaped(int pid)
{
	ASSERT(pid > 0);
	ASSERT(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);
	ASSERT(kill(pid, 0) == -1 && errno == ESRCH);
	ASSERT(!cp_child_pid_owned(pid));
}

static void
close_child(struct cp_child *c)
{
	cp_child_close(c, child_closed);
	cp_child_close(c, child_closed_other);
	ASSERT_EQ(closes, 0);		/* from the loop, not in the call */
}

static int data_events, exit_events, close_events;

static void
count_data(struct cp_child *c, int fd, const char *buf, size_t len,
    void *data)
{
	(void)c;
	(void)fd;
	(void)buf;
	(void)len;
	(void)data;
	event();
	data_events++;
}

static void
close_on_data(struct cp_child *c, int fd, const char *buf, size_t len,
    void *data)
{
	count_data(c, fd, buf, len, data);
	close_child(c);
}

static void
count_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	(void)c;
	(void)status;
	(void)sig;
	(void)data;
	event();
	exit_events++;
}

static void
close_on_exit(struct cp_child *c, int64_t status, int sig, void *data)
{
	count_exit(c, status, sig, data);
	close_child(c);
}

static void
count_close(struct cp_child *c, void *data)
{
	(void)c;
	(void)data;
	event();
	close_events++;
}

static void
close_on_close(struct cp_child *c, void *data)
{
	count_close(c, data);
	close_child(c);
}

static struct cp_child *
spawn_sh(const char *script, const struct cp_child_events *ev,
    const struct cp_stdio *stdio, int nstdio, unsigned int flags)
{
	char *args[] = { (char *)"-c", (char *)script, NULL };
	struct cp_spawn_options o = CP_SPAWN_OPTIONS_INIT;
	struct cp_child *c;

	o.file = "sh";
	o.args = args;
	o.stdio = stdio;
	o.stdio_count = nstdio;
	o.flags = flags;
	ASSERT(cp_child_spawn(&loop, &o, ev, &loop, &c) == 0);
	return c;
}

/*
 * Closed while it runs (and ignores SIGTERM): killed and reaped before
 * close_cb; no event after the close, no fd left, no zombie.
 */
static void
test_child_running(void)
{
	static const struct cp_child_events ev = {
		.on_data = count_data,
		.on_exit = count_exit,
		.on_close = count_close,
	};
	struct cp_child *c;
	int pid;

	begin();
	c = spawn_sh("trap '' TERM; while :; do sleep 1; done", &ev, NULL, 0,
	    0);
	pid = cp_child_pid(c);
	close_child(c);
	end(1, 0);
	ASSERT_EQ(events, 0);
	assert_reaped(pid);
}

/* Closed from on_data while it writes on: no on_data after it. */
static void
test_child_in_callback(void)
{
	static const struct cp_child_events ev = {
		.on_data = close_on_data,
		.on_exit = count_exit,
		.on_close = count_close,
	};
	struct cp_child *c;
	int pid;

	begin();
	c = spawn_sh("while :; do echo x; done", &ev, NULL, 0, 0);
	pid = cp_child_pid(c);
	end(1, 0);
	ASSERT_EQ(data_events, 1);
	ASSERT_EQ(exit_events + close_events, 0);
	assert_reaped(pid);
}

/*
 * The Node events of a child that ends by itself: exit, then close; a
 * close from on_exit drops the on_close event, one from on_close is the
 * usual end.
 */
static void
test_child_events(void)
{
	static const struct cp_child_events in_exit = {
		.on_exit = close_on_exit,
		.on_close = count_close,
	};
	static const struct cp_child_events in_close = {
		.on_exit = count_exit,
		.on_close = close_on_close,
	};
	int pid;

	begin();
	pid = cp_child_pid(spawn_sh("exit 3", &in_exit, NULL, 0, 0));
	end(1, 0);
	ASSERT_EQ(exit_events, 1);
	ASSERT_EQ(close_events, 0);
	assert_reaped(pid);

	closes = events = exit_events = 0;
	begin();
	pid = cp_child_pid(spawn_sh("echo out; echo err >&2", &in_close, NULL,
	    0, 0));
	end(1, 0);
	ASSERT_EQ(exit_events, 1);
	ASSERT_EQ(close_events, 1);
	assert_reaped(pid);
}

static int child_channel_closes;

static void
child_channel_closed(struct cp_channel *ch, void *data)
{
	ASSERT(data == &loop);
	ASSERT_EQ(closes, 0);		/* before the child's close_cb */
	child_channel_closes++;
	cp_channel_free(ch);
}

static void
no_write(struct cp_child *c, int fd, int status, void *arg)
{
	(void)c;
	(void)fd;
	(void)arg;
	ASSERT_EQ(closes, 0);
	ASSERT(status == UV_ECANCELED || status == 0);
	cancelled++;
}

/*
 * A child with a channel and a stdin pipe, in its own process group with
 * a grandchild: its channel closed first (freed in its close_cb), then
 * the child, with sends and writes queued: every callback before
 * close_cb, the child and the grandchild killed, nothing left.
 */
static void
test_child_channel(void)
{
	static const struct cp_child_events ev = {
		.on_data = count_data,
		.on_exit = count_exit,
		.on_close = count_close,
	};
	static const struct cp_stdio stdio[] = {
		{ CP_STDIO_PIPE, -1 }, { CP_STDIO_IGNORE, -1 },
		{ CP_STDIO_INHERIT, -1 }, { CP_STDIO_IPC, -1 },
	};
	struct cp_child *c;
	struct cp_channel *ch;
	int pid, i;

	begin();
	c = spawn_sh("sleep 1000 & wait", &ev, stdio, 4, CP_SPAWN_KILL_TREE);
	pid = cp_child_pid(c);
	ch = cp_child_channel(c);
	ASSERT(ch != NULL);
	for (i = 0; i < 4; i++) {
		ASSERT(cp_channel_send(ch, json_true(), send_done, NULL) >= 0);
		ASSERT(cp_child_write(c, 0, "x", 1, no_write, NULL) >= 0);
	}
	cp_channel_close(ch, child_channel_closed);
	close_child(c);
	end(1, 0);
	ASSERT_EQ(child_channel_closes, 1);
	ASSERT_EQ(cancelled, 8);
	ASSERT_EQ(events, 0);
	assert_reaped(pid);
	/* The group is gone too: sleep was killed with it. */
	for (i = 0; i < 1000 && kill(-pid, 0) == 0; i++)
		usleep(10000);
	ASSERT(kill(-pid, 0) == -1 && errno == ESRCH);
}

/* ---- cp_exec ------------------------------------------------------------- */

static int results;
static struct cp_result got;

static void
close_exec(struct cp_exec *x)
{
	cp_exec_close(x, exec_closed);
	cp_exec_close(x, exec_closed_other);
	ASSERT_EQ(closes, 0);
}

/* Keeps what the result says (not its buffers, which are x's). */
static void
keep_result(struct cp_exec *x, struct cp_result *r, void *data)
{
	(void)x;
	ASSERT(data == &loop);
	event();
	results++;
	got = *r;
	got.output = NULL;
	got.output_count = 0;
	got.file = got.cmd = NULL;
	got.spawnargs = NULL;
}

static void
close_in_result(struct cp_exec *x, struct cp_result *r, void *data)
{
	keep_result(x, r, data);
	close_exec(x);
}

static void
close_late_exec(uv_timer_t *t)
{
	close_exec(t->data);
	close_timer(t);
}

static void
close_after_result(struct cp_exec *x, struct cp_result *r, void *data)
{
	keep_result(x, r, data);
	timer.data = x;
	later(&timer, 1, close_late_exec);
}

static int
close_on_output(struct cp_exec *x, int fd, const char *buf, size_t len,
    void *data)
{
	(void)fd;
	(void)buf;
	(void)len;
	(void)data;
	ASSERT_EQ(results, 0);
	close_exec(x);
	return 0;
}

static struct cp_exec *
exec_sh(const char *script, cp_exec_cb cb,
    int (*on_output)(struct cp_exec *, int, const char *, size_t, void *),
    bool capture)
{
	char *args[] = { (char *)"-c", (char *)script, NULL };
	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
	struct cp_exec *x;

	o.spawn.file = "sh";
	o.spawn.args = args;
	o.on_output = on_output;
	if (capture)
		ASSERT(cp_spawn_capture(&loop, &o, cb, &loop, &x) == 0);
	else
		ASSERT(cp_exec_file(&loop, &o, cb, &loop, &x) == 0);
	return x;
}

/*
 * Closed while the child runs (it ignores SIGTERM), from on_output and
 * from outside: the result comes once, cancelled, then close_cb; the child
 * is killed and reaped, nothing is left.
 */
static void
test_exec_running(void)
{
	static const char script[] =
	    "trap '' TERM; echo hi; while :; do sleep 1; done";
	char *msg;
	json_t *j;
	struct cp_exec *x;
	int mode;

	for (mode = 0; mode < 3; mode++) {
		closes = events = results = 0;
		begin();
		if (mode == 0) {
			exec_sh(script, keep_result, close_on_output, false);
		} else {
			x = exec_sh(script, keep_result, NULL, mode == 2);
			close_exec(x);
		}
		end(1, 0);
		ASSERT_EQ(results, 1);
		ASSERT_EQ(got.error, UV_ECANCELED);
		ASSERT(got.killed);
		ASSERT_EQ(got.signal, SIGKILL);
		ASSERT_EQ(got.status, -1);
		assert_reaped(got.pid);
	}
	/* Node's AbortError. */
	got.sync = false;
	got.file = got.cmd = (char *)"sh";
	ASSERT(cp_result_message(&got, &msg) == 0);
	ASSERT_STR_EQ(msg, "The operation was aborted");
	free(msg);
	j = cp_exec_result_json(&got);
	ASSERT(j != NULL);
	ASSERT(value_is(json_object_get(j, "error"),
	    "{\"message\":\"The operation was aborted\",\"code\":\"ABORT_ERR\","
	    "\"cmd\":\"sh\"}"));
	json_decref(j);
}

/* Closed in the result callback, or after it: close_cb last, once. */
static void
test_exec_after_result(void)
{
	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
	struct cp_exec *x;

	begin();
	exec_sh("exit 0", close_in_result, NULL, false);
	end(1, 0);
	ASSERT_EQ(got.error, 0);
	assert_reaped(got.pid);

	closes = events = results = 0;
	begin();
	exec_sh("exit 2", close_after_result, NULL, false);
	end(1, 0);
	ASSERT_EQ(got.error, CP_EXEC_FAILED);
	assert_reaped(got.pid);

	/* A spawn error reported later keeps its code. */
	closes = events = results = 0;
	begin();
	o.spawn.file = "no-such-command-xyz";
	ASSERT(cp_exec_file(&loop, &o, keep_result, &loop, &x) == 0);
	close_exec(x);
	end(1, 0);
	ASSERT_EQ(got.error, UV_ENOENT);
	ASSERT_EQ(got.pid, 0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	CASE("close-channel-in-callback", test_channel_in_callback)
	CASE("close-channel-cancels", test_channel_cancels)
	CASE("close-channel-after-peer", test_channel_after_peer)
	CASE("close-reader-in-callback", test_reader_in_callback)
	CASE("close-reader-twice", test_reader_twice)
	CASE("close-child-running", test_child_running)
	CASE("close-child-in-callback", test_child_in_callback)
	CASE("close-child-events", test_child_events)
	CASE("close-child-channel", test_child_channel)
	CASE("close-exec-running", test_exec_running)
	CASE("close-exec-after-result", test_exec_after_result)
};

int
main(int argc, char *argv[])
{
	const __typeof__(tests[0]) *t;

	if ((t = CASE_FIND(tests, argc < 2 ? NULL : argv[1])) == NULL)
		return 1;
	/* libuv's first loop opens fds of its own for good (signals). */
	ASSERT(uv_loop_init(&loop) == 0);
	ASSERT(uv_loop_close(&loop) == 0);
	t->fn();
	return 0;
}
