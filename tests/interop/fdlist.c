/*
 * fdlist.c - a non-Node child that reports the fds it inherited.
 *
 *	fdlist [--stdout] [ARG...]
 *
 * Prints one JSON line: {"fds":[0,1,2,...],"NODE_CHANNEL_FD":...,
 * "NODE_CHANNEL_SERIALIZATION_MODE":...}.  With NODE_CHANNEL_FD set (and
 * no --stdout) the line goes to that fd, the way a program that knows
 * nothing of libchildproc can speak Node's json channel: one JSON text and
 * a newline.  It uses no library, so it opens no fd of its own but the
 * directory it reads.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
add_string(char *out, size_t size, const char *name, const char *value)
{
	size_t len = strlen(out);

	if (value == NULL) {
		snprintf(out + len, size - len, ",\"%s\":null", name);
	} else {
		/* The values tested are numbers and words: no escaping needed. */
		snprintf(out + len, size - len, ",\"%s\":\"%s\"", name, value);
	}
}

int
main(int argc, char *argv[])
{
	const char *chan = getenv("NODE_CHANNEL_FD");
	const char *cmode = getenv("NODE_CHANNEL_SERIALIZATION_MODE");
	int fds[256], n = 0, i, j, fd, out = 1;
	char line[4096];
	struct dirent *e;
	size_t len;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		perror("fdlist: /proc/self/fd");
		return 1;
	}
	while ((e = readdir(d)) != NULL && n < 256) {
		if (e->d_name[0] == '.') {
			continue;
		}
		fd = atoi(e->d_name);
		if (fd != dirfd(d)) {
			fds[n++] = fd;
		}
	}
	closedir(d);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			fd = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = fd;
		}
	}

	strcpy(line, "{\"fds\":[");
	for (i = 0; i < n; i++) {
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, "%s%d", i ? "," : "",
		    fds[i]);
	}
	strcat(line, "]");
	add_string(line, sizeof(line), "NODE_CHANNEL_FD", chan);
	add_string(line, sizeof(line), "NODE_CHANNEL_SERIALIZATION_MODE", cmode);
	strcat(line, "}\n");

	if (chan != NULL && !(argc > 1 && strcmp(argv[1], "--stdout") == 0)) {
		out = atoi(chan);
	}
	len = strlen(line);
	if (write(out, line, len) != (ssize_t)len) {
		perror("fdlist: write");
		return 1;
	}
	return 0;
}
