// cluster.js N - Node's own answer, for comparison: a cluster primary with
// N workers running app.js (the same file childproc-fork runs; the body is
// the worker's pid).  The scheduling policy comes from the environment
// (NODE_CLUSTER_SCHED_POLICY=rr, the default on Linux, or none).  Prints
// "listening on 127.0.0.1:PORT" once every worker listens; TERM stops it.
'use strict';
const cluster = require('cluster');
const path = require('path');

const n = Number(process.argv[2] || 4);
let listening = 0;
cluster.setupPrimary({ exec: path.join(__dirname, 'app.js') });
for (let i = 0; i < n; i++)
	cluster.fork();
cluster.on('listening', (w, a) => {
	if (++listening === n)
		console.log(`listening on 127.0.0.1:${a.port} (${cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none'})`);
});
process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
