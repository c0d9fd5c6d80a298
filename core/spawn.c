/*
 * core/spawn.c - start a program without fork(2).
 *
 * libuv 1.44's uv_spawn forks, so its cost grows with the parent's page
 * tables.  glibc's posix_spawn uses clone(CLONE_VFORK) and stays flat.
 * The child is set up as uv_spawn sets it up (Node's child_process sees
 * exactly that), in what posix_spawn can express:
 *
 *   - signal dispositions 1-31 reset to SIG_DFL, the signal mask emptied;
 *   - setsid() when detached, else setpgid(0, 0) for a kill tree;
 *   - SCHED_OTHER when asked (CP_SPAWN_SCHED_OTHER; uv_spawn cannot);
 *   - fd i of the child is what the caller says (dup2), 0-2 /dev/null
 *     when ignored; fds 0-2 blocking (libuv clears O_NONBLOCK in the
 *     child, on the file description it shares with us: we do it here);
 *   - chdir(cwd);
 *   - the program found as execvp finds it, in the CHILD's PATH (glibc's
 *     default "/bin:/usr/bin" without one), and a file the kernel will
 *     not run (ENOEXEC: a script without "#!") run by /bin/sh, as glibc's
 *     execvp does.
 *
 * Unlike uv_spawn, every fd from stdio_count up is closed in the child
 * (closefrom): nothing the caller opened without FD_CLOEXEC leaks.
 *
 * CP_SPAWN_DIE_WITH_PARENT needs prctl(PR_SET_PDEATHSIG) in the child,
 * which posix_spawn cannot make: that child is started with vfork(2) and
 * set up by hand, the same way (vchild), with uid and gid too.
 *
 * The exit is learned through a pidfd (pidfd_open, Linux >= 5.3) and
 * waitpid on that pid only, so libuv's children, or the caller's, are
 * never reaped here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* glibc's execvp: without PATH, search this. */
#define DEFAULT_PATH "/bin:/usr/bin"

int
cp__pidfd_open(int pid)
{
	int fd;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return CP_ERR(errno);
	/* A pidfd is close-on-exec from birth. */
	return fd;
}

bool
cp__pidfd_supported(void)
{
	/* 0 unknown, 1 yes, -1 no; a race only probes twice. */
	static int known;
	int fd;

	if (known == 0) {
		fd = cp__pidfd_open(getpid());
		if (fd >= 0)
			close(fd);
		__atomic_store_n(&known, fd >= 0 ? 1 : -1, __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&known, __ATOMIC_RELAXED) > 0;
}

/*
 * The pids the library has started and not reaped yet, on any loop: a
 * reaper of orphans (PID 1, a subreaper) asks cp_child_pid_owned and
 * leaves them alone, as it leaves libuv's process handles alone.
 */
static uv_once_t reg_once = UV_ONCE_INIT;
static uv_mutex_t reg_lock;
static int *reg_pids;
static size_t reg_n, reg_cap;

static void
reg_init(void)
{
	if (uv_mutex_init(&reg_lock) != 0)
		abort();	/* as uv_once's own callers: nothing to return to */
}

int
cp__pid_register(int pid)
{
	int *v, r = 0;

	uv_once(&reg_once, reg_init);
	uv_mutex_lock(&reg_lock);
	if (reg_n == reg_cap) {
		if ((v = realloc(reg_pids, (reg_cap ? reg_cap * 2 : 16) *
		    sizeof(*v))) == NULL) {
			r = UV_ENOMEM;
			goto out;
		}
		reg_pids = v;
		reg_cap = reg_cap ? reg_cap * 2 : 16;
	}
	reg_pids[reg_n++] = pid;
out:
	uv_mutex_unlock(&reg_lock);
	return r;
}

void
cp__pid_unregister(int pid)
{
	size_t i;

	uv_once(&reg_once, reg_init);
	uv_mutex_lock(&reg_lock);
	for (i = 0; i < reg_n; i++) {
		if (reg_pids[i] == pid) {
			reg_pids[i] = reg_pids[--reg_n];
			break;
		}
	}
	if (reg_n == 0) {
		free(reg_pids);
		reg_pids = NULL;
		reg_cap = 0;
	}
	uv_mutex_unlock(&reg_lock);
}

bool
cp_child_pid_owned(int pid)
{
	bool found = false;
	size_t i;

	uv_once(&reg_once, reg_init);
	uv_mutex_lock(&reg_lock);
	for (i = 0; i < reg_n && !found; i++)
		found = reg_pids[i] == pid;
	uv_mutex_unlock(&reg_lock);
	return found;
}

/* NAME's value in env, or NULL. */
static const char *
env_get(char *const *env, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/*
 * The checks chdir(cwd) makes, done before the child starts: its errors
 * are then told apart from exec's (a cwd that is a file gives ENOTDIR, as
 * from uv_spawn, not the ENOENT a PATH search ends with).
 */
static int
check_cwd(const char *cwd)
{
	struct stat st;

	if (stat(cwd, &st) != 0)
		return CP_ERR(errno);
	if (!S_ISDIR(st.st_mode))
		return UV_ENOTDIR;
	if (faccessat(AT_FDCWD, cwd, X_OK, AT_EACCESS) != 0)
		return CP_ERR(errno);
	return 0;
}

/* What the child of vfork_spawn reads (our memory, shared until exec). */
struct vspawn {
	const struct cp__spawn_req *q;
	const int *moved;	/* set_fds's copies of low sources, or -1 */
	const char *path;
	char *const *argv;
	pid_t parent;
	volatile int err;	/* the child's errno when it could not exec */
};

/* fd i of the child is /dev/null. */
static int
vchild_null(int i)
{
	int fd;

	if ((fd = open("/dev/null", i == 0 ? O_RDONLY : O_RDWR)) < 0)
		return -1;
	if (fd != i) {
		if (dup2(fd, i) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/*
 * The vfork child: what set_attr and set_fds ask posix_spawn for, then
 * the parent-death signal.  It shares our memory and our parent thread
 * waits, so it only makes system calls (raw ones for the ids: glibc's
 * setuid would signal our threads) and reports a failure in v->err.
 */
static void __attribute__((noreturn))
vchild(struct vspawn *v)
{
	const struct cp__spawn_req *q = v->q;
	struct sigaction sa;
	struct rlimit rl;
	sigset_t none;
	int i, fd, src, top = q->nfds > 3 ? q->nfds : 3;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < 32; i++)
		if (i != SIGKILL && i != SIGSTOP)
			(void)sigaction(i, &sa, NULL);
	if (q->flags & CP_SPAWN_DETACHED) {
		if (setsid() < 0)
			goto fail;
	} else if ((q->flags & CP_SPAWN_KILL_TREE) && setpgid(0, 0) != 0)
		goto fail;
	/* As uv_spawn: the group first, supplementary groups dropped. */
	if ((q->flags & CP_SPAWN_SETGID) &&
	    syscall(SYS_setgid, q->gid) != 0)
		goto fail;
	if (q->flags & (CP_SPAWN_SETUID | CP_SPAWN_SETGID))
		(void)syscall(SYS_setgroups, 0, NULL);
	if ((q->flags & CP_SPAWN_SETUID) &&
	    syscall(SYS_setuid, q->uid) != 0)
		goto fail;
	if (q->flags & CP_SPAWN_SCHED_OTHER) {
		struct sched_param sp = { .sched_priority = 0 };

		if (sched_setscheduler(0, SCHED_OTHER, &sp) != 0)
			goto fail;
	}
	/* After the ids (changing them clears it); the parent may be gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	if (getppid() != v->parent) {
		errno = ESRCH;
		goto fail;
	}
	for (i = 0; i < q->nfds; i++) {
		src = v->moved[i] >= 0 ? v->moved[i] : q->fds[i];
		if (src < 0 && i < 3) {
			if (vchild_null(i) != 0)
				goto fail;
		} else if (src < 0) {
			close(i);
		} else if (src == i) {
			if (fcntl(i, F_SETFD, 0) != 0)
				goto fail;
		} else if (dup2(src, i) < 0) {
			goto fail;
		}
	}
	for (; i < 3; i++)
		if (vchild_null(i) != 0)
			goto fail;
	if (q->cwd != NULL && chdir(q->cwd) != 0)
		goto fail;
	if (syscall(SYS_close_range, top, ~0U, 0) != 0) {
		/* Linux < 5.9: one by one, up to the limit. */
		if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &rl) != 0)
			goto fail;
		for (fd = top; (rlim_t)fd < rl.rlim_cur; fd++)
			close(fd);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(v->path, v->argv, q->env);
fail:
	v->err = errno != 0 ? errno : EINVAL;
	_exit(127);
}

/*
 * vfork, as posix_spawn does it: every signal blocked meanwhile (no
 * handler of ours may run in the child), the exec error read from memory.
 */
static int
vfork_spawn(const struct cp__spawn_req *q, const char *path,
    char *const *argv, const int *moved, pid_t *pidp)
{
	struct vspawn v = { q, moved, path, argv, getpid(), 0 };
	sigset_t all, old;
	pid_t pid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = vfork();
	if (pid == 0)
		vchild(&v);
	err = pid < 0 ? errno : v.err;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return err;
	if (err != 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return err;
	}
	*pidp = pid;
	return 0;
}

/* posix_spawn (or vfork_spawn), errno-style. */
static int
spawn1(const struct cp__spawn_req *q, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    const int *moved, char *const *argv, pid_t *pidp)
{
	if (q->flags & CP_SPAWN_DIE_WITH_PARENT)
		return vfork_spawn(q, path, argv, moved, pidp);
	return posix_spawn(pidp, path, fa, attr, argv, q->env);
}

/* posix_spawn, then /bin/sh PATH ARGS... if the kernel says ENOEXEC. */
static int
try_exec(const struct cp__spawn_req *q, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    const int *moved, int *pidp)
{
	char **shargv;
	size_t n = 0, i;
	pid_t pid;
	int r;

	r = spawn1(q, path, fa, attr, moved, q->argv, &pid);
	if (r == ENOEXEC) {
		/* glibc execvp's maybe_script_execute: argv[0] is dropped. */
		while (q->argv[n] != NULL)
			n++;
		if ((shargv = calloc(n + 2, sizeof(*shargv))) == NULL)
			return UV_ENOMEM;
		shargv[0] = (char *)"/bin/sh";
		shargv[1] = (char *)path;
		for (i = 1; i < n; i++)
			shargv[i + 1] = q->argv[i];
		r = spawn1(q, "/bin/sh", fa, attr, moved, shargv, &pid);
		free(shargv);
	}
	if (r != 0)
		return CP_ERR(r);
	*pidp = pid;
	return 0;
}

/* Whether execvp goes on to the next PATH entry after err. */
static bool
search_on(int err, bool *eacces)
{
	switch (err) {
	case UV_EACCES:
		*eacces = true;
		return true;
	case UV_ENOENT:
	case UV_ENOTDIR:
	case CP_ERR(ESTALE):
	case UV_ENODEV:
	case UV_ETIMEDOUT:
		return true;
	default:
		return false;
	}
}

/* execvp's search: each PATH entry in turn, as glibc walks it. */
static int
search(const struct cp__spawn_req *q, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, const int *moved, int *pidp)
{
	const char *path, *p, *end;
	struct cp_buf cand = CP_BUF_INIT, where = CP_BUF_INIT;
	struct stat st;
	size_t flen = strlen(q->file);
	bool eacces = false;
	int r = UV_ENOENT;

	if ((path = env_get(q->env, "PATH")) == NULL)
		path = DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		cand.len = 0;
		where.len = 0;
		/* An empty entry is the current directory: the bare name. */
		if ((end > p && (cp_buf_add(&cand, p, (size_t)(end - p)) != 0 ||
		    cp_buf_add(&cand, "/", 1) != 0)) ||
		    cp_buf_add(&cand, q->file, flen + 1) != 0) {
			r = UV_ENOMEM;
			break;
		}
		/*
		 * Skip what is not there without starting a child for it (a
		 * failed posix_spawn costs as much as a successful one).  A
		 * relative entry is relative to the child's cwd.
		 */
		if (q->cwd != NULL && cand.data[0] != '/') {
			if (cp_buf_add(&where, q->cwd, strlen(q->cwd)) != 0 ||
			    cp_buf_add(&where, "/", 1) != 0 ||
			    cp_buf_add(&where, cand.data, cand.len) != 0) {
				r = UV_ENOMEM;
				break;
			}
		}
		if (stat(where.len > 0 ? where.data : cand.data, &st) != 0)
			r = CP_ERR(errno);
		else
			r = try_exec(q, cand.data, fa, attr, moved, pidp);
		if (r == 0 || !search_on(r, &eacces) || *end == '\0')
			break;
	}
	cp_buf_release(&cand);
	cp_buf_release(&where);
	if (r != 0 && search_on(r, &eacces) && eacces)
		r = UV_EACCES;
	return r;
}

static int
set_attr(posix_spawnattr_t *attr, unsigned int flags)
{
	sigset_t set;
	short f = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int sig;

	/* uv_spawn: signals 1-31 to SIG_DFL (not SIGKILL, SIGSTOP), mask empty. */
	sigemptyset(&set);
	if (posix_spawnattr_setsigmask(attr, &set) != 0)
		return UV_EINVAL;
	for (sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&set, sig);
	/*
	 * glibc's own signals (32, 33: thread cancellation and setxid) are
	 * set to SIG_IGN in its posix_spawn child unless SETSIGDEF names them,
	 * and SIG_IGN survives exec: the program would start with them
	 * ignored (a forked child, as from uv_spawn, has them at SIG_DFL after
	 * exec).  sigaddset refuses them, so set their bits by hand.  The
	 * child is not in our thread group: no setxid broadcast reaches it.
	 */
	set.__val[0] |= 3UL << 31;
	if (posix_spawnattr_setsigdefault(attr, &set) != 0)
		return UV_EINVAL;
	/* A session leader leads its group too: setpgid would fail (EPERM). */
	if (flags & CP_SPAWN_DETACHED)
		f |= POSIX_SPAWN_SETSID;
	else if (flags & CP_SPAWN_KILL_TREE)
		f |= POSIX_SPAWN_SETPGROUP;
	if (flags & CP_SPAWN_SCHED_OTHER) {
		struct sched_param sp = { .sched_priority = 0 };

		f |= POSIX_SPAWN_SETSCHEDULER;
		if (posix_spawnattr_setschedpolicy(attr, SCHED_OTHER) != 0 ||
		    posix_spawnattr_setschedparam(attr, &sp) != 0)
			return UV_EINVAL;
	}
	if (posix_spawnattr_setpgroup(attr, 0) != 0 ||
	    posix_spawnattr_setflags(attr, f) != 0)
		return UV_EINVAL;
	return 0;
}

static int
clear_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return CP_ERR(errno);
	if ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return CP_ERR(errno);
	return 0;
}

/*
 * The child's fds.  A source below nfds that is not its own target could
 * be overwritten by an earlier dup2: a copy above nfds is used instead
 * (moved[] holds them, closed by the caller after the spawn).
 */
static int
set_fds(posix_spawn_file_actions_t *fa, const struct cp__spawn_req *q,
    int *moved)
{
	int i, src, r, top = q->nfds > 3 ? q->nfds : 3;

	for (i = 0; i < q->nfds; i++) {
		if ((src = q->fds[i]) >= 0 && src < top && src != i) {
			if ((moved[i] = fcntl(src, F_DUPFD_CLOEXEC, top)) < 0)
				return CP_ERR(errno);
			src = moved[i];
		}
		if (src < 0 && i < 3)
			r = posix_spawn_file_actions_addopen(fa, i, "/dev/null",
			    i == 0 ? O_RDONLY : O_RDWR, 0);
		else if (src < 0)
			r = posix_spawn_file_actions_addclose(fa, i);
		else
			/* src == i: glibc clears FD_CLOEXEC, as POSIX says. */
			r = posix_spawn_file_actions_adddup2(fa, src, i);
		if (r != 0)
			return CP_ERR(r);
		if (src >= 0 && i < 3 && (r = clear_nonblock(src)) != 0)
			return r;
	}
	for (; i < 3; i++)
		if ((r = posix_spawn_file_actions_addopen(fa, i, "/dev/null",
		    i == 0 ? O_RDONLY : O_RDWR, 0)) != 0)
			return CP_ERR(r);
	if (q->cwd != NULL &&
	    (r = posix_spawn_file_actions_addchdir_np(fa, q->cwd)) != 0)
		return CP_ERR(r);
	if ((r = posix_spawn_file_actions_addclosefrom_np(fa, top)) != 0)
		return CP_ERR(r);
	return 0;
}

int
cp__spawn(const struct cp__spawn_req *q, int *pidp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int moved[CP_SPAWN_FDS_MAX];
	int i, r;

	if (q->nfds < 0 || q->nfds > CP_SPAWN_FDS_MAX)
		return UV_EINVAL;
	if (q->cwd != NULL && (r = check_cwd(q->cwd)) != 0)
		return r;
	for (i = 0; i < q->nfds; i++)
		moved[i] = -1;
	if ((r = posix_spawnattr_init(&attr)) != 0)
		return CP_ERR(r);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		posix_spawnattr_destroy(&attr);
		return CP_ERR(r);
	}
	if ((r = set_attr(&attr, q->flags)) == 0 &&
	    (r = set_fds(&fa, q, moved)) == 0) {
		if (strchr(q->file, '/') != NULL)
			r = try_exec(q, q->file, &fa, &attr, moved, pidp);
		else
			r = search(q, &fa, &attr, moved, pidp);
	}
	for (i = 0; i < q->nfds; i++)
		if (moved[i] >= 0)
			close(moved[i]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return r;
}
