/*
 * cmd/exec.c - childproc-exec: a command string through /bin/sh, with
 * Node's exec rules.  Built a second time with CMD_EXECFILE defined, it is
 * childproc-execfile: Node's execFile differs from exec only in taking
 * FILE ARG... and no shell by default.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#ifdef CMD_EXECFILE
#define NAME "childproc-execfile"
#else
#define NAME "childproc-exec"
#endif

enum {
	OPT_STDIN = OPT_FIRST_OWN,
};

static const struct cmd_option exec_options[] = {
	{ "stdin", required_argument, OPT_STDIN, "MODE", "the child's stdin: pipe (default, as Node's),\ninherit (ours) or null (/dev/null)" },
	CMD_OPTIONS_END
};

static const struct cmd_option *const option_tables[] = {
	cmd_process_options, cmd_output_options, exec_options, NULL
};

/* Without --json the output is written as it comes, not held. */
static int
write_out(struct cp_exec *x, int fd, const char *buf, size_t len, void *data)
{
	(void)x;
	(void)data;
	/* A reader gone: stop reading, so the child meets EPIPE as in a pipeline. */
	return cmd_write_all(fd, buf, len) < 0 ? -1 : 0;
}

/* --stdin: Node's pipe (never closed), ours (inherit), or /dev/null. */
static unsigned int
parse_stdin(const char *arg)
{
	if (strcmp(arg, "pipe") == 0)
		return 0;
	if (strcmp(arg, "inherit") == 0)
		return CP_EXEC_STDIN_INHERIT;
	if (strcmp(arg, "null") == 0 || strcmp(arg, "ignore") == 0)
		return CP_EXEC_STDIN_IGNORE;
	cmd_die("invalid --stdin '%s': expected pipe (Node's, never closed), "
	    "inherit (ours) or null (/dev/null)", arg);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
#ifdef CMD_EXECFILE
"usage: %s [options] [--] FILE [ARG...]\n"
"Run FILE with ARGs (no shell unless --shell) as Node's execFile does:\n"
#else
"usage: %s [options] [--] COMMAND-STRING\n"
"Run COMMAND-STRING with /bin/sh -c (or --shell=PATH) as Node's exec does:\n"
#endif
"its stdout and stderr are written out as they arrive, or with --json\n"
"collected and printed as {\"error\": ..., \"stdout\": ..., \"stderr\": ...},\n"
"what Node's callback gets.  As in Node, the\n"
"child's stdio is three pipes, and stdin is never closed unless --input\n"
"gives it data (or --stdin says otherwise); --argv0, --detached and --stdio\n"
"do nothing (a warning says so).\n"
"\n"
"Options:\n",
	    cmd_name);
	cmd_print_tables(fp, option_tables);
	fprintf(fp,
"\n"
"Exit status: the child's, 128+N after signal N, 124 on timeout, 125 on\n"
"our own error, 126 if the program cannot be run, 127 if it is not found,\n"
"141 if the reader of our stdout went away.\n");
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
	char **env, node_text[64];
	int ch, r, status;
	bool shell = true;

	cmd_init(NAME, argv);
	cp_exec_options_init(&o);
	cmd_getopt_init(&g, option_tables, &co, usage);
	while ((ch = cmd_getopt(&g, argc, argv)) != -1) {
		if (ch == OPT_STDIN)
			o.flags = parse_stdin(optarg);
		else
			cmd_usage_error();
	}
	argc -= optind;
	argv += optind;
#ifdef CMD_EXECFILE
	if (argc < 1) {
		cmd_warn("missing FILE");
		cmd_usage_error();
	}
	shell = co.shell_set;
#else
	if (argc < 1) {
		cmd_warn("missing COMMAND-STRING");
		cmd_usage_error();
	}
	if (argc > 1) {
		cmd_warn("extra operand '%s' (quote the command as one string)",
		    argv[1]);
		cmd_usage_error();
	}
#endif
	enc = cmd_apply_output(&co, &o, argv[0]);
	/* Node's exec and execFile pass these to no one: say so. */
	if (co.argv0 != NULL)
		cmd_ignored("--argv0", "Node's exec and execFile ignore argv0 "
		    "(childproc-spawn honours it)");
	if (co.detached)
		cmd_ignored("--detached", "Node's exec and execFile ignore it "
		    "(childproc-spawn honours it)");
	if (co.stdio != NULL)
		cmd_ignored("--stdio", "Node's exec and execFile ignore stdio "
		    "(childproc-spawn honours it)");
	if (co.serialization != NULL)
		cmd_ignored("--serialization", "there is no IPC channel");
	if (o.flags != 0 && co.has_input)
		cmd_die("--stdin and --input%s both give the child's standard "
		    "input; use one of them", co.input_string ? "" : "-file");

	o.spawn.file = argv[0];
	o.spawn.args = argv + 1;
	env = cmd_build_env(&co);
	cmd_apply_common(&co, &o.spawn, env);
	/* Node: shell '' is no shell, also for exec. */
	if (co.shell_set && co.shell != NULL && co.shell[0] == '\0')
		shell = false;
	if (shell)
		o.spawn.shell = co.shell_set && co.shell != NULL ? co.shell :
		    "/bin/sh";
	/*
	 * Written out as they came: without --json (and without --encoding)
	 * the output is bytes, so binary output passes through unchanged.
	 */
	o.encoding = co.json || co.encoding != NULL ? enc : CP_ENC_BUFFER;
	if (co.has_input) {
		o.input = co.input;
		o.input_len = co.input_len;
	}
	if (!co.json)
		o.on_output = write_out;

	cmd_run_init(&run, &loop, &o.spawn);
	r = cp_exec_file(&loop, &o, cmd_run_done, &run, &x);
	cmd_free_env(env);
	if (r != 0) {
		/* What Node throws rather than passes to the callback. */
		uv_run(&loop, UV_RUN_DEFAULT);	/* the failed child's handles */
		uv_loop_close(&loop);
		if (r == UV_EINVAL || r == UV_ENOMEM)
			cmd_die("cannot run '%s': %s", argv[0], cp_strerror(r));
		if (co.json)
			cmd_print_json(cp_exec_thrown_json(r, enc));
		snprintf(node_text, sizeof(node_text), "spawn %s",
		    cp_err_name(r));
		status = co.json ? cmd_spawn_status(o.spawn.cwd, r) :
		    cmd_spawn_failed(o.spawn.cwd, run.file, r, node_text);
		cmd_release_common(&co);
		return cmd_finish(status);
	}
	cmd_forward_signals_to(&loop, cmd_exec_kill, x);
	uv_run(&loop, UV_RUN_DEFAULT);

	if (co.json) {
		cmd_print_json(cp_exec_result_json(run.r));
	}
	return cmd_run_end(&run, x, &loop, &co);
}
