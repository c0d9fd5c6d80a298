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

/* ---- cp_channel --------------------------------------------------------- */

static void
channel_closed(struct cp_channel *ch, void *data)
{
	ASSERT(data == &loop);
	closes++;
	cp_channel_free(ch);
}

static void
channel_closed_other(struct cp_channel *ch, void *data)
{
	(void)ch;
	(void)data;
	ASSERT(!"only the first close_cb runs");
}

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
reader_closed(struct cp_reader *r, void *data)
{
	ASSERT(data == &loop);
	closes++;
	cp_reader_free(r);
}

static void
reader_closed_other(struct cp_reader *r, void *data)
{
	(void)r;
	(void)data;
	ASSERT(!"only the first close_cb runs");
}

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

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	CASE("close-channel-in-callback", test_channel_in_callback)
	CASE("close-channel-cancels", test_channel_cancels)
	CASE("close-channel-after-peer", test_channel_after_peer)
	CASE("close-reader-in-callback", test_reader_in_callback)
	CASE("close-reader-twice", test_reader_twice)
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
