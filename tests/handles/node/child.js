// child.js CASE [ARG] - the Node half of the handle tests run by hparent.c.
// Each case is the Node side of one handle case of hparent.c (childproc-ipc(7));
// it reports what it saw as messages, and hparent.c checks them.
'use strict';
const dgram = require('dgram');
const fs = require('fs');
const net = require('net');
const { readLine } = require('../../lib/lib.js');

const kase = process.argv[2];
const arg = process.argv[3];

// Anything unexpected on this side must fail the C side's test.
process.on('uncaughtException', (e) => {
	process.send({ uncaught: String(e && e.stack || e) });
	process.exitCode = 1;
});
process.on('warning', (w) => process.send({ warning: w.name }));

function fdCount() {
	return fs.readdirSync('/proc/self/fd').length;
}

// A connected TCP pair on loopback: [accepted side, client side].
function tcpPair(cb) {
	const srv = net.createServer((conn) => {
		srv.close();
		cb(conn, client, srv);
	});
	let client;
	srv.listen(0, '127.0.0.1', () => {
		client = net.connect(srv.address().port, '127.0.0.1');
	});
}

const cases = {
	// handle-in: the C parent sends one handle of each kind; say what
	// arrived and serve on it, so the C side can check the handle works.
	in() {
		const held = [];
		const seen = [];
		process.on('message', (m, h) => {
			seen.push(m);
			if (m === 'end') {
				for (const x of held)
					x.close ? x.close() : x.destroy();
				process.send({ seen });
				return;
			}
			const r = { kind: m.kind, ctor: h && h.constructor.name };
			switch (m.kind) {
			case 'server-tcp':
			case 'server-unix':
				r.listening = h.listening;
				r.address = h.address();
				h.on('connection', (s) => s.end(`hello ${process.pid}\n`));
				break;
			case 'socket-tcp':
			case 'socket-unix':
				r.readable = h.readable;
				r.writable = h.writable;
				readLine(h, (l) => h.end(`${l} pong ${process.pid}\n`));
				break;
			case 'dgram':
				r.type = h.type;
				r.port = h.address().port;
				h.on('message', (b, ri) =>
					h.send(`${b} pong ${process.pid}`, ri.port, ri.address));
				break;
			case 'native': {
				// A raw TCP handle: Node's net.Server can listen on it.
				const s = net.createServer((c) => c.end(`native ${process.pid}\n`));
				s.listen(h);
				h = s;
				break;
			}
			}
			held.push(h);
			process.send(r);
		});
	},

	// handle-in: nothing refused by the C sender may reach this side.
	refuse() {
		const seen = [];
		process.on('message', (m, h) => {
			seen.push({ m, handle: h ? h.constructor.name : null });
			if (m === 'end')
				process.send({ seen });
		});
		process.on('internalMessage', (m) => seen.push({ internal: m }));
	},

	// handle-out: one handle of each kind from Node to the C parent;
	// the returned values of send() show the queueing behind the ACK.
	out() {
		const srv = net.createServer();
		const peer = dgram.createSocket('udp4');
		const udp = dgram.createSocket('udp4');
		const reads = {};
		let want = 3;
		function got(kind, data) {
			reads[kind] = data;
			if (--want === 0) {
				srv.close();
				peer.close();
				udp.close();
				process.send({ reads });
			}
		}
		peer.on('message', (b) => got('dgram', String(b)));
		srv.listen(0, '127.0.0.1', () => peer.bind(0, '127.0.0.1', () =>
			udp.bind(0, '127.0.0.1', () => {
				const port = srv.address().port;
				const ret = [];
				ret.push(process.send({ m: 1, port }, srv));
				ret.push(process.send('after'));
				ret.push(process.send({ m: 3, port }, srv, { keepOpen: true }));
				process.send({ returns: ret });
				tcpPair((conn, client) => {
					readLine(client, (l) => { got('sock-keep', l); client.destroy(); });
					process.send({ kind: 'sock-keep' }, conn, { keepOpen: true },
						() => conn.destroy());
				});
				tcpPair((conn, client) => {
					readLine(client, (l) => { got('sock', l); client.destroy(); });
					process.send({ kind: 'sock' }, conn);
				});
				process.send({ kind: 'dgram', port: udp.address().port,
					peer: peer.address().port }, udp);
				process.send({ kind: 'native', port }, srv._handle);
			})));
		process.on('message', () => {});
	},

	// fd-coalescing: two plain lines then a handle, all read at once.
	coalesce() {
		const srv = net.createServer();
		srv.listen(0, '127.0.0.1', () => process.send('ready'));
		process.on('message', (m) => {
			if (m === 'go') {
				process.send('a');
				process.send('a2');
				process.send({ x: 1, port: srv.address().port }, srv);
			} else if (m === 'end') {
				srv.close();
				process.disconnect();
			}
		});
	},

	// nack-retransmit: a server-accepted socket that the C side NACKs
	// (arg: how many times) until Node gives up or sends the wrapped copy.
	nack() {
		let cbs = 0;
		tcpPair((conn, client) => {
			readLine(client, (l) => {
				client.destroy();
				process.send({ read: l, cbs });
			});
			process.on('message', (m) => {
				if (m === 'go') {
					process.send({ n: 'conn' }, conn, () => cbs++);
				} else if (m === 'end') {
					client.destroy();
					process.send({ cbs });
					process.disconnect();
				}
			});
			process.send('ready');
		});
	},

	// missing-fd: a NODE_HANDLE without an fd never becomes a message.
	missing() {
		const seen = [];
		process.on('message', (m, h) => {
			seen.push({ m, handle: h ? h.constructor.name : null });
			if (m === 'end')
				process.send({ seen });
		});
	},

	// deferred-disconnect: disconnect() right behind a handle.
	ddisc() {
		const srv = net.createServer();
		srv.listen(0, '127.0.0.1', () => {
			process.send({ m: 'h' }, srv);
			process.send('q');
			process.disconnect();
		});
		process.on('disconnect', () => srv.close());
	},

	// No fd leaks: N sockets from the C side, each closed here.
	sink() {
		const n = Number(arg);
		const before = fdCount();
		let got = 0, closed = 0;
		process.on('message', (m, h) => {
			if (!h)
				return;
			got++;
			h.on('close', () => {
				if (++closed === n)
					setImmediate(() => process.send({ got, before, after: fdCount() }));
			});
			h.destroy();
		});
		process.send('ready');
	},

	// No fd leaks: N sockets to the C side (keepOpen: the same socket).
	source() {
		const n = Number(arg);
		tcpPair((conn, client) => {
			let sent = 0;
			(function next() {
				if (sent === n) {
					conn.destroy();
					client.destroy();
					process.send('done');
					process.once('message', () => process.disconnect());
					return;
				}
				sent++;
				process.send({ i: sent }, conn, { keepOpen: true }, next);
			})();
		});
	},

	// The send rate: count sockets, destroy them, say when all arrived.
	rate() {
		const n = Number(arg);
		let got = 0;
		process.on('message', (m, h) => {
			if (h)
				h.destroy();
			if (++got === n)
				process.send('done');
		});
		process.send('ready');
	},

	// A peer that exits with our last line unread: what it sent first
	// must still arrive (the kernel resets the socket on such a close).
	unread() {
		process.on('message', (m) => {
			if (m !== 'go')
				return;
			process.send('got-go');
			// Not reading while the C side answers 'x'.
			const end = Date.now() + 2000;
			while (Date.now() < end)
				;
			process.send('a');
			process.send('b');
			process.exit(0);
		});
		process.send('ready');
	},

	// cluster-primary: this is a cluster worker (NODE_UNIQUE_ID is set)
	// whose primary is the C parent.
	cluster() {
		const cluster = require('cluster');
		process.send({ isWorker: cluster.isWorker });
		const srv = net.createServer((s) => s.end(`cluster ${process.pid}\n`));
		srv.listen(0, '127.0.0.1');
	},
};

if (!cases[kase]) {
	console.error(`child.js: unknown case ${kase}`);
	process.exit(2);
}
cases[kase]();
