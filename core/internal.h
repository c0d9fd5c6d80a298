/* core/internal.h - definitions shared by the files of core/. */
#ifndef CP_CORE_INTERNAL_H
#define CP_CORE_INTERNAL_H

#include "childproc.h"
#include "../proto/frame.h"
#include "../proto/message.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* errno to a libuv-style negative code (libuv keeps UV__ERR private). */
#define CP_ERR(e) (-(e))

struct wentry;
struct keyed_socket;

/* Node's libuv reads up to 64 fds per recvmsg (UV__CMSG_FD_COUNT). */
#define CP_MAX_FDS_PER_READ 64

/*
 * The fds one read brought, for the NODE_HANDLE lines that begin in that
 * read's bytes [start, end) (stream offsets, see struct cp_frame).
 */
struct cp_rxfds {
	uint64_t start, end;
	int fds[CP_MAX_FDS_PER_READ];
	int n;				/* fds received */
	int used;			/* fds[0..used) handed out */
};

/*
 * The state of a channel (struct cp_channel's flags), one bit each rather
 * than a dozen booleans.  The life of a channel: OPENED (poll handle
 * made) and CONNECTED (sends accepted); DISCONNECTING (cp_channel_
 * disconnect: not CONNECTED, closes once written); CLOSING (uv_close
 * called) and CLOSED (every handle closed, fds released).
 */
enum {
	CH_OPENED = 1u << 0,
	CH_CONNECTED = 1u << 1,
	CH_DISCONNECTING = 1u << 2,
	CH_CLOSING = 1u << 3,
	CH_CLOSED = 1u << 4,
	CH_CLOSE_CALLED = 1u << 5,	/* cp_channel_close was called */
	CH_FREE_SELF = 1u << 6,		/* failed open: freed once closed */
	CH_CANCELLED = 1u << 7,		/* closed by us: no more events, queued
					   sends UV_ECANCELED */
	CH_DISCONNECTED = 1u << 8,	/* on_disconnect delivered (or never) */
	CH_UNREF = 1u << 9,
	CH_PAUSED = 1u << 10,		/* cp_channel_pause: not reading */
	CH_GATHERING = 1u << 11,	/* reading: sends are written after */
	CH_BATCH_BEGUN = 1u << 12,	/* a line went at once in this read */
	CH_SOCK_TIMER = 1u << 13,	/* sock_timer is running */
	CH_ADVANCED = 1u << 14,		/* V8 frames, not JSON lines (serial.c) */
	CH_SENT_ANY = 1u << 15		/* a message was encoded to send */
};
#define CH_HAS(ch, f)	(((ch)->flags & (f)) != 0)
#define CH_SET(ch, f)	((ch)->flags |= (f))
#define CH_CLEAR(ch, f)	((ch)->flags &= ~(unsigned int)(f))

struct cp_channel {
	uv_poll_t poll;
	uv_loop_t *loop;
	cp_channel_close_cb close_cb;
	const struct cp_channel_events *ev;	/* &ev_copy */
	struct cp_channel_events ev_copy;	/* the caller's need not outlive us */
	void *data;
	struct cp_frame frame;
	struct cp_buf scratch;		/* encoding buffer, reused */
	struct cp_child *child;		/* parent role: the owner; else NULL */
	int fd;
	int events;			/* what poll waits for */
	struct wentry *wq, *wq_tail;	/* lines to write, in order */
	size_t queued;			/* bytes in wq not yet written */
	struct wentry *inflight;	/* handle sent, awaiting ACK/NACK */
	int handles_queued;		/* handle lines in wq */
	/*
	 * Received fds, per read: the group of the read at hand and at most
	 * one older one whose last line (begun in it) is still incomplete.
	 */
	struct cp_rxfds rx[2];
	int nrx;
	int rx_fd;			/* the delivered message's fd, until taken */
	struct keyed_socket *keyed;	/* received net.Sockets with a key */
	char **notify;			/* keys awaiting NODE_SOCKET_ALL_CLOSED */
	size_t n_notify;
	uv_timer_t sock_timer;
	unsigned int flags;		/* CH_* above: the state, one word */
	int closes;			/* handles whose close is pending */
	int end_err;			/* read error that ended the channel */
	struct cp_buf text;		/* advanced: a message's JSON form */
};

/* Sets up ch; nothing is opened yet. */
void cp__channel_init(struct cp_channel *ch, const struct cp_channel_events *ev,
    void *data, size_t max_message);
/* Starts driving fd (a connected AF_UNIX stream socket, now ours). */
int cp__channel_start(struct cp_channel *ch, uv_loop_t *loop, int fd);
/*
 * cp_channel_send_handle without its checks of what fd is, for a socket
 * of the caller's own making: non-blocking, of a kind type fits (not
 * CP_HANDLE_DGRAM_SOCKET).  The cluster sends every socket this way.
 */
int cp__channel_send_own(struct cp_channel *ch, const json_t *msg,
    enum cp_handle_type type, int fd, cp_send_cb cb, void *arg);
/* Closes the channel now (used when the owner goes away). */
void cp__channel_shut(struct cp_channel *ch);
/*
 * serial.c: the channel's serialization.  Encodes one message (a line
 * with its "\n", or a frame); commits n bytes read to ch->frame, calling
 * cb(ch, ...) per line or frame; decodes one line or frame (in advanced
 * mode *textp and *lenp then point to the value's JSON form, valid until the
 * next message); sends a line of JSON text (advanced: its JSON form).
 */
int cp__channel_encode(struct cp_channel *ch, const json_t *value,
    struct cp_buf *out);
void cp__channel_commit(struct cp_channel *ch, size_t n, cp_frame_line_cb cb);
int cp__channel_decode(struct cp_channel *ch, char **textp, size_t *lenp,
    json_t **valuep);
int cp__channel_send_text(struct cp_channel *ch, const char *line, size_t len,
    json_error_t *error, cp_send_cb cb, void *arg);
void cp__channel_serial_release(struct cp_channel *ch);
/*
 * Advanced mode: a handle's message inside the NODE_HANDLE object, its
 * back-references renumbered for the frame (out: a new reference to set
 * as wrapper's next member, NULL if out of memory) or for itself (in: a
 * new reference, or NULL when msg needs no change).
 */
json_t *cp__channel_msg_out(const struct cp_channel *ch, const json_t *wrapper,
    const json_t *msg);
json_t *cp__channel_msg_in(const struct cp_channel *ch, const json_t *frame,
    const json_t *msg);

/* Called by channel.c when the channel has closed (parent role). */
void cp__child_channel_closed(struct cp_child *c);
/* A handle of the channel's keeps c from closing until released. */
void cp__child_hold(struct cp_child *c);
void cp__child_release(struct cp_child *c);
/* cp_channel_free of c's channel: c no longer frees it. */
void cp__child_forget_channel(struct cp_child *c, struct cp_channel *ch);

/*
 * Node's shell rule: [file, ...args].join(' '), no quoting.  A new
 * string (free it), or NULL when out of memory.
 */
char *cp__join_words(const char *file, char *const *args);

/* ---- spawn.c: starting a program without fork ---- */

/* The most stdio entries a child may have (Node has no limit; 64 is plenty). */
#define CP__STDIO_MAX 64
#define CP_SPAWN_FDS_MAX CP__STDIO_MAX

struct cp__spawn_req {
	const char *file;	/* searched in env's PATH unless it has a '/' */
	char *const *argv;
	char *const *env;	/* never NULL */
	const char *cwd;	/* or NULL */
	/* fds[i]: the fd the child gets as i (borrowed), or -1 to ignore it */
	const int *fds;
	int nfds;
	/*
	 * CP_SPAWN_DETACHED, CP_SPAWN_KILL_TREE, CP_SPAWN_DIE_WITH_PARENT;
	 * CP_SPAWN_SETUID and CP_SPAWN_SETGID (uid, gid) only with
	 * CP_SPAWN_DIE_WITH_PARENT (otherwise uv_spawn's path does them).
	 */
	unsigned int flags;
	uid_t uid;
	gid_t gid;
};

/*
 * Starts q->file with posix_spawn, the child set up as uv_spawn sets it
 * up (see spawn.c).  Returns 0 and *pidp, or a negative code (the child's
 * exec error: UV_ENOENT, UV_EACCES ...).  The caller reaps the child.
 */
int cp__spawn(const struct cp__spawn_req *q, int *pidp);
/* pidfd_open(pid): a close-on-exec fd or a negative code. */
int cp__pidfd_open(int pid);
/* Whether this kernel has pidfd_open (probed once). */
bool cp__pidfd_supported(void);
/* The pids of cp_child_pid_owned: 0 or UV_ENOMEM. */
int cp__pid_register(int pid);
void cp__pid_unregister(int pid);

/*
 * While fds 0-2 are closed, anything opened lands there, and libuv's close
 * path asserts fd > 2.  hold fills the closed ones with /dev/null until
 * release, so that fds made in between (uv_spawn's pipes, a loop's own)
 * are above 2.
 */
struct cp_stdfds {
	unsigned int mask;		/* which of 0-2 we filled */
};
void cp__stdfds_hold(struct cp_stdfds *g);
void cp__stdfds_release(struct cp_stdfds *g);
/*
 * fd itself if it is above 2 (or negative); else a close-on-exec copy
 * above 2, and fd is closed.  A negative code if the copy failed (fd is
 * closed then too).
 */
int cp__fd_above_stdio(int fd);

/*
 * A writer for a child's pipe (a socketpair): send(MSG_NOSIGNAL) on its
 * own copy of the fd, so a child that closed its end gives UV_EPIPE, never
 * SIGPIPE (core/writer.c).  Callbacks run from the loop, never inside the
 * call that queued them.
 */
struct cp__wreq;
struct cp__writer;
typedef void (*cp__writer_dispatch)(struct cp__writer *w, void (*fn)(void),
    void *arg, int status);
struct cp__writer {
	uv_poll_t poll;
	int fd;				/* our copy */
	struct cp__wreq *head, *tail;
	size_t queued;			/* bytes not yet written */
	int err;			/* the write error that ended it */
	bool polling, ending, shut, closing;
	cp__writer_dispatch dispatch;
	void (*on_end)(struct cp__writer *w, int status);
	void (*on_closed)(struct cp__writer *w);
	void *owner;
	int tag;			/* the owner's, e.g. the child's fd number */
};
/* fd is borrowed (a copy is made).  Returns 0 and *wp, or an error. */
int cp__writer_open(uv_loop_t *loop, int fd, cp__writer_dispatch dispatch,
    void *owner, struct cp__writer **wp);
/*
 * Queues len bytes (copied); fn(arg) is dispatched once they are written
 * (status 0) or failed.  Returns 0, 1 (CP_SEND_HIGH_WATER or more queued:
 * slow down), UV_EBADF once ended, or the error that ended the writer
 * (UV_EPIPE: the child closed its end).
 */
int cp__writer_write(struct cp__writer *w, const char *buf, size_t len,
    void (*fn)(void), void *arg);
/* Shuts the write side once everything queued is written; then on_end. */
void cp__writer_end(struct cp__writer *w,
    void (*on_end)(struct cp__writer *w, int status));
/* Fails what is queued with status, closes, then on_closed; w is freed. */
void cp__writer_close(struct cp__writer *w, int status,
    void (*on_closed)(struct cp__writer *w));
size_t cp__writer_queued(const struct cp__writer *w);

#endif /* CP_CORE_INTERNAL_H */
