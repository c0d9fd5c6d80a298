/*
 * peakrss.c - runs a command and reports its own peak resident memory.
 *
 *   peakrss COMMAND [ARG...]
 *
 * Prints "wall_s=S cpu_s=C peak_rss_kb=K status=N" on stderr once COMMAND
 * is done (stdin and stdout are the command's); cpu_s is the user + system
 * time of the command itself, without its children.  /usr/bin/time cannot be used for
 * a command that waits for children: the rusage of wait4 folds in the
 * peaks of every child the command reaped (a 40 MB node child), so this
 * stops the command at its exit with ptrace (PTRACE_O_TRACEEXIT, before
 * its memory is released) and reads VmHWM from /proc.  Only the command
 * itself is traced, not its children, so it runs at full speed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long
vm_hwm_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(fp);
	return kb;
}

/* User + system seconds of pid itself (not its children), from /proc. */
static double
cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The name may hold spaces: fields are counted after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	long peak = -1;
	double t0, cpu = -1;
	pid_t pid;
	int st, sig, status;
	bool first = true;

	if (argc < 2) {
		fprintf(stderr, "usage: peakrss COMMAND [ARG...]\n");
		return 2;
	}
	t0 = now();
	if ((pid = fork()) < 0) {
		perror("peakrss: fork");
		return 2;
	}
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "peakrss: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, &st, 0) < 0) {
			if (errno == EINTR)
				continue;
			perror("peakrss: waitpid");
			return 2;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		if (first && sig == SIGTRAP) {
			/* The stop after execve: from here on, stop at exit. */
			first = false;
			ptrace(PTRACE_SETOPTIONS, pid, NULL,
			    (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
			sig = 0;
		} else if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			peak = vm_hwm_kb(pid);
			cpu = cpu_seconds(pid);
			sig = 0;
		}
		/* Any other stop is a signal for the command: pass it on. */
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(stderr, "wall_s=%.3f cpu_s=%.2f peak_rss_kb=%ld status=%d\n",
	    now() - t0, cpu, peak, status);
	return status;
}
