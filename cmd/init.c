/*
 * cmd/init.c - reaping adopted orphans.
 *
 * libuv reaps the children it spawned (waitpid on each process handle's pid
 * on SIGCHLD), so we must not waitpid(-1): that would steal their exit
 * statuses.  Instead list our children (/proc/self/task/T/children, or a
 * scan of /proc without it), and reap only those that are not the pid of one
 * of the loop's process handles nor one the library waits for itself
 * (cp_child_pid_owned: it starts children with posix_spawn and watches a
 * pidfd, not a process handle).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "init.h"

static uv_signal_t sigchld;
static bool reaper_on;
static unsigned long reaped;

struct pids {
	int *v;
	size_t n, cap;
};

static void
add_pid(struct pids *p, int pid)
{
	int *v;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		if ((v = realloc(p->v, p->cap * sizeof(*v))) == NULL)
			return;
		p->v = v;
	}
	p->v[p->n++] = pid;
}

static bool
has_pid(const struct pids *p, int pid)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return true;
	return false;
}

static void
walk_cb(uv_handle_t *h, void *arg)
{
	if (h->type == UV_PROCESS && !uv_is_closing(h))
		add_pid(arg, ((uv_process_t *)h)->pid);
}

/* Our children from /proc/self/task/T/children; false if not available. */
static bool
children_file(struct pids *out)
{
	char path[300];
	struct dirent *d;
	DIR *dir;
	FILE *fp;
	bool any = false;
	int pid;

	if ((dir = opendir("/proc/self/task")) == NULL)
		return false;
	while ((d = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
		    d->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		any = true;
		while (fscanf(fp, "%d", &pid) == 1)
			add_pid(out, pid);
		fclose(fp);
	}
	closedir(dir);
	return any;
}

/* Without CONFIG_PROC_CHILDREN: every process whose parent we are. */
static void
scan_proc(struct pids *out)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	DIR *dir;
	FILE *fp;
	int ppid, me = getpid();

	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		/* "pid (comm) state ppid": comm may hold spaces and parens. */
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == me)
			add_pid(out, atoi(d->d_name));
		fclose(fp);
	}
	closedir(dir);
}

int
cmd_init_reap(uv_loop_t *loop)
{
	struct pids ours = { 0 }, kids = { 0 };
	size_t i;
	int n = 0, st;
	pid_t r;

	uv_walk(loop, walk_cb, &ours);
	if (!children_file(&kids))
		scan_proc(&kids);
	for (i = 0; i < kids.n; i++) {
		if (has_pid(&ours, kids.v[i]) || cp_child_pid_owned(kids.v[i]))
			continue;
		do
			r = waitpid(kids.v[i], &st, WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r > 0)
			n++;
	}
	free(ours.v);
	free(kids.v);
	reaped += (unsigned long)n;
	return n;
}

static void
sigchld_cb(uv_signal_t *h, int signum)
{
	(void)signum;
	cmd_init_reap(h->loop);
}

bool
cmd_init_is_pid1(void)
{
	return getpid() == 1;
}

int
cmd_init_reaper(uv_loop_t *loop)
{
	int r;

	if (reaper_on)
		return 0;
	if (!cmd_init_is_pid1() && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return -errno;
	if ((r = uv_signal_init(loop, &sigchld)) != 0)
		return r;
	if ((r = uv_signal_start(&sigchld, sigchld_cb, SIGCHLD)) != 0) {
		uv_close((uv_handle_t *)&sigchld, NULL);
		return r;
	}
	uv_unref((uv_handle_t *)&sigchld);
	reaper_on = true;
	/* Orphans that came before the handle: a SIGCHLD may be behind us. */
	cmd_init_reap(loop);
	return 0;
}

unsigned long
cmd_init_reaped(void)
{
	return reaped;
}

void
cmd_init_stop(void)
{
	if (reaper_on) {
		reaper_on = false;
		uv_close((uv_handle_t *)&sigchld, NULL);
	}
}
