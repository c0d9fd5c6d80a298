/* cmd/common.c - option values, environment, exits and signals. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

const char *cmd_name = "childproc";

const struct cmd_option cmd_process_options[] = {
	{ "cwd", required_argument, 'C', "DIR", "run the child in DIR" },
	{ "env", required_argument, 'e', "NAME=VALUE", "set NAME in the child's environment (repeatable)" },
	{ "unset", required_argument, 'u', "NAME", "remove NAME from the child's environment" },
	{ "ignore-environment", no_argument, 'i', NULL, "start from an empty environment" },
	{ "argv0", required_argument, OPT_ARGV0, "NAME", "argv[0] for the child (the file run is unchanged)" },
	{ "uid", required_argument, OPT_UID, "USER", "run the child as USER (a name or a number)" },
	{ "gid", required_argument, OPT_GID, "GROUP", "run the child in GROUP (a name or a number)" },
	{ "detached", no_argument, OPT_DETACHED, NULL, "run the child in a new session (setsid)" },
	{ "timeout", required_argument, 't', "DURATION", "send the kill signal after DURATION (500ms, 2s, 1.5m)" },
	{ "kill-signal", required_argument, 's', "SIG", "signal for the timeout (default SIGTERM):\nTERM, term, SIGTERM or 15" },
	{ "kill-after", required_argument, 'k', "DURATION", "then SIGKILL if the child outlives it by DURATION" },
	{ "kill-tree", no_argument, OPT_KILL_TREE, NULL, "signal the child's whole process group" },
	{ "stdio", required_argument, OPT_STDIO, "SPEC", "the child's fds: pipe, inherit, ignore, or a\ncomma list with one entry per fd" },
	{ "serialization", required_argument, OPT_SERIALIZATION, "MODE", "IPC mode: json, or advanced (V8; lines are\nvalues in a tagged JSON form, childproc(3))" },
	{ "help", no_argument, 'h', NULL, "print this help and exit" },
	{ "version", no_argument, 'V', NULL, "print the version and exit" },
	CMD_OPTIONS_END
};

const struct cmd_option cmd_output_options[] = {
	{ "max-buffer", required_argument, OPT_MAX_BUFFER, "SIZE", "largest output kept per stream (default 1M;\nK, M, G suffixes, or Infinity)" },
	{ "encoding", required_argument, OPT_ENCODING, "ENC", "utf8 (default), buffer, latin1, hex, base64, ..." },
	{ "input", required_argument, OPT_INPUT, "STRING", "write STRING to the child's stdin" },
	{ "input-file", required_argument, OPT_INPUT_FILE, "FILE", "write FILE's contents to the child's stdin\n(- is our stdin, read to its end)" },
	{ "json", no_argument, OPT_JSON, NULL, "print the result as one JSON object" },
	{ "shell", optional_argument, OPT_SHELL, "PATH", "run through PATH -c (default /bin/sh)" },
	CMD_OPTIONS_END
};

static bool
is_short(int val)
{
	return val > 0 && val < 128;
}

void
cmd_getopt_init(struct cmd_getopt *g, const struct cmd_option *const *tables,
    struct cmd_common *co, void (*usage)(FILE *))
{
	const struct cmd_option *o;
	size_t n = 0, i = 0, j, k = 0;
	char *p;

	for (j = 0; tables[j] != NULL; j++)
		for (o = tables[j]; o->name != NULL; o++)
			n++;
	g->longopts = calloc(n + 1, sizeof(*g->longopts));
	g->shortopts = p = calloc(3 * n + 2, 1);
	if (g->longopts == NULL || g->shortopts == NULL)
		cmd_die("out of memory");
	g->co = co;
	g->usage = usage;
	p[k++] = '+';
	for (j = 0; tables[j] != NULL; j++) {
		for (o = tables[j]; o->name != NULL; o++, i++) {
			g->longopts[i].name = o->name;
			g->longopts[i].has_arg = o->has_arg;
			g->longopts[i].val = o->val;
			if (!is_short(o->val))
				continue;
			p[k++] = (char)o->val;
			if (o->has_arg != no_argument)
				p[k++] = ':';
			if (o->has_arg == optional_argument)
				p[k++] = ':';
		}
	}
}

static void
getopt_free(struct cmd_getopt *g)
{
	free(g->longopts);
	free(g->shortopts);
	g->longopts = NULL;
	g->shortopts = NULL;
}

int
cmd_getopt(struct cmd_getopt *g, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, g->shortopts, g->longopts,
	    NULL)) != -1) {
		if (cmd_common_option(g->co, ch, optarg))
			continue;
		if (ch == 'h') {
			g->usage(stdout);
			getopt_free(g);
			exit(cmd_finish(0));
		}
		if (ch == '?' || ch == ':')
			cmd_usage_error();	/* getopt has said why */
		return ch;
	}
	getopt_free(g);
	return -1;
}

void
cmd_print_tables(FILE *fp, const struct cmd_option *const *tables)
{
	for (; *tables != NULL; tables++)
		cmd_print_options(fp, *tables);
}

#define HELP_COLUMN 29

void
cmd_print_options(FILE *fp, const struct cmd_option *o)
{
	const char *h, *nl;
	int w;

	for (; o->name != NULL; o++) {
		if (is_short(o->val))
			w = fprintf(fp, "  -%c, --%s", o->val, o->name);
		else
			w = fprintf(fp, "      --%s", o->name);
		if (o->arg != NULL)
			w += fprintf(fp, o->has_arg == optional_argument ?
			    "[=%s]" : "=%s", o->arg);
		fprintf(fp, "%*s", w < HELP_COLUMN - 1 ? HELP_COLUMN - w : 2, "");
		for (h = o->help; (nl = strchr(h, '\n')) != NULL; h = nl + 1)
			fprintf(fp, "%.*s\n%*s", (int)(nl - h), h, HELP_COLUMN, "");
		fprintf(fp, "%s\n", h);
	}
}

/*
 * Run with any of fds 0-2 closed (`cmd <&-`), whatever we open would land
 * there: libuv's own fds, which its close path asserts are above 2, and
 * output meant for a pipe going to the wrong place.  Reopen the closed ones
 * on /dev/null, as daemons and timeout(1)-like tools do, so the child sees
 * what the shell gave us: nothing to read, output discarded.
 */
static void
reopen_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free fd is fd itself. */
		if (open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd)
			_exit(125);
	}
}

void
cmd_init(const char *name, char **argv)
{
	reopen_std_fds();
	/*
	 * A command writing to a closed stdout gets EPIPE and reports it, as
	 * Node does (it runs with SIGPIPE ignored).  The library leaves the
	 * disposition alone; children get the default back (uv_spawn resets it).
	 */
	signal(SIGPIPE, SIG_IGN);
	cmd_name = name;
	argv[0] = (char *)name;
	/* As Node does at start-up: fds we inherited do not leak to children. */
	uv_disable_stdio_inheritance();
}

static void vwarn_(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/*
 * One line in one write(2): a child writing to the same stderr cannot
 * splice its output into the middle of it.
 */
static void
vwarn_(const char *fmt, va_list ap)
{
	char buf[2048];
	size_t len;
	int n;

	fflush(stdout);
	len = (size_t)snprintf(buf, sizeof(buf), "%s: ", cmd_name);
	n = vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf) - len - 1)
		n = (int)(sizeof(buf) - len - 2);	/* cut, but one line */
	len += (size_t)n;
	buf[len++] = '\n';
	fwrite(buf, 1, len, stderr);
	fflush(stderr);
}

void
cmd_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_(fmt, ap);
	va_end(ap);
}

void
cmd_ignored(const char *opt, const char *why)
{
	cmd_warn("warning: %s does nothing here: %s", opt, why);
}

void
cmd_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_(fmt, ap);
	va_end(ap);
	exit(CMD_EXIT_FAILURE);
}

void
cmd_usage_error(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", cmd_name);
	exit(CMD_EXIT_FAILURE);
}

void
cmd_version(void)
{
	printf("%s (childproc) %s\n", cmd_name, cp_version_string());
	exit(cmd_finish(0));
}

/* The first error writing standard output (0: none), as it happened. */
static int out_errno;

static void
out_failed(int e)
{
	if (out_errno == 0)
		out_errno = e ? e : EIO;
}

int
cmd_finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		out_failed(errno);
	if (out_errno == EPIPE)
		return CMD_EXIT_PIPE;	/* as cat or seq killed by SIGPIPE: quietly */
	if (out_errno != 0) {
		fprintf(stderr, "%s: error writing standard output: %s\n",
		    cmd_name, strerror(out_errno));
		return status ? status : CMD_EXIT_FAILURE;
	}
	return status;
}

int
cmd_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	if (fd == STDOUT_FILENO && out_errno != 0)
		return -out_errno;	/* said once, at cmd_finish */
	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			if (fd == STDOUT_FILENO)
				out_failed(errno);
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cmd_stdout_error(int e)
{
	out_failed(e);
	return out_errno;
}

bool
cmd_stdout_closed(void)
{
	return out_errno == EPIPE;
}

/* What every command says after a bad signal (as the man pages put it). */
#define SIGNAL_FORMS "a name with or without SIG, in any case (TERM, term, " \
	"SIGTERM), or a number (15); kill -l lists them"

int
cmd_parse_signal(const char *s)
{
	const char *name = s;
	char *end;
	long n;
	int sig;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		/* Node: a number is taken as it is if it names a signal. */
		if (errno == 0 && *end == '\0' && n > 0 && n < 65 &&
		    cp_signal_name((int)n)[0] != '\0')
			return (int)n;
		goto bad;
	}
	/* As GNU timeout and kill(1): TERM, term, SIGTERM and sigterm. */
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	/* os.constants.signals has two more names than numbers. */
	if (strcasecmp(name, "IOT") == 0)
		return SIGIOT;
	if (strcasecmp(name, "POLL") == 0)
		return SIGPOLL;
	for (sig = 1; sig < 65; sig++)
		if (cp_signal_name(sig)[0] != '\0' &&
		    strcasecmp(cp_signal_name(sig) + 3, name) == 0)
			return sig;
bad:
	/* Node's words first, then what is accepted. */
	cmd_die("Unknown signal: %s (expected " SIGNAL_FORMS ")", s);
}

/* The option as the user typed it: "timeout" is --timeout. */
static const char *
dashed(const char *what, char *buf, size_t size)
{
	if (what[0] == '-')
		return what;
	snprintf(buf, size, "--%s", what);
	return buf;
}

/* strtod, but decimal numbers only (not hex, inf or nan). */
static bool
parse_number(const char *s, double *v, char **end)
{
	errno = 0;
	*v = strtod(s, end);
	return *end != s && strspn(s, "0123456789.eE+-") >= (size_t)(*end - s);
}

const char *
cmd_duration(const char *s, uint64_t *ms, char *buf, size_t size)
{
	char *end;
	double v, mult = 1;

	if (!parse_number(s, &v, &end))
		return "not a duration";
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else {
		snprintf(buf, size, "unknown unit '%s'", end);
		return buf;
	}
	v *= mult;
	if (v < 0 || (v == 0 && s[0] == '-'))
		return "negative";
	if (errno != 0 || v > 9007199254740991.0)
		return "too long";
	if (mult == 1 && v != floor(v))
		return "a fraction of a millisecond";
	*ms = (uint64_t)ceil(v);
	return NULL;
}

uint64_t
cmd_parse_duration(const char *s, const char *what)
{
	const char *why;
	char opt[64], unit[64];
	uint64_t ms;

	if ((why = cmd_duration(s, &ms, unit, sizeof(unit))) != NULL)
		cmd_die("invalid %s '%s': %s; expected " CMD_DURATION_FORMS,
		    dashed(what, opt, sizeof(opt)), s, why);
	return ms;
}

#define SIZE_FORMS "a number of bytes with an optional K, M or G suffix " \
	"(1024-based: 64K, 1.5M, 2G), or Infinity"

uint64_t
cmd_parse_size(const char *s, const char *what, bool *infinite)
{
	const char *why = "not a size";
	char *end, opt[64], unit[64];
	double v, mult = 1;

	*infinite = false;
	if (strcmp(s, "Infinity") == 0 || strcmp(s, "infinity") == 0) {
		*infinite = true;
		return UINT64_MAX;
	}
	if (!parse_number(s, &v, &end))
		goto bad;
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024.0 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024.0 * 1024 * 1024, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0') {
		snprintf(unit, sizeof(unit), "unknown suffix '%s'", end);
		why = unit;
		goto bad;
	}
	v *= mult;
	if (v < 0) {
		why = "negative";
		goto bad;
	}
	if (errno != 0 || v >= 18446744073709551615.0) {
		why = "too large";
		goto bad;
	}
	return (uint64_t)v;
bad:
	cmd_die("invalid %s '%s': %s; expected " SIZE_FORMS,
	    dashed(what, opt, sizeof(opt)), s, why);
}

static void
add_env_op(struct cmd_common *co, int unset, const char *arg)
{
	struct cmd_env_op *ops;

	if (unset ? (*arg == '\0' || strchr(arg, '=') != NULL) :
	    (strchr(arg, '=') == NULL || arg[0] == '='))
		cmd_die("invalid %s argument '%s'%s", unset ? "--unset" : "--env",
		    arg, unset ? ": a variable name without '='" :
		    ": expected NAME=VALUE");
	ops = realloc(co->env_ops, (co->n_env_ops + 1) * sizeof(*ops));
	if (ops == NULL)
		cmd_die("out of memory");
	co->env_ops = ops;
	ops[co->n_env_ops].unset = unset;
	ops[co->n_env_ops].arg = arg;
	co->n_env_ops++;
}

/* --uid and --gid: a number as Node takes it, or a user or group name. */
static unsigned long
parse_id(const char *s, const char *what)
{
	struct passwd *pw;
	struct group *gr;
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s && *end == '\0') {
		if (errno != 0 || v < INT32_MIN || v > INT32_MAX)
			cmd_die("The \"options.%s\" property must be int32. "
			    "Received %s", what, s);
		return (unsigned long)v;
	}
	if (strcmp(what, "uid") == 0) {
		if (*s != '\0' && (pw = getpwnam(s)) != NULL)
			return pw->pw_uid;
		cmd_die("invalid --uid '%s': no such user; expected a user name "
		    "or a number", s);
	}
	if (*s != '\0' && (gr = getgrnam(s)) != NULL)
		return gr->gr_gid;
	cmd_die("invalid --gid '%s': no such group; expected a group name or "
	    "a number", s);
}

/* --input and --input-file both say what stdin gets: one of them only. */
static void
input_once(const struct cmd_common *co, bool string)
{
	if (co->has_input && co->input_string != string)
		cmd_die("--input and --input-file both give the child's standard "
		    "input; use one of them");
}

int
cmd_common_option(struct cmd_common *co, int ch, const char *arg)
{
	int r;

	switch (ch) {
	case 'C':
		co->cwd = arg;		/* '' kept: spawnSync chdirs to it, spawn does not */
		return 1;
	case 'e':
		add_env_op(co, 0, arg);
		return 1;
	case 'u':
		add_env_op(co, 1, arg);
		return 1;
	case 'i':
		co->ignore_env = true;
		return 1;
	case 't':
		co->timeout_ms = cmd_parse_duration(arg, "timeout");
		return 1;
	case 's':
		co->kill_signal = cmd_parse_signal(arg);
		return 1;
	case 'k':
		co->kill_after_ms = cmd_parse_duration(arg, "kill-after");
		return 1;
	case 'V':
		cmd_version();
	case OPT_ARGV0:
		co->argv0 = arg;
		return 1;
	case OPT_UID:
		co->has_uid = true;
		co->uid = (uid_t)parse_id(arg, "uid");
		return 1;
	case OPT_GID:
		co->has_gid = true;
		co->gid = (gid_t)parse_id(arg, "gid");
		return 1;
	case OPT_DETACHED:
		co->detached = true;
		return 1;
	case OPT_KILL_TREE:
		co->kill_tree = true;
		return 1;
	case OPT_STDIO:
		co->stdio = arg;
		return 1;
	case OPT_SERIALIZATION:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "advanced") != 0)
			cmd_die("The property 'options.serialization' must be one "
			    "of: undefined, 'json', 'advanced'. Received '%s'", arg);
		co->serialization = arg;
		return 1;
	case OPT_MAX_BUFFER:
		co->max_buffer_set = true;
		co->max_buffer = cmd_parse_size(arg, "max-buffer",
		    &co->max_buffer_infinite);
		return 1;
	case OPT_ENCODING:
		co->encoding = arg;
		return 1;
	case OPT_INPUT:
		input_once(co, true);
		free(co->input);
		if ((co->input = strdup(arg)) == NULL)
			cmd_die("out of memory");
		co->input_len = strlen(arg);
		co->has_input = true;
		co->input_string = true;
		return 1;
	case OPT_INPUT_FILE:
		input_once(co, false);
		free(co->input);
		co->input = NULL;
		if ((r = cmd_read_file(arg, &co->input, &co->input_len)) != 0)
			cmd_die("cannot read '%s': %s", arg, cp_strerror(r));
		co->has_input = true;
		co->input_string = false;
		return 1;
	case OPT_JSON:
		co->json = true;
		return 1;
	case OPT_SHELL:
		co->shell_set = true;
		co->shell = arg;
		return 1;
	}
	return 0;
}

void
cmd_release_common(struct cmd_common *co)
{
	free(co->env_ops);
	free(co->input);
	co->env_ops = NULL;
	co->input = NULL;
}

static bool
same_name(const char *entry, const char *name, size_t nlen)
{
	return strncmp(entry, name, nlen) == 0 && entry[nlen] == '=';
}

char **
cmd_build_env(const struct cmd_common *co)
{
	char **env;
	size_t n = 0, i, j, o, nlen;
	const char *arg, *eq;

	if (!co->ignore_env && co->n_env_ops == 0)
		return NULL;		/* inherit ours as it is */
	if (!co->ignore_env)
		while (environ[n] != NULL)
			n++;
	if ((env = calloc(n + co->n_env_ops + 1, sizeof(*env))) == NULL)
		cmd_die("out of memory");
	o = 0;
	for (i = 0; i < n; i++)
		if ((env[o] = strdup(environ[i])) != NULL)
			o++;
	/* env(1) order: each -u and NAME=VALUE applies in turn. */
	for (j = 0; j < co->n_env_ops; j++) {
		arg = co->env_ops[j].arg;
		eq = strchr(arg, '=');
		nlen = co->env_ops[j].unset ? strlen(arg) : (size_t)(eq - arg);
		for (i = 0; i < o; i++) {
			if (same_name(env[i], arg, nlen)) {
				free(env[i]);
				memmove(env + i, env + i + 1, (o - i) * sizeof(*env));
				o--;
				i--;
			}
		}
		if (!co->env_ops[j].unset && (env[o] = strdup(arg)) != NULL)
			o++;
	}
	env[o] = NULL;
	return env;
}

void
cmd_free_env(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

void
cmd_apply_common(const struct cmd_common *co, struct cp_spawn_options *o,
    char **env)
{
	/* Node's spawn: a cwd of '' means no chdir. */
	o->cwd = co->cwd != NULL && co->cwd[0] != '\0' ? co->cwd : NULL;
	o->argv0 = co->argv0;
	o->env = env;
	if (co->has_uid) {
		o->flags |= CP_SPAWN_SETUID;
		o->uid = co->uid;
	}
	if (co->has_gid) {
		o->flags |= CP_SPAWN_SETGID;
		o->gid = co->gid;
	}
	if (co->detached)
		o->flags |= CP_SPAWN_DETACHED;
	if (co->kill_tree)
		o->flags |= CP_SPAWN_KILL_TREE;
	o->timeout_ms = co->timeout_ms;
	o->kill_signal = co->kill_signal;
	o->kill_after_ms = co->kill_after_ms;
	o->serialization = co->serialization;
}

static int
stdio_word(const char *w, struct cp_stdio *s)
{
	char *end;
	long fd;

	if (strcmp(w, "pipe") == 0 || strcmp(w, "overlapped") == 0) {
		s->type = CP_STDIO_PIPE;
	} else if (strcmp(w, "inherit") == 0) {
		s->type = CP_STDIO_INHERIT;
	} else if (strcmp(w, "ignore") == 0 || strcmp(w, "null") == 0 ||
	    strcmp(w, "undefined") == 0) {
		s->type = CP_STDIO_IGNORE;
	} else if (strcmp(w, "ipc") == 0) {
		s->type = CP_STDIO_IPC;
	} else if (*w != '\0') {
		errno = 0;
		fd = strtol(w, &end, 10);
		if (*end != '\0' || errno != 0 || fd > INT_MAX)
			return -1;
		if (fd < 0) {
			/* Node: a negative number means 'pipe'. */
			s->type = CP_STDIO_PIPE;
		} else {
			s->type = CP_STDIO_FD;
			s->fd = (int)fd;
		}
	} else {
		return -1;
	}
	return 0;
}

struct cp_stdio cmd_stdio[CMD_STDIO_MAX];

void
cmd_parse_stdio(const char *spec, struct cp_spawn_options *o)
{
	char *copy, *w, *save = NULL;
	int n = 0, i;

	o->stdio = cmd_stdio;

	if (strchr(spec, ',') == NULL) {
		if (strcmp(spec, "pipe") != 0 && strcmp(spec, "inherit") != 0 &&
		    strcmp(spec, "ignore") != 0 && strcmp(spec, "overlapped") != 0)
			cmd_die("The argument 'stdio' is invalid. Received '%s'", spec);
		for (i = 0; i < 3; i++)
			stdio_word(spec, &cmd_stdio[i]);
		o->stdio_count = 3;
		return;
	}
	if ((copy = strdup(spec)) == NULL)
		cmd_die("out of memory");
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (n == CMD_STDIO_MAX)
			cmd_die("--stdio: at most %d entries", CMD_STDIO_MAX);
		if (stdio_word(w, &cmd_stdio[n]) != 0)
			cmd_die("The argument 'stdio' is invalid. Received '%s'", w);
		if (cmd_stdio[n].type == CP_STDIO_IPC)
			for (i = 0; i < n; i++)
				if (cmd_stdio[i].type == CP_STDIO_IPC)
					cmd_die("Child process can have only one IPC pipe");
		n++;
	}
	free(copy);
	/* Node pads a short array: fds 0-2 not given are pipes. */
	for (; n < 3; n++)
		cmd_stdio[n].type = CP_STDIO_PIPE;
	o->stdio_count = n;
}

int
cmd_exit_for_error(int err)
{
	switch (err) {
	case UV_ENOENT:
		return CMD_EXIT_NOTFOUND;
	case UV_EACCES:
	case UV_EPERM:
	case -ENOEXEC:
	case UV_EISDIR:
	case UV_ENOTDIR:
	case UV_ELOOP:
	case UV_E2BIG:
	case UV_ETXTBSY:
		return CMD_EXIT_NOEXEC;
	default:
		return CMD_EXIT_FAILURE;
	}
}

/*
 * Why cwd (the child's, or NULL) made a spawn fail with err, or NULL when
 * the directory is not to blame.  Node (and libuv) report a bad cwd as the
 * command's ENOENT, ENOTDIR or EACCES.
 */
static const char *
cwd_problem(const char *cwd, int err, char *buf, size_t size)
{
	struct stat st;

	if (cwd == NULL || (err != UV_ENOENT && err != UV_ENOTDIR &&
	    err != UV_EACCES))
		return NULL;
	if (stat(cwd, &st) != 0 && errno == ENOENT)
		snprintf(buf, size, "directory '%s' does not exist", cwd);
	else if (stat(cwd, &st) == 0 && !S_ISDIR(st.st_mode))
		snprintf(buf, size, "'%s' is not a directory", cwd);
	else if (access(cwd, X_OK) != 0)
		snprintf(buf, size, "cannot enter directory '%s': %s", cwd,
		    strerror(errno));
	else
		return NULL;
	return buf;
}

int
cmd_spawn_failed(const char *cwd, const char *file, int err,
    const char *node_text)
{
	char why[PATH_MAX + 64];

	/* A bad --cwd is our caller's mistake, not the command's: env -C's 125. */
	if (cwd_problem(cwd, err, why, sizeof(why)) != NULL) {
		cmd_warn("%s: %s", node_text, why);
		return CMD_EXIT_FAILURE;
	}
	cmd_warn("cannot run '%s': %s", file, cp_strerror(err));
	return cmd_exit_for_error(err);
}

int
cmd_spawn_status(const char *cwd, int err)
{
	char why[PATH_MAX + 64];

	if (cwd_problem(cwd, err, why, sizeof(why)) != NULL)
		return CMD_EXIT_FAILURE;
	return cmd_exit_for_error(err);
}

static uv_signal_t fwd[4];
static int nfwd;
static int (*fwd_kill)(void *, int);

static void
forward_cb(uv_signal_t *h, int signum)
{
	fwd_kill(h->data, signum);
}

static int
kill_child(void *c, int signum)
{
	return cp_child_kill(c, signum);
}

void
cmd_forward_signals(uv_loop_t *loop, struct cp_child *c)
{
	cmd_forward_signals_to(loop, kill_child, c);
}

void
cmd_forward_signals_to(uv_loop_t *loop, int (*kill_fn)(void *, int), void *arg)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	int i;

	fwd_kill = kill_fn;
	for (i = 0; i < 4; i++) {
		if (uv_signal_init(loop, &fwd[nfwd]) != 0)
			continue;
		fwd[nfwd].data = arg;
		uv_signal_start(&fwd[nfwd], forward_cb, sigs[i]);
		uv_unref((uv_handle_t *)&fwd[nfwd]);
		nfwd++;
	}
}

void
cmd_stop_forwarding(void)
{
	int i;

	for (i = 0; i < nfwd; i++)
		uv_close((uv_handle_t *)&fwd[i], NULL);
	nfwd = 0;
}

int
cmd_read_file(const char *path, char **bufp, size_t *lenp)
{
	char *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, e;

	*bufp = NULL;
	*lenp = 0;
	/* "-" is our standard input, read to its end and left open. */
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (-errno);
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(buf, cap + 1)) == NULL) {
				e = UV_ENOMEM;
				goto fail;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = (-errno);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return UV_ENOMEM;
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return e;
}

int
cmd_result_status(const struct cp_result *r, const char *cwd, const char *file,
    bool json)
{
	char *msg;
	int status;

	if (r->pid == 0 && r->error < 0) {
		if (json)
			return cmd_spawn_status(cwd, r->error);
		(void)cp_result_message(r, &msg);
		status = cmd_spawn_failed(cwd, file, r->error,
		    msg != NULL ? msg : cp_err_name(r->error));
		free(msg);
		return status;
	}
	if (r->timed_out)
		return CMD_EXIT_TIMEOUT;
	if (r->error == UV_ENOBUFS || r->error == CP_EXEC_MAXBUFFER) {
		if (!json && cp_result_message(r, &msg) == 0 && msg != NULL) {
			cmd_warn("%s: output over --max-buffer, child killed (%s)",
			    file, msg);
			free(msg);
		}
		/*
		 * The output was cut: 125 whether our signal or the child's
		 * own exit came first, as a timeout is always 124.
		 */
		return CMD_EXIT_FAILURE;
	}
	return cp_exit_status(0, r->status, r->signal, false);
}

void
cmd_write_output(int fd, const struct cp_output *o)
{
	fflush(fd == STDOUT_FILENO ? stdout : stderr);
	if (o->data != NULL && o->len > 0)
		cmd_write_all(fd, o->data, o->len);
}

int
cmd_exec_kill(void *x, int signum)
{
	return cp_exec_kill(x, signum);
}

void
cmd_run_done(struct cp_exec *x, struct cp_result *r, void *data)
{
	struct cmd_run *run = data;

	(void)x;
	cmd_stop_forwarding();
	run->r = r;
}

void
cmd_run_init(struct cmd_run *run, uv_loop_t *loop,
    const struct cp_spawn_options *so)
{
	int r;

	if ((r = uv_loop_init(loop)) != 0)
		cmd_die("cannot start the event loop: %s", cp_strerror(r));
	run->cwd = so->cwd;
	run->file = so->shell != NULL ? so->shell : so->file;
}

int
cmd_run_end(struct cmd_run *run, struct cp_exec *x, uv_loop_t *loop,
    struct cmd_common *co)
{
	int status;

	status = cmd_result_status(run->r, run->cwd, run->file, co->json);
	cp_exec_close(x, NULL);
	uv_run(loop, UV_RUN_DEFAULT);	/* the close */
	cp_exec_free(x);
	uv_loop_close(loop);
	cmd_release_common(co);
	return cmd_finish(status);
}

enum cp_encoding
cmd_apply_output(const struct cmd_common *co, struct cp_exec_options *o,
    const char *file)
{
	enum cp_encoding enc = CP_ENC_UTF8;

	if (file[0] == '\0')
		cmd_die("The argument 'file' cannot be empty. Received ''");
	if (co->encoding != NULL && cp_encoding_parse(co->encoding, &enc) != 0)
		cmd_die("Unknown encoding: %s", co->encoding);
	if (co->max_buffer_set)
		o->max_buffer = co->max_buffer_infinite ? CP_MAX_BUFFER_INFINITY :
		    co->max_buffer;
	return enc;
}

void
cmd_print_json(json_t *v)
{
	char *text;

	if (v == NULL || (text = cp_json_stringify(v, NULL)) == NULL)
		cmd_die("out of memory");
	json_decref(v);
	printf("%s\n", text);
	free(text);
}
