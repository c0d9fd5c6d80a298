// parent.js CASE HCHILD - a Node parent of the C child hchild.c, for the
// handle tests in the child role.  Exits 0 if every check passed.
//   echo        each kind of handle to the C child and back, then used
//   socketlist  a server-accepted socket sent to the C child;
//               server.getConnections() and server.close(cb) must complete
//               through its NODE_SOCKET_* answers (childproc-ipc(7),
//               Internal messages)
'use strict';
const assert = require('assert');
const dgram = require('dgram');
const net = require('net');
const { readLine } = require('../../lib/lib.js');
const { spawn } = require('child_process');

const [kase, hchild] = process.argv.slice(2);

function fail(e) {
	console.error(`parent.js ${kase}: FAILED\n`, e);
	process.exit(1);
}
process.on('uncaughtException', fail);
setTimeout(() => fail(new Error('timed out')), 120000).unref();

const child = spawn(hchild, [kase], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
let done = false;
child.on('exit', (code, sig) => {
	if (code !== 0 || sig !== null)
		fail(new Error(`the C child exited with ${code}, ${sig}`));
	if (!done)
		fail(new Error('the C child exited too early'));
	console.log(`parent.js ${kase}: ok`);
});

// A connected TCP pair on loopback: cb(accepted, client).
function tcpPair(cb) {
	let client;
	const srv = net.createServer((conn) => {
		srv.close();
		cb(conn, client);
	});
	srv.listen(0, '127.0.0.1', () => {
		client = net.connect(srv.address().port, '127.0.0.1');
	});
}

// Waits for the next message from the child.
function next(cb) {
	child.once('message', cb);
}

const cases = {
	echo() {
		const steps = [
			// A listening server comes back as a net.Server that serves.
			(go) => {
				const srv = net.createServer();
				srv.listen(0, '127.0.0.1', () => {
					const port = srv.address().port;
					child.send({ kind: 'server', port }, srv);
					next((m, h) => {
						assert.deepStrictEqual(m, { kind: 'server', port });
						assert.ok(h instanceof net.Server && h.listening);
						assert.strictEqual(h.address().port, port);
						srv.close();	// only the returned one is left
						h.on('connection', (s) => s.end('back\n'));
						const c = net.connect(port, '127.0.0.1');
						readLine(c, (l) => {
							assert.strictEqual(l, 'back');
							c.destroy();
							h.close(go);
						});
					});
				});
			},
			// A connected socket comes back as a net.Socket that writes.
			(go) => {
				tcpPair((conn, client) => {
					child.send({ kind: 'socket' }, conn);
					next((m, h) => {
						assert.deepStrictEqual(m, { kind: 'socket' });
						assert.ok(h instanceof net.Socket);
						readLine(client, (l) => {
							assert.strictEqual(l, 'x');
							client.destroy();
							h.destroy();
							go();
						});
						h.write('x\n');
					});
				});
			},
			// A bound UDP socket comes back as a dgram.Socket (udp4).
			(go) => {
				const u = dgram.createSocket('udp4');
				u.bind(0, '127.0.0.1', () => {
					const port = u.address().port;
					child.send({ kind: 'dgram', port }, u);
					next((m, h) => {
						assert.deepStrictEqual(m, { kind: 'dgram', port });
						assert.ok(h instanceof dgram.Socket);
						assert.strictEqual(h.type, 'udp4');
						assert.strictEqual(h.address().port, port);
						u.close();
						const p = dgram.createSocket('udp4');
						h.on('message', (b) => {
							assert.strictEqual(String(b), 'dg');
							p.close();
							h.close(go);
						});
						p.send('dg', port, '127.0.0.1');
					});
				});
			},
			// A raw handle comes back raw.
			(go) => {
				const srv = net.createServer();
				srv.listen(0, '127.0.0.1', () => {
					child.send({ kind: 'native' }, srv._handle);
					next((m, h) => {
						assert.deepStrictEqual(m, { kind: 'native' });
						assert.strictEqual(h.constructor.name, 'TCP');
						srv.close();
						h.close();
						go();
					});
				});
			},
		];
		let i = 0;
		(function step() {
			if (i < steps.length) {
				steps[i++](step);
				return;
			}
			done = true;
			child.send('end');
		})();
	},

	socketlist() {
		let client;
		let dropped = false;
		const srv = net.createServer((conn) => child.send('conn', conn));
		child.on('message', (m) => {
			if (m === 'dropped') {
				dropped = true;
				return;
			}
			// The C child has the socket, under the server's key.
			assert.deepStrictEqual(m, { got: srv._connectionKey });
			srv.getConnections((err, n) => {
				assert.ifError(err);
				assert.strictEqual(n, 1);
				// close(cb) waits until the child closed its copy.
				srv.close(() => {
					assert.ok(dropped);
					done = true;
					client.destroy();
					child.disconnect();
				});
				child.send('drop');
			});
		});
		srv.listen(0, '127.0.0.1', () => {
			client = net.connect(srv.address().port, '127.0.0.1');
		});
	},
};

child.once('message', (m) => {
	assert.strictEqual(m, 'ready');
	cases[kase]();
});
