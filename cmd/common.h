/* cmd/common.h - what the four commands share: options, values, exits. */
#ifndef CP_CMD_COMMON_H
#define CP_CMD_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "childproc.h"

#define CMD_EXIT_TIMEOUT  124
#define CMD_EXIT_FAILURE  125
#define CMD_EXIT_NOEXEC   126
#define CMD_EXIT_NOTFOUND 127
#define CMD_EXIT_PIPE     141	/* 128 + SIGPIPE: our standard output was closed */

/* Long-only option codes. */
enum {
	OPT_ARGV0 = 256,
	OPT_UID,
	OPT_GID,
	OPT_DETACHED,
	OPT_KILL_TREE,
	OPT_STDIO,
	OPT_SERIALIZATION,
	OPT_MAX_BUFFER,
	OPT_ENCODING,
	OPT_INPUT,
	OPT_INPUT_FILE,
	OPT_JSON,
	OPT_SHELL,
	OPT_FIRST_OWN = 320	/* a command's own options start here */
};

/*
 * One option: what getopt_long needs and what --help says, in one place
 * (git's parse-options).  A command's options are a few such tables, ended
 * by CMD_OPTIONS_END; cmd_getopt builds getopt_long's arguments from them
 * and cmd_print_options the --help lines, so adding an option is one edit.
 * Entries are written { "name", required_argument, ... } on one line:
 * tests and hooks find a command's options by that pattern.
 */
struct cmd_option {
	const char *name;	/* the long name; NULL ends a table */
	int has_arg;		/* no_argument, required_argument, optional_argument */
	int val;		/* the short letter, or an OPT_* code */
	const char *arg;	/* the argument as --help names it, or NULL */
	const char *help;	/* the --help text; "\n" continues on a new line */
};
#define CMD_OPTIONS_END { NULL, 0, 0, NULL, NULL }

/* Options every command takes. */
extern const struct cmd_option cmd_process_options[];
/* Options of the commands that capture output (spawn, exec, execfile). */
extern const struct cmd_option cmd_output_options[];

struct cmd_common;

/* getopt_long's arguments, built from tables, and what every command does. */
struct cmd_getopt {
	struct option *longopts;
	char *shortopts;	/* "+" and the letters: options end at the command */
	struct cmd_common *co;	/* where the common options go */
	void (*usage)(FILE *);	/* --help's text */
};

/*
 * tables: NULL-terminated; the common options among them are recorded in
 * co, and --help prints usage.  Dies if out of memory.
 */
void cmd_getopt_init(struct cmd_getopt *g, const struct cmd_option *const *tables,
    struct cmd_common *co, void (*usage)(FILE *));
/*
 * The next of the command's own options in argv (its val; optarg holds its
 * argument), or -1 at the end, g freed then.  The common options are taken
 * on the way (cmd_common_option), --help prints usage and exits 0, and an
 * unknown option or a missing argument exits 125 with a hint.
 */
int cmd_getopt(struct cmd_getopt *g, int argc, char **argv);
/* Prints every table in --help's form, in order. */
void cmd_print_tables(FILE *fp, const struct cmd_option *const *tables);
/* Prints a table as --help lists it ("  -C, --cwd=DIR   run the child in DIR"). */
void cmd_print_options(FILE *fp, const struct cmd_option *t);

struct cmd_env_op {
	int unset;		/* 1: NAME to remove; 0: NAME=VALUE to set */
	const char *arg;
};

struct cmd_common {
	const char *cwd;
	const char *argv0;
	bool ignore_env;
	struct cmd_env_op *env_ops;
	size_t n_env_ops;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	bool detached;
	bool kill_tree;
	uint64_t timeout_ms;
	int kill_signal;		/* 0: SIGTERM */
	uint64_t kill_after_ms;
	const char *stdio;		/* --stdio, unparsed */
	const char *serialization;
	/* capturing commands */
	bool max_buffer_set;
	bool max_buffer_infinite;
	uint64_t max_buffer;
	const char *encoding;
	bool has_input;
	char *input;			/* --input or --input-file contents */
	size_t input_len;
	bool input_string;		/* from --input: a string (Node's encoding applies) */
	bool json;
	bool shell_set;
	const char *shell;		/* NULL: /bin/sh */
};

extern const char *cmd_name;

/*
 * Records the program's name (also as argv[0], which getopt's messages
 * use); keeps our own inherited fds from children.
 */
void cmd_init(const char *name, char **argv);
/* "NAME: message\n" on stderr. */
void cmd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "NAME: warning: OPT does nothing here: WHY": an option without effect. */
void cmd_ignored(const char *opt, const char *why);
/* cmd_warn, then exit 125. */
_Noreturn void cmd_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "Try 'NAME --help'." and exit 125. */
_Noreturn void cmd_usage_error(void);
/*
 * Flushes stdout and turns a write error into status 125 (said once on
 * stderr), or, if the reader of stdout went away (EPIPE), into 141 without
 * a word, as a filter killed by SIGPIPE.
 */
int cmd_finish(int status);
/*
 * Writes all of buf to fd, retrying after EINTR.  Returns 0 or -errno; an
 * error on stdout is kept for cmd_finish, and later writes to stdout
 * fail at once.
 */
int cmd_write_all(int fd, const char *buf, size_t len);
/*
 * Records e, an error writing stdout (with stdio, say), for cmd_finish;
 * returns the first one recorded.
 */
int cmd_stdout_error(int e);
/* Has the reader of our stdout gone (EPIPE)? */
bool cmd_stdout_closed(void);
_Noreturn void cmd_version(void);

/*
 * Handles one option of cmd_process_options or cmd_output_options.
 * Returns 1 if it was one (dies on a bad value), 0 otherwise.
 */
int cmd_common_option(struct cmd_common *co, int ch, const char *arg);
/* The child's environment (NULL-terminated; free with cmd_free_env). */
char **cmd_build_env(const struct cmd_common *co);
void cmd_free_env(char **env);
/* Fills the cp_spawn_options fields the common options decide. */
void cmd_apply_common(const struct cmd_common *co, struct cp_spawn_options *o,
    char **env);
void cmd_release_common(struct cmd_common *co);

/*
 * Parses --stdio: one word for fds 0-2 ("pipe", "inherit", "ignore") or a
 * comma list, one entry per fd: those words, "ipc", or a number (an fd of
 * ours).  Dies with Node's wording on a bad value.  The entries go in
 * cmd_stdio, which o->stdio then points to.
 */
#define CMD_STDIO_MAX 64
extern struct cp_stdio cmd_stdio[CMD_STDIO_MAX];
void cmd_parse_stdio(const char *spec, struct cp_spawn_options *o);

/* DURATION: a number with ms, s, m or h; a bare number is milliseconds. */
uint64_t cmd_parse_duration(const char *s, const char *what);
/* The same without dying: NULL and *ms, or what is wrong (in buf, maybe). */
const char *cmd_duration(const char *s, uint64_t *ms, char *buf, size_t size);
/* How every message about a bad duration ends: "expected " FORMS. */
#define CMD_DURATION_FORMS "a number with a unit ms, s, m or h (500ms, " \
	"2s, 1.5m, 1h), or a whole number of milliseconds (250)"
/* SIG: TERM, SIGTERM or 15.  Dies "Unknown signal: X". */
int cmd_parse_signal(const char *s);
/* SIZE: bytes with K, M, G suffixes (1024-based), or Infinity. */
uint64_t cmd_parse_size(const char *s, const char *what, bool *infinite);

/* 127 for ENOENT, 126 for EACCES/ENOEXEC/EISDIR/EPERM..., else 125. */
int cmd_exit_for_error(int err);
/*
 * Says why FILE could not be run and returns the exit status for err.
 * When cwd (the one given to the child, or NULL) is what failed, which
 * Node blames on the command, says node_text (Node's message) and why
 * the directory failed, and returns 125 as env -C does.
 */
int cmd_spawn_failed(const char *cwd, const char *file, int err,
    const char *node_text);
/* The same status without a word (for --json, where the JSON tells). */
int cmd_spawn_status(const char *cwd, int err);

/*
 * For spawn, exec and execfile once the run is over: the exit status of
 * the wrapper for result r (file and cwd as run), after saying why on
 * stderr unless json: 127/126/125 for a failed spawn, 124 timeout, the
 * child's status, and 125 for output cut at --max-buffer (whatever the
 * child's own status).
 */
int cmd_result_status(const struct cp_result *r, const char *cwd,
    const char *file, bool json);
/* A capturing run of spawn, exec or execfile: what cmd_result_status needs. */
struct cmd_run {
	const char *cwd;
	const char *file;		/* as Node's errors name it */
	struct cp_result *r;		/* set by cmd_run_done */
};

/* The done callback of cp_exec_file and cp_spawn_capture; data is a cmd_run. */
void cmd_run_done(struct cp_exec *x, struct cp_result *r, void *data);
/*
 * Starts loop and notes in run what Node's errors name: so's cwd and the
 * program (the shell, if any).  Dies if the loop cannot start.
 */
void cmd_run_init(struct cmd_run *run, uv_loop_t *loop,
    const struct cp_spawn_options *so);
/*
 * Ends a run that has finished: its exit status (cmd_result_status) for
 * returning from main, x freed, loop closed and co released.
 */
int cmd_run_end(struct cmd_run *run, struct cp_exec *x, uv_loop_t *loop,
    struct cmd_common *co);
/*
 * Fills o from the capturing options (maxBuffer; the encoding, which dies
 * "Unknown encoding: X" as Node does) and checks that file is not empty.
 * Returns the encoding asked for (utf8 by default).
 */
enum cp_encoding cmd_apply_output(const struct cmd_common *co,
    struct cp_exec_options *o, const char *file);
/* Prints v (a new reference, consumed) as JSON.stringify would, and "\n". */
void cmd_print_json(json_t *v);
/* Writes a captured output stream to fd 1 or 2 (after what stdio holds). */
void cmd_write_output(int fd, const struct cp_output *o);
/* cp_exec_kill for cmd_forward_signals_to. */
int cmd_exec_kill(void *x, int signum);
/* Forwards INT, TERM, HUP and QUIT received by us to the child. */
void cmd_forward_signals(uv_loop_t *loop, struct cp_child *c);
/* The same through kill_fn(arg, signum), for a child that may go away first. */
void cmd_forward_signals_to(uv_loop_t *loop, int (*kill_fn)(void *, int),
    void *arg);
/* Stops forwarding (closes the signal handles). */
void cmd_stop_forwarding(void);
/* Reads a whole file into *buf (malloc'd).  Returns 0 or UV_E*. */
int cmd_read_file(const char *path, char **buf, size_t *len);

#endif /* CP_CMD_COMMON_H */
