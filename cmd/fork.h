/*
 * cmd/fork.h - what the three files of childproc-fork share: fork.c
 * (options and main), bridge.c (standard input and output to and from the
 * workers' channels) and pool.c (the pool's front-end: status lines,
 * signals, exit status).
 */
#ifndef CP_CMD_FORK_H
#define CP_CMD_FORK_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "control.h"

enum end_mode { END_WAIT, END_REPLIES, END_IDLE, END_DISCONNECT };

struct fork {
	uv_loop_t *loop;
	struct cp_pool *pool;
	bool master;			/* master semantics (-n, --listen, --restart) */
	bool batch;			/* we made ourselves SCHED_BATCH */
	const char *file;		/* what is run, for messages */
	const char *cwd;
	/* bridge: input */
	struct cp_reader *in;
	size_t max_message;
	unsigned long lineno;
	unsigned long sent, received, lost;
	bool input_done;
	bool paused;
	int rr;				/* next slot for round-robin */
	bool broadcast;
	bool tag;
	enum end_mode end;
	bool end_given;			/* --end was given (else: say we wait) */
	uint64_t idle_ms;
	uv_timer_t idle;
	const char *end_message;
	bool ending;
	/* bridge: output */
	uv_check_t check;
	bool out_error;
	bool bridge_open;		/* idle and check are initialised */
	/* master */
	int status_fd;			/* --status-fd (a dup), or -1: stderr */
	bool status_json;		/* --status-format json */
	int status_code;
	bool stopping;			/* a stop signal was received */
	bool done;			/* the pool is empty: closing */
	bool gave_up;
	int max_restarts;		/* for the give-up message */
	uint64_t window_ms;
	uv_signal_t sig[64];
	int nsig;
	bool rolling;			/* a SIGHUP rolling restart is on */
	bool roll_queued;		/* another asked for during it */
	uint64_t ready_timeout_ms;	/* for messages */
	bool counts;			/* rr cluster: connections are counted */
	int max_workers;		/* TTIN and scale N stop there */
	bool prefix;			/* --prefix: "[SLOT] " on output lines */
	/* USR2: upgrading the master (pool.c) */
	char **argv;			/* ours, to run the new master with */
	const char *control;		/* --control PATH, or NULL */
	const int *listen_fds;		/* the sockets we hand over */
	int nlisten;
	int up_pid;			/* the new master starting, or 0 */
	uv_pipe_t up;			/* its "ready" comes on this */
	bool up_open;
	bool handed_over;		/* it is ready: we leave */
	bool up_child;			/* we are a new master: up_fd is ours */
	int up_fd;			/* the pipe to the old master */
	int up_pidfd;			/* the new master's, or -1 */
	uv_poll_t up_exit;		/* on up_pidfd: it has exited */
	bool up_exit_on;
	uv_timer_t up_timer;		/* its --ready-timeout, then --grace */
	bool up_timer_on;
	bool up_gave_up;		/* it was not ready in time: stopped */
	int up_closing;			/* up, up_exit, up_timer being closed */
	uint64_t grace_ms;		/* for the new master we stop */
	uv_timer_t drain;		/* handed over: our accepted connections */
	bool drain_on;
	uint64_t drain_start;
	bool cluster;			/* a cluster primary: servers on demand */
	json_t *adopt;			/* a new master's: [[key, fd], ...] */
	int up_workers;			/* a new master's: the old one's count */
	struct fork_out *outs;		/* their line buffers, per worker */
	/* systemd and PID 1 (cmd/systemd.c, cmd/init.c) */
	bool activated;			/* the listening sockets came from systemd */
	bool sd_ready;			/* READY=1 sent and no reload since */
	/* the control socket (cmd/control.c) */
	struct cmd_control *ctl;
	uint64_t started;		/* uv_now when the master started */
	unsigned *spawned;		/* workers started in each slot */
	/* recycling: --heartbeat and --max-memory (pool.c) */
	uint64_t heartbeat_ms;		/* 0: none */
	uint64_t max_memory;		/* bytes, 0: none */
	uv_timer_t watch;
	bool watch_on;
	struct fork_beat *beats;	/* per slot */
};

/*
 * --prefix: a worker's partial output lines on fds 1 and 2 (buf[0],
 * buf[1]), kept until the newline; freed once both have ended.
 */
struct fork_out {
	struct fork_out *next;
	int slot;
	int pid;
	bool json;			/* --status-format json: JSON lines */
	char *buf[2];
	size_t len[2], cap[2];
	bool ended[2];
};

/* A slot's heartbeat: the ping in flight to its current worker. */
struct fork_beat {
	struct fork *f;
	int slot;
	bool out;			/* awaiting the answer */
	uint64_t sent;
};

/* bridge.c */
/* Sets up the bridge's handles (before the workers start). */
void bridge_init(struct fork *f);
/* Starts reading standard input (once they have). */
void bridge_start_input(struct fork *f);
/* Stops reading standard input (if it still is). */
void bridge_close_input(struct fork *f);
/* Nothing more will come: closes the bridge's handles. */
void bridge_close(struct fork *f);
void bridge_on_message(struct fork *f, struct cp_worker *w,
    const struct cp_message *m);
void bridge_on_disconnect(struct fork *f, struct cp_worker *w);

/* pool.c */
void fork_status(struct fork *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning while the pool runs: as cmd_warn, or JSON with status_json. */
void fork_warn(struct fork *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
extern const struct cp_pool_events fork_pool_events;
extern const struct cmd_control_ops fork_control_ops;
/* Handles (master) or forwards (one child) our signals. */
void fork_signals_start(struct fork *f);
void fork_signals_stop(struct fork *f);
/*
 * TTIN, TTOU and the control socket's scale N: 0, or a negative UV_E*
 * code with *why set.  says: the signal or command, for the status line.
 */
int fork_scale(struct fork *f, int n, const char *says, const char **why);
/*
 * USR2: the sockets an old master passed us (its variables are removed
 * from our environment), or 0 when we were not started by one.
 */
int fork_upgrade_inherit(struct fork *f, int **fdsp);
/* USR2, cluster mode: the new master's pool takes the old one's servers. */
void fork_upgrade_adopt(struct fork *f);
/* --status-fd's descriptor, or the one the old master wrote to. */
int fork_upgrade_status_fd(int fd);
/* The pool is over: the upgrade's timers are closed. */
void fork_upgrade_end(struct fork *f);
/* --prefix: writes what is left of every worker's lines, frees them. */
void fork_out_flush_all(struct fork *f);
/* --heartbeat and --max-memory: checks the ready workers periodically. */
void fork_watch_start(struct fork *f);
void fork_watch_stop(struct fork *f);

#endif /* CP_CMD_FORK_H */
