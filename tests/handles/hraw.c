/*
 * hraw.c - the library's handle passing against a raw peer.
 *
 *	hraw SCENARIO
 *
 * The library drives one end of a socketpair; this program plays the
 * other end with plain recvmsg/sendmsg, byte for byte, to make the peer
 * do what a real Node peer only does by accident (retransmit, NACK, send
 * fds with the wrong line, delay its ACK).  The peer runs from a timer
 * that ticks every millisecond and acts on what it has read, so nothing
 * depends on timing: a step waits for its condition, and a watchdog fails
 * a scenario that does not finish.  Exits 0 if every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "childproc.h"
#include "test.h"

#define WATCHDOG_MS 60000
#define MAX_GOT 16

struct t;

struct scenario {
	const char *name;
	void (*tick)(struct t *);	/* the peer's next step */
	void (*message)(struct t *, const struct cp_message *);
	void (*error)(struct t *, int, const char *, size_t);
};

/* What the peer read: one complete line and the fds that came with it. */
struct pline {
	char text[512];
	int fds[4];
	int nfds;
};

struct t {
	uv_loop_t loop;
	const struct scenario *sc;
	struct cp_channel *ch;
	uv_timer_t tick;
	uv_timer_t watchdog;
	int peer;			/* the raw end */
	int failed;
	int step;
	bool done;
	bool disconnected;
	/* what the peer has read */
	char pbuf[8192];
	size_t plen;
	int pfds[16];			/* fds read, not yet bound to a line */
	int npfds;
	long recvs_with_fds;
	bool peer_eof;
	/* what the library delivered */
	long nmsg;
	long nerr;
	int err[MAX_GOT];
	struct {
		char value[256];
		enum cp_handle_type type;
		char key[64];
		bool had_fd;
		ino_t ino;
	} got[MAX_GOT];
	/* send callbacks */
	long ncb;
	int cb_status;
	int kept[4];			/* fds kept from messages */
	int fd_base;			/* fds open before a flood */
	int nkept;
	int sv[2];
	long transmissions;
};

static void
check_failed(struct t *t, int line, const char *what)
{
	fprintf(stderr, "hraw %s: line %d: step %d: check failed: %s\n",
	    t->sc->name, line, t->step, what);
	t->failed++;
}

/* ---- the raw peer ------------------------------------------------------- */

/* Writes text (with '\n') and, if fd >= 0, that fd on its first byte. */
static void
peer_send(struct t *t, const char *text, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(256 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct cmsghdr *c;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	CHECK(t, sendmsg(t->peer, &mh, MSG_NOSIGNAL) == (ssize_t)strlen(text));
}

static void
peer_send_fd(struct t *t, const char *text, int fd)
{
	peer_send(t, text, &fd, fd >= 0 ? 1 : 0);
}

/*
 * Reads what is there.  Each recvmsg that carries fds must carry exactly
 * one, and end exactly at the end of a NODE_HANDLE line: the library must
 * send the whole line in one sendmsg with its fd, as Node does.
 */
static void
peer_read(struct t *t)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;
	int nf, *fds;
	bool got_fds;
	char *nl;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = t->pbuf + t->plen;
		iov.iov_len = sizeof(t->pbuf) - t->plen - 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(t->peer, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			CHECK(t, errno == EAGAIN);
			return;
		}
		if (n == 0) {
			t->peer_eof = true;
			return;
		}
		got_fds = false;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			fds = (int *)CMSG_DATA(c);
			nf = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			CHECK(t, nf == 1);
			while (nf-- > 0 && t->npfds < 16) {
				t->pfds[t->npfds++] = *fds++;
			}
			got_fds = true;
		}
		t->plen += (size_t)n;
		t->pbuf[t->plen] = '\0';
		if (got_fds) {
			t->recvs_with_fds++;
			/* The segment with the fd is one whole NODE_HANDLE line. */
			CHECK(t, t->pbuf[t->plen - 1] == '\n');
			nl = memrchr(t->pbuf, '\n', t->plen - 1);
			CHECK(t, strncmp(nl != NULL ? nl + 1 : t->pbuf,
			    "{\"cmd\":\"NODE_HANDLE\"", 20) == 0);
		}
	}
}

/* The next complete line the peer read, or false. */
static bool
peer_line(struct t *t, struct pline *l)
{
	char *nl;
	size_t len;
	int i;

	peer_read(t);
	if ((nl = memchr(t->pbuf, '\n', t->plen)) == NULL) {
		return false;
	}
	len = (size_t)(nl - t->pbuf);
	CHECK(t, len < sizeof(l->text));
	memcpy(l->text, t->pbuf, len < sizeof(l->text) ? len : 0);
	l->text[len < sizeof(l->text) ? len : 0] = '\0';
	memmove(t->pbuf, nl + 1, t->plen - len - 1);
	t->plen -= len + 1;
	/* An fd belongs to the NODE_HANDLE line it came with. */
	l->nfds = 0;
	if (strncmp(l->text, "{\"cmd\":\"NODE_HANDLE\"", 20) == 0 &&
	    t->npfds > 0) {
		l->fds[l->nfds++] = t->pfds[0];
		for (i = 1; i < t->npfds; i++) {
			t->pfds[i - 1] = t->pfds[i];
		}
		t->npfds--;
	}
	return true;
}

/* Nothing at all is waiting to be read (not even EOF). */
static bool
peer_quiet(struct t *t)
{
	char c;

	return t->plen == 0 &&
	    recv(t->peer, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static void
close_fds(struct pline *l)
{
	while (l->nfds > 0) {
		close(l->fds[--l->nfds]);
	}
}

static void
finish(struct t *t)
{
	t->done = true;
}

/* ---- library side helpers ------------------------------------------------ */

static void
send_cb(struct cp_channel *ch, int status, void *arg)
{
	struct t *t = cp_channel_data(ch);

	(void)arg;
	t->ncb++;
	t->cb_status = status;
}

static int
lib_send_handle(struct t *t, const char *msg, enum cp_handle_type type,
    int fd, unsigned int flags)
{
	json_t *v = json_loads(msg, JSON_DECODE_ANY, NULL);
	int r;

	r = cp_channel_send_handle(t->ch, v, type, fd, flags, send_cb, NULL);
	json_decref(v);
	return r;
}

static int
lib_send(struct t *t, const char *text)
{
	return cp_channel_send_line(t->ch, text, strlen(text), NULL, NULL, NULL);
}

static ino_t
inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static const char ACK[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}";
static const char NACK[] = "{\"cmd\":\"NODE_HANDLE_NACK\"}";

/* A fresh connected stream socket to pass; the other end is closed. */
static int
new_socket(struct t *t, ino_t *ino)
{
	int sv[2];

	CHECK(t, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	close(sv[1]);
	if (ino != NULL) {
		*ino = inode(sv[0]);
	}
	return sv[0];
}

/* ---- fds bind per read (childproc-ipc(7)); strays are closed -------- */

/* Whether any fd of this process refers to the socket with inode ino. */
static bool
inode_open(ino_t ino)
{
	struct stat st;
	int fd;

	for (fd = 0; fd < 4096; fd++) {
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_ino == ino) {
			return true;
		}
	}
	return false;
}

/* How many fds this process has open. */
static int
count_fds(void)
{
	struct stat st;
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		if (fstat(fd, &st) == 0) {
			n++;
		}
	}
	return n;
}

static const char HANDLE_LINE[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":\"h%d\"}\n";

static void
handle_line(char *buf, size_t len, int n)
{
	snprintf(buf, len, HANDLE_LINE, n);
}

static void
perread_tick(struct t *t)
{
	struct pline l;
	char h1[128], h2[128];
	int a, b, fds[2];
	ino_t stray;

	switch (t->step) {
	case 0:
		/* An fd with a plain line: closed at once, never kept. */
		a = new_socket(t, &stray);
		t->got[15].ino = stray;
		peer_send_fd(t, "\"plain\"\n", a);
		close(a);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < 1) {
			return;
		}
		CHECK(t, !inode_open(t->got[15].ino));
		/* A NODE_HANDLE whose read brought no fd: NACKed. */
		handle_line(h1, sizeof(h1), 0);
		peer_send(t, h1, NULL, 0);
		t->step = 2;
		break;
	case 2:
		if (t->nerr < 1 || !peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, NACK) == 0);
		/*
		 * The next handle gets its own fd, not the stray (a FIFO
		 * across reads shifted every later handle by one).
		 */
		a = new_socket(t, &t->got[1].ino);
		handle_line(h1, sizeof(h1), 1);
		peer_send_fd(t, h1, a);
		close(a);
		t->step = 3;
		break;
	case 3:
		if (t->nmsg < 2 || !peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, ACK) == 0);
		/* Two fds in one sendmsg: the two lines of that read. */
		a = new_socket(t, &t->got[2].ino);
		b = new_socket(t, &t->got[3].ino);
		fds[0] = a;
		fds[1] = b;
		handle_line(h1, sizeof(h1), 2);
		handle_line(h2, sizeof(h2), 3);
		strcat(h1, h2);
		peer_send(t, h1, fds, 2);
		close(a);
		close(b);
		t->step = 4;
		break;
	case 4:
		if (t->nmsg < 4) {
			return;
		}
		CHECK(t, peer_line(t, &l) && strcmp(l.text, ACK) == 0);
		CHECK(t, peer_line(t, &l) && strcmp(l.text, ACK) == 0);
		/* The fd with the first part of a line that ends later. */
		a = new_socket(t, &t->got[4].ino);
		peer_send_fd(t, "{\"cmd\":\"NODE_HAN", a);
		close(a);
		t->step = 5;
		break;
	case 5:
		/* Nothing is delivered or answered for half a line. */
		if (++t->transmissions < 50) {
			return;
		}
		CHECK(t, t->nmsg == 4 && peer_quiet(t));
		CHECK(t, inode_open(t->got[4].ino));
		peer_send(t, "DLE\",\"type\":\"net.Socket\",\"msg\":\"h4\"}\n",
		    NULL, 0);
		t->step = 6;
		break;
	case 6:
		if (t->nmsg < 5 || !peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, ACK) == 0);
		/* Two NODE_HANDLE lines and one fd: the second is NACKed. */
		a = new_socket(t, &t->got[5].ino);
		handle_line(h1, sizeof(h1), 5);
		handle_line(h2, sizeof(h2), 6);
		strcat(h1, h2);
		strcat(h1, "\"end\"\n");
		peer_send_fd(t, h1, a);
		close(a);
		t->step = 7;
		break;
	case 7:
		if (t->nmsg < 7) {
			return;
		}
		CHECK(t, peer_line(t, &l) && strcmp(l.text, ACK) == 0);
		CHECK(t, peer_line(t, &l) && strcmp(l.text, NACK) == 0);
		CHECK(t, peer_quiet(t));
		CHECK(t, t->nerr == 2);
		finish(t);
		break;
	}
}

static void
perread_message(struct t *t, const struct cp_message *m)
{
	static const char *const want[] = {
		"\"plain\"", "\"h1\"", "\"h2\"", "\"h3\"", "\"h4\"", "\"h5\"",
		"\"end\"",
	};
	char *s = json_dumps(m->value, JSON_ENCODE_ANY);

	CHECK(t, t->nmsg < 7 && strcmp(s, want[t->nmsg]) == 0);
	if (t->nmsg == 0 || t->nmsg == 6) {
		CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
	} else {
		/* Each handle line gets the fd sent with it. */
		CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET && m->fd >= 0);
		CHECK(t, inode(m->fd) == t->got[t->nmsg].ino);
	}
	free(s);
	t->nmsg++;
}

static void
perread_error(struct t *t, int err, const char *line, size_t len)
{
	/* h0 and h6 had no fd: NACKed, and the program is told. */
	CHECK(t, err == UV_EBADF);
	CHECK(t, memmem(line, len, t->nerr == 0 ? "\"h0\"" : "\"h6\"", 4) !=
	    NULL);
	t->nerr++;
}

/*
 * A flood of fds with plain lines (250 a message, 20 messages, the most
 * SCM_RIGHTS carries) leaves this process's fd count flat.
 */
#define FLOOD_FDS 250
#define FLOOD_MSGS 20

static void
flood_tick(struct t *t)
{
	int fds[FLOOD_FDS], i, sv[2];

	switch (t->step) {
	case 0:
		t->fd_base = count_fds();
		CHECK(t, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv) == 0);
		t->got[0].ino = inode(sv[0]);
		for (i = 0; i < FLOOD_FDS; i++) {
			fds[i] = sv[0];
		}
		for (i = 0; i < FLOOD_MSGS; i++) {
			peer_send(t, "{\"plain\":1}\n", fds, FLOOD_FDS);
		}
		peer_send(t, "\"end\"\n", NULL, 0);
		close(sv[0]);
		close(sv[1]);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < FLOOD_MSGS + 1) {
			return;
		}
		CHECK(t, !inode_open(t->got[0].ino));
		CHECK(t, count_fds() == t->fd_base);
		finish(t);
		break;
	}
}

static void
flood_message(struct t *t, const struct cp_message *m)
{
	/* The fds were strays: no message carries one. */
	CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
	/* Each is closed as soon as its read is handled. */
	if (t->nmsg < FLOOD_MSGS && t->nmsg > 0) {
		CHECK(t, count_fds() <= t->fd_base + 64);
	}
	t->nmsg++;
}

/* ---- the net.Native-wrapped retransmission: unwrapped, ACKed once -------- */

static void
unwrap_tick(struct t *t)
{
	struct pline l;
	int a;

	switch (t->step) {
	case 0:
		/* What Node sends after a NACK of a server-accepted socket. */
		a = new_socket(t, &t->got[0].ino);
		peer_send_fd(t, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\","
		    "\"msg\":{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\","
		    "\"msg\":{\"n\":\"conn\"},\"key\":\"4:127.0.0.1:0\"}}\n\"end\"\n",
		    a);
		close(a);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < 2) {
			return;
		}
		/* One ACK: a second one would crash Node's sender. */
		CHECK(t, peer_line(t, &l) && strcmp(l.text, ACK) == 0);
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

static void
unwrap_message(struct t *t, const struct cp_message *m)
{
	char *s = json_dumps(m->value, JSON_ENCODE_ANY | JSON_COMPACT);

	if (t->nmsg == 0) {
		/* The inner frame's type, key and message. */
		CHECK(t, strcmp(s, "{\"n\":\"conn\"}") == 0);
		CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET);
		CHECK(t, m->key != NULL && strcmp(m->key, "4:127.0.0.1:0") == 0);
		CHECK(t, m->fd >= 0 && inode(m->fd) == t->got[0].ino);
	} else {
		CHECK(t, strcmp(s, "\"end\"") == 0);
	}
	free(s);
	t->nmsg++;
}

/* ---- our sender's retries on NACK ---------------------------------------- */

/*
 * scenario "retry": a net.Socket NACKed three times, then ACKed;
 * "give-up": NACKed four times; "keep-open" and "server": NACKed once.
 * A plain line sent after the handle must wait for the last answer.
 */
static void
retry_tick(struct t *t)
{
	const char *name = t->sc->name;
	bool keep = strcmp(name, "keep-open") == 0;
	bool server = strcmp(name, "server-nack") == 0;
	int nacks = strcmp(name, "retry") == 0 ? 3 :
	    strcmp(name, "give-up") == 0 ? 4 : 1;
	struct pline l;
	char addr[64];
	int fd;

	switch (t->step) {
	case 0:
		if (server) {
			CHECK(t, cp_listen("127.0.0.1:0", 0, 0, &fd, addr,
			    sizeof(addr)) == 0);
		} else {
			fd = new_socket(t, NULL);
		}
		t->got[0].ino = inode(fd);
		CHECK(t, lib_send_handle(t, "{\"n\":1}", server ?
		    CP_HANDLE_NET_SERVER : CP_HANDLE_NET_SOCKET, fd,
		    keep ? CP_SEND_KEEP_OPEN : 0) == 0);
		close(fd);
		/* Queued behind the handle: not written until it is answered. */
		CHECK(t, lib_send(t, "\"after\"") == 0);
		t->step = 1;
		break;
	case 1:
		if (!peer_line(t, &l)) {
			return;
		}
		/* Every transmission: the same line, the same socket, one fd. */
		t->transmissions++;
		CHECK(t, strcmp(l.text, server ?
		    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\",\"msg\":{\"n\":1}}" :
		    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":{\"n\":1}}")
		    == 0);
		CHECK(t, l.nfds == 1 && inode(l.fds[0]) == t->got[0].ino);
		CHECK(t, t->recvs_with_fds == t->transmissions);
		close_fds(&l);
		/* Nothing else goes out while the handle is unanswered. */
		CHECK(t, peer_quiet(t));
		CHECK(t, t->ncb == 0);
		if (t->transmissions <= nacks) {
			peer_send(t, "{\"cmd\":\"NODE_HANDLE_NACK\"}\n", NULL, 0);
		} else {
			peer_send(t, "{\"cmd\":\"NODE_HANDLE_ACK\"}\n", NULL, 0);
		}
		if (t->transmissions == nacks + (nacks < 4 && !keep && !server)) {
			t->step = 2;
		}
		break;
	case 2:
		/* Then the queued line, and the callback with the outcome. */
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "\"after\"") == 0 && l.nfds == 0);
		CHECK(t, t->ncb == 1);
		CHECK(t, t->cb_status == (strcmp(name, "retry") == 0 ? 0 :
		    UV_ECONNREFUSED));
		CHECK(t, t->transmissions == (strcmp(name, "retry") == 0 ? 4 :
		    strcmp(name, "give-up") == 0 ? 4 : 1));
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

/* ---- one handle in flight at a time ------------------------------------- */

static void
inflight_tick(struct t *t)
{
	struct pline l;
	int i, fd;

	switch (t->step) {
	case 0:
		fd = new_socket(t, NULL);
		CHECK(t, !(fcntl(fd, F_GETFL) & O_NONBLOCK));
		CHECK(t, lib_send_handle(t, "1", CP_HANDLE_NET_SOCKET, fd, 0) == 0);
		/* Made non-blocking, as Node's sockets all are. */
		CHECK(t, fcntl(fd, F_GETFL) & O_NONBLOCK);
		close(fd);
		t->step = 1;
		break;
	case 1:
	case 2:
	case 3:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, l.nfds == 1);
		close_fds(&l);
		if (t->step == 1) {
			/* With one in flight, more handles wait: "slow down". */
			for (i = 0; i < 2; i++) {
				fd = new_socket(t, NULL);
				CHECK(t, lib_send_handle(t, "1", CP_HANDLE_NET_SOCKET,
				    fd, 0) == 1);
				close(fd);
			}
		}
		CHECK(t, peer_quiet(t));
		CHECK(t, t->ncb == t->step - 1);
		peer_send(t, "{\"cmd\":\"NODE_HANDLE_ACK\"}\n", NULL, 0);
		t->step++;
		break;
	case 4:
		if (t->ncb < 3) {
			return;
		}
		CHECK(t, t->ncb == 3 && t->cb_status == 0);
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

/*
 * ---- a handle or a ping with nothing ahead of it leaves within the call:
 * no loop turn between the send and the peer reading it ---------------- */

static void
atonce_tick(struct t *t)
{
	struct pline l = { .nfds = 0 };
	int fd;

	switch (t->step) {
	case 0:
		fd = new_socket(t, NULL);
		CHECK(t, lib_send_handle(t, "1", CP_HANDLE_NET_SOCKET, fd, 0) == 0);
		close(fd);
		CHECK(t, peer_line(t, &l));
		CHECK(t, l.nfds == 1);
		close_fds(&l);
		CHECK(t, t->ncb == 0);		/* the callback waits for the ACK */
		peer_send(t, "{\"cmd\":\"NODE_HANDLE_ACK\"}\n", NULL, 0);
		t->step = 1;
		break;
	case 1:
		if (t->ncb < 1) {
			return;
		}
		CHECK(t, t->ncb == 1 && t->cb_status == 0);
		CHECK(t, cp_channel_ping(t->ch, send_cb, NULL) == 0);
		CHECK(t, peer_line(t, &l));
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_HANDLE\"}") == 0);
		CHECK(t, t->ncb == 1);
		peer_send(t, "{\"cmd\":\"NODE_HANDLE_NACK\"}\n", NULL, 0);
		t->step = 2;
		break;
	case 2:
		if (t->ncb < 2) {
			return;
		}
		CHECK(t, t->ncb == 2 && t->cb_status == 0);
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

/* ---- a NODE_HANDLE without its fd: one NACK, no message ----------------- */

static void
missing_tick(struct t *t)
{
	struct pline l;

	switch (t->step) {
	case 0:
		peer_send(t, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\","
		    "\"msg\":\"x\"}\n\"end\"\n", NULL, 0);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < 1) {
			return;
		}
		CHECK(t, peer_line(t, &l) && strcmp(l.text, NACK) == 0);
		CHECK(t, peer_quiet(t));
		CHECK(t, t->nerr == 1 && t->err[0] == UV_EBADF);
		finish(t);
		break;
	}
}

static void
only_end_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, json_is_string(m->value) &&
	    strcmp(json_string_value(m->value), "end") == 0);
	CHECK(t, m->handle_type == CP_HANDLE_NONE && m->fd == -1);
	t->nmsg++;
}

/* ---- an ACK nobody asked for is reported, not fatal ---------------------- */

static void
unasked_tick(struct t *t)
{
	switch (t->step) {
	case 0:
		peer_send(t, "{\"cmd\":\"NODE_HANDLE_ACK\"}\n\"end\"\n", NULL, 0);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < 1) {
			return;
		}
		CHECK(t, t->nerr == 1 && t->err[0] == UV_EPROTO);
		/* And it is not answered. */
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

/*
 * ---- our disconnect waits for the answer to the handle in flight --------
 * "disconnect": a line is queued behind the handle; "disconnect-bare": none.
 */

static void
ddisc_tick(struct t *t)
{
	struct pline l;
	int fd;

	switch (t->step) {
	case 0:
		fd = new_socket(t, NULL);
		CHECK(t, lib_send_handle(t, "1", CP_HANDLE_NET_SOCKET, fd, 0) == 0);
		close(fd);
		if (strcmp(t->sc->name, "disconnect") == 0) {
			CHECK(t, lib_send(t, "\"q\"") == 0);
		}
		CHECK(t, cp_channel_disconnect(t->ch) == 0);
		CHECK(t, !cp_channel_connected(t->ch));
		t->step = 1;
		break;
	case 1:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, l.nfds == 1);
		close_fds(&l);
		t->step = 2;
		break;
	case 2:
		/*
		 * A few loop turns later: still open, "q" still held (Node would
		 * lose its disconnect or crash if we closed now: childproc-ipc(7),
		 * Disconnecting).
		 */
		if (++t->transmissions < 20) {
			return;
		}
		CHECK(t, peer_quiet(t) && !t->peer_eof && !t->disconnected);
		peer_send(t, "{\"cmd\":\"NODE_HANDLE_ACK\"}\n", NULL, 0);
		t->step = 3;
		break;
	case 3:
		/* Then "q", then the end of the channel. */
		if (!t->disconnected) {
			return;
		}
		if (strcmp(t->sc->name, "disconnect") == 0) {
			CHECK(t, peer_line(t, &l) && strcmp(l.text, "\"q\"") == 0);
		}
		peer_read(t);
		CHECK(t, t->peer_eof && t->plen == 0);
		CHECK(t, t->ncb == 1 && t->cb_status == 0);
		finish(t);
		break;
	}
}

/* ---- socket-list answers for sockets received with a key ----------------- */

static void
socklist_tick(struct t *t)
{
	struct pline l;
	int a;

	switch (t->step) {
	case 0:
		/* Two sockets accepted by one server, one by another. */
		a = new_socket(t, &t->got[0].ino);
		peer_send_fd(t, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\","
		    "\"msg\":\"keep\",\"key\":\"4:127.0.0.1:0\"}\n", a);
		close(a);
		a = new_socket(t, NULL);
		peer_send_fd(t, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\","
		    "\"msg\":\"drop\",\"key\":\"4:127.0.0.1:0\"}\n", a);
		close(a);
		a = new_socket(t, NULL);
		peer_send_fd(t, "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\","
		    "\"msg\":\"keep\",\"key\":\"6:::1:80\"}\n", a);
		close(a);
		t->step = 1;
		break;
	case 1:
		if (t->nmsg < 3) {
			return;
		}
		CHECK(t, t->nkept == 2);
		for (a = 0; a < 3; a++) {
			CHECK(t, peer_line(t, &l) && strcmp(l.text, ACK) == 0);
		}
		/* The one left to the library was closed after its callback. */
		peer_send(t, "{\"cmd\":\"NODE_SOCKET_GET_COUNT\",\"key\":"
		    "\"4:127.0.0.1:0\"}\n", NULL, 0);
		t->step = 2;
		break;
	case 2:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_SOCKET_COUNT\",\"key\":"
		    "\"4:127.0.0.1:0\",\"count\":1}") == 0);
		/* Still open: the answer to NOTIFY_CLOSE waits for the close. */
		peer_send(t, "{\"cmd\":\"NODE_SOCKET_NOTIFY_CLOSE\",\"key\":"
		    "\"4:127.0.0.1:0\"}\n", NULL, 0);
		t->step = 3;
		t->transmissions = 0;
		break;
	case 3:
		if (++t->transmissions < 50) {
			CHECK(t, !peer_line(t, &l));
			return;
		}
		close(t->kept[0]);
		t->kept[0] = -1;
		t->step = 4;
		break;
	case 4:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_SOCKET_ALL_CLOSED\","
		    "\"key\":\"4:127.0.0.1:0\"}") == 0);
		/* Counts are per key; the other is still open. */
		peer_send(t, "{\"cmd\":\"NODE_SOCKET_GET_COUNT\",\"key\":"
		    "\"6:::1:80\"}\n{\"cmd\":\"NODE_SOCKET_GET_COUNT\",\"key\":"
		    "\"4:127.0.0.1:0\"}\n", NULL, 0);
		t->step = 5;
		break;
	case 5:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_SOCKET_COUNT\",\"key\":"
		    "\"6:::1:80\",\"count\":1}") == 0);
		t->step = 6;
		/* FALLTHROUGH */
	case 6:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_SOCKET_COUNT\",\"key\":"
		    "\"4:127.0.0.1:0\",\"count\":0}") == 0);
		close(t->kept[1]);
		t->kept[1] = -1;
		/* Nothing open under the key: answered at once. */
		peer_send(t, "{\"cmd\":\"NODE_SOCKET_NOTIFY_CLOSE\",\"key\":"
		    "\"6:::1:80\"}\n", NULL, 0);
		t->step = 7;
		break;
	case 7:
		if (!peer_line(t, &l)) {
			return;
		}
		CHECK(t, strcmp(l.text, "{\"cmd\":\"NODE_SOCKET_ALL_CLOSED\","
		    "\"key\":\"6:::1:80\"}") == 0);
		CHECK(t, peer_quiet(t));
		finish(t);
		break;
	}
}

static void
socklist_message(struct t *t, const struct cp_message *m)
{
	CHECK(t, m->handle_type == CP_HANDLE_NET_SOCKET && m->key != NULL);
	if (strcmp(json_string_value(m->value), "keep") == 0 && t->nkept < 4) {
		t->kept[t->nkept++] = cp_message_take_fd(m);
	}
	t->nmsg++;
}

/* ---- the scenarios ------------------------------------------------------ */

static const struct scenario scenarios[] = {
	CASE("per-read", perread_tick, perread_message, perread_error)
	CASE("stray-flood", flood_tick, flood_message, NULL)
	CASE("unwrap", unwrap_tick, unwrap_message, NULL)
	CASE("retry", retry_tick, NULL, NULL)
	CASE("give-up", retry_tick, NULL, NULL)
	CASE("keep-open", retry_tick, NULL, NULL)
	CASE("server-nack", retry_tick, NULL, NULL)
	CASE("in-flight", inflight_tick, NULL, NULL)
	CASE("at-once", atonce_tick, NULL, NULL)
	CASE("missing", missing_tick, only_end_message, NULL)
	CASE("unasked-ack", unasked_tick, only_end_message, NULL)
	CASE("disconnect", ddisc_tick, NULL, NULL)
	CASE("disconnect-bare", ddisc_tick, NULL, NULL)
	CASE("socket-list", socklist_tick, socklist_message, NULL)
};

static void
on_message(struct cp_channel *ch, const struct cp_message *m, void *data)
{
	struct t *t = data;

	(void)ch;
	if (t->sc->message == NULL) {
		fprintf(stderr, "hraw %s: message %.*s\n", t->sc->name,
		    (int)m->len, m->line);
		CHECK(t, !"no message was expected");
		return;
	}
	t->sc->message(t, m);
}

static void
on_error(struct cp_channel *ch, int err, const char *line, size_t len,
    void *data)
{
	struct t *t = data;

	(void)ch;
	if (t->sc->error != NULL) {
		t->sc->error(t, err, line, len);
		return;
	}
	if (t->nerr < MAX_GOT) {
		t->err[t->nerr] = err;
	}
	t->nerr++;
}

static void
on_disconnect(struct cp_channel *ch, int err, void *data)
{
	struct t *t = data;

	(void)ch;
	CHECK(t, err == 0);
	t->disconnected = true;
}

static const struct cp_channel_events events = {
	.on_message = on_message,
	.on_error = on_error,
	.on_disconnect = on_disconnect,
};

static void
stop(struct t *t)
{
	uv_timer_stop(&t->tick);
	uv_timer_stop(&t->watchdog);
	cp_channel_close(t->ch, channel_free_cb);
	t->ch = NULL;
	uv_close((uv_handle_t *)&t->tick, NULL);
	uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void
tick_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	t->sc->tick(t);
	if (t->done || t->failed) {
		stop(t);
	}
}

static void
watchdog_cb(uv_timer_t *h)
{
	struct t *t = h->data;

	CHECK(t, !"the scenario did not finish in time");
	stop(t);
}

int
main(int argc, char *argv[])
{
	struct t t = { 0 };
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: hraw SCENARIO | --list\n");
		return 2;
	}
	if ((t.sc = CASE_FIND(scenarios, argv[1])) == NULL) {
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t.sv) != 0 ||
	    uv_loop_init(&t.loop) != 0) {
		return 2;
	}
	t.peer = t.sv[1];
	if ((r = cp_channel_open_fd(&t.loop, t.sv[0], &events, &t, &t.ch)) != 0) {
		fprintf(stderr, "hraw: cp_channel_open_fd: %s\n", cp_strerror(r));
		return 2;
	}
	uv_timer_init(&t.loop, &t.tick);
	t.tick.data = &t;
	uv_timer_start(&t.tick, tick_cb, 1, 1);
	uv_timer_init(&t.loop, &t.watchdog);
	t.watchdog.data = &t;
	uv_timer_start(&t.watchdog, watchdog_cb, WATCHDOG_MS, 0);
	uv_run(&t.loop, UV_RUN_DEFAULT);
	CHECK(&t, uv_loop_close(&t.loop) == 0);
	close(t.peer);
	for (r = 0; r < t.npfds; r++) {
		close(t.pfds[r]);
	}
	for (r = 0; r < t.nkept; r++) {
		if (t.kept[r] >= 0) {
			close(t.kept[r]);
		}
	}
	CHECK(&t, t.done);
	if (t.failed) {
		fprintf(stderr, "hraw %s: FAILED (%d checks)\n", t.sc->name,
		    t.failed);
		return 1;
	}
	printf("hraw %s: ok\n", t.sc->name);
	return 0;
}
