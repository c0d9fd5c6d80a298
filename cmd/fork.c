/*
 * cmd/fork.c - childproc-fork: run Node modules with Node's IPC channel,
 * bridge it to stdin/stdout (bridge.c), and (with -n or --listen) act as
 * the master of a pool of workers sharing a listening socket (pool.c, over
 * the library's cp_pool).  This file reads the options and runs the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"
#include "control.h"
#include "init.h"
#include "systemd.h"

enum {
	OPT_EXEC_PATH = OPT_FIRST_OWN,
	OPT_EXEC_ARG,
	OPT_END,
	OPT_END_MESSAGE,
	OPT_MAX_MESSAGE,
	OPT_DISPATCH,
	OPT_TAG,
	OPT_LISTEN,
	OPT_HANDLE_MESSAGE,
	OPT_RESTART,
	OPT_MAX_RESTARTS,
	OPT_GRACE,
	OPT_BALANCE,
	OPT_STATUS_FD,
	OPT_CONTROL,
	OPT_CTL,
	OPT_STATUS_FORMAT,
	OPT_SCHED,
	OPT_NO_CLUSTER,
	OPT_HEARTBEAT,
	OPT_MAX_MEMORY,
	OPT_READY_MESSAGE,
	OPT_READY_TIMEOUT,
	OPT_READY_SETTLE,
	OPT_BACKOFF,
	OPT_MAX_REQUESTS,
	OPT_MAX_REQUESTS_JITTER,
	OPT_MAX_WORKERS,
	OPT_PREFIX,
	OPT_MASTER_POLICY,
};


static const struct cmd_option bridge_options[] = {
	{ "exec-path", required_argument, OPT_EXEC_PATH, "PATH", "the node binary (default: node, found in PATH)" },
	{ "exec-arg", required_argument, OPT_EXEC_ARG, "ARG", "an argument for node before MODULE (repeatable)" },
	{ "end", required_argument, OPT_END, "MODE", "when to stop once input has ended:\nwait (default), replies, idle:DURATION, disconnect" },
	{ "end-message", required_argument, OPT_END_MESSAGE, "JSON", "send JSON when input ends" },
	{ "max-message", required_argument, OPT_MAX_MESSAGE, "SIZE", "longest message accepted (default 512M)" },
	CMD_OPTIONS_END
};

static const struct cmd_option master_options[] = {
	{ "workers", required_argument, 'n', "N|auto", "run N workers (auto: one per CPU)" },
	{ "max-workers", required_argument, OPT_MAX_WORKERS, "N", "TTIN and --ctl scale go up to N workers\n(default: 64, or -n if more)" },
	{ "dispatch", required_argument, OPT_DISPATCH, "MODE", "input to workers: round-robin (default) or broadcast" },
	{ "tag", no_argument, OPT_TAG, NULL, "print {\"worker\":N,\"message\":MSG} lines" },
	{ "listen", required_argument, OPT_LISTEN, "[HOST:]PORT", "open a listening socket (or unix:PATH) and send it\nto every worker as a net.Server" },
	{ "handle-message", required_argument, OPT_HANDLE_MESSAGE, "JSON", "the message sent with it (default \"server\")" },
	{ "sched", required_argument, OPT_SCHED, "POLICY", "cluster servers: rr (default, or as\nNODE_CLUSTER_SCHED_POLICY says), none,\nreuseport" },
	{ "no-cluster", no_argument, OPT_NO_CLUSTER, NULL, "plain workers: no cluster protocol" },
	{ "balance", required_argument, OPT_BALANCE, "MODE", "--listen: shared (default) or reuseport" },
	{ "restart", required_argument, OPT_RESTART, "POLICY", "no (default), on-failure, always" },
	{ "max-restarts", required_argument, OPT_MAX_RESTARTS, "N/DURATION", "give up after N restarts within DURATION\n(default 10/60s); unlimited: never" },
	{ "backoff", required_argument, OPT_BACKOFF, "INITIAL[/MAX]", "restart delay after a quick exit, doubling\nup to MAX (default 100ms/30s)" },
	{ "grace", required_argument, OPT_GRACE, "DURATION", "on TERM/INT, or once our stdout is closed, wait\nthis long before SIGKILL (default 5s)" },
	{ "prefix", no_argument, OPT_PREFIX, NULL, "start each line a worker writes with its slot:\n\"[1] \"" },
	{ "master-policy", required_argument, OPT_MASTER_POLICY, "POLICY", "the master's CPU policy: batch (default;\nSCHED_BATCH, it does not preempt its\nworkers) or keep (as started)" },
	{ "status-fd", required_argument, OPT_STATUS_FD, "N", "write status lines to fd N instead of stderr" },
	{ "control", required_argument, OPT_CONTROL, "PATH", "answer status, reload and stop on the unix\nsocket PATH (mode 0600)" },
	{ "ctl", required_argument, OPT_CTL, "PATH [COMMAND]", "send COMMAND (default status) to the master\nat PATH and print its answer" },
	{ "status-format", required_argument, OPT_STATUS_FORMAT, "FMT", "text or json: the master's status lines\nand --prefix lines (default text), --ctl's output (default: a\ntable on a terminal)" },
	{ "heartbeat", required_argument, OPT_HEARTBEAT, "DURATION", "SIGKILL and replace a worker whose event loop\nleaves a ping unanswered for DURATION" },
	{ "max-memory", required_argument, OPT_MAX_MEMORY, "SIZE", "replace a worker whose RSS grows over SIZE" },
	{ "max-requests", required_argument, OPT_MAX_REQUESTS, "N", "replace a worker once it has taken N connections\n(cluster mode, --sched rr)" },
	{ "max-requests-jitter", required_argument, OPT_MAX_REQUESTS_JITTER, "M", "... N plus a random 0 to M, so that workers\ndo not all go at once" },
	{ "ready-message", required_argument, OPT_READY_MESSAGE, "MSG", "a worker is ready once it sends MSG (JSON, or\nelse a string), not when it listens" },
	{ "ready-timeout", required_argument, OPT_READY_TIMEOUT, "DURATION", "a replacement not ready by then fails and a\nrolling restart stops (default 60s, 0: none)" },
	{ "ready-settle", required_argument, OPT_READY_SETTLE, "DURATION", "ready only once up this long after saying so\n(default 1s)" },
	CMD_OPTIONS_END
};

static const struct cmd_option *const option_tables[] = {
	cmd_process_options, bridge_options, master_options, NULL
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: %s [options] MODULE [ARG...]\n"
"Run node [exec-args] MODULE ARG... with Node's IPC channel on fd 3, and\n"
"bridge it: each line of standard input is one JSON message to the child,\n"
"each message from the child is one line on standard output.  With -n or\n"
"--listen, run a pool of workers as a master.\n"
"\n"
"Bridge options:\n", cmd_name);
	cmd_print_options(fp, bridge_options);
	fprintf(fp, "Master options:\n");
	cmd_print_options(fp, master_options);
	fprintf(fp, "Common options:\n");
	cmd_print_options(fp, cmd_process_options);
	fprintf(fp,
"\n"
"The child's stdout and stderr go to our stderr and its stdin is /dev/null,\n"
"unless --stdio says otherwise.  Exit status: the child's, 128+N after\n"
"signal N, 124 on timeout, 125 on our own error, 126/127 if node cannot be\n"
"run or found.\n");
}

/* ---- options ----------------------------------------------------------- */

#define END_FORMS "wait, replies, disconnect or idle:DURATION (idle:500ms)"

static void
parse_end(struct fork *f, const char *s)
{
	const char *why;
	char buf[64];

	if (strcmp(s, "wait") == 0)
		f->end = END_WAIT;
	else if (strcmp(s, "replies") == 0)
		f->end = END_REPLIES;
	else if (strcmp(s, "disconnect") == 0)
		f->end = END_DISCONNECT;
	else if (strncmp(s, "idle:", 5) == 0) {
		f->end = END_IDLE;
		why = s[5] == '\0' ? "no duration after 'idle:'" :
		    cmd_duration(s + 5, &f->idle_ms, buf, sizeof(buf));
		if (why != NULL)
			cmd_die("invalid --end '%s': %s; expected " END_FORMS
			    ", DURATION being " CMD_DURATION_FORMS, s, why);
	} else
		cmd_die("invalid --end '%s': not a mode; expected " END_FORMS, s);
}

/* -n and --max-workers (opt): 1 to 1024, or auto (-n only). */
static int
parse_workers(const char *s, const char *opt)
{
	char *end;
	long n;

	if (strcmp(opt, "workers") == 0 && strcmp(s, "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		return n > 0 ? (int)n : 1;
	}
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 1 || n > 1024)
		cmd_die("invalid --%s '%s': a number from 1 to 1024%s", opt, s,
		    strcmp(opt, "workers") == 0 ? ", or auto" : "");
	return (int)n;
}

/* N, N/DURATION, or unlimited (0, infinity): never give up. */
static void
parse_max_restarts(struct cp_pool_options *po, const char *s)
{
	const char *why = NULL;
	char *end, buf[64];
	long n;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0 ||
	    strcmp(s, "0") == 0) {
		po->max_restarts = 0;
		return;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (end == s || (*end != '\0' && *end != '/') || *s == '+' ||
	    *s == '-' || *s == ' ')
		why = "not a number of restarts";
	else if (errno != 0 || n < 1 || n > 100000)
		why = "the number must be from 0 to 100000";
	else if (*end == '/' && end[1] == '\0')
		why = "no duration after '/'";
	else if (*end == '/')
		why = cmd_duration(end + 1, &po->restart_window_ms, buf,
		    sizeof(buf));
	if (why != NULL)
		cmd_die("invalid --max-restarts '%s': %s; expected N, N/DURATION "
		    "(10, 10/60s) or unlimited (or 0), N up to 100000, "
		    "DURATION being " CMD_DURATION_FORMS, s, why);
	po->max_restarts = (int)n;
}

/* --ready-message: JSON, or else the string itself (ready, "ready"). */
static json_t *
parse_ready_message(const char *s)
{
	json_t *v;

	if ((v = json_loadb(s, strlen(s), JSON_DECODE_ANY, NULL)) != NULL)
		return v;
	if ((v = json_stringn(s, strlen(s))) == NULL)
		cmd_die("--ready-message: not UTF-8: '%s'", s);
	return v;
}

/* --backoff INITIAL[/MAX]: the first restart delay and its cap. */
static void
parse_backoff(struct cp_pool_options *po, const char *s)
{
	const char *slash = strchr(s, '/');
	char first[64];

	if (slash == NULL) {
		po->backoff_ms = cmd_parse_duration(s, "backoff");
	} else {
		if ((size_t)(slash - s) >= sizeof(first))
			cmd_die("invalid --backoff '%s'", s);
		memcpy(first, s, (size_t)(slash - s));
		first[slash - s] = '\0';
		po->backoff_ms = cmd_parse_duration(first, "backoff");
		po->backoff_max_ms = cmd_parse_duration(slash + 1, "backoff");
	}
	if (po->backoff_ms == 0 || po->backoff_max_ms < po->backoff_ms)
		cmd_die("invalid --backoff '%s': INITIAL[/MAX], more than 0, "
		    "MAX not less than INITIAL", s);
}

/* A count for --max-requests and its jitter. */
static uint64_t
parse_count(const char *opt, const char *s)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    n > 1000000000000ULL)
		cmd_die("invalid --%s '%s': a whole number", opt, s);
	return n;
}

static json_t *
parse_json_arg(const char *opt, const char *s)
{
	json_error_t e;
	json_t *v;

	if ((v = json_loadb(s, strlen(s), JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &e)) == NULL)
		cmd_die("%s: invalid JSON: %s", opt, e.text);
	return v;
}

/* The child's stdio: --stdio with an IPC entry added, or our default. */
static void
set_stdio(struct cp_spawn_options *o, const char *spec, bool prefix)
{
	int fd;

	if (spec != NULL) {
		cmd_parse_stdio(spec, o);
		for (fd = 0; fd < o->stdio_count; fd++)
			if (cmd_stdio[fd].type == CP_STDIO_IPC)
				return;
		if (o->stdio_count == CMD_STDIO_MAX)
			cmd_die("--stdio: no room for the IPC channel");
		cmd_stdio[o->stdio_count++].type = CP_STDIO_IPC;
		return;
	}
	/* Our stdout carries messages: the child's output goes to stderr. */
	o->stdio = cmd_stdio;
	cmd_stdio[0].type = CP_STDIO_IGNORE;
	cmd_stdio[1].type = CP_STDIO_FD;
	cmd_stdio[1].fd = 2;
	cmd_stdio[2].type = CP_STDIO_INHERIT;
	if (prefix)	/* through us, a line at a time (pool.c) */
		cmd_stdio[1].type = cmd_stdio[2].type = CP_STDIO_PIPE;
	cmd_stdio[3].type = CP_STDIO_IPC;
	o->stdio_count = 4;
}

/* --listen: one socket for all, or one per worker on the same port. */
static int *
open_listeners(const char *spec, bool reuseport, int n, char *addr,
    size_t addrlen)
{
	int *fds, i, r;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		cmd_die("out of memory");
	for (i = 0; i < n; i++) {
		r = cp_listen(spec, reuseport ? CP_LISTEN_REUSEPORT : 0, 0,
		    &fds[i], addr, addrlen);
		if (r != 0)
			cmd_die("cannot listen on '%s': %s", spec, cp_strerror(r));
		spec = addr;	/* the port actually bound, for the rest */
	}
	return fds;
}

/*
 * rr, none or reuseport.  Node reads its NODE_CLUSTER_SCHED_POLICY the
 * same way: anything but "none" is rr (and "reuseport" is ours).
 */
static int
parse_sched(const char *s, enum cp_sched *sched)
{
	*sched = CP_SCHED_RR;
	if (s == NULL)
		return 0;
	if (strcmp(s, "none") == 0)
		*sched = CP_SCHED_NONE;
	else if (strcmp(s, "reuseport") == 0)
		*sched = CP_SCHED_REUSEPORT;
	else if (strcmp(s, "rr") != 0)
		return UV_EINVAL;
	return 0;
}

/* The n sockets systemd passed (fds 3 ...), checked. */
static int *
activated_fds(int n)
{
	char a[300];
	int *fds, j, r;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		cmd_die("out of memory");
	for (j = 0; j < n; j++) {
		fds[j] = SD_LISTEN_FDS_START + j;
		if ((r = cmd_sock_addr(fds[j], a, sizeof(a))) != 0)
			cmd_die("socket activation: fd %d%s%s%s is not a listening "
			    "stream socket: %s", fds[j],
			    cmd_sd_fd_name(fds[j]) ? " (" : "",
			    cmd_sd_fd_name(fds[j]) ? cmd_sd_fd_name(fds[j]) : "",
			    cmd_sd_fd_name(fds[j]) ? ")" : "", cp_strerror(r));
	}
	return fds;
}

/*
 * The master runs SCHED_BATCH: the scheduler does not let it preempt the
 * task that is running when it wakes.  Under rr it wakes for every new
 * connection and every worker's answer, and does a few microseconds of
 * work each time; preempting a worker for that costs two context switches.
 * Waiting for the worker to block or use up its slice lets one wake-up
 * take several events.  Its share of the CPU (its weight) stays as it was.
 * Its children start SCHED_OTHER, as they would have: workers through
 * CP_SPAWN_SCHED_OTHER (SCHED_RESET_ON_FORK resets only real-time
 * policies), a new master after USR2 by hand.  A policy an operator chose
 * (chrt, systemd's CPUSchedulingPolicy=) is left alone, and inherited.
 */
static void
master_batch(struct fork *f, struct cp_spawn_options *spawn)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (sched_getscheduler(0) != SCHED_OTHER)
		return;
	if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0) {
		fork_warn(f, "cannot run as SCHED_BATCH (--master-policy keep "
		    "does not try): %s", strerror(errno));
		return;
	}
	f->batch = true;
	spawn->flags |= CP_SPAWN_SCHED_OTHER;
}

int
main(int argc, char *argv[])
{
	struct cmd_common co = { 0 };
	struct fork f = { 0 };
	struct cp_pool_options po = CP_POOL_OPTIONS_INIT;
	const char *exec_path = "node", *listen_spec = NULL;
	char **exec_args = NULL, **args = NULL, **env, addr[300];
	size_t n_exec = 0, i, nargs;
	bool inf, restart_set = false, reuseport = false, ctl_json = !isatty(1);
	const char *control = NULL, *ctl = NULL;
	int ch, r, fd, nworkers = 1, j, *listen_fds = NULL;
	bool no_cluster = false, sched_set = false, balance_set = false;
	bool inherited = false;		/* USR2: sockets from the old master */
	bool keep_policy = false;	/* --master-policy keep */
	json_t *handle_msg = NULL, *ready_msg = NULL;
	struct cmd_getopt g;
	uv_loop_t loop;

	cmd_init("childproc-fork", argv);
	f.argv = argv;			/* USR2 runs a new master with it */
	f.status_fd = -1;
	f.up_pidfd = -1;
	cmd_getopt_init(&g, option_tables, &co, usage);
	while ((ch = cmd_getopt(&g, argc, argv)) != -1) {
		switch (ch) {
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
			parse_end(&f, optarg);
			f.end_given = true;
			break;
		case OPT_END_MESSAGE:
			json_decref(parse_json_arg("--end-message", optarg));
			f.end_message = optarg;
			break;
		case OPT_MAX_MESSAGE:
			f.max_message = cmd_parse_size(optarg, "max-message", &inf);
			if (inf)
				f.max_message = 0;
			break;
		case 'n':
			nworkers = parse_workers(optarg, "workers");
			f.master = true;
			break;
		case OPT_PREFIX:
			f.prefix = true;
			break;
		case OPT_MASTER_POLICY:
			if (strcmp(optarg, "batch") == 0)
				keep_policy = false;
			else if (strcmp(optarg, "keep") == 0)
				keep_policy = true;
			else
				cmd_die("invalid --master-policy '%s': batch or keep",
				    optarg);
			break;
		case OPT_MAX_WORKERS:
			f.max_workers = parse_workers(optarg, "max-workers");
			break;
		case OPT_DISPATCH:
			if (strcmp(optarg, "broadcast") == 0)
				f.broadcast = true;
			else if (strcmp(optarg, "round-robin") == 0)
				f.broadcast = false;
			else
				cmd_die("invalid --dispatch '%s': round-robin or "
				    "broadcast", optarg);
			break;
		case OPT_TAG:
			f.tag = true;
			break;
		case OPT_LISTEN:
			listen_spec = optarg;
			f.master = true;
			break;
		case OPT_HANDLE_MESSAGE:
			json_decref(handle_msg);
			handle_msg = parse_json_arg("--handle-message", optarg);
			break;
		case OPT_RESTART:
			if (strcmp(optarg, "no") == 0)
				po.restart = CP_RESTART_NO;
			else if (strcmp(optarg, "on-failure") == 0)
				po.restart = CP_RESTART_ON_FAILURE;
			else if (strcmp(optarg, "always") == 0)
				po.restart = CP_RESTART_ALWAYS;
			else
				cmd_die("invalid --restart '%s': no, on-failure or "
				    "always", optarg);
			restart_set = true;
			break;
		case OPT_MAX_RESTARTS:
			parse_max_restarts(&po, optarg);
			break;
		case OPT_BACKOFF:
			parse_backoff(&po, optarg);
			break;
		case OPT_MAX_REQUESTS:
			po.max_connections = parse_count("max-requests", optarg);
			if (po.max_connections == 0)
				cmd_die("invalid --max-requests '%s': must be more "
				    "than 0", optarg);
			f.master = true;
			break;
		case OPT_MAX_REQUESTS_JITTER:
			po.max_connections_jitter = parse_count(
			    "max-requests-jitter", optarg);
			break;
		case OPT_GRACE:
			po.grace_ms = cmd_parse_duration(optarg, "grace");
			break;
		case OPT_BALANCE:
			if (strcmp(optarg, "reuseport") == 0)
				reuseport = true;
			else if (strcmp(optarg, "shared") == 0)
				reuseport = false;
			else
				cmd_die("invalid --balance '%s': shared or reuseport",
				    optarg);
			balance_set = true;
			break;
		case OPT_STATUS_FD:
			/* After USR2: the old master's, passed on. */
			j = fork_upgrade_status_fd(fd = (int)strtol(optarg,
			    NULL, 10));
			if (j < 0 || fcntl(j, F_GETFD) < 0 ||
			    (f.status_fd = fcntl(j, F_DUPFD_CLOEXEC, 3)) < 0)
				cmd_die("--status-fd: '%s' is not an open fd", optarg);
			if (j != fd)
				close(j);
			break;
		case OPT_CONTROL:
			control = optarg;
			break;
		case OPT_SCHED:
			if (parse_sched(optarg, &po.sched) != 0)
				cmd_die("invalid --sched '%s': rr, none or reuseport",
				    optarg);
			sched_set = true;
			break;
		case OPT_NO_CLUSTER:
			no_cluster = true;
			break;
		case OPT_HEARTBEAT:
			f.heartbeat_ms = cmd_parse_duration(optarg, "heartbeat");
			if (f.heartbeat_ms == 0)
				cmd_die("invalid --heartbeat '%s': must be more than 0",
				    optarg);
			f.master = true;
			break;
		case OPT_MAX_MEMORY:
			f.max_memory = cmd_parse_size(optarg, "max-memory", &inf);
			if (inf)
				f.max_memory = 0;
			f.master = true;
			break;
		case OPT_READY_MESSAGE:
			json_decref(ready_msg);
			ready_msg = parse_ready_message(optarg);
			break;
		case OPT_READY_TIMEOUT:
			po.ready_timeout_ms = cmd_parse_duration(optarg,
			    "ready-timeout");
			break;
		case OPT_READY_SETTLE:
			po.ready_settle_ms = cmd_parse_duration(optarg,
			    "ready-settle");
			break;
		case OPT_CTL:
			ctl = optarg;
			break;
		case OPT_STATUS_FORMAT:
			if (strcmp(optarg, "json") == 0)
				ctl_json = f.status_json = true;
			else if (strcmp(optarg, "text") == 0)
				ctl_json = f.status_json = false;
			else
				cmd_die("invalid --status-format '%s': text or json",
				    optarg);
			break;
		default:
			cmd_usage_error();
		}
	}
	argc -= optind;
	argv += optind;
	if (ctl != NULL) {
		/* The client of a running master's --control socket. */
		r = cmd_control_client(ctl, argc, argv, ctl_json);
		free(exec_args);
		json_decref(handle_msg);
		json_decref(ready_msg);
		cmd_release_common(&co);
		return cmd_finish(r);
	}
	if (argc < 1) {
		cmd_warn("missing MODULE");
		cmd_usage_error();
	}
	if (restart_set && po.restart != CP_RESTART_NO)
		f.master = true;
	if (control != NULL)
		f.master = true;

	/* node [exec-args] MODULE ARG... */
	nargs = n_exec + (size_t)argc;
	if ((args = calloc(nargs + 1, sizeof(*args))) == NULL)
		cmd_die("out of memory");
	for (i = 0; i < n_exec; i++)
		args[i] = exec_args[i];
	for (i = 0; i < (size_t)argc; i++)
		args[n_exec + i] = argv[i];

	/* systemd's variables are the master's, not the workers'. */
	cmd_sd_init();
	if ((r = cmd_sd_listen_fds()) < 0)
		cmd_die("socket activation: LISTEN_FDS: %s", cp_strerror(r));
	if (r > 0) {
		if (reuseport)
			cmd_die("--balance reuseport cannot use the sockets passed "
			    "by systemd (one socket per worker is needed)");
		f.activated = true;
		f.master = true;
		if (listen_spec != NULL)
			cmd_warn("--listen %s ignored: using the %d socket%s "
			    "passed by systemd", listen_spec, r, r == 1 ? "" : "s");
		listen_spec = NULL;
		listen_fds = activated_fds(r);
		po.listen_fds = listen_fds;
		po.listen_count = r;
	} else if ((r = fork_upgrade_inherit(&f, &listen_fds)) > 0) {
		/* USR2: the old master's sockets, its --listen or systemd's. */
		inherited = true;
		f.master = true;
		po.listen_fds = listen_fds;
		po.listen_count = r;
	}
	/* Flags for a pool or a socket we do not have: say so, run anyway. */
	if (f.tag && !f.master)
		cmd_ignored("--tag", "it says which worker of a pool sent a "
		    "message, and there is one child (see -n)");
	if (balance_set && listen_spec == NULL)
		cmd_ignored("--balance", "it says how workers share the --listen "
		    "socket (cluster servers: see --sched)");
	env = cmd_build_env(&co);
	po.spawn.file = exec_path;
	po.spawn.args = args;
	cmd_apply_common(&co, &po.spawn, env);
	po.spawn.max_message = f.max_message;
	set_stdio(&po.spawn, co.stdio, f.prefix);
	po.workers = nworkers;
	if (f.max_workers == 0)
		f.max_workers = nworkers > 64 ? nworkers : 64;
	else if (f.max_workers < nworkers)
		cmd_die("--max-workers %d is less than --workers %d",
		    f.max_workers, nworkers);
	/* One child (no master) is never scaled: no slots to spare. */
	po.max_workers = f.master ? f.max_workers : nworkers;
	if (f.master)
		po.flags |= CP_POOL_SLOT_ENV;
	/*
	 * A master whose workers get no socket from us is their cluster
	 * primary: their own listen() calls come to it.
	 */
	if (f.master && listen_spec == NULL && !f.activated && !inherited &&
	    !no_cluster) {
		po.flags |= CP_POOL_CLUSTER;
		if (!sched_set)
			(void)parse_sched(getenv("NODE_CLUSTER_SCHED_POLICY"),
			    &po.sched);
	}
	/*
	 * Deno (2.9) takes the listening socket of --sched none or reuseport,
	 * says it listens, and never accepts on it: clients would hang.
	 */
	if ((po.flags & CP_POOL_CLUSTER) && po.sched != CP_SCHED_RR &&
	    strncmp(strrchr(exec_path, '/') != NULL ? strrchr(exec_path, '/') +
	    1 : exec_path, "deno", 4) == 0)
		cmd_die("Deno workers never accept on a listening socket handed "
		    "to them (--sched %s): use --sched rr",
		    po.sched == CP_SCHED_NONE ? "none" : "reuseport");
	/*
	 * Only the rr primary hands out, and so counts, connections: with a
	 * shared socket the workers accept them and the count would be 0.
	 */
	if (po.max_connections > 0 && (!(po.flags & CP_POOL_CLUSTER) ||
	    po.sched != CP_SCHED_RR))
		cmd_die("--max-requests needs cluster mode with --sched rr: "
		    "with %s the workers accept the connections themselves and "
		    "the master cannot count them", (po.flags & CP_POOL_CLUSTER) ?
		    (po.sched == CP_SCHED_NONE ? "--sched none" :
		    "--sched reuseport") : f.activated ? "sockets from systemd" :
		    listen_spec != NULL ? "--listen" : "--no-cluster");
	if (po.max_connections_jitter > 0 && po.max_connections == 0)
		cmd_die("--max-requests-jitter needs --max-requests");
	f.counts = (po.flags & CP_POOL_CLUSTER) && po.sched == CP_SCHED_RR;
	po.handle_message = handle_msg;
	po.ready_message = ready_msg;
	f.ready_timeout_ms = po.ready_timeout_ms;
	f.file = po.spawn.file;
	f.cwd = po.spawn.cwd;
	f.max_restarts = po.max_restarts;
	f.window_ms = po.restart_window_ms;

	if (inherited && reuseport)
		po.flags |= CP_POOL_LISTEN_PER_SLOT;
	if (listen_spec != NULL && !inherited) {
		po.listen_count = reuseport ? nworkers : 1;
		if (reuseport)
			po.flags |= CP_POOL_LISTEN_PER_SLOT;
		listen_fds = open_listeners(listen_spec, reuseport,
		    po.listen_count, addr, sizeof(addr));
		po.listen_fds = listen_fds;
	}
	/* After USR2: as many workers as the old master had (TTIN, scale). */
	if (f.up_workers > 0 && f.up_workers != nworkers &&
	    f.up_workers <= f.max_workers &&
	    !(po.flags & CP_POOL_LISTEN_PER_SLOT))
		po.workers = f.up_workers;
	f.cluster = (po.flags & CP_POOL_CLUSTER) != 0;
	f.grace_ms = po.grace_ms;
	f.control = control;
	f.listen_fds = listen_fds;
	f.nlisten = po.listen_count;

	if (f.master && !keep_policy)
		master_batch(&f, &po.spawn);
	if ((r = uv_loop_init(&loop)) != 0)
		cmd_die("cannot start the event loop: %s", cp_strerror(r));
	f.loop = &loop;
	if ((r = cp_pool_create(&loop, &po, &fork_pool_events, &f, &f.pool)) != 0)
		cmd_die("cannot make the pool: %s", cp_strerror(r));
	f.started = uv_now(&loop);
	if ((f.spawned = calloc((size_t)cp_pool_capacity(f.pool),
	    sizeof(*f.spawned))) == NULL)
		cmd_die("out of memory");
	if (control != NULL && (r = cmd_control_open(&loop, control,
	    &fork_control_ops, &f, &f.ctl)) != 0)
		cmd_die("--control '%s': %s", control, r == UV_EADDRINUSE ?
		    "a master is running there already" : r == UV_EEXIST ?
		    "a file that is not a socket is in the way" : cp_strerror(r));
	if (po.workers != nworkers)
		fork_status(&f, "%d workers, as the old master had (-n %d)",
		    po.workers, nworkers);
	if (f.adopt != NULL)
		fork_upgrade_adopt(&f);
	if (inherited) {
		for (j = 0; j < po.listen_count; j++) {
			cmd_sock_addr(listen_fds[j], addr, sizeof(addr));
			fork_status(&f, "listening on %s (from the old master, "
			    "fd %d)", addr, listen_fds[j]);
		}
	} else if (f.activated) {
		for (j = 0; j < po.listen_count; j++) {
			cmd_sock_addr(listen_fds[j], addr, sizeof(addr));
			fork_status(&f, "listening on %s (from systemd, fd %d%s%s)",
			    addr, listen_fds[j], cmd_sd_fd_name(listen_fds[j]) ?
			    ", " : "", cmd_sd_fd_name(listen_fds[j]) ?
			    cmd_sd_fd_name(listen_fds[j]) : "");
		}
	} else if (listen_spec != NULL) {
		fork_status(&f, "listening on %s (%s)", addr,
		    reuseport ? "reuseport" : "shared");
	}
	/* Orphans of our workers, or of anyone as PID 1, are ours to reap. */
	if ((f.master || cmd_init_is_pid1()) && (r = cmd_init_reaper(&loop)) != 0)
		fork_warn(&f, "cannot reap orphans: %s", cp_strerror(r));
	if ((r = cmd_sd_start_watchdog(&loop)) != 0)
		fork_warn(&f, "systemd watchdog: %s", cp_strerror(r));
	bridge_init(&f);
	cp_pool_start(f.pool);
	if (!f.done) {
		fork_watch_start(&f);
		fork_signals_start(&f);
		bridge_start_input(&f);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	/* The pool is over: close what keeps no loop alive, and let it go. */
	cmd_init_stop();
	cmd_sd_stop();
	cmd_control_close(f.ctl);
	uv_run(&loop, UV_RUN_DEFAULT);
	fork_out_flush_all(&f);
	uv_loop_close(&loop);
	cp_pool_free(f.pool);
	if (f.lost > 0)
		fork_warn(&f, "%lu input line%s not delivered", f.lost,
		    f.lost == 1 ? " was" : "s were");
	r = f.status_code;
	if (f.master && f.stopping && !f.gave_up)
		r = 0;			/* a stop we were asked for */
	else if (f.gave_up && r == 0)
		r = CMD_EXIT_FAILURE;
	if (f.out_error)
		r = CMD_EXIT_FAILURE;
	for (j = 0; j < po.listen_count; j++)
		close(listen_fds[j]);
	/* After USR2 the socket is the new master's. */
	if (listen_spec != NULL && strncmp(listen_spec, "unix:", 5) == 0 &&
	    !f.handed_over)
		unlink(listen_spec + 5);
	if (f.status_fd >= 0)
		close(f.status_fd);
	json_decref(handle_msg);
	json_decref(ready_msg);
	free(listen_fds);
	free(f.spawned);
	free(f.beats);
	cmd_free_env(env);
	free(args);
	free(exec_args);
	cmd_release_common(&co);
	return cmd_finish(r);
}
