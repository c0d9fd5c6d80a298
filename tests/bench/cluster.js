// cluster.js N - Node's cluster: a primary forks N HTTP workers sharing one
// port on 127.0.0.1, as childproc-fork -n N --listen does (the body of each
// answer is the worker's pid, as tests/handles/node/worker.js answers).
// The primary prints "listening on 127.0.0.1:PORT" once every worker
// listens, and stops its workers on SIGTERM.  The scheduling policy is
// cluster's default (round-robin) unless NODE_CLUSTER_SCHED_POLICY=none.
'use strict';
const cluster = require('cluster');
const http = require('http');

if (cluster.isPrimary) {
  const n = Number(process.argv[2] || 4);
  let listening = 0;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('listening', (w, addr) => {
    if (++listening === n) console.log(`listening on 127.0.0.1:${addr.port}`);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.process.kill();
    process.exit(0);
  });
} else {
  http.createServer((req, res) => res.end(String(process.pid)))
    .listen(0, '127.0.0.1');
}
