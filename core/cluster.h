/*
 * core/cluster.h - between the pool (core/pool.c) and the primary's side
 * of Node's cluster protocol (core/cluster.c).  Internal.
 */
#ifndef CP_CORE_CLUSTER_H
#define CP_CORE_CLUSTER_H

#include "internal.h"

struct cp__cluster;
struct cp__cluster_worker;

/* cluster.c, called by the pool. */
int cp__cluster_create(struct cp_pool *p, uv_loop_t *loop, enum cp_sched sched,
    int nslots, struct cp__cluster **clp);
/* Per worker state, made before it is spawned; freed once it is closed. */
struct cp__cluster_worker *cp__cluster_worker_new(struct cp__cluster *cl,
    struct cp_worker *w);
void cp__cluster_worker_free(struct cp__cluster *cl,
    struct cp__cluster_worker *cw);
/* A NODE_CLUSTER message (or another internal one) from the worker. */
void cp__cluster_message(struct cp__cluster *cl, struct cp__cluster_worker *cw,
    const struct cp_message *m);
/* Its channel closed or it exited: it leaves every server. */
void cp__cluster_worker_gone(struct cp__cluster *cl,
    struct cp__cluster_worker *cw);
/*
 * Node's worker.disconnect(): {"act":"disconnect"}, once.  Returns 0, or
 * UV_ENOTCONN when the channel is already closed or the message was sent.
 */
int cp__cluster_disconnect(struct cp__cluster *cl,
    struct cp__cluster_worker *cw);
/* cw's worker now takes connections (rr): hand it what waits. */
void cp__cluster_worker_serving(struct cp__cluster *cl,
    struct cp__cluster_worker *cw);
/*
 * Handing servers to another primary (a new master, USR2).  adopt: fd
 * (taken on success) is the server for key, kept LINGER_MS for a worker
 * to ask for it; UV_EEXIST, UV_ENOTSOCK, UV_EINVAL (not a socket we
 * could have made), UV_ENOTSUP (TCP under reuseport).  servers: cb for
 * each handable server (not reuseport's), until cb returns non-zero; the
 * count, or cb's negative return.  release: accept no more (rr), unlink
 * no path.  pending: connections accepted and not yet taken by a worker.
 */
int cp__cluster_adopt(struct cp__cluster *cl, const char *key, int fd);
int cp__cluster_servers(struct cp__cluster *cl,
    cp_pool_server_cb cb, void *arg);
void cp__cluster_release(struct cp__cluster *cl);
int cp__cluster_pending(const struct cp__cluster *cl);
/* Closes every server; done(p) once all are closed (maybe at once). */
void cp__cluster_close(struct cp__cluster *cl, void (*done)(struct cp_pool *));
void cp__cluster_free(struct cp__cluster *cl);

/* pool.c, called by the cluster. */
void cp__pool_emit(struct cp_pool *p, struct cp_pool_event *e);
bool cp__pool_closing(const struct cp_pool *p);
void cp__worker_online(struct cp_worker *w);
void cp__worker_ready(struct cp_worker *w);
/*
 * Whether rr connections may go to w: not while it is a replacement that
 * has not taken its slot (it may yet crash with them).
 */
bool cp__worker_serving(const struct cp_worker *w);
/* The worker accepted a connection we handed it (rr): counted. */
void cp__worker_connection(struct cp_worker *w);
/* The worker leaves of its own will (exitedAfterDisconnect): no restart. */
void cp__worker_voluntary(struct cp_worker *w);
/* The cluster state of the worker whose channel this is, or NULL. */
struct cp__cluster_worker *cp__channel_cluster_worker(struct cp_channel *ch);

#endif /* CP_CORE_CLUSTER_H */
