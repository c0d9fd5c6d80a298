/*
 * cmd/control.c - the control socket of a master, and its client.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "control.h"

#define LINE_MAX_ 256			/* a command is short */
#define IDLE_MS 5000			/* a client that says nothing goes */

struct sample {
	int pid;
	unsigned long long ticks;	/* utime + stime */
	uint64_t ms;			/* when, on uv_hrtime's clock */
};

struct cmd_control {
	uv_loop_t *loop;
	uv_pipe_t server;
	char *path;
	const struct cmd_control_ops *ops;
	void *data;
	struct conn *conns;
	struct sample *samples;
	size_t nsamples;
};

struct conn {
	struct conn *next, **prevp;
	struct cmd_control *ctl;
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wreq;
	char buf[LINE_MAX_];
	size_t len;
	char *reply;
	int open;			/* handles not yet closed */
	bool answered;
};

/* ---- /proc ------------------------------------------------------------- */

/* utime+stime (ticks) and RSS (bytes) of pid; false if it is gone. */
static bool
proc_stat(int pid, unsigned long long *ticks, unsigned long long *rss)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long rss_pages;
	FILE *fp;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return false;
	/* After "pid (comm)": state is field 3, utime 14, stime 15, rss 24. */
	if (fgets(buf, sizeof(buf), fp) != NULL &&
	    (p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &ut, &st, &rss_pages) == 3) {
		*ticks = ut + st;
		*rss = rss_pages > 0 ?
		    (unsigned long long)rss_pages * (unsigned long long)
		    sysconf(_SC_PAGESIZE) : 0;
		ok = true;
	}
	fclose(fp);
	return ok;
}

/*
 * Adds rss, cpu and cpu_percent to a worker: the percentage over the time
 * since the previous status request, or since the worker started.
 */
static void
add_usage(struct cmd_control *ctl, json_t *w, struct sample *next, size_t *n)
{
	unsigned long long ticks, rss;
	long hz = sysconf(_SC_CLK_TCK);
	json_t *up = json_object_get(w, "uptime_ms");
	uint64_t now = uv_hrtime() / 1000000, span = 0;
	double cpu, delta = -1;
	size_t i;
	int pid = (int)json_integer_value(json_object_get(w, "pid"));

	if (pid <= 0 || !proc_stat(pid, &ticks, &rss)) {
		json_object_set_new(w, "rss", json_null());
		json_object_set_new(w, "cpu", json_null());
		json_object_set_new(w, "cpu_percent", json_null());
		return;
	}
	cpu = (double)ticks / (double)(hz > 0 ? hz : 100);
	for (i = 0; i < ctl->nsamples; i++) {
		if (ctl->samples[i].pid == pid && now > ctl->samples[i].ms) {
			span = now - ctl->samples[i].ms;
			delta = (double)(ticks - ctl->samples[i].ticks) /
			    (double)(hz > 0 ? hz : 100);
		}
	}
	if (delta < 0 && json_is_integer(up)) {
		span = (uint64_t)json_integer_value(up);
		delta = cpu;
	}
	json_object_set_new(w, "rss", json_integer((json_int_t)rss));
	json_object_set_new(w, "cpu", json_real(cpu));
	json_object_set_new(w, "cpu_percent", span > 0 && delta >= 0 ?
	    json_real((double)(long)(delta * 1000.0 * 1000.0 / (double)span) /
	    10.0) : json_null());	/* one decimal, as pm2 shows it */
	next[*n].pid = pid;
	next[*n].ticks = ticks;
	next[*n].ms = now;
	(*n)++;
}

static json_t *
status_reply(struct cmd_control *ctl)
{
	json_t *st, *workers, *w;
	struct sample *next;
	size_t i, n = 0;

	if ((st = ctl->ops->status(ctl->data)) == NULL)
		return NULL;
	workers = json_object_get(st, "workers");
	next = calloc(json_array_size(workers) + 1, sizeof(*next));
	if (next == NULL) {
		json_decref(st);
		return NULL;
	}
	json_array_foreach(workers, i, w)
		add_usage(ctl, w, next, &n);
	free(ctl->samples);
	ctl->samples = next;
	ctl->nsamples = n;
	json_object_set_new(st, "ok", json_true());
	return st;
}

/* ---- the server -------------------------------------------------------- */

static void
conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->open > 0)
		return;
	free(c->reply);
	free(c);
}

static void
conn_close(struct conn *c)
{
	if (c->prevp == NULL)
		return;
	if (c->next != NULL)
		c->next->prevp = c->prevp;
	*c->prevp = c->next;
	c->prevp = NULL;
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void
written(uv_write_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static json_t *
error_reply(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/* Parses and runs one command line; returns the reply. */
static json_t *
run_command(struct cmd_control *ctl, char *line)
{
	const char *why = NULL;
	char *cmd, *arg, *end, *save;
	long n;
	int r;

	cmd = strtok_r(line, " \t\r", &save);
	arg = cmd != NULL ? strtok_r(NULL, " \t\r", &save) : NULL;
	if (cmd == NULL)
		return error_reply("empty command: expected status, scale N, "
		    "reload or stop");
	if (strcmp(cmd, "scale") != 0 && arg != NULL)
		return error_reply("unexpected argument");
	if (strcmp(cmd, "status") == 0)
		return status_reply(ctl);
	if (strcmp(cmd, "scale") == 0) {
		if (arg == NULL || strtok_r(NULL, " \t\r", &save) != NULL)
			return error_reply("scale: expected one number");
		n = strtol(arg, &end, 10);
		if (*end != '\0' || end == arg || n < 1 || n > 1024)
			return error_reply("scale: a number from 1 to 1024");
		r = ctl->ops->scale(ctl->data, (int)n, &why);
	} else if (strcmp(cmd, "reload") == 0) {
		r = ctl->ops->reload(ctl->data, &why);
	} else if (strcmp(cmd, "stop") == 0) {
		r = ctl->ops->stop(ctl->data, &why);
	} else {
		return error_reply("unknown command: expected status, scale N, "
		    "reload or stop");
	}
	if (r != 0)
		return error_reply(why != NULL ? why : cp_strerror(r));
	return json_pack("{s:b}", "ok", 1);
}

static void
answer(struct conn *c, json_t *v)
{
	uv_buf_t b;
	char *s;

	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(6)) :
	    NULL;
	json_decref(v);
	if (s == NULL) {
		conn_close(c);
		return;
	}
	if ((c->reply = malloc(strlen(s) + 2)) == NULL) {
		free(s);
		conn_close(c);
		return;
	}
	strcpy(c->reply, s);
	strcat(c->reply, "\n");
	free(s);
	b = uv_buf_init(c->reply, (unsigned int)strlen(c->reply));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1, written) != 0)
		conn_close(c);
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->buf + c->len, (unsigned int)(sizeof(c->buf) -
	    c->len));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	char *nl;

	(void)buf;
	if (c->answered)
		return;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf))
			answer(c, error_reply("command too long"));
		return;
	}
	*nl = '\0';
	answer(c, run_command(c->ctl, c->buf));
}

static void
idle_cb(uv_timer_t *t)
{
	conn_close(t->data);
}

/* Root, or our own user: the mode of the socket says so too. */
static bool
peer_allowed(uv_pipe_t *p)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct cmd_control *ctl = server->data;
	struct conn *c;

	if (status != 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->ctl = ctl;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	uv_timer_init(ctl->loop, &c->timer);
	c->pipe.data = c;
	c->timer.data = c;
	c->open = 2;
	c->next = ctl->conns;
	if (c->next != NULL)
		c->next->prevp = &c->next;
	c->prevp = &ctl->conns;
	ctl->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (!peer_allowed(&c->pipe)) {
		answer(c, error_reply("permission denied"));
		return;
	}
	uv_timer_start(&c->timer, idle_cb, IDLE_MS, 0);
	uv_unref((uv_handle_t *)&c->timer);
	if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
		conn_close(c);
}

/* Is something answering on path?  A socket nobody listens on is stale. */
static int
check_path(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return UV_EEXIST;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return UV_ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0)
		return UV_EADDRINUSE;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int
cmd_control_open(uv_loop_t *loop, const char *path,
    const struct cmd_control_ops *ops, void *data, struct cmd_control **ctlp)
{
	struct cmd_control *ctl;
	mode_t old;
	int r;

	if ((r = check_path(path)) != 0)
		return r;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(path)) == NULL) {
		free(ctl);
		return UV_ENOMEM;
	}
	ctl->loop = loop;
	ctl->ops = ops;
	ctl->data = data;
	if ((r = uv_pipe_init(loop, &ctl->server, 0)) != 0) {
		free(ctl->path);
		free(ctl);
		return r;
	}
	ctl->server.data = ctl;
	/* Owner-only from the start: no window with a wider mode. */
	old = umask(077);
	r = uv_pipe_bind(&ctl->server, path);
	umask(old);
	if (r == 0 && chmod(path, 0600) != 0)
		r = -errno;
	if (r == 0)
		r = uv_listen((uv_stream_t *)&ctl->server, 16, connection_cb);
	if (r != 0) {
		ctl->path[0] = '\0';	/* not ours to unlink */
		cmd_control_close(ctl);
		return r;
	}
	uv_unref((uv_handle_t *)&ctl->server);
	*ctlp = ctl;
	return 0;
}

static void
server_closed(uv_handle_t *h)
{
	struct cmd_control *ctl = h->data;

	free(ctl->samples);
	free(ctl->path);
	free(ctl);
}

void
cmd_control_close(struct cmd_control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		conn_close(ctl->conns);
	if (ctl->path[0] != '\0')
		unlink(ctl->path);
	uv_close((uv_handle_t *)&ctl->server, server_closed);
}

/* ---- the client -------------------------------------------------------- */

static void
human_size(char *buf, size_t len, json_t *v)
{
	double b = json_number_value(v);

	if (!json_is_number(v))
		snprintf(buf, len, "-");
	else if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1fgb", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.1fmb", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1fkb", b / 1024.0);
}

static void
human_time(char *buf, size_t len, json_t *v)
{
	long long s = json_integer_value(v) / 1000;

	if (!json_is_integer(v))
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldD", s / 86400);
}

static void
number_or_dash(char *buf, size_t len, json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
}

/* A table as pm2 ls prints one. */
static void
print_table(json_t *st)
{
	static const char *const head[] = { "slot", "pid", "state", "uptime",
	    "restarts", "cpu", "mem", "conns" };
	enum { NCOL = 8 };
	json_t *workers = json_object_get(st, "workers"), *w;
	size_t i, n = json_array_size(workers), r, k;
	char (*cell)[NCOL][32];
	int width[NCOL];

	if ((cell = calloc(n + 1, sizeof(*cell))) == NULL)
		return;
	for (k = 0; k < NCOL; k++)
		snprintf(cell[0][k], sizeof(cell[0][k]), "%s", head[k]);
	json_array_foreach(workers, i, w) {
		char (*c)[32] = cell[i + 1];
		json_t *cpu = json_object_get(w, "cpu_percent");

		number_or_dash(c[0], 32, json_object_get(w, "slot"));
		number_or_dash(c[1], 32, json_object_get(w, "pid"));
		snprintf(c[2], 32, "%s", json_is_string(json_object_get(w,
		    "state")) ? json_string_value(json_object_get(w, "state")) :
		    "-");
		human_time(c[3], 32, json_object_get(w, "uptime_ms"));
		number_or_dash(c[4], 32, json_object_get(w, "restarts"));
		if (json_is_number(cpu))
			snprintf(c[5], 32, "%.1f%%", json_number_value(cpu));
		else
			snprintf(c[5], 32, "-");
		human_size(c[6], 32, json_object_get(w, "rss"));
		number_or_dash(c[7], 32, json_object_get(w, "connections"));
	}
	for (k = 0; k < NCOL; k++) {
		width[k] = 0;
		for (r = 0; r <= n; r++)
			if ((int)strlen(cell[r][k]) > width[k])
				width[k] = (int)strlen(cell[r][k]);
	}
	printf("master pid %lld, %zu worker%s\n",
	    (long long)json_integer_value(json_object_get(st, "pid")), n,
	    n == 1 ? "" : "s");
	for (r = 0; r <= n; r++) {
		for (k = 0; k < NCOL; k++)
			printf("%s%-*s", k == 0 ? "" : " \342\224\202 ", width[k],
			    cell[r][k]);
		putchar('\n');
		if (r == 0) {
			for (k = 0; k < NCOL; k++) {
				int j;

				printf("%s", k == 0 ? "" : "\342\224\200\342\224\274\342\224\200");
				for (j = 0; j < width[k]; j++)
					printf("\342\224\200");
			}
			putchar('\n');
		}
	}
	free(cell);
}

int
cmd_control_client(const char *path, int argc, char **argv, bool json)
{
	struct sockaddr_un sun;
	char req[LINE_MAX_], *buf = NULL, *nb;
	size_t len = 0, cap = 0, off = 0;
	json_error_t e;
	json_t *v;
	ssize_t n;
	int fd, i, ok;

	req[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (strlen(req) + strlen(argv[i]) + 2 >= sizeof(req)) {
			cmd_warn("--ctl: command too long");
			return CMD_EXIT_FAILURE;
		}
		if (i > 0)
			strcat(req, " ");
		strcat(req, argv[i]);
	}
	if (argc == 0)
		strcpy(req, "status");
	strcat(req, "\n");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		cmd_warn("--ctl '%s': %s", path, cp_strerror(UV_ENAMETOOLONG));
		return CMD_EXIT_FAILURE;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		cmd_warn("cannot reach the master at '%s': %s", path,
		    cp_strerror(-errno));
		if (fd >= 0)
			close(fd);
		return CMD_EXIT_FAILURE;
	}
	len = strlen(req);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cmd_warn("'%s': %s", path, cp_strerror(-errno));
			close(fd);
			return CMD_EXIT_FAILURE;
		}
		off += (size_t)n;
	}
	len = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (64u << 20) || (nb = realloc(buf, cap)) == NULL) {
				cmd_warn("'%s': answer too long", path);
				free(buf);
				close(fd);
				return CMD_EXIT_FAILURE;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	v = json_loadb(buf != NULL ? buf : "", len, 0, &e);
	if (!json_is_object(v)) {
		cmd_warn("'%s': no valid answer from the master%s%s", path,
		    len == 0 ? "" : ": ", len == 0 ? "" : e.text);
		json_decref(v);
		free(buf);
		return CMD_EXIT_FAILURE;
	}
	ok = json_is_true(json_object_get(v, "ok"));
	if (!ok)
		cmd_warn("%s", json_string_value(json_object_get(v, "error")) != NULL ?
		    json_string_value(json_object_get(v, "error")) : "failed");
	else if (!json && json_is_array(json_object_get(v, "workers")))
		print_table(v);
	else
		fwrite(buf, 1, len, stdout);
	json_decref(v);
	free(buf);
	return ok ? 0 : 1;
}
