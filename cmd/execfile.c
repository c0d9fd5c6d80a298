/* cmd/execfile.c - childproc-execfile: cmd/exec.c built as Node's execFile. */
#define CMD_EXECFILE 1
#include "exec.c"
