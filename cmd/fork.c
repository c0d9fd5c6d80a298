/* cmd/fork.c - childproc-fork: run a Node module and bridge its IPC channel. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

enum {
	OPT_EXEC_PATH = OPT_FIRST_OWN,
	OPT_EXEC_ARG,
	OPT_END,
	OPT_END_MESSAGE,
	OPT_MAX_MESSAGE,
};

enum end_mode { END_WAIT, END_REPLIES, END_IDLE, END_DISCONNECT };

static const struct option longopts[] = {
	CMD_PROCESS_LONGOPTS,
	{ "exec-path",   required_argument, NULL, OPT_EXEC_PATH },
	{ "exec-arg",    required_argument, NULL, OPT_EXEC_ARG },
	{ "end",         required_argument, NULL, OPT_END },
	{ "end-message", required_argument, NULL, OPT_END_MESSAGE },
	{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
	{ NULL, 0, NULL, 0 },
};

struct bridge {
	uv_loop_t *loop;
	struct cp_child *child;
	struct cp_channel *ch;
	struct cp_reader *in;
	uv_timer_t idle;
	uv_check_t check;
	enum end_mode end;
	uint64_t idle_ms;
	const char *end_message;
	unsigned long lineno;
	unsigned long sent;		/* messages from stdin accepted */
	unsigned long received;		/* messages from the child */
	unsigned long lost;		/* input lines that could not be sent */
	bool input_done;
	bool paused;
	bool ending;			/* the end condition was met */
	bool exited;
	bool out_error;
	int status;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: %s [options] MODULE [ARG...]\n"
"Run node [exec-args] MODULE ARG... with Node's IPC channel on fd 3, and\n"
"bridge it: each line of standard input is one JSON message to the child,\n"
"each message from the child is one line on standard output.\n"
"\n"
"Options:\n"
"      --exec-path=PATH       the node binary (default: node, found in PATH)\n"
"      --exec-arg=ARG         an argument for node before MODULE (repeatable)\n"
"      --end=MODE             when to stop once input has ended:\n"
"                             wait (default), replies, idle:DURATION, disconnect\n"
"      --end-message=JSON     send JSON when input ends\n"
"      --max-message=SIZE     longest message accepted (default 512M)\n"
"%s"
"\n"
"The child's stdout and stderr go to our stderr and its stdin is /dev/null,\n"
"unless --stdio says otherwise.  Exit status: the child's, 128+N after\n"
"signal N, 124 on timeout, 125 on our own error, 126/127 if node cannot be\n"
"run or found.\n", cmd_name, cmd_process_help);
}

static void
maybe_end(struct bridge *b)
{
	if (b->ending || !b->input_done || b->ch == NULL)
		return;
	switch (b->end) {
	case END_WAIT:
		return;
	case END_REPLIES:
		if (b->received < b->sent)
			return;
		break;
	case END_IDLE:
		return;		/* the idle timer decides */
	case END_DISCONNECT:
		break;
	}
	b->ending = true;
	cp_channel_disconnect(b->ch);
}

static void
idle_cb(uv_timer_t *t)
{
	struct bridge *b = t->data;

	if (!b->ending && b->ch != NULL) {
		b->ending = true;
		cp_channel_disconnect(b->ch);
	}
}

static void
restart_idle(struct bridge *b)
{
	if (b->end == END_IDLE && b->input_done && !b->ending)
		uv_timer_start(&b->idle, idle_cb, b->idle_ms, 0);
}

static void
input_ended(struct bridge *b)
{
	json_error_t e;
	int r;

	if (b->input_done)
		return;
	b->input_done = true;
	cp_reader_close(b->in);
	b->in = NULL;
	if (b->end_message != NULL && b->ch != NULL) {
		r = cp_channel_send_line(b->ch, b->end_message,
		    strlen(b->end_message), &e, NULL, NULL);
		if (r < 0)
			cmd_warn("--end-message not sent: %s", cp_strerror(r));
	}
	restart_idle(b);
	maybe_end(b);
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
	struct bridge *b = data;
	json_error_t e;
	int n;

	(void)r;
	if (err == UV_EOF) {
		input_ended(b);
		return;
	}
	if (err != 0 && err != UV_EMSGSIZE) {
		cmd_warn("standard input: %s", cp_strerror(err));
		input_ended(b);
		return;
	}
	b->lineno++;
	if (err == UV_EMSGSIZE) {
		cmd_warn("line %lu: longer than --max-message (%zu bytes), not sent",
		    b->lineno, len);
		b->lost++;
		return;
	}
	if (blank(line, len))
		return;
	if (b->ch == NULL || !cp_channel_connected(b->ch)) {
		cmd_warn("line %lu: not sent: the channel is closed", b->lineno);
		b->lost++;
		return;
	}
	n = cp_channel_send_line(b->ch, line, len, &e, NULL, NULL);
	if (n == UV_EPROTO) {
		cmd_warn("line %lu: invalid JSON (%s at column %d), not sent",
		    b->lineno, e.text, e.column);
		b->lost++;
		return;
	}
	if (n < 0) {
		cmd_warn("line %lu: not sent: %s", b->lineno, cp_strerror(n));
		b->lost++;
		return;
	}
	b->sent++;
	if (n == 1 && !b->paused) {
		/* Node's send() said false: wait for the channel to drain. */
		b->paused = true;
		cp_reader_pause(b->in);
	}
}

static void
check_cb(uv_check_t *h)
{
	struct bridge *b = h->data;

	/* Once per loop turn: push our output out, and resume input. */
	if (fflush(stdout) != 0 && !b->out_error) {
		b->out_error = true;
		cmd_warn("error writing standard output");
		if (b->ch != NULL && !b->ending) {
			b->ending = true;
			cp_channel_disconnect(b->ch);
		}
	}
	if (b->paused && b->in != NULL && b->ch != NULL &&
	    cp_channel_queue_size(b->ch) < CP_SEND_HIGH_WATER / 2) {
		b->paused = false;
		cp_reader_resume(b->in);
	}
}

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct bridge *b = data;

	(void)ch;
	b->received++;
	if (!b->out_error) {
		fwrite(m->line, 1, m->len, stdout);
		putc('\n', stdout);
	}
	restart_idle(b);
	maybe_end(b);
}

static void
on_ipc_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	(void)ch;
	(void)data;
	if (err == UV_EMSGSIZE)
		cmd_warn("child sent a message of %zu bytes, over --max-message; "
		    "skipped", len);
	else
		cmd_warn("child sent a line that is not JSON, skipped: %.*s",
		    (int)(len > 200 ? 200 : len), line);
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct bridge *b = data;

	(void)ch;
	b->ch = NULL;
	if (err != 0)
		cmd_warn("IPC channel: %s", cp_strerror(err));
	/* Input can no longer go anywhere. */
	if (!b->input_done) {
		b->input_done = true;
		cp_reader_close(b->in);
		b->in = NULL;
	}
	uv_timer_stop(&b->idle);
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
on_exit_(struct cp_child *c, int64_t status, int sig, void *data)
{
	struct bridge *b = data;

	b->exited = true;
	b->status = cp_exit_status(status, sig, cp_child_timed_out(c));
	if (b->in != NULL) {
		b->input_done = true;
		cp_reader_close(b->in);
		b->in = NULL;
	}
}

static void
on_close(struct cp_child *c, void *data)
{
	struct bridge *b = data;

	cp_child_free(c);
	b->child = NULL;
	cmd_stop_forwarding();
	uv_close((uv_handle_t *)&b->idle, NULL);
	uv_close((uv_handle_t *)&b->check, NULL);
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

static void
parse_end(struct bridge *b, const char *s)
{
	if (strcmp(s, "wait") == 0)
		b->end = END_WAIT;
	else if (strcmp(s, "replies") == 0)
		b->end = END_REPLIES;
	else if (strcmp(s, "disconnect") == 0)
		b->end = END_DISCONNECT;
	else if (strncmp(s, "idle:", 5) == 0) {
		b->end = END_IDLE;
		b->idle_ms = cmd_parse_duration(s + 5, "idle");
	} else
		cmd_die("invalid --end mode '%s': expected wait, replies, "
		    "idle:DURATION or disconnect", s);
}

int
main(int argc, char *argv[])
{
	struct cmd_common co = { 0 };
	struct cp_spawn_options o = { 0 };
	struct bridge b = { 0 };
	const char *exec_path = "node";
	char **exec_args = NULL, **args, **env;
	size_t n_exec = 0, i, nargs;
	size_t max_message = 0;
	bool inf;
	json_error_t je;
	json_t *v;
	uv_loop_t loop;
	int ch, r, fd;

	cmd_init("childproc-fork");
	while ((ch = getopt_long(argc, argv, "+" CMD_PROCESS_SHORTOPTS, longopts,
	    NULL)) != -1) {
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
			parse_end(&b, optarg);
			break;
		case OPT_END_MESSAGE:
			if ((v = json_loadb(optarg, strlen(optarg),
			    JSON_DECODE_ANY | JSON_ALLOW_NUL, &je)) == NULL)
				cmd_die("--end-message: invalid JSON: %s", je.text);
			json_decref(v);
			b.end_message = optarg;
			break;
		case OPT_MAX_MESSAGE:
			max_message = cmd_parse_size(optarg, "max-message", &inf);
			if (inf || max_message == 0)
				max_message = 0;
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
	if (co.serialization != NULL && strcmp(co.serialization, "advanced") == 0)
		cmd_die("advanced serialization is not supported; use json");

	/* node [exec-args] MODULE ARG... */
	nargs = n_exec + (size_t)argc;
	if ((args = calloc(nargs + 1, sizeof(*args))) == NULL)
		cmd_die("out of memory");
	for (i = 0; i < n_exec; i++)
		args[i] = exec_args[i];
	for (i = 0; i < (size_t)argc; i++)
		args[n_exec + i] = argv[i];

	env = cmd_build_env(&co);
	o.file = exec_path;
	o.args = args;
	cmd_apply_common(&co, &o, env);
	o.max_message = max_message;
	if (co.stdio != NULL) {
		cmd_parse_stdio(co.stdio, &o);
		for (fd = 0; fd < o.stdio_count; fd++)
			if (o.stdio[fd].type == CP_STDIO_IPC)
				break;
		if (fd == o.stdio_count) {
			if (o.stdio_count == CP_STDIO_MAX)
				cmd_die("--stdio: no room for the IPC channel");
			o.stdio[o.stdio_count++].type = CP_STDIO_IPC;
		}
	} else {
		/* Our stdout carries messages: the child's output goes to stderr. */
		o.stdio[0].type = CP_STDIO_IGNORE;
		o.stdio[1].type = CP_STDIO_FD;
		o.stdio[1].fd = 2;
		o.stdio[2].type = CP_STDIO_INHERIT;
		o.stdio[3].type = CP_STDIO_IPC;
		o.stdio_count = 4;
	}

	if ((r = uv_loop_init(&loop)) != 0)
		cmd_die("cannot start the event loop: %s", cp_strerror(r));
	b.loop = &loop;
	uv_timer_init(&loop, &b.idle);
	b.idle.data = &b;
	uv_check_init(&loop, &b.check);
	b.check.data = &b;
	uv_check_start(&b.check, check_cb);
	uv_unref((uv_handle_t *)&b.check);

	r = cp_child_spawn(&loop, &o, &events, &b, &b.child);
	cmd_free_env(env);
	free(args);
	free(exec_args);
	if (r != 0) {
		if (r == UV_ENOENT && co.cwd != NULL && access(co.cwd, F_OK) != 0)
			cmd_warn("cannot run '%s': directory '%s' does not exist",
			    exec_path, co.cwd);
		else
			cmd_warn("cannot run '%s': %s", exec_path, cp_strerror(r));
		uv_close((uv_handle_t *)&b.idle, NULL);
		uv_close((uv_handle_t *)&b.check, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		cmd_release_common(&co);
		return cmd_exit_for_error(r);
	}
	b.ch = cp_child_channel(b.child);
	cmd_forward_signals(&loop, b.child);
	if ((r = cp_reader_open(&loop, 0, max_message, on_line, &b, &b.in)) != 0) {
		cmd_warn("standard input: %s", cp_strerror(r));
		b.in = NULL;
		input_ended(&b);
	}

	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	cmd_release_common(&co);
	if (b.lost > 0)
		cmd_warn("%lu input line%s not delivered", b.lost,
		    b.lost == 1 ? " was" : "s were");
	if (b.out_error)
		return CMD_EXIT_FAILURE;
	return cmd_finish(b.status);
}
