// app.js MODE - a worker for the operations tests (tests/ops/ops.sh).
// Every HTTP answer's body is this worker's pid; GET /env answers the
// systemd variables it can see, as JSON; GET /block blocks the event loop
// for good; GET /leak keeps 40 MB more.
//   listen   serves on every server handle the master sends ('server')
//   cluster  a cluster worker: http on 127.0.0.1 port 0, as unmodified
//            server code listens (the primary shares the port)
//   chatter  writes 200 lines on stdout and 200 on stderr, each in two
//            writes a turn of the event loop apart ("out SLOT I xxx",
//            "err SLOT I xxx"), a line of 100000 "y" on stdout, "bad
//            \xff\xfe utf-8 SLOT" on stderr, then "tail SLOT" without a
//            newline, and leaves (exit 0)
//   orphan [S]  forks a shell that leaves a child behind (an orphan that
//            exits S seconds later, default 0.3), prints "orphan PID" on
//            stderr, stays up
//   signals  prints "signal NAME" on stderr for USR1/USR2/WINCH/HUP, exits
//            on TERM
'use strict';
const cp = require('child_process');
const fs = require('fs');
const http = require('http');

const mode = process.argv[2];

const leaks = [];

function handler(req, res) {
	if (req.url === '/block') {
		// An event loop stuck for good (a runaway loop): only SIGKILL helps.
		for (;;)
			;
	}
	if (req.url === '/leak') {
		// 40 MB more resident memory, kept.
		leaks.push(Buffer.alloc(40 * 1024 * 1024, 1));
		res.end(String(process.pid));
		return;
	}
	if (req.url === '/env') {
		const env = {};
		for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES',
		    'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'])
			if (k in process.env)
				env[k] = process.env[k];
		res.end(JSON.stringify(env));
		return;
	}
	res.end(String(process.pid));
}

if (mode === 'listen') {
	// The server Node hands us listens already: feed its connections to
	// one http.Server (listen(server) again fails on a unix socket, even
	// between two Node processes: EEXIST).
	const app = http.createServer(handler);
	const servers = [];
	process.on('message', (m, server) => {
		if (m !== 'server' || !server)
			return;
		servers.push(server);
		server.on('connection', (sock) => app.emit('connection', sock));
	});
	process.on('disconnect', () => servers.forEach((s) => s.close()));
} else if (mode === 'cluster') {
	http.createServer(handler).listen(0, '127.0.0.1');
} else if (mode === 'chatter') {
	const slot = process.env.CHILDPROC_WORKER;
	let i = 0;
	const next = () => {
		if (i === 200) {
			// Leave once both streams are written: the channel kept us
			// up, and a cluster worker exits at once when it goes,
			// dropping what a slow reader left queued.
			let left = 2;
			const done = () => {
				if (--left === 0)
					process.disconnect();
			};
			process.stdout.write('y'.repeat(100000) + '\n');
			process.stderr.write(Buffer.concat([Buffer.from('bad '),
			    Buffer.from([0xff, 0xfe]), Buffer.from(` utf-8 ${slot}\n`)]),
			    done);
			process.stdout.write(`tail ${slot}`, done);
			return;
		}
		const n = i++;
		process.stdout.write(`out ${slot} ${n} `);
		process.stderr.write(`err ${slot} ${n} `);
		setImmediate(() => {
			process.stdout.write('x'.repeat(n % 50) + '\n');
			process.stderr.write('x'.repeat(n % 50) + '\n');
			setImmediate(next);
		});
	};
	next();
} else if (mode === 'orphan') {
	const out = cp.execFileSync('/bin/sh', ['-c',
	    `sleep ${Number(process.argv[3] || 0.3)} </dev/null >/dev/null 2>&1 & echo $!`]);
	fs.writeSync(2, `orphan ${String(out).trim()}\n`);
	setInterval(() => {}, 1000);
	process.on('disconnect', () => process.exit(0));
} else if (mode === 'signals') {
	for (const s of ['SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGHUP'])
		process.on(s, () => fs.writeSync(2, `signal ${s}\n`));
	process.on('SIGTERM', () => {
		fs.writeSync(2, 'signal SIGTERM\n');
		process.exit(0);
	});
	setInterval(() => {}, 1000);
	fs.writeSync(2, 'signals ready\n');
} else {
	console.error(`app.js: unknown mode ${mode}`);
	process.exit(2);
}
