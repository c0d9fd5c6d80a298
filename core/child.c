/* core/child.c - a child process with Node's stdio, timeout and IPC rules. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

/* How long exit waits for the channel's EOF once the child is reaped. */
#define EXIT_GRACE_MS 1000
#define READ_BUF_SIZE 65536

struct pipe_slot {
	uv_pipe_t pipe;
	struct cp_child *child;
	struct cp__writer *w;		/* cp_child_write's, made at first use */
	int fd;
	unsigned int reading:1;
	unsigned int ending:1;
	unsigned int closing:1;
};

struct cp_child {
	uv_loop_t *loop;
	uv_process_t process;		/* started by uv_spawn (uid/gid) */
	uv_poll_t exit_poll;		/* else: the pidfd of a posix_spawn */
	int pidfd;
	uv_timer_t timer;		/* timeout, then kill-after */
	uv_timer_t grace;		/* exit waiting for the channel's EOF */
	uv_timer_t closer;		/* cp_child_close: closed, to call back */
	cp_child_close_cb close_cb;
	struct cp_child_events ev;	/* copied: the caller's need not outlive us */
	void *data;
	struct cp_channel *channel;
	struct pipe_slot *pipes[CP__STDIO_MAX];
	int handles;			/* uv handles not yet closed */
	int pid;
	int kill_signal;
	uint64_t kill_after_ms;
	int64_t exit_status;
	int term_signal;
	bool timer_on;
	bool grace_on;
	bool failed;			/* spawn failed: no callback ever */
	bool exited;
	bool exit_delivered;
	bool close_delivered;		/* the on_close event */
	bool closing;			/* cp_child_close was called */
	bool close_done;		/* close_cb ran */
	bool timed_out;
	bool killed;
	bool kill_tree;
	bool use_pidfd;			/* posix_spawn'd: exit_poll, not process */
	bool channel_done;		/* channel closed, or none */
	char rbuf[READ_BUF_SIZE];
};

static void maybe_close(struct cp_child *c);

static void
free_child(struct cp_child *c)
{
	free(c->channel);
	free(c);
}

/* A handle of c finished closing. */
static void
handle_done(struct cp_child *c)
{
	c->handles--;
	if (c->failed) {
		if (c->handles == 0 && c->channel_done)
			free_child(c);
		return;
	}
	maybe_close(c);
}

static void
handle_closed(uv_handle_t *h)
{
	handle_done(h->data);
}

static void
pipe_closed(uv_handle_t *h)
{
	struct pipe_slot *p = h->data;
	struct cp_child *c = p->child;

	c->pipes[p->fd] = NULL;
	free(p);
	handle_done(c);
}

static void
writer_closed(struct cp__writer *w)
{
	handle_done(w->owner);
}

static void
close_pipe(struct pipe_slot *p)
{
	if (p == NULL || p->closing)
		return;
	p->closing = 1;
	if (p->w != NULL) {
		/* Writes still queued: after the exit nobody will read them. */
		cp__writer_close(p->w, p->child->exited ? UV_EPIPE : UV_ECANCELED,
		    writer_closed);
		p->w = NULL;
	}
	uv_close((uv_handle_t *)&p->pipe, pipe_closed);
}

static void
close_timer(uv_timer_t *t, bool *on)
{
	if (*on) {
		*on = false;
		uv_close((uv_handle_t *)t, handle_closed);
	}
}

static void
maybe_close(struct cp_child *c)
{
	if (c->closing) {
		/* Reaped, every handle closed: close_cb, the last callback. */
		if (c->close_done || !c->exited || c->handles > 0 ||
		    !c->channel_done)
			return;
		c->close_done = true;
		if (c->close_cb != NULL)
			c->close_cb(c, c->data);	/* may free c */
		return;
	}
	if (c->close_delivered || !c->exit_delivered || c->handles > 0 ||
	    !c->channel_done)
		return;
	c->close_delivered = true;
	if (c->ev.on_close != NULL)
		c->ev.on_close(c, c->data);
}

static void
deliver_exit(struct cp_child *c)
{
	int fd;

	if (c->exit_delivered || c->closing)
		return;		/* after cp_child_close: no event */
	c->exit_delivered = true;
	close_timer(&c->grace, &c->grace_on);
	/*
	 * Nobody reads what is written to the child any more; its writable
	 * pipes would otherwise keep us open (Node does not wait for stdin).
	 */
	for (fd = 0; fd < CP__STDIO_MAX; fd++)
		if (c->pipes[fd] != NULL && !c->pipes[fd]->reading)
			close_pipe(c->pipes[fd]);
	if (c->ev.on_exit != NULL)
		c->ev.on_exit(c, c->exit_status, c->term_signal, c->data);
	maybe_close(c);
}

void
cp__child_channel_closed(struct cp_child *c)
{
	c->channel_done = true;
	if (c->failed) {
		if (c->handles == 0)
			free_child(c);
		return;
	}
	if (c->exited)
		deliver_exit(c);
	maybe_close(c);
}

void
cp__child_hold(struct cp_child *c)
{
	c->handles++;
}

void
cp__child_release(struct cp_child *c)
{
	handle_done(c);
}

void
cp__child_forget_channel(struct cp_child *c, struct cp_channel *ch)
{
	if (c->channel == ch)
		c->channel = NULL;
}

static void
grace_cb(uv_timer_t *t)
{
	/* Someone else holds the channel open (a grandchild); exit anyway. */
	deliver_exit(t->data);
}

static void
pidfd_closed(uv_handle_t *h)
{
	struct cp_child *c = h->data;

	/* uv_poll does not own its fd. */
	close(c->pidfd);
	c->pidfd = -1;
	handle_done(c);
}

/* The child has been reaped (its process handle is closing). */
static void
child_exited(struct cp_child *c, int64_t exit_status, int term_signal)
{
	c->exited = true;
	c->exit_status = term_signal ? -1 : exit_status;
	c->term_signal = term_signal;
	close_timer(&c->timer, &c->timer_on);
	if (c->closing) {
		maybe_close(c);
		return;
	}
	/* Messages first: read the channel to its EOF before reporting exit. */
	if (!c->channel_done && uv_timer_init(c->loop, &c->grace) == 0) {
		c->grace.data = c;
		c->handles++;
		c->grace_on = true;
		uv_timer_start(&c->grace, grace_cb, EXIT_GRACE_MS, 0);
		return;
	}
	deliver_exit(c);
}

static void
exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
	struct cp_child *c = proc->data;

	uv_close((uv_handle_t *)&c->process, handle_closed);
	child_exited(c, exit_status, term_signal);
}

/* The pidfd is readable: the child has ended; reap it (and only it). */
static void
exit_poll_cb(uv_poll_t *h, int status, int events)
{
	struct cp_child *c = h->data;
	int st = 0;
	pid_t r;

	(void)status;
	(void)events;
	do
		r = waitpid(c->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;		/* not yet (a poll error): wait on */
	cp__pid_unregister(c->pid);
	uv_poll_stop(h);
	uv_close((uv_handle_t *)h, pidfd_closed);
	/*
	 * r < 0 (ECHILD): someone else reaped it (SIGCHLD ignored, or a
	 * waitpid(-1) elsewhere): its status is lost; report exit code -1.
	 */
	if (r < 0)
		child_exited(c, -1, 0);
	else if (WIFSIGNALED(st))
		child_exited(c, 0, WTERMSIG(st));
	else
		child_exited(c, WEXITSTATUS(st), 0);
}

/* ---- stdio pipes ------------------------------------------------------ */

static void
pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct pipe_slot *p = h->data;

	(void)suggested;
	buf->base = p->child->rbuf;
	buf->len = sizeof(p->child->rbuf);
}

static void
pipe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct pipe_slot *p = s->data;
	struct cp_child *c = p->child;

	if (nread > 0) {
		if (c->ev.on_data != NULL)
			c->ev.on_data(c, p->fd, buf->base, (size_t)nread, c->data);
		return;
	}
	if (nread == 0)
		return;
	/* EOF, or an error (ECONNRESET): either way the stream is over. */
	uv_read_stop(s);
	p->reading = 0;
	if (c->ev.on_data != NULL)
		c->ev.on_data(c, p->fd, NULL, 0, c->data);
	close_pipe(p);
}

static void
write_dispatch(struct cp__writer *w, void (*fn)(void), void *arg, int status)
{
	((cp_write_cb)fn)(w->owner, w->tag, status, arg);
}

int
cp_child_write(struct cp_child *c, int fd, const char *buf, size_t len,
    cp_write_cb cb, void *arg)
{
	struct pipe_slot *p;
	uv_os_fd_t pfd;
	int r;

	if (fd < 0 || fd >= CP__STDIO_MAX || (p = c->pipes[fd]) == NULL ||
	    p->ending || p->closing)
		return UV_EBADF;
	if (p->w == NULL) {
		if ((r = uv_fileno((uv_handle_t *)&p->pipe, &pfd)) != 0 ||
		    (r = cp__writer_open(c->loop, pfd, write_dispatch, c,
		    &p->w)) != 0)
			return r;
		p->w->tag = fd;
		c->handles++;
	}
	return cp__writer_write(p->w, buf, len, (void (*)(void))cb, arg);
}

static void
shutdown_done(uv_shutdown_t *req, int status)
{
	struct pipe_slot *p = req->data;

	(void)status;
	free(req);
	/* stdin-like pipes are done now; readable ones close at their EOF. */
	if (!p->reading)
		close_pipe(p);
}

static void
writer_ended(struct cp__writer *w, int status)
{
	struct cp_child *c = w->owner;
	struct pipe_slot *p = c->pipes[w->tag];

	(void)status;
	if (p != NULL && p->w == w && !p->reading)
		close_pipe(p);
}

int
cp_child_end(struct cp_child *c, int fd)
{
	struct pipe_slot *p;
	uv_shutdown_t *req;
	int r;

	if (fd < 0 || fd >= CP__STDIO_MAX || (p = c->pipes[fd]) == NULL ||
	    p->ending || p->closing)
		return UV_EBADF;
	if (p->w != NULL) {
		/* After what cp_child_write queued. */
		p->ending = 1;
		cp__writer_end(p->w, writer_ended);
		return 0;
	}
	if ((req = malloc(sizeof(*req))) == NULL)
		return UV_ENOMEM;
	req->data = p;
	if ((r = uv_shutdown(req, (uv_stream_t *)&p->pipe, shutdown_done)) != 0) {
		free(req);
		return r;
	}
	p->ending = 1;
	return 0;
}

int
cp_child_close_fd(struct cp_child *c, int fd)
{
	struct pipe_slot *p;

	if (fd < 0 || fd >= CP__STDIO_MAX || (p = c->pipes[fd]) == NULL ||
	    p->closing)
		return UV_EBADF;
	if (p->reading)
		uv_read_stop((uv_stream_t *)&p->pipe);
	p->reading = 0;
	close_pipe(p);
	return 0;
}

/* ---- signals and timeout --------------------------------------------- */

static int
send_signal(struct cp_child *c, int signum)
{
	if (c->exited)
		return UV_ESRCH;
	if (c->kill_tree) {
		/* The child leads its own group: reach its descendants too. */
		if (kill(-c->pid, signum) != 0)
			return CP_ERR(errno);
		return 0;
	}
	/* Not reaped yet (exit_poll_cb has not run): the pid is still ours. */
	if (c->use_pidfd)
		return kill(c->pid, signum) != 0 ? CP_ERR(errno) : 0;
	return uv_process_kill(&c->process, signum);
}

static void
kill_after_cb(uv_timer_t *t)
{
	struct cp_child *c = t->data;

	if (send_signal(c, SIGKILL) == 0)
		c->killed = true;
}

static void
arm_kill_after(struct cp_child *c)
{
	if (c->kill_after_ms > 0 && c->timer_on) {
		uv_timer_stop(&c->timer);
		uv_timer_start(&c->timer, kill_after_cb, c->kill_after_ms, 0);
	}
}

static void
timeout_cb(uv_timer_t *t)
{
	struct cp_child *c = t->data;

	c->timed_out = true;
	if (send_signal(c, c->kill_signal) == 0)
		c->killed = true;
	if (c->ev.on_timeout != NULL)
		c->ev.on_timeout(c, c->data);
	arm_kill_after(c);
}

int
cp_child_kill(struct cp_child *c, int signum)
{
	int r;

	if (signum < 0 || signum >= 65)
		return UV_EINVAL;
	/* As kill(2) and Node's child.kill(0): only asks whether it is alive. */
	if (signum == 0)
		return send_signal(c, 0);
	if ((r = send_signal(c, signum)) != 0)
		return r;
	c->killed = true;
	if (signum == c->kill_signal && !c->timed_out && c->kill_after_ms > 0) {
		if (!c->timer_on && uv_timer_init(c->loop, &c->timer) == 0) {
			c->timer.data = c;
			c->handles++;
			c->timer_on = true;
		}
		arm_kill_after(c);
	}
	return 0;
}

/* ---- accessors -------------------------------------------------------- */

struct cp_channel *
cp_child_channel(const struct cp_child *c)
{
	return c->channel_done ? NULL : c->channel;
}

int
cp_child_pid(const struct cp_child *c)
{
	return c->pid;
}

bool
cp_child_timed_out(const struct cp_child *c)
{
	return c->timed_out;
}

bool
cp_child_killed(const struct cp_child *c)
{
	return c->killed;
}

void *
cp_child_data(const struct cp_child *c)
{
	return c->data;
}

void
cp_child_close(struct cp_child *c, cp_child_close_cb close_cb)
{
	struct pipe_slot *p;
	int fd;

	if (c->closing)
		return;
	c->closing = true;
	c->close_cb = close_cb;
	/*
	 * A child still running is killed (its process group with
	 * CP_SPAWN_KILL_TREE) and reaped before close_cb: the object leaves
	 * neither a zombie nor an fd behind.  SIGKILL, so that a child that
	 * ignores or handles kill_signal cannot hold the close.
	 */
	if (!c->exited && send_signal(c, SIGKILL) == 0)
		c->killed = true;
	close_timer(&c->timer, &c->timer_on);
	close_timer(&c->grace, &c->grace_on);
	for (fd = 0; fd < CP__STDIO_MAX; fd++) {
		if ((p = c->pipes[fd]) == NULL)
			continue;
		if (p->reading)
			uv_read_stop((uv_stream_t *)&p->pipe);
		p->reading = 0;
		close_pipe(p);
	}
	if (!c->channel_done && c->channel != NULL)
		cp__channel_shut(c->channel);
	/*
	 * One handle of our own, closed at once: close_cb then always comes
	 * from the loop (never inside this call), after it and every other.
	 */
	uv_timer_init(c->loop, &c->closer);
	c->closer.data = c;
	c->handles++;
	uv_close((uv_handle_t *)&c->closer, handle_closed);
}

void
cp_child_free(struct cp_child *c)
{
	if (c == NULL)
		return;
	free_child(c);
}

int
cp_exit_status(int err, int64_t exit_status, int term_signal, bool timed_out)
{
	/* env(1), timeout(1): 127 for a command not found, 126 otherwise. */
	if (err < 0)
		return err == UV_ENOENT ? 127 : 126;
	if (timed_out)
		return 124;
	if (term_signal > 0)
		return 128 + term_signal;
	if (exit_status < 0 || exit_status > 255)
		return 255;
	return (int)exit_status;
}

/* ---- spawning --------------------------------------------------------- */

static bool
is_channel_var(const char *s)
{
	return strncmp(s, "NODE_CHANNEL_FD=", 16) == 0 ||
	    strncmp(s, "NODE_CHANNEL_SERIALIZATION_MODE=", 32) == 0;
}

/*
 * The child's environment with the two channel variables set to ours
 * (stale copies removed: glibc's getenv would return the first one).
 */
static char **
channel_env(char *const *env, int fd, char *fdvar, bool advanced)
{
	char **out;
	size_t n = 0, i, o = 0;

	if (env == NULL)
		env = environ;
	while (env[n] != NULL)
		n++;
	if ((out = calloc(n + 3, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!is_channel_var(env[i]))
			out[o++] = env[i];
	snprintf(fdvar, 32, "NODE_CHANNEL_FD=%d", fd);
	out[o++] = fdvar;
	out[o++] = advanced ? (char *)"NODE_CHANNEL_SERIALIZATION_MODE=advanced" :
	    (char *)"NODE_CHANNEL_SERIALIZATION_MODE=json";
	out[o] = NULL;
	return out;
}

char *
cp__join_words(const char *file, char *const *args)
{
	struct cp_buf b = CP_BUF_INIT;
	size_t i;

	if (cp_buf_add(&b, file, strlen(file)) != 0)
		goto fail;
	for (i = 0; args != NULL && args[i] != NULL; i++)
		if (cp_buf_add(&b, " ", 1) != 0 ||
		    cp_buf_add(&b, args[i], strlen(args[i])) != 0)
			goto fail;
	return b.data;
fail:
	cp_buf_release(&b);
	return NULL;
}

/*
 * A close-on-exec socketpair whose fds are >= 3: with fd 0, 1 or 2 closed
 * in this process a new fd can land there, and libuv's close path asserts
 * on those (and the child's stdio set-up would move it under us).
 */
static int
stdio_socketpair(int sv[2])
{
	int i, fd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return CP_ERR(errno);
	for (i = 0; i < 2; i++) {
		if (sv[i] > STDERR_FILENO)
			continue;
		if ((fd = fcntl(sv[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0) {
			fd = CP_ERR(errno);
			close(sv[0]);
			close(sv[1]);
			sv[0] = sv[1] = -1;
			return fd;
		}
		close(sv[i]);
		sv[i] = fd;
	}
	return 0;
}

/* The uv_spawn path: the options posix_spawn cannot express (uid, gid). */
static int
start_uv(struct cp_child *c, const struct cp_spawn_options *opts,
    const char *file, char **argv, char **env, const int *cfd, int n)
{
	uv_process_options_t po;
	uv_stdio_container_t stdio[CP__STDIO_MAX];
	struct sched_param old, other = { .sched_priority = 0 };
	int fd, r, pol;

	memset(&po, 0, sizeof(po));
	memset(stdio, 0, sizeof(stdio));
	for (fd = 0; fd < n; fd++) {
		if (cfd[fd] >= 0) {
			stdio[fd].flags = UV_INHERIT_FD;
			stdio[fd].data.fd = cfd[fd];
		} else {
			stdio[fd].flags = UV_IGNORE;
		}
	}
	po.exit_cb = exit_cb;
	po.file = file;
	po.args = argv;
	po.env = env;
	po.cwd = opts->cwd;
	po.stdio_count = n;
	po.stdio = stdio;
	/* uv_spawn has no setpgid: a kill tree is a session of its own here. */
	if (opts->flags & (CP_SPAWN_DETACHED | CP_SPAWN_KILL_TREE))
		po.flags |= UV_PROCESS_DETACHED;
	if (opts->flags & CP_SPAWN_SETUID) {
		po.flags |= UV_PROCESS_SETUID;
		po.uid = opts->uid;
	}
	if (opts->flags & CP_SPAWN_SETGID) {
		po.flags |= UV_PROCESS_SETGID;
		po.gid = opts->gid;
	}
	c->process.data = c;
	/*
	 * uv_spawn forks this thread and sets no policy: SCHED_OTHER is ours
	 * while it forks.  Going back is allowed: it is a policy we had.
	 */
	if ((opts->flags & CP_SPAWN_SCHED_OTHER) &&
	    (pol = sched_getscheduler(0)) >= 0 &&
	    (pol & ~SCHED_RESET_ON_FORK) != SCHED_OTHER) {
		if (sched_getparam(0, &old) != 0 || sched_setscheduler(0,
		    SCHED_OTHER | (pol & SCHED_RESET_ON_FORK), &other) != 0)
			return CP_ERR(errno);
	} else {
		pol = -1;
	}
	r = uv_spawn(c->loop, &c->process, &po);
	if (pol >= 0)
		(void)sched_setscheduler(0, pol, &old);
	c->handles++;			/* the process handle, spawned or not */
	if (r != 0) {
		uv_close((uv_handle_t *)&c->process, handle_closed);
		return r;
	}
	c->pid = c->process.pid;
	return 0;
}

/* Kills and reaps a child we cannot watch. */
static void
reap_now(int pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	cp__pid_unregister(pid);
}

/* The posix_spawn path, the exit watched through a pidfd. */
static int
start_posix(struct cp_child *c, const struct cp_spawn_options *opts,
    const char *file, char **argv, char **env, const int *cfd, int n)
{
	struct cp__spawn_req q;
	int pid, fd, r;

	memset(&q, 0, sizeof(q));
	q.file = file;
	q.argv = argv;
	q.env = env != NULL ? env : environ;
	q.cwd = opts->cwd;
	q.fds = cfd;
	q.nfds = n;
	q.flags = opts->flags & (CP_SPAWN_DETACHED | CP_SPAWN_KILL_TREE |
	    CP_SPAWN_DIE_WITH_PARENT | CP_SPAWN_SCHED_OTHER);
	/* vfork_spawn does the ids; uv_spawn's path does them otherwise. */
	if (opts->flags & CP_SPAWN_DIE_WITH_PARENT) {
		q.flags |= opts->flags & (CP_SPAWN_SETUID | CP_SPAWN_SETGID);
		q.uid = opts->uid;
		q.gid = opts->gid;
	}
	if ((r = cp__spawn(&q, &pid)) != 0)
		return r;
	if ((r = cp__pid_register(pid)) != 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	if ((fd = cp__pidfd_open(pid)) < 0) {
		reap_now(pid);
		return fd;
	}
	if ((r = uv_poll_init(c->loop, &c->exit_poll, fd)) != 0) {
		close(fd);
		reap_now(pid);
		return r;
	}
	c->exit_poll.data = c;
	c->pidfd = fd;
	c->handles++;
	if ((r = uv_poll_start(&c->exit_poll, UV_READABLE, exit_poll_cb)) != 0) {
		uv_close((uv_handle_t *)&c->exit_poll, pidfd_closed);
		reap_now(pid);
		return r;
	}
	c->use_pidfd = true;
	c->pid = pid;
	return 0;
}

/*
 * The stdio table the child gets (three pipes when none is given), checked
 * as Node does: one IPC entry at most, no negative fd.  *ipcp is its index
 * or -1.
 */
static int
stdio_table(const struct cp_spawn_options *opts, const struct cp_stdio *def,
    const struct cp_stdio **spp, int *np, int *ipcp)
{
	const struct cp_stdio *sp = opts->stdio;
	int n = opts->stdio_count, fd, ipc = -1;

	if (n == 0) {
		n = 3;
		sp = def;
	}
	if (n < 0 || n > CP__STDIO_MAX || sp == NULL)
		return UV_EINVAL;
	for (fd = 0; fd < n; fd++) {
		if (sp[fd].type == CP_STDIO_IPC) {
			if (ipc >= 0)
				return UV_EINVAL;	/* Node: ERR_IPC_ONE_PIPE */
			ipc = fd;
		} else if (sp[fd].type == CP_STDIO_FD && sp[fd].fd < 0) {
			return UV_EINVAL;
		}
	}
	*spp = sp;
	*np = n;
	*ipcp = ipc;
	return 0;
}

/*
 * The file to run and its argv: [argv0, args...], or with a shell
 * [argv0, "-c", "file args..."] (*cmdp holds that string).  Both are the
 * caller's to free; the strings of argv are borrowed from opts.
 */
static int
make_argv(const struct cp_spawn_options *opts, const char **filep,
    char ***argvp, char **cmdp)
{
	char **argv;
	size_t nargs = 0, i;

	for (i = 0; opts->args != NULL && opts->args[i] != NULL; i++)
		nargs++;
	/* Room for [argv0, "-c", cmd, NULL] even without args. */
	if ((argv = calloc(nargs + 4, sizeof(*argv))) == NULL)
		return UV_ENOMEM;
	*cmdp = NULL;
	if (opts->shell != NULL) {
		if ((*cmdp = cp__join_words(opts->file, opts->args)) == NULL) {
			free(argv);
			return UV_ENOMEM;
		}
		*filep = opts->shell;
		argv[0] = (char *)(opts->argv0 ? opts->argv0 : opts->shell);
		argv[1] = (char *)"-c";
		argv[2] = *cmdp;
	} else {
		*filep = opts->file;
		argv[0] = (char *)(opts->argv0 ? opts->argv0 : opts->file);
		for (i = 0; i < nargs; i++)
			argv[i + 1] = opts->args[i];
	}
	*argvp = argv;
	return 0;
}

/*
 * One stdio entry, before the child starts (uv_spawn's
 * uv__process_init_stdio): sets *cfd to the fd the child gets as fd (-1:
 * ignored) and *own to the end made for it here (-1: none), to be closed
 * once the child has it.  A pipe's end of ours is opened in c->pipes[fd];
 * the channel's socketpair goes to sv.  On failure what was made is
 * recorded in c, *own and sv, for the caller's clean-up.
 */
static int
init_stdio(struct cp_child *c, int fd, const struct cp_stdio *e,
    const struct cp_spawn_options *opts, bool advanced, int *cfd, int *own,
    int sv[2])
{
	struct pipe_slot *p;
	int pv[2], r;

	switch (e->type) {
	case CP_STDIO_PIPE:
		/* Node: a socketpair, both ways, our end non-blocking. */
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return UV_ENOMEM;
		uv_pipe_init(c->loop, &p->pipe, 0);
		p->pipe.data = p;
		p->child = c;
		p->fd = fd;
		c->pipes[fd] = p;
		c->handles++;
		if ((r = stdio_socketpair(pv)) != 0)
			return r;
		if ((r = uv_pipe_open(&p->pipe, pv[0])) != 0) {
			close(pv[0]);
			close(pv[1]);
			return r;
		}
		*cfd = *own = pv[1];
		return 0;
	case CP_STDIO_IPC:
		if ((c->channel = malloc(sizeof(*c->channel))) == NULL)
			return UV_ENOMEM;
		cp__channel_init(c->channel, &c->ev.ipc, c->data,
		    opts->max_message);
		if (advanced)
			CH_SET(c->channel, CH_ADVANCED);
		c->channel->child = c;
		/* Node: socketpair(AF_UNIX, SOCK_STREAM), made before the child. */
		if ((r = stdio_socketpair(sv)) != 0)
			return r;
		*cfd = sv[1];
		return 0;
	case CP_STDIO_INHERIT:
		*cfd = fd;
		return 0;
	case CP_STDIO_FD:
		*cfd = e->fd;
		return 0;
	case CP_STDIO_IGNORE:
	default:
		return 0;
	}
}

/*
 * Starts the child with posix_spawn (or vfork) watched through a pidfd,
 * or with uv_spawn where only it can do what opts asks.
 */
static int
start_child(struct cp_child *c, const struct cp_spawn_options *opts,
    const char *file, char **argv, char **env, const int *cfd, int n)
{
	/* uv_spawn's path has no PR_SET_PDEATHSIG: without pidfds, none. */
	if ((opts->flags & CP_SPAWN_DIE_WITH_PARENT) && !cp__pidfd_supported())
		return UV_ENOSYS;
	if (cp__pidfd_supported() && ((opts->flags &
	    (CP_SPAWN_SETUID | CP_SPAWN_SETGID)) == 0 ||
	    (opts->flags & CP_SPAWN_DIE_WITH_PARENT)))
		return start_posix(c, opts, file, argv, env, cfd, n);
	return start_uv(c, opts, file, argv, env, cfd, n);
}

/*
 * Once the child runs (uv_spawn's uv__process_open_stream): our ends of
 * the output and extra pipes are read (the child's stdin is not), the
 * channel starts on sv0, the timeout is armed.
 */
static void
start_streams(struct cp_child *c, const struct cp_spawn_options *opts,
    int n, int sv0)
{
	struct pipe_slot *p;
	int fd;

	for (fd = 1; fd < n; fd++) {
		if ((p = c->pipes[fd]) == NULL)
			continue;
		if (uv_read_start((uv_stream_t *)&p->pipe, pipe_alloc,
		    pipe_read) == 0)
			p->reading = 1;
	}
	if (c->channel != NULL && cp__channel_start(c->channel, c->loop,
	    sv0) != 0)
		cp__channel_shut(c->channel);
	if (opts->timeout_ms > 0 && uv_timer_init(c->loop, &c->timer) == 0) {
		c->timer.data = c;
		c->handles++;
		c->timer_on = true;
		uv_timer_start(&c->timer, timeout_cb, opts->timeout_ms, 0);
	}
}

static int
spawn_child(uv_loop_t *loop, const struct cp_spawn_options *opts,
    const struct cp_child_events *ev, void *data, struct cp_child **childp)
{
	static const struct cp_child_events no_events;
	static const struct cp_stdio def[3] = { { CP_STDIO_PIPE, 0 },
	    { CP_STDIO_PIPE, 0 }, { CP_STDIO_PIPE, 0 } };
	const struct cp_stdio *sp;
	struct cp_child *c;
	char **argv = NULL, **env = NULL, *cmd = NULL;
	char fdvar[32];
	const char *file;
	/* cfd: the child's fd i (-1: ignored); own: the ends we made for it */
	int cfd[CP__STDIO_MAX], own[CP__STDIO_MAX];
	int n, ipc, r, fd, sv[2] = { -1, -1 };
	bool advanced;

	*childp = NULL;
	if (ev == NULL)
		ev = &no_events;
	if (opts->file == NULL || opts->file[0] == '\0')
		return UV_EINVAL;
	advanced = opts->serialization != NULL &&
	    strcmp(opts->serialization, "advanced") == 0;
	if (opts->serialization != NULL && !advanced &&
	    strcmp(opts->serialization, "json") != 0)
		return UV_EINVAL;
	if ((r = stdio_table(opts, def, &sp, &n, &ipc)) != 0)
		return r;
	if ((r = make_argv(opts, &file, &argv, &cmd)) != 0)
		return r;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = UV_ENOMEM;
		goto fail_args;
	}
	c->loop = loop;
	c->ev = *ev;
	c->data = data;
	c->pidfd = -1;
	c->kill_signal = opts->kill_signal ? opts->kill_signal : SIGTERM;
	c->kill_after_ms = opts->kill_after_ms;
	c->kill_tree = (opts->flags & CP_SPAWN_KILL_TREE) != 0;
	c->channel_done = ipc < 0;

	for (fd = 0; fd < CP__STDIO_MAX; fd++)
		cfd[fd] = own[fd] = -1;
	for (fd = 0; fd < n; fd++)
		if ((r = init_stdio(c, fd, &sp[fd], opts, advanced, &cfd[fd],
		    &own[fd], sv)) != 0)
			goto fail_pipes;
	if (ipc >= 0 && (env = channel_env(opts->env, ipc, fdvar, advanced)) == NULL) {
		r = UV_ENOMEM;
		goto fail_pipes;
	}

	r = start_child(c, opts, file, argv,
	    env != NULL ? env : (char **)opts->env, cfd, n);
	free(env);
	env = NULL;
	/* The child's ends are the child's now. */
	for (fd = 0; fd < n; fd++)
		if (own[fd] >= 0) {
			close(own[fd]);
			own[fd] = -1;
		}
	if (sv[1] >= 0) {
		close(sv[1]);
		sv[1] = -1;
	}
	if (r != 0)
		goto fail_pipes;

	start_streams(c, opts, n, sv[0]);
	free(cmd);
	free(argv);
	*childp = c;
	return 0;

fail_pipes:
	/* Nothing is reported from here on; c frees itself once closed. */
	c->failed = true;
	for (fd = 0; fd < CP__STDIO_MAX; fd++) {
		close_pipe(c->pipes[fd]);
		if (own[fd] >= 0)
			close(own[fd]);
	}
	for (fd = 0; fd < 2; fd++)
		if (sv[fd] >= 0)
			close(sv[fd]);
	/* The channel was never started: nothing of it is open. */
	if (c->channel != NULL)
		cp_frame_release(&c->channel->frame);
	c->channel_done = true;
	if (c->handles == 0)
		free_child(c);
fail_args:
	free(env);
	free(cmd);
	free(argv);
	return r;
}

int
cp_child_spawn(uv_loop_t *loop, const struct cp_spawn_options *opts,
    const struct cp_child_events *ev, void *data, struct cp_child **childp)
{
	struct cp_stdfds g;
	int r;

	/* With 0-2 closed, uv_spawn's pipes would land there (issue 7, 1). */
	cp__stdfds_hold(&g);
	r = spawn_child(loop, opts, ev, data, childp);
	cp__stdfds_release(&g);
	return r;
}
