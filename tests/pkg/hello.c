/*
 * tests/pkg/hello.c - a program that uses libchildproc through its public
 * header alone.  Checks cp_version against the header and cp_strerror /
 * cp_err_name against fixed texts; with "where" it also prints the
 * path of the libchildproc it runs with (dladdr), so a test can
 * tell an installed copy from the build tree.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <childproc.h>

static int
check(const char *what, const char *got, const char *want)
{
	if (got == NULL || strcmp(got, want) != 0) {
		fprintf(stderr, "hello: %s is \"%s\", want \"%s\"\n", what,
		    got ? got : "(null)", want);
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	Dl_info info;
	int bad = 0;

	bad |= check("cp_version_string()", cp_version_string(),
	    CP_VERSION_STRING);
	if (cp_version() != CP_VERSION_HEX ||
	    CP_VERSION_HEX != (CP_VERSION_MAJOR << 16 | CP_VERSION_MINOR << 8 |
	    CP_VERSION_PATCH)) {
		fprintf(stderr, "hello: cp_version() %#x, CP_VERSION_HEX %#x\n",
		    cp_version(), (unsigned)CP_VERSION_HEX);
		bad = 1;
	}
	bad |= check("cp_strerror(UV_ENOENT)", cp_strerror(UV_ENOENT),
	    "no such file or directory");
	bad |= check("cp_err_name(UV_EPIPE)", cp_err_name(UV_EPIPE), "EPIPE");
	if (bad)
		return 1;
	printf("childproc %s\n", cp_version_string());
	if (argc > 1 && strcmp(argv[1], "where") == 0) {
		/* The string lives in the library's own data. */
		if (dladdr((const void *)cp_version_string(), &info) == 0 ||
		    info.dli_fname == NULL) {
			fprintf(stderr, "hello: dladdr failed\n");
			return 1;
		}
		printf("%s\n", info.dli_fname);
	}
	return 0;
}
