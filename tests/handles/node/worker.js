// worker.js MODE - an HTTP worker for childproc-fork -n N --listen ADDR.
// The body of every answer is this worker's pid.
//   seed     the seed's pattern: process.on('message', (m, tcp) => ...)
//            and an http.Server fed through tcp.on('connection')
//   listen   http.createServer().listen(server), with the server received
//   stubborn serves, and ignores the master's disconnect
//   exit     exits with code 1 at once (a crash loop)
// Environment: WORKER_LOG=1 writes "got ID PID" on stderr for each request
// (synchronously, so the line exists before the answer does);
// WORKER_DELAY=MS answers after MS milliseconds.
'use strict';
const fs = require('fs');
const http = require('http');

const mode = process.argv[2];
const log = process.env.WORKER_LOG === '1';
const delay = Number(process.env.WORKER_DELAY || 0);

function handler(req, res) {
	if (log)
		fs.writeSync(2, `got ${req.url.slice(1)} ${process.pid}\n`);
	if (delay > 0)
		setTimeout(() => res.end(String(process.pid)), delay);
	else
		res.end(String(process.pid));
}

if (mode === 'exit')
	process.exit(1);

if (mode === 'seed' || mode === 'stubborn') {
	const server = http.createServer(handler);
	process.on('message', (m, tcp) => {
		if (m === 'server') {
			tcp.on('connection', (socket) => server.emit('connection', socket));
			// A well-behaved worker stops accepting when the master lets
			// go, finishes what it has, and exits.
			if (mode === 'seed')
				process.on('disconnect', () => tcp.close());
		}
	});
} else if (mode === 'listen') {
	process.on('message', (m, server) => {
		if (m !== 'server')
			return;
		const app = http.createServer(handler).listen(server);
		process.on('disconnect', () => app.close());
	});
} else {
	console.error(`worker.js: unknown mode ${mode}`);
	process.exit(2);
}
