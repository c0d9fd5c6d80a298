/*
 * tests/v8/advparent.c - a C parent forking a real node child with
 * serialization "advanced".
 *
 *	advparent NODE ECHO_JS
 *
 * Sends values in the JSON form (BigInt, Map, Set, Date, Buffer, typed
 * arrays, a circular object ...); echo.js sends each back, then the type
 * node saw (Object.prototype.toString, or "Buffer").  The echo must be the
 * value sent, exactly.  Then a
 * listening socket goes to node as a net.Server with a Map holding a
 * BigInt and itself; node answers with the server's port, the BigInt + 1
 * and whether the Map held itself, and sends a server of its own back
 * with a BigInt and a reference to that message.  Exits 0 if all is well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "childproc.h"

/* The child's stdio entries (cp_spawn_options points to them). */
static struct cp_stdio stdio_[4];

static const struct {
	const char *json;	/* a value in the JSON form */
	const char *type;	/* what node must see */
} cases[] = {
	{ "{\"big\":{\"$bigint\":\"123456789012345678901234567890\"}}",
	    "[object Object]" },
	{ "[{\"$bigint\":\"-1\"},{\"$bigint\":\"0\"}]", "[object Array]" },
	{ "{\"$map\":[[\"a\",1],[{\"$bigint\":\"2\"},{\"$set\":[1,\"x\"]}]]}",
	    "[object Map]" },
	{ "{\"$set\":[1,\"two\",null,{\"$undefined\":null}]}", "[object Set]" },
	{ "{\"$date\":1700000000123}", "[object Date]" },
	{ "{\"$buffer\":\"aGVsbG8=\"}", "Buffer" },
	{ "{\"$uint8array\":\"AQID\"}", "[object Uint8Array]" },
	{ "{\"$float64array\":\"AAAAAAAA+D8=\"}", "[object Float64Array]" },
	{ "{\"$bigint64array\":\"//////////8=\"}", "[object BigInt64Array]" },
	{ "{\"name\":\"loop\",\"self\":{\"$ref\":0}}", "[object Object]" },
	{ "[1,{\"$hole\":null},3]", "[object Array]" },
	{ "{\"$regexp\":[\"a+\",\"gi\"]}", "[object RegExp]" },
	{ "{\"$error\":{\"name\":\"TypeError\",\"message\":\"m\",\"stack\":\"s\"}}",
	    "[object Error]" },
	{ "{\"$number\":\"NaN\"}", "[object Number]" },
	{ "{\"$object\":{\"$k\":1}}", "[object Object]" },
	{ "\"two-byte \xe2\x82\xac and latin1 \xc3\xa9\"", "[object String]" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static size_t next;		/* the case awaiting its echo */
static int want_type;		/* its echo came: its type comes next */
static int failed, listen_fd = -1, listen_port, got_back;
static struct cp_child *child, *closed_child;

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "advparent: %s: %s\n", what, detail);
	failed = 1;
}

static int
port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	return ntohs(sin.sin_port);
}

static char *
text(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
}

static void
send_case(struct cp_channel *ch)
{
	json_t *v;
	json_error_t e;
	char addr[64];
	int r;

	if (next < NCASES) {
		if ((v = json_loads(cases[next].json, JSON_DECODE_ANY, &e)) ==
		    NULL) {
			fail("bad case", cases[next].json);
			return;
		}
		if ((r = cp_channel_send(ch, v, NULL, NULL)) < 0)
			fail("send", cp_strerror(r));
		json_decref(v);
		return;
	}
	/* Then a handle: a listening socket as a net.Server. */
	if ((r = cp_listen("127.0.0.1:0", 0, 16, &listen_fd, addr,
	    sizeof(addr))) != 0) {
		fail("cp_listen", cp_strerror(r));
		return;
	}
	listen_port = port_of(listen_fd);
	/* with a reference to itself: numbered for the message alone */
	v = json_loads("{\"$map\":[[\"k\",{\"$bigint\":\"41\"}],"
	    "[\"me\",{\"$ref\":0}]]}", 0, &e);
	if ((r = cp_channel_send_handle(ch, v, CP_HANDLE_NET_SERVER, listen_fd,
	    0, NULL, NULL)) < 0)
		fail("send_handle", cp_strerror(r));
	json_decref(v);
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	json_t *want, *echo, *type;
	json_error_t e;
	char *a, *b;

	if (m->fd >= 0) {	/* node's own server, back to us */
		want = json_loads("{\"back\":{\"$bigint\":\"7\"}}", 0, &e);
		json_object_set(want, "port", json_object_get(m->value, "port"));
		json_object_set_new(want, "self", json_pack("{s:i}", "$ref", 0));
		a = text(want);
		b = text(m->value);
		if (strcmp(a, b) != 0)
			fail("handle message", b);
		if (m->handle_type != CP_HANDLE_NET_SERVER ||
		    port_of(m->fd) != json_integer_value(json_object_get(
		    m->value, "port")))
			fail("handle", "not node's listening server");
		free(a);
		free(b);
		json_decref(want);
		got_back = 1;
		cp_channel_disconnect(ch);
		return;
	}
	if (next >= NCASES) {	/* the answer about our server */
		a = text(m->value);
		want = json_pack("{s:i,s:{s:s},s:b}", "port", listen_port, "big",
		    "$bigint", "42", "self", 1);
		b = text(want);
		if (strcmp(a, b) != 0)
			fail("server answer", a);
		free(a);
		free(b);
		json_decref(want);
		return;
	}
	if (want_type) {
		type = m->value;
		if (cases[next].type != NULL && (!json_is_string(type) ||
		    strcmp(json_string_value(type), cases[next].type) != 0))
			fail(cases[next].json, json_is_string(type) ?
			    json_string_value(type) : "(not a string)");
		want_type = 0;
		next++;
		send_case(ch);
		return;
	}
	echo = m->value;
	want = json_loads(cases[next].json, JSON_DECODE_ANY, &e);
	a = text(want);
	b = text(echo);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "advparent: case %zu: sent %s, got %s\n", next,
		    a, b);
		failed = 1;
	}
	/* The message's text is the value's JSON form. */
	if (strlen(a) != m->len || memcmp(a, m->line, m->len) != 0)
		fail("line", m->line);
	free(a);
	free(b);
	json_decref(want);
	want_type = 1;
}
static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	fail("bad message", cp_strerror(err));
}

static void
on_exit_cb(struct cp_child *c, int64_t status, int sig, void *data)
{
	if (status != 0 || sig != 0)
		fail("node", "did not exit 0");
}

static void
on_close(struct cp_child *c, void *data)
{
	cp_child_close(c, NULL);	/* freed once the loop is over */
	closed_child = c;
	child = NULL;
}

int
main(int argc, char *argv[])
{
	static const struct cp_child_events ev = {
		.ipc = { .on_message = on_message, .on_error = on_error },
		.on_exit = on_exit_cb,
		.on_close = on_close,
	};
	struct cp_spawn_options o = { 0 };
	char *args[2];
	uv_loop_t loop;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: advparent NODE ECHO_JS\n");
		return 2;
	}
	args[0] = argv[2];
	args[1] = NULL;
	o.file = argv[1];
	o.args = args;
	o.stdio = stdio_;
	o.stdio_count = 4;
	stdio_[0].type = stdio_[1].type = stdio_[2].type = CP_STDIO_INHERIT;
	stdio_[3].type = CP_STDIO_IPC;
	o.serialization = "advanced";
	uv_loop_init(&loop);
	if ((r = cp_child_spawn(&loop, &o, &ev, NULL, &child)) != 0) {
		fprintf(stderr, "advparent: spawn: %s\n", cp_strerror(r));
		return 2;
	}
	if (strcmp(cp_channel_serialization(cp_child_channel(child)),
	    "advanced") != 0)
		fail("mode", cp_channel_serialization(cp_child_channel(child)));
	if (cp_channel_set_serialization(cp_child_channel(child), "xml") !=
	    UV_EINVAL ||
	    cp_channel_set_serialization(cp_child_channel(child), "advanced") != 0)
		fail("cp_channel_set_serialization", "before any message");
	send_case(cp_child_channel(child));
	/* Once a message went, the framing cannot change. */
	if (cp_channel_set_serialization(cp_child_channel(child), "json") !=
	    UV_EBUSY)
		fail("cp_channel_set_serialization", "not EBUSY after a send");
	uv_run(&loop, UV_RUN_DEFAULT);
	cp_child_free(closed_child);
	uv_loop_close(&loop);
	if (listen_fd >= 0)
		close(listen_fd);
	if (next != NCASES || !got_back)
		fail("incomplete", next != NCASES ? "echoes missing" :
		    "no server back");
	return failed;
}
