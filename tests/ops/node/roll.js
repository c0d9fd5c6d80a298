// roll.js MODEFILE - a worker for the rolling-restart tests (tests/ops/ops.sh
// roll-*).  What it does is read from MODEFILE when it starts, so that a
// test "deploys" new code by writing that file:
//   good    serves
//   crash   serves, but throws 300 ms after it starts (a deploy gone wrong)
//   never   blocks in its start-up for good (never listens, never answers)
// It serves HTTP on 127.0.0.1: as a cluster worker it listens on the port
// in $ROLL_PORT (0: the primary's choice); otherwise on each server handle
// the master sends ('server').  Every answer's body is its pid.
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');

const mode = fs.readFileSync(process.argv[2], 'utf8').trim();

if (mode === 'crash')
	setTimeout(() => {
		throw new Error('roll.js: the new code is broken');
	}, 300);
if (mode === 'never') {
	// Asleep without spending CPU, the event loop never turns.
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

const app = http.createServer((req, res) => res.end(String(process.pid)));
const servers = [];

if (cluster.isWorker) {
	app.listen(Number(process.env.ROLL_PORT || 0), '127.0.0.1');
} else {
	process.on('message', (m, server) => {
		if (m !== 'server' || !server)
			return;
		servers.push(server);
		server.on('connection', (sock) => app.emit('connection', sock));
	});
	process.on('disconnect', () => servers.forEach((s) => s.close()));
}
