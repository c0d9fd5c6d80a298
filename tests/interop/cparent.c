/*
 * cparent.c - a C parent (libchildproc) against a real node child.
 *
 *	cparent NODE CHILD_JS SCENARIO
 *
 * Runs "NODE CHILD_JS CASE" with an IPC channel and plays one scripted
 * exchange of the protocol childproc-ipc(7) describes (the Node half is the
 * CASE of child.js).  Every scenario also checks the event order the library
 * promises: messages, then disconnect, then exit, then close.  Exits 0 if
 * every check passed, 1 otherwise (with the failed checks on stderr).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"
#include "nodechild.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[64];

#define MIB (1024 * 1024)
#define MANY 100000
#define BIG (64 * MIB)

struct t;

struct scenario {
	const char *name;
	const char *js_case;		/* child.js CASE (and one argument) */
	const char *js_arg;
	int ipc_fd;			/* 0: 3 */
	bool capture_stdout;
	bool stale_env;			/* our environ holds bad channel variables */
	const char *order;		/* expected events; NULL: "mdxc" */
	void (*start)(struct t *);
	void (*message)(struct t *, const struct cp_message *);
	void (*error)(struct t *, int, const char *, size_t);
	void (*disconnect)(struct t *, struct cp_channel *, int);
	void (*end)(struct t *);
};

struct t {
	uv_loop_t loop;
	const struct scenario *sc;
	struct cp_child *child;
	struct cp_channel *ch;		/* NULL once disconnected */
	uv_timer_t timer;
	char order[16];			/* m message, e error, d disconnect, x exit, c close */
	size_t norder;
	int failed;
	long nmsg;			/* messages received */
	int nerr;			/* on_error calls */
	long step;			/* scenario progress */
	bool we_disconnected;
	bool exited;
	int64_t exit_status;
	int term_signal;
	int disc_err;
	char *out;			/* the child's stdout, if captured */
	size_t outlen;
	int ret[8];			/* send() results */
	int cb[8];			/* send callback statuses, in order */
	int ncb;
	json_t *sent;			/* values whose echo is expected */
};

static void
check_failed(struct t *t, int line, const char *what)
{
	node_check_failed("cparent", t->sc->name, &t->failed, t->child,
	    t->exited, line, what);
}

static void
log_event(struct t *t, char e)
{
	/* Runs of messages count once: the order is what matters. */
	if (e == 'm' && t->norder > 0 && t->order[t->norder - 1] == 'm') {
		return;
	}
	if (t->norder < sizeof(t->order) - 1) {
		t->order[t->norder++] = e;
	}
}

static bool
line_is(const struct cp_message *m, const char *s)
{
	return m->len == strlen(s) && memcmp(m->line, s, m->len) == 0;
}

static int
send_text(struct t *t, const char *text)
{
	return cp_channel_send_line(t->ch, text, strlen(text), NULL, NULL, NULL);
}

static void
send_cb(struct cp_channel *ch, int status, void *arg)
{
	struct t *t = cp_channel_data(ch);

	(void)arg;
	if (t->ncb < 8) {
		t->cb[t->ncb] = status;
	}
	t->ncb++;
}

static void
hang_up(struct t *t)
{
	CHECK(t, cp_channel_disconnect(t->ch) == 0);
	t->we_disconnected = true;
	/* No send is accepted once disconnecting. */
	CHECK(t, !cp_channel_connected(t->ch));
	CHECK(t, send_text(t, "1") == UV_EPIPE);
	CHECK(t, cp_channel_disconnect(t->ch) == UV_ENOTCONN);
}

/* The echo child says hello first; check what it saw of its start-up. */
static void
check_hello(struct t *t, const struct cp_message *m, int fd)
{
	json_t *h = json_object_get(m->value, "hello");

	CHECK(t, h != NULL);
	/* Node deletes both variables: the child's children cannot see them. */
	CHECK(t, json_is_null(json_object_get(h, "env_fd")));
	CHECK(t, json_is_null(json_object_get(h, "env_mode")));
	CHECK(t, json_integer_value(json_object_get(h, "channel_fd")) == fd);
}

/* ---- parent-basic, fd-number -------------------------------------------- */

static void
basic_start(struct t *t)
{
	json_t *v = json_pack("{s:s}", "hello", "world");

	CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
	json_decref(v);
}

static void
basic_message(struct t *t, const struct cp_message *m)
{
	if (t->nmsg == 1) {
		check_hello(t, m, t->sc->ipc_fd ? t->sc->ipc_fd : 3);
		return;
	}
	CHECK(t, line_is(m, "{\"got\":{\"hello\":\"world\"}}"));
	hang_up(t);
}

/* ---- chunking-in: one write of 100 lines, then a line byte by byte ------ */

static const char slow_line[] = "{\"emoji\":\"\xf0\x9f\x98\x80\"}\n";

static void
write_raw(struct t *t, const char *p, size_t len)
{
	ssize_t n;

	/* Raw writes are only safe while the library has nothing queued. */
	CHECK(t, cp_channel_queue_size(t->ch) == 0);
	do {
		n = write(cp_channel_fd(t->ch), p, len);
	} while (n < 0 && errno == EINTR);
	CHECK(t, n == (ssize_t)len);
}

static void
byte_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	write_raw(t, slow_line + t->step, 1);
	if (++t->step == (long)sizeof(slow_line) - 1) {
		uv_timer_stop(h);
	}
}

static void
chunkin_message(struct t *t, const struct cp_message *m)
{
	char buf[4096], want[64];
	size_t len = 0;
	int i;

	if (t->nmsg == 1) {
		check_hello(t, m, 3);
		for (i = 0; i < 100; i++) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "{\"i\":%d}\n", i);
		}
		write_raw(t, buf, len);
		/* 1 ms between bytes: the emoji's 4 bytes arrive apart. */
		uv_timer_start(&t->timer, byte_cb, 1, 1);
		return;
	}
	if (t->nmsg <= 101) {
		snprintf(want, sizeof(want), "{\"got\":{\"i\":%ld}}", t->nmsg - 2);
		CHECK(t, line_is(m, want));
		return;
	}
	CHECK(t, line_is(m, "{\"got\":{\"emoji\":\"\xf0\x9f\x98\x80\"}}"));
	hang_up(t);
}

static void
chunkin_end(struct t *t)
{
	CHECK(t, t->nmsg == 102);
}

/* ---- chunking-out: the C reader reassembles what Node writes ------------ */

static void
chunkout_message(struct t *t, const struct cp_message *m)
{
	char want[64];
	long k = t->nmsg - 1;

	if (k < 100) {
		snprintf(want, sizeof(want), "{\"i\":%ld}", k);
		CHECK(t, line_is(m, want));
	} else if (k == 100) {
		CHECK(t, line_is(m, "{\"emoji\":\"\xf0\x9f\x98\x80\xe2\x80\xa8\xc3\xa9\"}"));
	} else if (k == 101) {
		CHECK(t, json_is_string(m->value) &&
		    json_string_length(m->value) == MIB &&
		    strspn(json_string_value(m->value), "z") == MIB);
	} else if (k < 101 + 10001) {
		snprintf(want, sizeof(want), "{\"n\":%ld}", k - 102);
		CHECK(t, line_is(m, want));
	} else {
		CHECK(t, line_is(m, "\"done\""));
		hang_up(t);
	}
}

static void
chunkout_end(struct t *t)
{
	CHECK(t, t->nmsg == 100 + 1 + 1 + 10000 + 1);
}

/* ---- unicode, encoder safety -------------------------------------------- */

/* What we send as text, and what Node's JSON.stringify echoes. */
static const char *const unicode_lines[][2] = {
	/* Raw U+2028/U+2029 stay raw (JSON.stringify does not escape them). */
	{ "\"\xe2\x80\xa8\xe2\x80\xa9\"", "\"\xe2\x80\xa8\xe2\x80\xa9\"" },
	{ "\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"" },
	/* Escaped forms come back raw, as Node writes them. */
	{ "\"\\u2028\"", "\"\xe2\x80\xa8\"" },
	{ "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"" },
	/* A lone surrogate stays escaped both ways. */
	{ "\"\\ud800\"", "\"\\ud800\"" },
	{ "[\"a\\udc00b\"]", "[\"a\\udc00b\"]" },
};
#define N_UNICODE (sizeof(unicode_lines) / sizeof(unicode_lines[0]))

/* JSON.stringify of s: the bytes Node writes for a string. */
static size_t
node_stringify(const char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	out[o++] = '"';
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
		    c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\b' ? 'b' : c == '\f' ? 'f' :
			    c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20) {
			memcpy(out + o, "\\u00", 4);
			o += 4;
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	return o;
}

static void
unicode_message(struct t *t, const struct cp_message *m)
{
	char want[512], s[128];
	size_t i, len = 0, n;
	json_t *v;

	if (t->nmsg == 1) {
		check_hello(t, m, 3);
		for (i = 0; i < N_UNICODE; i++) {
			CHECK(t, send_text(t, unicode_lines[i][0]) == 0);
		}
		/* Every control character, DEL, quotes, U+2028, an emoji and NUL. */
		for (i = 0; i < 0x20; i++) {
			s[len++] = (char)i;
		}
		memcpy(s + len, "\x7f\"\\/\xe2\x80\xa8\xf0\x9f\x98\x80", 11);
		len += 11;
		v = json_stringn(s, len);
		CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
		json_decref(v);
		/*
		 * The same characters as an object key, but NUL: jansson's
		 * parser refuses "\u0000" in keys, so the reply would not decode.
		 */
		v = json_object();
		json_object_setn_new(v, s + 1, len - 1, json_integer(1));
		CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
		json_decref(v);
		return;
	}
	i = (size_t)t->nmsg - 2;
	if (i < N_UNICODE) {
		snprintf(want, sizeof(want), "{\"got\":%s}", unicode_lines[i][1]);
		CHECK(t, line_is(m, want));
		if (i == 4) {
			/* A lone surrogate is kept, in WTF-8 (childproc(3)). */
			v = json_object_get(m->value, "got");
			CHECK(t, json_string_length(v) == 3 &&
			    memcmp(json_string_value(v), "\xed\xa0\x80", 3) == 0);
		}
		return;
	}
	for (i = 0; i < 0x20; i++) {
		s[i] = (char)i;
	}
	memcpy(s + 0x20, "\x7f\"\\/\xe2\x80\xa8\xf0\x9f\x98\x80", 11);
	len = 0x20 + 11;
	if ((size_t)t->nmsg == N_UNICODE + 2) {
		memcpy(want, "{\"got\":", 7);
		n = 7 + node_stringify(s, len, want + 7);
		want[n++] = '}';
		want[n] = '\0';
		CHECK(t, line_is(m, want));
		v = json_object_get(m->value, "got");
		CHECK(t, json_string_length(v) == len &&
		    memcmp(json_string_value(v), s, len) == 0);
		return;
	}
	memcpy(want, "{\"got\":{", 8);
	n = 8 + node_stringify(s + 1, len - 1, want + 8);
	memcpy(want + n, ":1}}", 5);
	CHECK(t, line_is(m, want));
	hang_up(t);
}

static void
unicode_end(struct t *t)
{
	CHECK(t, t->nmsg == (long)N_UNICODE + 3);
}

/* ---- top-level values --------------------------------------------------- */

static const char *const values_out[] = {
	"null", "\"s\"", "42", "true", "[1]",
};
static const char *const values_back[] = {
	"{\"type\":\"object\",\"got\":null}",
	"{\"type\":\"string\",\"got\":\"s\"}",
	"{\"type\":\"number\",\"got\":42}",
	"{\"type\":\"boolean\",\"got\":true}",
	"{\"type\":\"object\",\"got\":[1]}",
	"{\"type\":\"number\",\"got\":1e+21}",
	"{\"type\":\"number\",\"got\":-1.5}",
};

static void
values_message(struct t *t, const struct cp_message *m)
{
	json_t *v;
	int i;

	if (t->nmsg <= 5) {
		/* Node's send(null) and friends are lines of their own. */
		CHECK(t, line_is(m, values_out[t->nmsg - 1]));
		if (t->nmsg < 5) {
			return;
		}
		for (i = 0; i < 5; i++) {
			CHECK(t, send_text(t, values_out[i]) == 0);
		}
		v = json_real(1e21);
		CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
		json_decref(v);
		v = json_real(-1.5);
		CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) == 0);
		json_decref(v);
		return;
	}
	CHECK(t, line_is(m, values_back[t->nmsg - 6]));
	if (t->nmsg == 12) {
		hang_up(t);
	}
}

static void
values_end(struct t *t)
{
	CHECK(t, t->nmsg == 12);
}

/* ---- tolerance: Node writes "undefined\n" ------------------------------- */

static void
undefined_error(struct t *t, int err, const char *line, size_t len)
{
	CHECK(t, err == UV_EPROTO);
	CHECK(t, len == 9 && memcmp(line, "undefined", 9) == 0);
	CHECK(t, t->nmsg == 0);
}

static void
undefined_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, t->nerr == 1);
	CHECK(t, line_is(m, "{\"ok\":1}"));
	hang_up(t);
}

static void
undefined_end(struct t *t)
{
	CHECK(t, t->nerr == 1 && t->nmsg == 1);
}

/* ---- keep-alive --------------------------------------------------------- */

static void
late_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	CHECK(t, !t->exited);
	CHECK(t, send_text(t, "{\"late\":1}") == 0);
}

static void
alive_listener_start(struct t *t)
{
	uv_timer_start(&t->timer, late_cb, 500, 0);
}

static void
alive_listener_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, line_is(m, "{\"got\":{\"late\":1}}"));
	hang_up(t);
}

static void
alive_alone_end(struct t *t)
{
	/* It left on its own while we kept the channel open. */
	CHECK(t, !t->we_disconnected);
	CHECK(t, t->nmsg == 0);
}

/* ---- pending queue ------------------------------------------------------ */

static void
pending_start(struct t *t)
{
	CHECK(t, send_text(t, "{\"a\":1}") == 0);
	CHECK(t, send_text(t, "{\"b\":2}") == 0);
}

static void
pending_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, line_is(m, "{\"got\":[{\"a\":1},{\"b\":2}]}"));
	hang_up(t);
}

/* ---- disconnect by C ---------------------------------------------------- */

static void
disc_c_start(struct t *t)
{
	CHECK(t, send_text(t, "{\"n\":1}") == 0);
	CHECK(t, send_text(t, "{\"n\":2}") == 0);
	CHECK(t, send_text(t, "{\"n\":3}") == 0);
	hang_up(t);
}

static void
disc_c_end(struct t *t)
{
	static const char want[] = "[[\"message\",{\"n\":1}],"
	    "[\"message\",{\"n\":2}],[\"message\",{\"n\":3}],"
	    "[\"disconnect\"],[\"exit\",0]]\n";

	CHECK(t, t->outlen == strlen(want) && memcmp(t->out, want, t->outlen) == 0);
}

/* ---- disconnect by Node, send after disconnect -------------------------- */

static void
bye_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, line_is(m, "\"bye\""));
}

static void
bye_end(struct t *t)
{
	CHECK(t, !t->we_disconnected);
	CHECK(t, t->nmsg == 1);
	CHECK(t, t->outlen == 11 && memcmp(t->out, "disconnect\n", 11) == 0);
}

/* Waits until Node has closed its end, before we read the EOF. */
static void
wait_peer_closed(struct t *t)
{
	struct pollfd p = { .fd = cp_channel_fd(t->ch), .events = POLLRDHUP };

	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
		continue;
	}
	CHECK(t, (p.revents & (POLLRDHUP | POLLHUP)) != 0);
}

/*
 * The EOF is not read yet, so this goes to a closed socket: UV_EPIPE now,
 * or later to the callback (a send without one is then lost, as in Node).
 * SIGPIPE, left at its default by this program, must not kill us.
 */
static void
epipe_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, line_is(m, "\"bye\""));
	wait_peer_closed(t);
	CHECK(t, cp_channel_connected(t->ch));
	t->ret[0] = send_text(t, "\"x\"");
	CHECK(t, t->ret[0] == 0 || t->ret[0] == UV_EPIPE);
}

static void
epipe_cb_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, line_is(m, "\"bye\""));
	wait_peer_closed(t);
	t->ret[0] = cp_channel_send_line(t->ch, "3", 1, NULL, send_cb, NULL);
	CHECK(t, t->ret[0] == 0 || t->ret[0] == UV_EPIPE);
}

static void
epipe_disconnect(struct t *t, struct cp_channel *ch, int err)
{
	CHECK(t, cp_channel_send_line(ch, "4", 1, NULL, send_cb, NULL) == UV_EPIPE);
}

static void
epipe_end(struct t *t)
{
	bye_end(t);
	CHECK(t, t->ncb == 0);
}

static void
epipe_cb_end(struct t *t)
{
	bye_end(t);
	if (t->ret[0] == 0) {
		/* Failed on the socket, or cancelled once the EOF was read. */
		CHECK(t, t->ncb == 1);
		CHECK(t, t->cb[0] == UV_EPIPE || t->cb[0] == UV_ECANCELED);
	} else {
		CHECK(t, t->ncb == 0);
	}
}

/* ---- exit right after send ---------------------------------------------- */

static void
exitsend_message(struct t *t, const struct cp_message *m)
{
	json_t *s = json_object_get(m->value, "small");

	/* 10 KiB arrives whole; the cut 1 MiB line is dropped silently. */
	CHECK(t, t->nmsg == 1);
	CHECK(t, json_string_length(s) == 10240 &&
	    strspn(json_string_value(s), "x") == 10240);
}

static void
exitsend_end(struct t *t)
{
	CHECK(t, t->nmsg == 1 && t->nerr == 0);
}

/* ---- backpressure with a slow reader ------------------------------------ */

static void
bp_message(struct t *t, const struct cp_message *m)
{
	char want[64];
	json_t *v;
	char *s;
	int i;

	if (t->nmsg == 1) {
		CHECK(t, line_is(m, "\"ready\""));
		/* Node blocks now: 4 MiB cannot all go into the socket. */
		if ((s = malloc(MIB)) == NULL) {
			abort();
		}
		memset(s, 'q', MIB);
		v = json_stringn_nocheck(s, MIB);
		free(s);
		for (i = 0; i < 4; i++) {
			t->ret[i] = cp_channel_send(t->ch, v, send_cb, NULL);
		}
		json_decref(v);
		/* Node's send() would say false: above the high water mark. */
		CHECK(t, t->ret[0] == 1);
		CHECK(t, t->ret[1] == 1 && t->ret[2] == 1 && t->ret[3] == 1);
		CHECK(t, cp_channel_queue_size(t->ch) > CP_SEND_HIGH_WATER);
		return;
	}
	snprintf(want, sizeof(want), "{\"i\":%ld,\"len\":%d}", t->nmsg - 2, MIB);
	CHECK(t, line_is(m, want));
	if (t->nmsg == 5) {
		CHECK(t, t->ncb == 4);
		hang_up(t);
	}
}

static void
bp_end(struct t *t)
{
	int i;

	CHECK(t, t->nmsg == 5 && t->ncb == 4);
	for (i = 0; i < 4; i++) {
		CHECK(t, t->cb[i] == 0);
	}
}

/* ---- 100 000 messages each way; a 64 MiB message each way --------------- */

static void
many_message(struct t *t, const struct cp_message *m)
{
	json_t *v;
	long i;

	if (t->nmsg == 1) {
		check_hello(t, m, 3);
		for (i = 0; i < MANY; i++) {
			v = json_pack("{s:I}", "n", (json_int_t)i);
			CHECK(t, cp_channel_send(t->ch, v, NULL, NULL) >= 0);
			json_decref(v);
		}
		return;
	}
	v = json_object_get(json_object_get(m->value, "got"), "n");
	if (json_integer_value(v) != t->nmsg - 2) {
		CHECK(t, json_integer_value(v) == t->nmsg - 2);
		hang_up(t);
		return;
	}
	if (t->nmsg == MANY + 1) {
		hang_up(t);
	}
}

static void
many_end(struct t *t)
{
	CHECK(t, t->nmsg == MANY + 1);
}

static void
big_message(struct t *t, const struct cp_message *m)
{
	char *s;
	size_t i;

	if (t->nmsg == 1) {
		check_hello(t, m, 3);
		if ((s = malloc(BIG)) == NULL) {
			abort();
		}
		for (i = 0; i < BIG; i++) {
			s[i] = (char)('a' + i % 26);
		}
		t->sent = json_stringn_nocheck(s, BIG);
		free(s);
		CHECK(t, cp_channel_send(t->ch, t->sent, NULL, NULL) == 1);
		return;
	}
	CHECK(t, m->len == BIG + 10);
	CHECK(t, json_equal(json_object_get(m->value, "got"), t->sent));
	hang_up(t);
}

static void
big_end(struct t *t)
{
	CHECK(t, t->nmsg == 2);
}

/* ---- the scenarios ------------------------------------------------------ */

static const struct scenario scenarios[] = {
	CASE("basic", "echo", .start = basic_start, .message = basic_message)
	CASE("fd-number", "echo", .ipc_fd = 7, .start = basic_start,
	    .message = basic_message)
	CASE("stale-env", "echo", .stale_env = true, .start = basic_start,
	    .message = basic_message)
	CASE("chunking-in", "echo", .message = chunkin_message, .end = chunkin_end)
	CASE("chunking-out", "rawout", .message = chunkout_message,
	    .end = chunkout_end)
	CASE("unicode", "echo", .message = unicode_message, .end = unicode_end)
	CASE("values", "values", .message = values_message, .end = values_end)
	CASE("undefined", "undefined", .order = "emdxc",
	    .message = undefined_message,
	    .error = undefined_error, .end = undefined_end)
	CASE("alive-none", "alive", "none", .order = "dxc", .end = alive_alone_end)
	CASE("alive-listener", "alive", "listener", .start = alive_listener_start,
	    .message = alive_listener_message)
	CASE("alive-unref", "alive", "unref", .order = "dxc", .end = alive_alone_end)
	CASE("pending", "pending", .start = pending_start, .message = pending_message)
	CASE("disconnect-by-c", "events", .capture_stdout = true, .order = "dxc",
	    .start = disc_c_start, .end = disc_c_end)
	CASE("disconnect-by-node", "bye", .capture_stdout = true,
	    .message = bye_message, .end = bye_end)
	CASE("send-after-disconnect", "bye", .capture_stdout = true,
	    .message = epipe_message, .disconnect = epipe_disconnect,
	    .end = epipe_end)
	CASE("send-after-disconnect-cb", "bye", .capture_stdout = true,
	    .message = epipe_cb_message, .disconnect = epipe_disconnect,
	    .end = epipe_cb_end)
	CASE("exit-after-send", "exitsend", .message = exitsend_message,
	    .end = exitsend_end)
	CASE("backpressure", "slow", .message = bp_message, .end = bp_end)
	CASE("many", "echo", .message = many_message, .end = many_end)
	CASE("big", "echo", .message = big_message, .end = big_end)
};

/* ---- the library's callbacks -------------------------------------------- */

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct t *t = data;

	log_event(t, 'm');
	t->nmsg++;
	if (node_uncaught("cparent", t->sc->name, m)) {
		CHECK(t, !"an uncaught exception in the child");
		return;
	}
	if (t->sc->message == NULL) {
		CHECK(t, !"a message was expected");
		return;
	}
	if (t->ch != NULL && !t->failed) {
		t->sc->message(t, m);
	}
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	struct t *t = data;

	log_event(t, 'e');
	t->nerr++;
	if (t->sc->error == NULL) {
		fprintf(stderr, "cparent %s: bad line (%s): %.*s\n", t->sc->name,
		    cp_err_name(err), (int)(len > 100 ? 100 : len), line);
		CHECK(t, !"no bad line was expected");
		return;
	}
	t->sc->error(t, err, line, len);
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct t *t = data;

	log_event(t, 'd');
	t->disc_err = err;
	if (t->sc->disconnect != NULL) {
		t->sc->disconnect(t, ch, err);
	}
	t->ch = NULL;
}

static void
on_data(struct cp_child *c, int fd, const char *buf, size_t len, void *data)
{
	struct t *t = data;

	if (len == 0) {
		return;
	}
	if ((t->out = realloc(t->out, t->outlen + len)) == NULL) {
		abort();
	}
	memcpy(t->out + t->outlen, buf, len);
	t->outlen += len;
}

static void
on_exit_(struct cp_child *c, int64_t exit_status, int term_signal, void *data)
{
	struct t *t = data;

	log_event(t, 'x');
	t->exited = true;
	t->exit_status = exit_status;
	t->term_signal = term_signal;
}

static void
on_close(struct cp_child *c, void *data)
{
	struct t *t = data;

	log_event(t, 'c');
	cp_child_close(c, child_free_cb);
	t->child = NULL;
	uv_close((uv_handle_t *)&t->timer, NULL);
}

static const struct cp_child_events events = {
	.ipc = {
		.on_message = on_message,
		.on_error = on_error,
		.on_disconnect = on_disconnect,
	},
	.on_data = on_data,
	.on_exit = on_exit_,
	.on_close = on_close,
};

int
main(int argc, char *argv[])
{
	struct cp_spawn_options o = { 0 };
	const struct scenario *sc = NULL;
	struct t t = { 0 };
	char *args[4];
	int r;

	if (argc == 2) {
		CASE_FIND(scenarios, argv[1]);	/* --list */
	}
	if (argc != 4) {
		fprintf(stderr, "usage: cparent NODE CHILD_JS SCENARIO\n");
		return 2;
	}
	if ((sc = CASE_FIND(scenarios, argv[3])) == NULL) {
		return 2;
	}
	t.sc = sc;
	args[0] = argv[2];
	args[1] = (char *)sc->js_case;
	args[2] = (char *)sc->js_arg;
	args[3] = NULL;
	node_child_options(&o, stdio_, argv[1], args, CP_STDIO_INHERIT,
	    sc->ipc_fd ? sc->ipc_fd : 3);
	if (sc->capture_stdout) {
		stdio_[1].type = CP_STDIO_PIPE;
	}

	if (uv_loop_init(&t.loop) != 0) {
		return 2;
	}
	if (sc->stale_env) {
		/*
		 * Values a Node child would die of.  The library replaces
		 * them (glibc's getenv would pick the first copy), and it
		 * refuses a serialization Node does not know.
		 */
		setenv("NODE_CHANNEL_FD", "abc", 1);
		setenv("NODE_CHANNEL_SERIALIZATION_MODE", "advanced", 1);
		o.serialization = "xml";
		CHECK(&t, cp_child_spawn(&t.loop, &o, &events, &t, &t.child) ==
		    UV_EINVAL);
		CHECK(&t, t.child == NULL);
		o.serialization = NULL;
	}
	uv_timer_init(&t.loop, &t.timer);
	t.timer.data = &t;
	if ((r = cp_child_spawn(&t.loop, &o, &events, &t, &t.child)) != 0) {
		fprintf(stderr, "cparent: cannot run %s: %s\n", argv[1],
		    cp_strerror(r));
		return 2;
	}
	t.ch = cp_child_channel(t.child);
	if (sc->start != NULL) {
		sc->start(&t);
	}
	uv_run(&t.loop, UV_RUN_DEFAULT);
	CHECK(&t, uv_loop_close(&t.loop) == 0);

	t.order[t.norder] = '\0';
	if (strcmp(t.order, sc->order ? sc->order : "mdxc") != 0) {
		fprintf(stderr, "cparent %s: events %s, expected %s\n", sc->name,
		    t.order, sc->order ? sc->order : "mdxc");
		t.failed++;
	}
	CHECK(&t, t.disc_err == 0);
	CHECK(&t, t.exit_status == 0 && t.term_signal == 0);
	if (sc->end != NULL && t.failed == 0) {
		sc->end(&t);
	}
	free(t.out);
	json_decref(t.sent);
	return node_case_result("cparent", sc->name, t.failed, t.nmsg);
}
