/* cmd/spawn.c - childproc-spawn: run a command with Node's spawnSync rules. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* spawn has no options of its own: those of every capturing command. */
static const struct cmd_option *const option_tables[] = {
	cmd_process_options, cmd_output_options, NULL
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: %s [options] [--] COMMAND [ARG...]\n"
"Run COMMAND with ARGs (no shell unless --shell) as Node's spawnSync does.\n"
"The child shares our stdin, stdout and stderr unless --stdio says\n"
"otherwise; with --json its stdio defaults to pipes and one JSON object,\n"
"Node's spawnSync result, is printed on stdout.\n"
"\n"
"Options:\n", cmd_name);
	cmd_print_tables(fp, option_tables);
	fprintf(fp,
"\n"
"Exit status: the child's, 128+N after signal N, 124 on timeout, 125 on\n"
"our own error, 126 if COMMAND cannot be run, 127 if it is not found,\n"
"141 if the reader of our stdout went away.\n");
}

/* Does the child write to a pipe of ours (what --max-buffer counts)? */
static bool
captures(const struct cp_spawn_options *so)
{
	int fd;

	for (fd = 1; fd < so->stdio_count; fd++)
		if (so->stdio[fd].type == CP_STDIO_PIPE)
			return true;
	return false;
}

int
main(int argc, char *argv[])
{
	struct cmd_common co = { 0 };
	struct cmd_getopt g;
	struct cp_exec_options o;
	struct cmd_run run = { 0 };
	enum cp_encoding enc;
	struct cp_exec *x;
	uv_loop_t loop;
	char **env, *input = NULL;
	size_t input_len = 0;
	int r, fd;

	cmd_init("childproc-spawn", argv);
	cp_exec_options_init(&o);
	cmd_getopt_init(&g, option_tables, &co, usage);
	if (cmd_getopt(&g, argc, argv) != -1)
		cmd_usage_error();	/* none of its own */
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		cmd_warn("missing COMMAND");
		cmd_usage_error();
	}
	enc = cmd_apply_output(&co, &o, argv[0]);
	/* spawnSync reads maxBuffer 0 as no limit (the library: none kept). */
	if (o.max_buffer == 0)
		o.max_buffer = CP_MAX_BUFFER_INFINITY;

	o.spawn.file = argv[0];
	o.spawn.args = argv + 1;
	env = cmd_build_env(&co);
	cmd_apply_common(&co, &o.spawn, env);
	/* spawnSync, unlike spawn, passes a cwd of '' on: chdir("") fails. */
	o.spawn.cwd = co.cwd;
	o.spawn.serialization = NULL;
	/* Node: shell '' is no shell. */
	if (co.shell_set && (co.shell == NULL || co.shell[0] != '\0'))
		o.spawn.shell = co.shell != NULL ? co.shell : "/bin/sh";
	if (co.stdio != NULL) {
		cmd_parse_stdio(co.stdio, &o.spawn);
		for (fd = 0; fd < o.spawn.stdio_count; fd++)
			if (cmd_stdio[fd].type == CP_STDIO_IPC)
				cmd_die("IPC cannot be used with synchronous forks");
	} else {
		/*
		 * Node's default is pipes: so with --json.  Without it we are
		 * a wrapper and the child shares our stdio (stdin excepted when
		 * there is --input to give it).
		 */
		o.spawn.stdio = cmd_stdio;
		o.spawn.stdio_count = 3;
		for (fd = 0; fd < 3; fd++)
			cmd_stdio[fd].type = co.json ? CP_STDIO_PIPE :
			    CP_STDIO_INHERIT;
		if (co.has_input)
			cmd_stdio[0].type = CP_STDIO_PIPE;
	}
	if (co.serialization != NULL)
		cmd_ignored("--serialization", "spawnSync has no IPC channel");
	if (co.max_buffer_set && !co.json && !captures(&o.spawn))
		cmd_ignored("--max-buffer", "the child's output is not captured "
		    "(see --stdio and --json)");
	if (co.json) {
		/* Our stdout carries the JSON: a child's own stdout goes to stderr. */
		if (cmd_stdio[1].type == CP_STDIO_INHERIT ||
		    (cmd_stdio[1].type == CP_STDIO_FD &&
		    cmd_stdio[1].fd == 1)) {
			cmd_stdio[1].type = CP_STDIO_FD;
			cmd_stdio[1].fd = 2;
		}
	}
	o.encoding = co.json ? enc : CP_ENC_BUFFER;
	if (co.has_input && co.input_len > 0) {
		if (co.input_string) {
			/* Buffer.from(input, options.encoding) */
			if (co.encoding != NULL && enc == CP_ENC_BUFFER)
				cmd_die("Unknown encoding: %s", co.encoding);
			if (cp_encoding_from_string(enc, co.input, co.input_len,
			    &input, &input_len) != 0)
				cmd_die("out of memory");
			o.input = input;
			o.input_len = input_len;
		} else {
			o.input = co.input;
			o.input_len = co.input_len;
		}
	}

	cmd_run_init(&run, &loop, &o.spawn);
	r = cp_spawn_capture(&loop, &o, cmd_run_done, &run, &x);
	cmd_free_env(env);
	free(input);
	if (r != 0)
		cmd_die("cannot run '%s': %s", argv[0], cp_strerror(r));
	cmd_forward_signals_to(&loop, cmd_exec_kill, x);
	uv_run(&loop, UV_RUN_DEFAULT);

	if (co.json) {
		cmd_print_json(cp_spawn_sync_result_json(run.r));
	} else {
		/* Pipes asked for with --stdio: what they gave, once it is over. */
		fflush(stdout);
		/* No output at all (never started): output is NULL then. */
		if (run.r->output_count > 2) {
			cmd_write_output(STDOUT_FILENO, &run.r->output[1]);
			cmd_write_output(STDERR_FILENO, &run.r->output[2]);
		}
	}
	return cmd_run_end(&run, x, &loop, &co);
}
