/* core/internal.h - definitions shared by the files of core/. */
#ifndef CP_CORE_INTERNAL_H
#define CP_CORE_INTERNAL_H

#include "childproc.h"
#include "../proto/frame.h"
#include "../proto/message.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* errno to a libuv-style negative code (libuv keeps UV__ERR private). */
#define CP_ERR(e) (-(e))

struct cp_channel {
	uv_pipe_t pipe;			/* ipc = 1 */
	const struct cp_channel_events *ev;
	void *data;
	struct cp_frame frame;
	struct cp_buf scratch;		/* encoding buffer, reused */
	struct cp_child *child;		/* parent role: the owner; else NULL */
	int fd;
	int writes;			/* write requests not yet called back */
	unsigned int opened:1;		/* pipe is open (reading or may be) */
	unsigned int connected:1;	/* sends accepted */
	unsigned int closing:1;		/* uv_close called */
	unsigned int eof:1;		/* peer closed, or read error */
	unsigned int free_on_close:1;	/* cp_channel_close was called */
	unsigned int disconnected:1;	/* on_disconnect delivered */
	unsigned int closed:1;		/* close_cb ran */
	int end_err;			/* read error that ended the channel */
};

/* Sets up ch around an initialized (not yet open) pipe. */
void cp__channel_init(struct cp_channel *ch, const struct cp_channel_events *ev,
    void *data, size_t max_message);
/* Starts reading once the pipe is open. */
int cp__channel_start(struct cp_channel *ch);
/* Closes the pipe now if it is still open (used when the owner goes away). */
void cp__channel_shut(struct cp_channel *ch);
/* Called by channel.c when the channel has closed (parent role). */
void cp__child_channel_closed(struct cp_child *c);

/* Ignores SIGPIPE if it still has its default action. */
void cp__ignore_sigpipe(void);

#endif /* CP_CORE_INTERNAL_H */
