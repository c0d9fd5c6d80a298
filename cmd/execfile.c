/*
 * cmd/execfile.c - childproc-execfile: cmd/exec.c built as Node's execFile,
 * which differs from exec only in taking FILE ARG... and no shell.
 */
#include "common.h"

#define CMD_EXECFILE 1

static const struct option longopts[] = {
	CMD_PROCESS_LONGOPTS,
	CMD_OUTPUT_LONGOPTS,
	{ "stdin",              required_argument, NULL, OPT_STDIN },
	{ NULL, 0, NULL, 0 },
};

#include "exec.c"
