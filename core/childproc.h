/*
 * childproc.h - libchildproc: Node.js's child_process in C.
 *
 * The library runs on a libuv loop the caller owns.  Functions that can
 * fail return 0 or a negative UV_E* code.  When a function that takes a
 * callback fails, the callback is never called.  Messages are jansson
 * values; who owns each reference is said at each function.
 *
 * Every object (cp_child, cp_channel, cp_reader, cp_exec, cp_pool) has
 * one lifecycle, as libuv handles do (childproc(3), "Object model"):
 * made by one call; cp_X_close(obj, close_cb) starts closing it
 * (idempotent, safe from any of its callbacks; no event runs after it,
 * queued requests get UV_ECANCELED); close_cb runs exactly once, from the
 * loop, when every process is reaped and every handle and fd closed, and
 * is the last callback; cp_X_free(obj) releases it, in or after close_cb.
 */
#ifndef CHILDPROC_H
#define CHILDPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CP_API __attribute__((visibility("default")))
#else
#define CP_API
#endif

/* CP_VERSION_MAJOR, _MINOR, _PATCH, _STRING and _HEX of this header. */
#include "childproc_version.h"

/*
 * The version of the library linked at run time: CP_VERSION_HEX's form
 * (0xMMmmpp), as uv_version(), and "MAJOR.MINOR.PATCH".
 */
CP_API unsigned int cp_version(void);
CP_API const char *cp_version_string(void);

/* A message for err (a negative UV_E* code), as uv_strerror. */
CP_API const char *cp_strerror(int err);
/* The code's name ("ENOENT"), as uv_err_name. */
CP_API const char *cp_err_name(int err);

/* Node's largest line (V8's string limit); the default maximum message. */
#define CP_MAX_MESSAGE_DEFAULT ((size_t)512 * 1024 * 1024)
/* Node's send() returns false once this much is queued (2 x 64 KiB reads). */
#define CP_SEND_HIGH_WATER ((size_t)131072)

/* ------------------------------------------------------------------ */
/* The IPC channel (both roles)                                        */
/* ------------------------------------------------------------------ */

struct cp_channel;

/* Kinds of handle (Node's NODE_HANDLE "type"). */
enum cp_handle_type {
	CP_HANDLE_NONE = 0,
	CP_HANDLE_NET_SERVER,	/* "net.Server": a listening TCP or Unix stream socket */
	CP_HANDLE_NET_SOCKET,	/* "net.Socket": a connected TCP or Unix stream socket */
	CP_HANDLE_NET_NATIVE,	/* "net.Native": either, as a raw handle (cluster) */
	CP_HANDLE_DGRAM_SOCKET,	/* "dgram.Socket": a bound UDP socket */
	CP_HANDLE_DGRAM_NATIVE	/* "dgram.Native": a UDP socket as a raw handle */
};

/* "net.Server" for CP_HANDLE_NET_SERVER ...; NULL for NONE or unknown. */
CP_API const char *cp_handle_type_name(enum cp_handle_type type);

/* A message as it arrived. */
struct cp_message {
	json_t *value;		/* borrowed for the callback; json_incref to keep */
	const char *line;	/* the bytes of the line, without "\r\n"; advanced:
				   the value's JSON form as text */
	size_t len;
	/*
	 * With a handle (a NODE_HANDLE line and its fd): value is the sender's
	 * message ("msg"), handle_type says what the sender passed, fd is the
	 * descriptor received (close-on-exec).  The library has already sent
	 * the NODE_HANDLE_ACK.  Take the fd with cp_message_take_fd to keep it;
	 * otherwise it is closed when the callback returns.  Without a handle,
	 * handle_type is CP_HANDLE_NONE and fd is -1.
	 */
	enum cp_handle_type handle_type;
	int fd;
	const char *key;	/* NODE_HANDLE "key" (server-accepted sockets) or NULL */
	const char *dgram_type;	/* "udp4"/"udp6" for dgram.Socket, or NULL */
	struct cp_channel *owner_;	/* private: holds fd until it is taken */
};

/*
 * Takes ownership of m's fd away from the library: the caller closes it.
 * Returns m->fd the first time, -1 after that or when m has none.  m is
 * not changed (m->fd keeps the number); only during the callback.
 */
CP_API int cp_message_take_fd(const struct cp_message *m);

struct cp_channel_events {
	/*
	 * A message from the peer, in order.  Internal messages (an object
	 * whose "cmd" starts with "NODE_") the library does not handle itself
	 * go to on_internal, or are dropped if it is NULL, as Node does.
	 */
	void (*on_message)(struct cp_channel *ch, const struct cp_message *m,
	    void *data);
	void (*on_internal)(struct cp_channel *ch, const struct cp_message *m,
	    void *data);
	/*
	 * A line that could not be used: err is UV_EPROTO (not one JSON value;
	 * line/len hold it) or UV_EMSGSIZE (longer than the maximum; line holds
	 * its first bytes, len its full length) or UV_ENOMEM (memory ran out
	 * while it was read; line/len hold it).  The line is skipped and the
	 * channel goes on working.
	 */
	void (*on_error)(struct cp_channel *ch, int err, const char *line,
	    size_t len, void *data);
	/*
	 * The channel is closed: the peer closed it (EOF, after every complete
	 * message was delivered) or cp_channel_disconnect finished.  err is 0,
	 * or the read error that ended it.  No message callback follows.
	 */
	void (*on_disconnect)(struct cp_channel *ch, int err, void *data);
};

/* Called when a send is written to the kernel (status 0) or failed. */
typedef void (*cp_send_cb)(struct cp_channel *ch, int status, void *arg);

/*
 * Sends value as one line.  value is only read during the call.  Returns
 * 0 when the queue is below CP_SEND_HIGH_WATER, 1 when the message was
 * accepted but the queue is above it (Node's send() returning false: slow
 * down), or a negative code: UV_EPIPE once the channel is disconnected or
 * disconnecting, UV_EINVAL for a value JSON cannot carry.  Nothing is ever
 * dropped once accepted: cb (may be NULL) runs once the line is written,
 * or with an error if the channel died first.  Sends made from a callback
 * of this channel after the first are gathered and written together when
 * the input at hand has been handled (one write for many replies); run
 * the loop, as for any queued line, before leaving the process.
 */
CP_API int cp_channel_send(struct cp_channel *ch, const json_t *value,
    cp_send_cb cb, void *arg);

/*
 * Sends a line of JSON text as it is (len bytes, no newline; one "\r" at
 * the end is dropped).  It is checked first: UV_EPROTO if it is not
 * exactly one JSON value (error, if not NULL, says why) or UV_ENOMEM,
 * and nothing is sent.  Returns as cp_channel_send.
 */
CP_API int cp_channel_send_line(struct cp_channel *ch, const char *line,
    size_t len, json_error_t *error, cp_send_cb cb, void *arg);

/* Flags for cp_channel_send_handle. */
#define CP_SEND_KEEP_OPEN 0x01	/* Node's keepOpen: no retransmission */

/*
 * Sends value with a handle: the line {"cmd":"NODE_HANDLE","type":T,
 * "msg":value} goes out in one sendmsg with fd attached (SCM_RIGHTS), as
 * Node does.  value is only read during the call; NULL is UV_EINVAL
 * (Node's send(undefined, handle) throws ERR_MISSING_ARGS).  fd is
 * borrowed: a copy (dup) is sent; the caller keeps its own and closes it
 * when it wants (for a net.Server, both processes then accept on it).
 * The socket is made non-blocking, as all of Node's are (the flag is the
 * socket's, so the caller's copy is non-blocking too).
 * fd is checked first: UV_ENOTSOCK for a file, tty or pipe (Node's
 * receiver would abort), UV_EPROTOTYPE for the wrong kind of socket
 * (stream for net.*, UDP for dgram.*), UV_EINVAL for a net.Server that is
 * not listening or a net.Socket that is.  As in Node, only one handle is
 * in flight: every later send waits until the peer answers it.  cb runs
 * with 0 once the peer ACKs, or UV_ECONNREFUSED if it NACKs (a
 * net.Socket without CP_SEND_KEEP_OPEN is retried three times first, as
 * Node does).  Returns 0, 1 (queued behind other data or another handle:
 * slow down), or a negative code as cp_channel_send.
 */
CP_API int cp_channel_send_handle(struct cp_channel *ch, const json_t *value,
    enum cp_handle_type type, int fd, unsigned int flags, cp_send_cb cb,
    void *arg);

/*
 * A liveness probe that needs no code in the peer: sends
 * {"cmd":"NODE_HANDLE"} without an fd, which Node's runtime answers from
 * the peer's event loop with NODE_HANDLE_NACK (and no 'message' event; its
 * 'internalMessage' listeners, Node's cluster among them, ignore it).  A
 * peer whose event loop is blocked does not answer.  Queued as a handle,
 * in order: it waits for the handles before it, and later sends wait for
 * its answer, as Node's own queue does.  cb runs with 0 once the NACK
 * arrived, UV_EPROTO if the peer ACKed (not Node), or the channel's error
 * if it closed first.  Returns 0 or UV_EPIPE (not connected), UV_ENOMEM.
 */
CP_API int cp_channel_ping(struct cp_channel *ch, cp_send_cb cb, void *arg);

/*
 * Disconnects once everything queued is written (and a handle in flight
 * is answered): no further send is accepted, messages keep being
 * delivered until the socket is closed, then on_disconnect runs.  Returns 0, or UV_ENOTCONN if already
 * disconnected or disconnecting.
 */
CP_API int cp_channel_disconnect(struct cp_channel *ch);

/* False once disconnected or disconnecting (Node's .connected). */
CP_API bool cp_channel_connected(const struct cp_channel *ch);
/* Bytes accepted but not yet written to the socket. */
CP_API size_t cp_channel_queue_size(const struct cp_channel *ch);
/*
 * Bytes written to the socket that the peer has not read yet (SIOCOUTQ):
 * 0 once the peer has read everything we sent.
 */
CP_API size_t cp_channel_unread(const struct cp_channel *ch);
/*
 * Flow control for what comes in: once paused, no more is read from the
 * socket (the lines of a read already made are still delivered), so the
 * peer's sends back up and its send() returns false; writing, and
 * cp_channel_disconnect, go on.  A paused channel does not keep the loop
 * alive, and notices the peer has gone only once resumed.  Idempotent.
 */
CP_API void cp_channel_pause(struct cp_channel *ch);
CP_API void cp_channel_resume(struct cp_channel *ch);
CP_API bool cp_channel_paused(const struct cp_channel *ch);
/* Whether the channel keeps the loop alive (default: it does). */
CP_API void cp_channel_ref(struct cp_channel *ch);
CP_API void cp_channel_unref(struct cp_channel *ch);
/* Sets the longest line accepted; 0 restores CP_MAX_MESSAGE_DEFAULT. */
CP_API void cp_channel_set_max_message(struct cp_channel *ch, size_t max);
/* The fd number, or -1 once closed.  Borrowed: the channel's; never close it. */
CP_API int cp_channel_fd(const struct cp_channel *ch);

/*
 * Advanced serialization (Node's serialization: 'advanced'): each message
 * is a 4-byte big-endian length and V8's serialization of the value, in
 * both directions, internal messages and handles included.  Values are
 * jansson values in a tagged JSON form that keeps what JSON cannot hold
 * (undefined, BigInt, Date, Map, Set, Buffer, typed arrays, Error,
 * circular references ...; childproc(3) describes it); a received
 * message's line is that form as JSON text, and cp_channel_send_line
 * takes it.  cp_channel_open_env and CP_STDIO_IPC children with
 * opts.serialization = "advanced" set it; for cp_channel_open_fd, call
 * this before the loop runs.  mode is "json" (or NULL) or "advanced".
 * Returns 0, UV_EINVAL for another mode, or UV_EBUSY once bytes were read
 * or sent in the other mode.
 */
CP_API int cp_channel_set_serialization(struct cp_channel *ch,
    const char *mode);
/* "json" or "advanced". */
CP_API const char *cp_channel_serialization(const struct cp_channel *ch);

/*
 * Child role: opens the channel a Node parent gave this process.  Reads
 * NODE_CHANNEL_FD (a decimal fd number) and NODE_CHANNEL_SERIALIZATION_MODE,
 * checks the fd is a connected AF_UNIX stream socket, sets FD_CLOEXEC on it
 * and removes both variables from the environment (so this process's own
 * children do not inherit them).  Reading starts at once.
 * Returns 0 and *chp, or:
 *   UV_ENOENT    NODE_CHANNEL_FD is not set or is empty (no parent channel);
 *   UV_EINVAL    it is not a non-negative decimal number;
 *   UV_EBADF     it names a closed fd;
 *   UV_ENOTSOCK  it names something that is not an AF_UNIX stream socket;
 *   UV_ENOTCONN  it names a listening or an unconnected socket;
 *   UV_EPROTO    the mode is neither "json" nor "advanced".
 * With "advanced" the channel speaks V8's serialization (see
 * cp_channel_set_serialization).
 * *ev is copied (it need not outlive the call); data is kept.
 * fd ownership as cp_channel_open_fd: the channel takes the inherited fd
 * on success (it is closed when the channel closes); on failure it is
 * left open.
 */
CP_API int cp_channel_open_env(uv_loop_t *loop,
    const struct cp_channel_events *ev, void *data, struct cp_channel **chp);

/*
 * As cp_channel_open_env, with the fd given (NODE_CHANNEL_FD is left
 * alone).  Takes ownership of fd on success: the channel makes it
 * non-blocking and close-on-exec and closes it when it closes (the peer
 * went, or cp_channel_close).  On failure fd is still the caller's, open.
 */
CP_API int cp_channel_open_fd(uv_loop_t *loop, int fd,
    const struct cp_channel_events *ev, void *data, struct cp_channel **chp);

/* Called once a closed channel has released every handle and fd. */
typedef void (*cp_channel_close_cb)(struct cp_channel *ch, void *data);

/*
 * Closes the channel at once, as uv_close: nothing more is read or
 * written (use cp_channel_disconnect first to flush what is queued), no
 * event of the channel runs any more, and every send still queued or
 * awaiting its ACK gets its callback with UV_ECANCELED.  Then close_cb
 * (may be NULL) runs, from the loop, never inside this call: the last
 * callback of the channel.  Idempotent (a second call changes nothing);
 * safe from any callback of the channel.  A channel the peer closed
 * (on_disconnect ran) must be closed too, to call cp_channel_free.
 *
 * A child's channel (cp_child_channel) follows the same rule: closing it
 * leaves the child running (its stdio and exit go on), and if
 * cp_channel_free is not called for it, cp_child_free releases it.
 */
CP_API void cp_channel_close(struct cp_channel *ch,
    cp_channel_close_cb close_cb);
/*
 * Releases the memory: in or after close_cb only (with a NULL close_cb,
 * once the loop has run the close, e.g. after uv_run returned).  ch may
 * be NULL.
 */
CP_API void cp_channel_free(struct cp_channel *ch);

/* The data pointer given at open or spawn. */
CP_API void *cp_channel_data(const struct cp_channel *ch);

/* Flags for cp_listen. */
#define CP_LISTEN_REUSEPORT 0x01	/* SO_REUSEPORT: several sockets on one port */

/*
 * Opens a listening socket to pass as a net.Server: spec is "[HOST:]PORT"
 * (PORT 0 to 65535; HOST defaults to 127.0.0.1; "[::1]:PORT" for IPv6; 0 picks a free
 * port) or "unix:PATH".  backlog <= 0 means Node's 511.  Stores the fd
 * in *fdp (close-on-exec and non-blocking, as Node's receivers need;
 * returned to the caller, who owns and closes it) and the address bound,
 * "HOST:PORT" or "unix:PATH", in addr.  Returns 0 or a negative code
 * (UV_EADDRINUSE, UV_EACCES, UV_EINVAL for a bad spec ...).
 */
CP_API int cp_listen(const char *spec, unsigned int flags, int backlog,
    int *fdp, char *addr, size_t addrlen);

/* ------------------------------------------------------------------ */
/* Reading lines from an fd (stdin of a bridge, a C child's input)     */
/* ------------------------------------------------------------------ */

struct cp_reader;

/*
 * One line, without "\n" (and without one "\r" before it); line is
 * writable and valid during the call, NUL-terminated at len.  err is 0,
 * UV_EMSGSIZE (line too long: its head, len = full length), a read error,
 * or UV_EOF once at the end (a last line without "\n" comes before it).
 * After UV_EOF or an error nothing more is called.
 */
typedef void (*cp_line_cb)(struct cp_reader *r, int err, char *line,
    size_t len, void *data);

/*
 * Reads fd line by line on loop: a pipe, socket or tty through libuv
 * streams, a regular file through the thread pool.  fd is borrowed: the
 * reader never closes it; keep it open until close_cb.  max_line 0
 * means CP_MAX_MESSAGE_DEFAULT.
 */
CP_API int cp_reader_open(uv_loop_t *loop, int fd, size_t max_line,
    cp_line_cb cb, void *data, struct cp_reader **rp);
/* Stops and resumes the callbacks (flow control). */
CP_API void cp_reader_pause(struct cp_reader *r);
CP_API void cp_reader_resume(struct cp_reader *r);

typedef void (*cp_reader_close_cb)(struct cp_reader *r, void *data);
/*
 * Stops for good: no line callback runs after this call (a read in
 * flight is cancelled); close_cb (may be NULL) runs from the loop once
 * the reader's handle is closed, the last callback.  Idempotent; safe
 * from the line callback.  r may be NULL.
 */
CP_API void cp_reader_close(struct cp_reader *r, cp_reader_close_cb close_cb);
/* Releases the memory: in or after close_cb only.  r may be NULL. */
CP_API void cp_reader_free(struct cp_reader *r);

/* ------------------------------------------------------------------ */
/* Child processes (spawn, fork)                                       */
/* ------------------------------------------------------------------ */

struct cp_child;

enum cp_stdio_type {
	CP_STDIO_PIPE = 0,	/* a socketpair; data through on_data/cp_child_write */
	CP_STDIO_INHERIT,	/* this process's fd of the same number */
	CP_STDIO_IGNORE,	/* /dev/null for 0-2, nothing for >= 3 */
	CP_STDIO_FD,		/* .fd of this process (borrowed: the child
				   gets a copy; the caller closes its own) */
	CP_STDIO_IPC		/* the IPC channel; at most one */
};

struct cp_stdio {
	enum cp_stdio_type type;
	int fd;			/* for CP_STDIO_FD */
};

/* Flags for cp_spawn_options.flags. */
#define CP_SPAWN_DETACHED  0x01	/* setsid() in the child */
#define CP_SPAWN_SETUID    0x02	/* use .uid */
#define CP_SPAWN_SETGID    0x04	/* use .gid */
#define CP_SPAWN_KILL_TREE 0x08	/* child leads a process group; kills reach it all */
/*
 * SIGKILL the child when the thread that spawned it ends, even by SIGKILL
 * (prctl PR_SET_PDEATHSIG; Linux >= 5.3, else UV_ENOSYS).  A pool's
 * workers get it unless CP_SPAWN_DETACHED: none outlives its master.
 */
#define CP_SPAWN_DIE_WITH_PARENT 0x10
/*
 * The child starts with the default policy, SCHED_OTHER at priority 0,
 * not with the calling thread's (Linux's SCHED_RESET_ON_FORK resets only
 * real-time ones): for a caller that runs SCHED_BATCH itself, as the
 * childproc-fork master does.  UV_EPERM when the kernel refuses the change
 * (from SCHED_IDLE without CAP_SYS_NICE, say).
 */
#define CP_SPAWN_SCHED_OTHER 0x20

struct cp_spawn_options {
	const char *file;	/* searched in the child's PATH unless it has a '/' */
	char *const *args;	/* arguments after argv[0], NULL-terminated; may be NULL */
	const char *argv0;	/* NULL: file (or the shell) */
	char *const *env;	/* "NAME=VALUE", NULL-terminated; NULL: this environ */
	const char *cwd;	/* NULL: this process's */
	/*
	 * Node's shell option: NULL for none; otherwise the shell's path
	 * ("/bin/sh" for Node's shell: true) run as SHELL -c "file args..."
	 * with the words joined by spaces, unquoted, as Node does.
	 */
	const char *shell;
	/*
	 * One entry per fd of the child, from 0, as uv_process_options_t's
	 * stdio: borrowed, only read during the call.  stdio_count 0 (stdio
	 * may then be NULL): three pipes.  At most 64 entries.
	 */
	const struct cp_stdio *stdio;
	int stdio_count;
	unsigned int flags;
	uid_t uid;
	gid_t gid;
	uint64_t timeout_ms;	/* 0: none; else kill_signal after this long */
	int kill_signal;	/* 0: SIGTERM */
	uint64_t kill_after_ms;	/* 0: none; else SIGKILL this long after kill_signal */
	const char *serialization;	/* NULL or "json", or "advanced" */
	size_t max_message;	/* 0: CP_MAX_MESSAGE_DEFAULT */
	void *reserved_[4];	/* zero: room to grow without an ABI break */
};

/*
 * Initialises a struct cp_spawn_options: every field at its default
 * (fields added later default too).  Use it (or zero the struct):
 *	struct cp_spawn_options o = CP_SPAWN_OPTIONS_INIT;
 */
#define CP_SPAWN_OPTIONS_INIT { 0 }

struct cp_child_events {
	/* Message, internal, error and disconnect of the IPC channel, if any. */
	struct cp_channel_events ipc;
	/* Output on a CP_STDIO_PIPE fd; len == 0 is its end of file. */
	void (*on_data)(struct cp_child *c, int fd, const char *buf, size_t len,
	    void *data);
	/*
	 * The child ended: exit_status is its code (or -1) and term_signal the
	 * signal that killed it (or 0).  Delivered after every message it sent
	 * (the channel is read to its end first) and after on_disconnect.
	 */
	void (*on_exit)(struct cp_child *c, int64_t exit_status, int term_signal,
	    void *data);
	/*
	 * Node's 'close': the child exited, every pipe is at EOF and the
	 * channel is closed.  The last event; close the child here (or later)
	 * with cp_child_close.
	 */
	void (*on_close)(struct cp_child *c, void *data);
	/* The timeout fired and kill_signal was sent (may be NULL). */
	void (*on_timeout)(struct cp_child *c, void *data);
};

/*
 * Starts a child.  opts is only read during the call; *ev is copied (it
 * need not outlive the call) and data is kept.  Returns 0 and *childp, or a negative
 * code and no callback ever runs: UV_ENOENT (no such file, or the cwd is
 * missing), UV_EACCES, UV_ENOEXEC, UV_ENOTDIR, UV_EPERM (uid/gid),
 * UV_EINVAL (bad options: two IPC entries, an empty file, a serialization
 * other than "json" or "advanced").
 */
CP_API int cp_child_spawn(uv_loop_t *loop, const struct cp_spawn_options *opts,
    const struct cp_child_events *ev, void *data, struct cp_child **childp);

/*
 * Sends signum to the child, or its process group with CP_SPAWN_KILL_TREE.
 * signum 0 sends nothing and only checks that the child is there, as
 * kill(2) and Node's child.kill(0) do.  Returns 0, UV_ESRCH once it has
 * exited, or UV_EINVAL.
 */
CP_API int cp_child_kill(struct cp_child *c, int signum);

/* Called when a cp_child_write is written (status 0) or failed. */
typedef void (*cp_write_cb)(struct cp_child *c, int fd, int status, void *arg);

/*
 * Writes len bytes (copied) to the child's CP_STDIO_PIPE fd, as
 * cp_channel_send does: returns 0 when less than CP_SEND_HIGH_WATER is
 * queued, 1 when the bytes were accepted but more is queued (Node's
 * write() returning false: slow down), or a negative code: UV_EBADF if fd
 * is not a pipe or was ended, UV_EPIPE once the child has closed its end
 * (no SIGPIPE is ever raised: the library writes with MSG_NOSIGNAL and
 * leaves the signal's disposition alone), UV_ENOMEM.  cb (may be NULL)
 * runs from the loop, never inside this call, once the bytes are written
 * (status 0) or with UV_EPIPE if the child closed its end or exited first,
 * UV_ECANCELED if the pipe was closed (cp_child_close_fd).
 */
CP_API int cp_child_write(struct cp_child *c, int fd, const char *buf,
    size_t len, cp_write_cb cb, void *arg);
/*
 * In cp_child_write, cp_child_end and cp_child_close_fd (and on_data), fd
 * is the number of a CP_STDIO_PIPE fd in the child, not a descriptor of
 * this process: the pipes are the library's, and it closes them.
 */
/* Closes the child's pipe fd once its writes are done (EOF for the child). */
CP_API int cp_child_end(struct cp_child *c, int fd);
/* Stops reading a pipe; the child then gets EPIPE if it writes on. */
CP_API int cp_child_close_fd(struct cp_child *c, int fd);

/* The IPC channel, or NULL if the child has none. */
CP_API struct cp_channel *cp_child_channel(const struct cp_child *c);
CP_API int cp_child_pid(const struct cp_child *c);
/*
 * Whether pid is a child the library started (on any loop) and has not
 * reaped yet.  A program that reaps adopted orphans (PID 1, a subreaper)
 * must leave such a pid alone, as it leaves libuv's process handles: the
 * library waits for that pid only, and a waitpid elsewhere would take
 * the exit status from it.
 */
CP_API bool cp_child_pid_owned(int pid);
/* Whether the timeout fired (Node's killed after a timeout). */
CP_API bool cp_child_timed_out(const struct cp_child *c);
/* Whether cp_child_kill or the timeout delivered a signal (Node's .killed). */
CP_API bool cp_child_killed(const struct cp_child *c);
CP_API void *cp_child_data(const struct cp_child *c);

typedef void (*cp_child_close_cb)(struct cp_child *c, void *data);

/*
 * Closes the child, as every object is closed (cp_pool_close): no event
 * runs after this call (writes still queued get their callback with
 * UV_ECANCELED, as do the channel's sends); close_cb (may be NULL) runs
 * from the loop once the process is reaped and every pipe, the channel
 * and every handle are closed: the last callback.  Idempotent; safe from
 * any callback of the child.  A child still running is killed with
 * SIGKILL (its process group with CP_SPAWN_KILL_TREE) and reaped first:
 * no zombie and no fd outlives the object.  To stop it gently, use
 * cp_child_kill and close it in on_exit or on_close.
 */
CP_API void cp_child_close(struct cp_child *c, cp_child_close_cb close_cb);
/* Releases the memory: in or after close_cb only.  c may be NULL. */
CP_API void cp_child_free(struct cp_child *c);

/*
 * Exit status of a command that wraps a child, as timeout(1) and env(1)
 * report it: for err < 0 (the child could not be started: a spawn error,
 * r->error when r->pid is 0) 127 if it was UV_ENOENT, else 126; otherwise
 * 124 if the timeout fired, 128 + signal, or the code (255 past 0-255).
 * err is 0 for a child that ran.
 */
CP_API int cp_exit_status(int err, int64_t exit_status, int term_signal,
    bool timed_out);

/* ---- exec, execFile and the sync forms ---- */

/*
 * Node's Buffer encodings, for captured output.  CP_ENC_DEFAULT is each
 * function's own default, as in Node: utf8 for cp_exec and cp_exec_file,
 * buffer for the sync forms.
 */
enum cp_encoding {
	CP_ENC_DEFAULT = 0,
	CP_ENC_BUFFER,		/* the bytes as they came (Node's Buffer) */
	CP_ENC_UTF8,		/* also "utf-8" */
	CP_ENC_UTF16LE,		/* also "utf-16le", "ucs2", "ucs-2" */
	CP_ENC_LATIN1,		/* also "binary" */
	CP_ENC_ASCII,		/* latin1 with the high bit cleared */
	CP_ENC_BASE64,
	CP_ENC_BASE64URL,
	CP_ENC_HEX
};

/*
 * Text is UTF-8.  A JavaScript string may hold an unpaired surrogate (from
 * utf16le output, or from exec's maxBuffer cutting a character in two);
 * the library keeps it in its 3-byte generalized UTF-8 form (WTF-8), and
 * cp_json_stringify writes it as "\udXXX", as JSON.stringify does.
 */

/*
 * Buffer.isEncoding(name), in any case, or "buffer".  Returns 0 and *enc,
 * or UV_EINVAL for an unknown name (Node: "Unknown encoding: NAME").
 */
CP_API int cp_encoding_parse(const char *name, enum cp_encoding *enc);
/* Node's canonical name ("utf8", "buffer", ...). */
CP_API const char *cp_encoding_name(enum cp_encoding enc);
/*
 * Buffer.from(s, enc): the bytes a string (len bytes of UTF-8) stands for.
 * Invalid UTF-8 reads as U+FFFD (one per maximal invalid subpart, as
 * Node's decoder), a lone surrogate in WTF-8 as that code unit.
 * *out is malloc'd and NUL-terminated.  UV_EINVAL for CP_ENC_BUFFER (Node:
 * "Unknown encoding: buffer"), UV_ENOMEM.
 */
CP_API int cp_encoding_from_string(enum cp_encoding enc, const char *s,
    size_t len, char **out, size_t *outlen);
/*
 * buf.toString(enc): the text of len bytes.  *out is malloc'd and
 * NUL-terminated.  UV_EINVAL for CP_ENC_BUFFER, UV_ENOMEM.
 */
CP_API int cp_encoding_to_string(enum cp_encoding enc, const char *buf,
    size_t len, char **out, size_t *outlen);

/* Node's name for a signal ("SIGTERM"), or "" where Node has none (SIGRTMIN+n). */
CP_API const char *cp_signal_name(int signum);

/*
 * JSON.stringify(v), byte for byte: compact, keys in insertion order,
 * lowercase \u00xx escapes, unpaired surrogates escaped.  Returns a
 * malloc'd NUL-terminated string (length in *lenp if not NULL), or NULL.
 */
CP_API char *cp_json_stringify(const json_t *v, size_t *lenp);

#define CP_MAX_BUFFER_DEFAULT ((uint64_t)1024 * 1024)
#define CP_MAX_BUFFER_INFINITY UINT64_MAX

struct cp_exec;

struct cp_exec_options {
	/*
	 * The process, as cp_child_spawn takes it: file (for cp_exec and
	 * cp_exec_sync, the command string), args, env, cwd, shell, uid and
	 * gid, timeout_ms, kill_signal, kill_after_ms and CP_SPAWN_KILL_TREE.
	 * The sync forms also honour argv0, stdio (no CP_STDIO_IPC; entries
	 * up to fd 2 not given are pipes) and CP_SPAWN_DETACHED; cp_exec and cp_exec_file
	 * ignore them as Node's exec and execFile do (three pipes, argv[0] is
	 * the file).  serialization and max_message are not used.
	 */
	struct cp_spawn_options spawn;
	/*
	 * Node's maxBuffer in bytes: CP_MAX_BUFFER_DEFAULT after
	 * CP_EXEC_OPTIONS_INIT, CP_MAX_BUFFER_INFINITY for no limit, and 0
	 * for none at all (the first byte goes over), in every form.
	 * exec/execFile count each stream on its own (in string encodings,
	 * as Buffer.byteLength of each decoded chunk); the stream that goes
	 * over keeps exactly the limit (in UTF-16 units for strings, as
	 * String.prototype.slice) and the child is killed.  The sync forms
	 * count all pipes together, cut nothing, and kill the child with
	 * UV_ENOBUFS.  (Node's spawnSync reads its maxBuffer 0 as no limit:
	 * pass CP_MAX_BUFFER_INFINITY for that.)
	 */
	uint64_t max_buffer;
	enum cp_encoding encoding;
	/*
	 * The sync forms: written to the child's stdin when stdio[0] is a pipe,
	 * which is then closed (at once when input is NULL: the child reads
	 * EOF).  cp_exec and cp_exec_file: when input is not NULL it is
	 * written likewise (not in Node); when NULL, stdin is a pipe that is
	 * never written nor closed until the child exits, as in Node.
	 */
	const char *input;
	size_t input_len;
	/*
	 * cp_exec and cp_exec_file, not in Node (whose exec gives the child a
	 * stdin pipe, never closed): CP_EXEC_STDIN_INHERIT gives the child
	 * our fd 0 (borrowed: it stays ours and open), CP_EXEC_STDIN_IGNORE
	 * /dev/null.  Either with input set is UV_EINVAL.
	 */
	unsigned int flags;
	/*
	 * cp_exec and cp_exec_file: when set, stdout and stderr are not
	 * collected but passed here chunk by chunk as they arrive (fd 1 or
	 * 2), exactly the bytes r->output would have held: cut at
	 * max_buffer, and in a string encoding converted chunk by chunk
	 * (a character or base64 group split between reads comes whole in
	 * the later chunk).  r->output[1] and [2] are then empty.  data is
	 * cb's.  Return 0, or < 0 to stop reading that stream (the child's
	 * next write to it fails with EPIPE, as in a shell pipeline whose
	 * reader left).  Not called after cb.
	 */
	int (*on_output)(struct cp_exec *x, int fd, const char *buf,
	    size_t len, void *data);
	void *reserved_[4];	/* zero: room to grow without an ABI break */
};

/*
 * Initialises a struct cp_exec_options: every field at its default
 * (max_buffer CP_MAX_BUFFER_DEFAULT; fields added later default too):
 *	struct cp_exec_options o = CP_EXEC_OPTIONS_INIT;
 */
#define CP_EXEC_OPTIONS_INIT { .max_buffer = CP_MAX_BUFFER_DEFAULT }

#define CP_EXEC_STDIN_INHERIT 0x1u
#define CP_EXEC_STDIN_IGNORE  0x2u

/* *o = (struct cp_exec_options)CP_EXEC_OPTIONS_INIT, for a struct already there. */
CP_API void cp_exec_options_init(struct cp_exec_options *o);

/* Values of cp_result.error that are not UV_E* codes. */
#define CP_EXEC_FAILED    1	/* exit code != 0 or a signal: "Command failed: ..." */
#define CP_EXEC_MAXBUFFER 2	/* exec/execFile: "stdout maxBuffer length exceeded" */

struct cp_output {
	char *data;		/* NUL-terminated; NULL is Node's null (not a pipe) */
	size_t len;
};

struct cp_result {
	/*
	 * 0, or why Node reports an error:
	 *   < 0  a UV_E* code.  The spawn failed (pid is 0): UV_ENOENT,
	 *        UV_EACCES, ...  The sync forms also report, with the child
	 *        run: UV_ETIMEDOUT (the timeout fired), UV_ENOBUFS (max_buffer
	 *        exceeded), or an error writing input (UV_EPIPE).
	 *   CP_EXEC_FAILED     exec/execFile, execSync, execFileSync: the exit
	 *                      code is not 0 or a signal ended the child.
	 *   CP_EXEC_MAXBUFFER  exec/execFile: max_buffer_fd went over.
	 */
	int error;
	int pid;		/* 0 if it never started */
	int64_t status;		/* exit code, or -1: Node's null (signal, never started) */
	int signal;		/* the signal that ended it, or 0 */
	bool killed;		/* Node's err.killed (exec/execFile) */
	bool timed_out;		/* the timeout fired */
	bool sync;		/* a sync form made it (messages say "spawnSync") */
	bool text;		/* output holds text (exec in a string encoding) */
	int max_buffer_fd;	/* 1 (stdout) or 2 (stderr) with CP_EXEC_MAXBUFFER */
	enum cp_encoding encoding;	/* never CP_ENC_DEFAULT */
	/*
	 * One entry per stdio fd; 0 entries when the child never started
	 * (the sync forms' output: null).  Bytes, or text when text is set.
	 * output[1] is stdout, output[2] stderr.  Take a buffer by setting
	 * data to NULL; free it with free().
	 */
	int output_count;
	struct cp_output *output;	/* output_count entries, or NULL */
	char *file;		/* the file run (the shell with one): err.path */
	char **spawnargs;	/* its arguments after argv[0]: err.spawnargs */
	char *cmd;		/* err.cmd, or the command of "Command failed: " */
};

/*
 * The result, once: r belongs to x and lives until cp_exec_free(x).  Close
 * x here (or later) with cp_exec_close.
 */
typedef void (*cp_exec_cb)(struct cp_exec *x, struct cp_result *r, void *data);
typedef void (*cp_exec_close_cb)(struct cp_exec *x, void *data);

/*
 * Node's execFile(file, args, options, callback): runs o->spawn.file with
 * o->spawn.args (through o->spawn.shell if set), collects stdout and
 * stderr, and calls cb once everything is over (the child exited and both
 * pipes are closed: a grandchild holding them delays it, as in Node).
 * The timeout, and max_buffer going over, close stdout and stderr first
 * and then send kill_signal (so a child that ignores it dies of SIGPIPE
 * when it writes again).  A spawn failure of the kinds Node reports
 * through the callback (UV_ENOENT, UV_EACCES, UV_EAGAIN, UV_EMFILE,
 * UV_ENFILE) comes to cb in r->error; any other (UV_ENOTDIR for a cwd that
 * is a file, UV_EPERM for uid/gid, UV_EINVAL for an empty file) is
 * returned here, as Node throws it, and cb is never called.
 */
CP_API int cp_exec_file(uv_loop_t *loop, const struct cp_exec_options *o,
    cp_exec_cb cb, void *data, struct cp_exec **xp);
/* Node's exec(command, options, callback): cp_exec_file with shell defaulting to /bin/sh. */
CP_API int cp_exec(uv_loop_t *loop, const struct cp_exec_options *o,
    cp_exec_cb cb, void *data, struct cp_exec **xp);
/*
 * Node's spawnSync, but on loop (so that the caller can, say, forward
 * signals while it runs): every error, spawn failures included, comes to
 * cb in r->error.  Returns 0, or UV_EINVAL (bad options) and cb is never
 * called.
 */
CP_API int cp_spawn_capture(uv_loop_t *loop, const struct cp_exec_options *o,
    cp_exec_cb cb, void *data, struct cp_exec **xp);
/* The running child, or NULL (spawn failed, or finished). */
CP_API struct cp_child *cp_exec_child(const struct cp_exec *x);
/*
 * Node's child.kill(signum) (0 only checks): cp_child_kill on the child,
 * or UV_ESRCH once it is gone.  Safe until the callback.
 */
CP_API int cp_exec_kill(struct cp_exec *x, int signum);
/*
 * Closes x, as every object is closed (cp_pool_close): idempotent, safe
 * from cb and on_output.  If cb has not run, the exec is cancelled, as
 * Node's exec with an aborted options.signal: stdout and stderr are
 * closed and the child is killed with SIGKILL (its process group with
 * CP_SPAWN_KILL_TREE) and reaped; then cb runs with r->error UV_ECANCELED
 * (unless an error came first; cp_result_message says "The operation was
 * aborted", cp_exec_result_json code "ABORT_ERR"), r->killed set and the
 * output read so far.  close_cb (may be NULL) runs after cb, from the
 * loop, once every handle is closed: the last callback.
 */
CP_API void cp_exec_close(struct cp_exec *x, cp_exec_close_cb close_cb);
/* Frees x and its result: in or after close_cb only.  x may be NULL. */
CP_API void cp_exec_free(struct cp_exec *x);

/*
 * Node's spawnSync(file, args, options), on a private loop.  Fills r (free
 * with cp_result_release) and returns 0, or UV_EINVAL / UV_ENOMEM with
 * r empty (zeroed: cp_result_release is safe either way).  Errors of the
 * child are in r->error, as in Node.
 */
CP_API int cp_spawn_sync(const struct cp_exec_options *o, struct cp_result *r);
/*
 * Node's execFileSync and execSync (shell defaulting to /bin/sh): as
 * cp_spawn_sync, then returns 0 on success, else r->error, which is
 * CP_EXEC_FAILED when the child ran but failed (Node throws "Command
 * failed: ...").  Node also copies the child's stderr to its own when no
 * stdio was given; the library leaves that to the caller.
 */
CP_API int cp_exec_file_sync(const struct cp_exec_options *o, struct cp_result *r);
CP_API int cp_exec_sync(const struct cp_exec_options *o, struct cp_result *r);
/* Frees what r holds (r itself is the caller's). */
CP_API void cp_result_release(struct cp_result *r);

/*
 * Node's error message for r in *msgp (malloc'd; the caller frees it):
 * "spawn FILE ENOENT", "spawnSync FILE ETIMEDOUT", "Command failed: CMD\n
 * STDERR" (the sync forms leave out "\nSTDERR" when stderr is empty),
 * "stdout maxBuffer length exceeded"; NULL when r->error is 0.  Returns 0,
 * or UV_ENOMEM with *msgp NULL.
 */
CP_API int cp_result_message(const struct cp_result *r, char **msgp);
/*
 * What an exec/execFile callback receives, as {"error": ..., "stdout":
 * ..., "stderr": ...}: the error is null or {"message": ...} followed by
 * its enumerable properties in Node's order; output is a string, or
 * {"type":"Buffer","data":[...]} as JSON.stringify gives a Buffer.  New
 * reference, or NULL when out of memory.
 */
CP_API json_t *cp_exec_result_json(const struct cp_result *r);
/*
 * The same object for an error cp_exec or cp_exec_file returned (Node
 * throws it): {"error": {"message": "spawn ENOTDIR", "errno": -20,
 * "code": "ENOTDIR", "syscall": "spawn"}, "stdout": "", "stderr": ""}.
 */
CP_API json_t *cp_exec_thrown_json(int err, enum cp_encoding enc);
/*
 * JSON.stringify of Node's spawnSync result: {"error" (when set; its
 * enumerable properties errno, code, syscall, path, spawnargs, as
 * JSON.stringify leaves out the message), "status", "signal", "output",
 * "pid", "stdout", "stderr"}, with output in r->encoding.  New reference.
 */
CP_API json_t *cp_spawn_sync_result_json(const struct cp_result *r);

/* ------------------------------------------------------------------ */
/* A pool of workers: a master, or a cluster primary                   */
/* ------------------------------------------------------------------ */

/*
 * A pool runs N copies of one program (usually node with a module), each
 * in a numbered slot with its own IPC channel, restarts them as a policy
 * says, replaces them one at a time on request, and stops them.  With
 * a listening socket it passes each worker as a net.Server, they share
 * one port.  With CP_POOL_CLUSTER it is a primary of Node's cluster
 * module: unmodified workers' server.listen() and dgram bind() are
 * answered by the pool, which opens one server per address on demand and
 * shares it among the workers that ask, as sched says.
 *
 * Lifecycle, as every object of the library: cp_pool_create, then
 * cp_pool_start; cp_pool_close(p, close_cb) stops what is left and calls
 * close_cb once every process and handle is gone; cp_pool_free in or
 * after close_cb.  Events run until close_cb, which is the last callback.
 */

struct cp_pool;
struct cp_worker;

enum cp_worker_state {
	CP_WORKER_STARTING = 0,	/* spawned; nothing heard from it yet */
	CP_WORKER_ONLINE,	/* cluster: it sent "online" */
	CP_WORKER_READY,	/* serving: it said so (cluster "listening",
				   the listening socket acknowledged, its
				   first message, or ready_message) and
				   stayed up ready_settle_ms more */
	CP_WORKER_STOPPING,	/* asked to leave: disconnect, then SIGKILL
				   after grace_ms */
	CP_WORKER_EXITED	/* the process has ended */
};

/* "starting", "online", "ready", "stopping", "exited". */
CP_API const char *cp_worker_state_name(enum cp_worker_state s);

enum cp_restart {
	CP_RESTART_NO = 0,	/* a worker that exits leaves its slot empty */
	CP_RESTART_ON_FAILURE,	/* restart after a non-zero exit or a signal */
	CP_RESTART_ALWAYS	/* restart after any exit not asked for */
};

/* How a cluster's servers are shared (Node's cluster.schedulingPolicy). */
enum cp_sched {
	CP_SCHED_RR = 0,	/* the pool accepts and hands each connection to
				   the next free worker (Node's default) */
	CP_SCHED_NONE,		/* every worker gets the listening socket and
				   accepts on it (Node's SCHED_NONE) */
	CP_SCHED_REUSEPORT	/* each slot gets a TCP socket of its own, bound
				   with SO_REUSEPORT: the kernel spreads them */
};

/* Flags for cp_pool_options.flags. */
#define CP_POOL_SLOT_ENV 0x01	/* CHILDPROC_WORKER and NODE_APP_INSTANCE */
#define CP_POOL_CLUSTER  0x02	/* speak Node's cluster protocol */
#define CP_POOL_LISTEN_PER_SLOT 0x04	/* listen_fds[i] for slot i only */

struct cp_pool_options {
	/*
	 * How to run each worker, as cp_child_spawn takes it; one IPC entry
	 * is required in stdio.  The struct is copied; the strings and
	 * arrays it points to are borrowed and must stay valid until
	 * close_cb.  Each worker's environment is spawn.env (NULL: this
	 * process's) with NODE_UNIQUE_ID set to its id (cp_worker_id) with
	 * CP_POOL_CLUSTER, removed otherwise (it would make a Node worker a
	 * cluster worker) and, with CP_POOL_SLOT_ENV, with CHILDPROC_WORKER
	 * (the slot, from 1) and NODE_APP_INSTANCE (the slot, from 0, as pm2
	 * sets it).
	 */
	struct cp_spawn_options spawn;
	int workers;		/* slots, >= 1 */
	/*
	 * The most slots cp_pool_scale may make (their memory is taken at
	 * cp_pool_create); 0 or less than workers: workers.
	 */
	int max_workers;
	unsigned int flags;
	enum cp_sched sched;	/* CP_POOL_CLUSTER: how servers are shared */
	enum cp_restart restart;
	/*
	 * Give up (stop every worker, CP_POOL_GIVE_UP) when max_restarts
	 * restarts fall within restart_window_ms; 0: never give up.
	 */
	int max_restarts;
	uint64_t restart_window_ms;
	/*
	 * A worker that exits less than stable_ms after it started counts
	 * as a failure of its slot: the restart waits backoff_ms, doubled
	 * for each failure in a row, up to backoff_max_ms.  One that ran
	 * stable_ms or longer is restarted at once and its slot's count
	 * starts again.
	 */
	uint64_t backoff_ms;
	uint64_t backoff_max_ms;
	uint64_t stable_ms;
	uint64_t grace_ms;	/* stopping: SIGKILL after this long */
	/*
	 * Pre-opened listening sockets (borrowed: the caller closes them
	 * after close_cb), sent to each worker as a net.Server with
	 * handle_message (copied) when it starts: every socket to every
	 * worker, or, with CP_POOL_LISTEN_PER_SLOT (listen_count ==
	 * workers), listen_fds[i] to slot i only.  0: none.
	 */
	const int *listen_fds;
	int listen_count;
	const json_t *handle_message;	/* NULL: "server" */
	/*
	 * Readiness.  A worker says it is ready with its cluster "listening"
	 * message (CP_POOL_CLUSTER), by acknowledging its listening socket,
	 * or with its first message; with ready_message (copied), only by
	 * sending a message equal to it (json_equal).  It is READY once it
	 * has stayed up ready_settle_ms more.  A worker not READY within
	 * ready_timeout_ms of its start (0: no limit) is CP_POOL_NOT_READY,
	 * and a replacement (cp_pool_restart, cp_pool_replace) fails.
	 */
	const json_t *ready_message;
	uint64_t ready_settle_ms;
	uint64_t ready_timeout_ms;
	/*
	 * Recycling (gunicorn's max_requests): a worker that has accepted
	 * max_connections plus a random 0 to max_connections_jitter
	 * connections handed by the pool is replaced as cp_pool_replace does
	 * (CP_POOL_RECYCLE).  Only the pool's own dispatch is counted, so it
	 * needs CP_POOL_CLUSTER and CP_SCHED_RR (else UV_ENOTSUP).  0: never.
	 */
	uint64_t max_connections;
	uint64_t max_connections_jitter;
};

#define CP_POOL_OPTIONS_INIT { .workers = 1, .max_restarts = 10, \
	.restart_window_ms = 60000, .backoff_ms = 100, \
	.backoff_max_ms = 30000, .stable_ms = 10000, .grace_ms = 5000, \
	.ready_settle_ms = 1000, .ready_timeout_ms = 60000 }

enum cp_pool_event_type {
	/*
	 * A worker changed state: ev->worker, ev->old_state (its new state
	 * is cp_worker_state).  STARTING comes once it is spawned (from
	 * CP_WORKER_EXITED as old_state); EXITED carries exit_status,
	 * term_signal, timed_out and voluntary (it was asked to leave).  The
	 * slot is free again at EXITED.
	 */
	CP_POOL_STATE = 0,
	CP_POOL_SPAWN_ERROR,	/* ev->slot could not be started: ev->err */
	CP_POOL_RESTART,	/* ev->slot starts again in ev->delay_ms */
	CP_POOL_GRACE_KILL,	/* ev->worker outlived grace_ms: SIGKILL sent */
	/*
	 * max_restarts within the window: the pool stops every worker and
	 * restarts nothing more.  ev->worker is the one whose exit did it.
	 */
	CP_POOL_GIVE_UP,
	CP_POOL_ROLL_DONE,	/* cp_pool_restart replaced every slot */
	/* ev->worker's channel sent a bad line: as cp_channel_events.on_error. */
	CP_POOL_IPC_ERROR,
	CP_POOL_DISCONNECT,	/* ev->worker's channel closed; ev->err */
	/* The listening socket could not be sent, or was refused: ev->err. */
	CP_POOL_HANDLE_ERROR,
	/*
	 * Cluster: a server was opened for ev->worker's listen() or bind()
	 * (ev->address: "HOST:PORT", "[V6]:PORT" or a path; ev->kind: "tcp",
	 * "unix", "udp4" or "udp6"; ev->sched: "rr", "none", "reuseport" or
	 * "shared" for UDP), could not be (ev->err, the error the worker's
	 * 'error' event reports), or was closed once no worker used it.
	 */
	CP_POOL_SERVER_OPEN,
	CP_POOL_SERVER_ERROR,
	CP_POOL_SERVER_CLOSE,
	/* No worker is left and none will be started: time to close. */
	CP_POOL_EMPTY,
	/*
	 * A replacement (ev->worker) for ev->slot exited before it was READY
	 * (exit_status, term_signal; its EXITED state came first) or was not
	 * READY within ready_timeout_ms (err UV_ETIMEDOUT; it is stopped).
	 * The slot's worker stays, and the slot is not restarted for it.
	 */
	CP_POOL_REPLACE_FAILED,
	/*
	 * The rolling restart stopped at ev->slot: its replacement failed
	 * (CP_POOL_REPLACE_FAILED came first), one it had put in place exited
	 * (ev->worker), or none could be started (ev->worker NULL).  The
	 * slots not yet replaced keep their workers.  No CP_POOL_ROLL_DONE.
	 */
	CP_POOL_ROLL_FAILED,
	/* ev->worker, not a replacement, was not READY within ready_timeout_ms. */
	CP_POOL_NOT_READY,
	/*
	 * ev->worker reached its max_connections (cp_worker_connections): a
	 * replacement starts, and it leaves once that one is READY.
	 */
	CP_POOL_RECYCLE
};

struct cp_pool_event {
	enum cp_pool_event_type type;
	struct cp_worker *worker;	/* or NULL */
	int slot;			/* 0-based, or -1 */
	enum cp_worker_state old_state;
	int err;
	int64_t exit_status;
	int term_signal;
	bool timed_out;			/* spawn.timeout_ms fired */
	bool voluntary;
	uint64_t delay_ms;
	const char *line;		/* CP_POOL_IPC_ERROR */
	size_t len;
	const char *address;		/* CP_POOL_SERVER_* */
	const char *kind;
	const char *sched;
};

struct cp_pool_events {
	void (*on_event)(struct cp_pool *p, const struct cp_pool_event *ev,
	    void *data);
	/*
	 * A message from a worker (internal ones never come here), as
	 * cp_channel_events.on_message.
	 */
	void (*on_message)(struct cp_pool *p, struct cp_worker *w,
	    const struct cp_message *m, void *data);
	/* Output on a CP_STDIO_PIPE fd of a worker, as cp_child_events.on_data. */
	void (*on_data)(struct cp_pool *p, struct cp_worker *w, int fd,
	    const char *buf, size_t len, void *data);
};

typedef void (*cp_pool_close_cb)(struct cp_pool *p, void *data);

/*
 * Makes a pool; no worker runs yet.  opts is copied (see its borrowed
 * parts), ev is copied.  Returns 0 and *pp, or UV_EINVAL (no IPC entry,
 * workers < 1, CP_POOL_LISTEN_PER_SLOT without a socket per slot),
 * UV_ENOTSUP (max_connections without the rr cluster), UV_ENOMEM.
 */
CP_API int cp_pool_create(uv_loop_t *loop, const struct cp_pool_options *opts,
    const struct cp_pool_events *ev, void *data, struct cp_pool **pp);
/*
 * Starts a worker in every slot.  Each that cannot be started is a
 * CP_POOL_SPAWN_ERROR event (and CP_POOL_EMPTY follows if none could).
 * Returns 0, or UV_EALREADY.
 */
CP_API int cp_pool_start(struct cp_pool *p);
/*
 * Stops every worker and restarts none: gracefully (as
 * cp_worker_disconnect, and SIGKILL follows after grace_ms), or, with
 * now, by SIGKILL at once.  CP_POOL_EMPTY follows
 * once all have exited.  Idempotent; stop(now) after a graceful stop
 * hurries it.
 */
CP_API void cp_pool_stop(struct cp_pool *p, bool now);
/*
 * Rolling restart, readiness-gated: one slot at a time, a replacement is
 * started while the slot's worker keeps serving; once it is READY it
 * takes the slot, the old worker is stopped gracefully, and the next slot
 * follows.  If a replacement exits or times out before it is READY, or
 * one already put in place exits, the roll stops (CP_POOL_ROLL_FAILED):
 * the slots not yet replaced keep their workers.  Otherwise
 * CP_POOL_ROLL_DONE ends it.  A restart asked for during one runs once it
 * is over.  Returns 0 (started), 1 (queued behind the one running), or
 * UV_ECANCELED once the pool is stopping.
 */
CP_API int cp_pool_restart(struct cp_pool *p);
/*
 * Replaces one worker (recycling).  Gracefully: a replacement starts and,
 * once READY, takes the slot and w is stopped gracefully (disconnect,
 * SIGKILL after grace_ms); if it fails, w stays (CP_POOL_REPLACE_FAILED).
 * With now: w is killed by SIGKILL at once (a worker that cannot go
 * gracefully, its event loop stuck) and its slot gets a successor.  w's
 * exit restarts nothing and counts for no backoff or give-up.  Returns 0,
 * UV_EINVAL if w is not the current worker of its slot, UV_EALREADY when
 * a replacement for it is on its way already, or UV_ECANCELED once the
 * pool is stopping.
 */
CP_API int cp_pool_replace(struct cp_pool *p, struct cp_worker *w, bool now);
/*
 * Changes the number of slots to n, from 1 to cp_pool_capacity: new slots
 * (numbered on from the last) get a worker at once if the pool has
 * started; the slots from n up are taken out of use, highest first, and
 * their workers stopped gracefully as by cp_pool_stop (their exits restart
 * nothing), a pending restart of theirs cancelled; a rolling restart that
 * was on one of them is over (CP_POOL_ROLL_DONE).  Returns 0, UV_EINVAL
 * (n out of range), UV_ENOTSUP (growing past listen_count with
 * CP_POOL_LISTEN_PER_SLOT: no socket for the new slots) or UV_ECANCELED
 * once the pool is stopping.
 */
CP_API int cp_pool_scale(struct cp_pool *p, int n);
/* The most slots the pool can have (cp_pool_options.max_workers). */
CP_API int cp_pool_capacity(const struct cp_pool *p);
/*
 * Starts closing: stops the workers gracefully if cp_pool_stop was not
 * called, then calls close_cb (may be NULL) once every worker process has
 * been reaped and every handle is closed.  Idempotent; safe from any
 * callback of the pool.
 */
CP_API void cp_pool_close(struct cp_pool *p, cp_pool_close_cb close_cb);
/* Frees the pool: in or after close_cb only.  p may be NULL. */
CP_API void cp_pool_free(struct cp_pool *p);

/*
 * Handing a cluster's servers to another pool, as a new master takes
 * them over from the old one (childproc-fork's USR2) so that clients
 * meet no refused or dropped connection.
 *
 * cp_pool_servers calls cb(key, fd, arg) for each socket of each server
 * the pool has open (under CP_SCHED_REUSEPORT, every socket of a TCP
 * server's group, each with the server's key): key is the
 * queryServer key it answers, fd the socket, both borrowed (the pool
 * closes fd; a process given it keeps its own copy).  It stops when cb
 * returns non-zero.  Returns how many cb was called for and returned 0
 * for, or cb's return if negative; 0 without CP_POOL_CLUSTER.
 *
 * cp_pool_adopt_server, on the new pool (after cp_pool_create): fd, a
 * listening TCP or Unix stream socket or a bound UDP socket, is the
 * server for key, as if the pool had opened it: a worker asking for key
 * gets it instead of a socket bound anew (which would fail with
 * EADDRINUSE).  Under CP_SCHED_REUSEPORT a TCP socket must have
 * SO_REUSEPORT, and key may be adopted again with another socket of the
 * group (same address): slots take adopted sockets before binding new
 * ones, and while a worker serves, the pool accepts on the others and
 * hands their connections over.  Takes ownership of fd when it returns
 * 0 (it is made close-on-exec); one no worker asks for within 60 seconds
 * is closed, as a server whose workers left.  Returns 0, UV_ENOTSOCK,
 * UV_EINVAL (no CP_POOL_CLUSTER, not such a socket, an unnamed Unix one,
 * another address under a reuseport key), UV_EEXIST (key has a server),
 * UV_ENOTSUP (TCP without SO_REUSEPORT under CP_SCHED_REUSEPORT),
 * UV_ECANCELED once the pool is stopping, UV_ENOMEM; on error fd stays
 * the caller's.
 *
 * cp_pool_release_servers, on the old pool once the new one serves: the
 * pool accepts no more connections (CP_SCHED_RR; they wait in the
 * kernel for the new owner) and unlinks no Unix path when its servers
 * close.  The connections it accepted already still go to its workers:
 * cp_pool_pending counts those not yet taken by one; stop the workers
 * once it is 0.
 */
typedef int (*cp_pool_server_cb)(const char *key, int fd, void *arg);
CP_API int cp_pool_servers(struct cp_pool *p, cp_pool_server_cb cb,
    void *arg);
CP_API int cp_pool_adopt_server(struct cp_pool *p, const char *key, int fd);
CP_API void cp_pool_release_servers(struct cp_pool *p);
CP_API int cp_pool_pending(const struct cp_pool *p);

/* The number of slots in use (workers, or as cp_pool_scale set it). */
CP_API int cp_pool_size(const struct cp_pool *p);
/* The worker in slot (0-based), or NULL when the slot is empty. */
CP_API struct cp_worker *cp_pool_worker(const struct cp_pool *p, int slot);
/* Worker processes not yet reaped, replaced ones still stopping included. */
CP_API int cp_pool_live(const struct cp_pool *p);
/* True once cp_pool_stop or cp_pool_close was called, or it gave up. */
CP_API bool cp_pool_stopping(const struct cp_pool *p);
CP_API void *cp_pool_data(const struct cp_pool *p);

/*
 * A worker: valid from its STARTING event until its EXITED event returns,
 * or the CP_POOL_REPLACE_FAILED and CP_POOL_ROLL_FAILED events that
 * follow it.
 */
CP_API int cp_worker_slot(const struct cp_worker *w);	/* 0-based */
/* 1, 2, 3 ... in spawn order, never reused (cluster.worker.id). */
CP_API int cp_worker_id(const struct cp_worker *w);
CP_API int cp_worker_pid(const struct cp_worker *w);
CP_API enum cp_worker_state cp_worker_state(const struct cp_worker *w);
/* The channel while it is open, else NULL. */
CP_API struct cp_channel *cp_worker_channel(const struct cp_worker *w);
/* uv_now() of the loop when the worker was spawned. */
CP_API uint64_t cp_worker_started(const struct cp_worker *w);
/* Connections the pool handed it and it accepted (CP_SCHED_RR), or 0. */
CP_API uint64_t cp_worker_connections(const struct cp_worker *w);
/* Sends signum (0: SIGTERM) to the worker: 0, UV_ESRCH once it exited. */
CP_API int cp_worker_kill(struct cp_worker *w, int signum);
/*
 * Node's worker.disconnect(): the worker is asked to leave and is not
 * restarted.  A cluster worker gets {"act":"disconnect"}, closes its
 * servers and its channel once their connections are over; another
 * worker's channel is disconnected once what is queued is written.  0,
 * or UV_ENOTCONN once its channel is closed or closing.
 */
CP_API int cp_worker_disconnect(struct cp_worker *w);
/* A pointer of the caller's, NULL until set. */
CP_API void cp_worker_set_data(struct cp_worker *w, void *data);
CP_API void *cp_worker_data(const struct cp_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* CHILDPROC_H */
