// app.js MODE [ARG] - unmodified server code for tests/cluster: what a
// Node user runs under Node's own cluster primary.  Nothing in it knows
// about childproc-fork.  Each worker writes "W<id> <event> <json>" lines on
// stderr (one write each) for the test to read.
//   http [PORT]     http.createServer().listen(PORT || 0, '127.0.0.1')
//   express         an Express app on port 0
//   fastify         a Fastify app on port 0
//   echo            a net echo server on port 0
//   udp             a dgram (udp4) echo socket on port 0
//   unix PATH       http on a Unix socket
//   inuse PORT      listen on a port that is taken: reports the error
//   two             two http servers (listen(0) twice)
//   relisten        http on port 0; on the message "close", closes it and
//                   listens on port 0 again
//   ipv6 PORT       http on ::1 port 0, on PORT without a host (dual
//                   stack), and an exclusive server on 127.0.0.1 port 0
//   tls             tls.createServer({}).listen(0): reports its ticket keys
//   throw           throws at the top level (after 'online')
//   unixopts PATH   http on {path: PATH, readableAll, writableAll}
//   twice PORT      two http servers, a and b, on 127.0.0.1:PORT
//   maxconn         http with maxConnections = 1 on port 0
//   drain           a net server on port 0 that answers each line with
//                   its pid and keeps the connection; logs 'closed' when
//                   server.close()'s callback runs
//   v6only          http on {host: '::', port: 0, ipv6Only: true}, then
//                   "v4" on 127.0.0.1 at the same port
//   nonblock        http on port 0 answering with the O_NONBLOCK state of
//                   the listening socket and of the connection (fdinfo)
//   stubborn        no server, no 'disconnect' handler, SIGTERM ignored: a
//                   'message' listener and a timer keep it alive (a plain
//                   worker, as under --no-cluster; the server message of
//                   --listen is taken and kept)
//   any mode also obeys the messages {"do":"disconnect"} (cluster.worker.
//   disconnect()), {"do":"kill"} (cluster.worker.kill()), {"do":"exit",
//   "code":N} (process.exit(N)) and {"do":"hold"} (keep the loop alive).
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const net = require('net');
const dgram = require('dgram');
const tls = require('tls');

const mode = process.argv[2];
const arg = process.argv[3];
const id = cluster.isWorker ? cluster.worker.id : 0;

function log(ev, v) {
	fs.writeSync(2, `W${id} ${ev} ${JSON.stringify(v === undefined ? null : v)}\n`);
}

function who() {
	return {
		pid: process.pid, id, isWorker: cluster.isWorker,
		uniqueId: process.env.NODE_UNIQUE_ID,
		slot: process.env.CHILDPROC_WORKER,
		instance: process.env.NODE_APP_INSTANCE,
	};
}

function handler(req, res) {
	res.setHeader('content-type', 'application/json');
	res.end(JSON.stringify(who()));
}

function listening(server, name) {
	const a = server.address();
	log('listening', { name: name || 'http', address: a });
}

function onError(err) {
	log('error', { code: err.code, errno: err.errno, syscall: err.syscall,
	    address: err.address, port: err.port, message: err.message });
}

let servers = [];

switch (mode) {
case 'http': {
	const s = http.createServer(handler);
	s.on('error', onError);
	s.listen(Number(arg || 0), '127.0.0.1', () => listening(s));
	servers.push(s);
	break;
}
case 'express': {
	const express = require('express');
	const app = express();
	app.get('/', (req, res) => res.json(who()));
	const s = app.listen(0, '127.0.0.1', () => listening(s, 'express'));
	servers.push(s);
	break;
}
case 'fastify': {
	const app = require('fastify')();
	app.get('/', async () => who());
	app.listen({ port: 0, host: '127.0.0.1' }).then(() =>
	    log('listening', { name: 'fastify', address: app.server.address() }),
	    onError);
	break;
}
case 'echo': {
	const s = net.createServer((c) => c.pipe(c));
	s.listen(0, '127.0.0.1', () => listening(s, 'echo'));
	servers.push(s);
	break;
}
case 'udp': {
	const s = dgram.createSocket('udp4');
	s.on('message', (m, r) => s.send(Buffer.concat([m,
	    Buffer.from(' ' + process.pid)]), r.port, r.address));
	s.bind(0, '127.0.0.1', () => log('listening', { name: 'udp',
	    address: s.address() }));
	break;
}
case 'unix': {
	const s = http.createServer(handler);
	s.listen(arg, () => log('listening', { name: 'unix', address: s.address() }));
	servers.push(s);
	break;
}
case 'inuse': {
	const s = http.createServer(handler);
	s.on('error', onError);
	s.listen(Number(arg), '127.0.0.1', () => listening(s));
	break;
}
case 'two': {
	for (const name of ['a', 'b']) {
		const s = http.createServer((req, res) => res.end(name + ' ' +
		    process.pid));
		s.listen(0, '127.0.0.1', () => listening(s, name));
		servers.push(s);
	}
	break;
}
case 'ipv6': {
	const a = http.createServer(handler);
	a.listen(0, '::1', () => listening(a, 'v6'));
	const b = http.createServer(handler);
	b.listen(Number(arg), () => listening(b, 'any'));
	const c = http.createServer(handler);
	c.listen({ port: 0, host: '127.0.0.1', exclusive: true },
	    () => listening(c, 'exclusive'));
	servers.push(a, b, c);
	break;
}
case 'tls': {
	const s = tls.createServer({});
	s.listen(0, '127.0.0.1', () => log('listening', { name: 'tls',
	    address: s.address(), keys: s.getTicketKeys().toString('hex') }));
	servers.push(s);
	break;
}
case 'relisten': {
	const s = http.createServer(handler);
	s.listen(0, '127.0.0.1', () => listening(s, 'first'));
	servers.push(s);
	break;
}
case 'stubborn': {
	process.on('SIGTERM', () => log('sigterm'));
	setInterval(() => {}, 1000);
	process.on('message', (m, h) => h && servers.push(h));
	break;
}
case 'unixopts': {
	const s = http.createServer(handler);
	s.listen({ path: arg, readableAll: true, writableAll: true },
	    () => log('listening', { name: 'unixopts', address: s.address() }));
	servers.push(s);
	break;
}
case 'twice': {
	for (const name of ['a', 'b']) {
		const s = http.createServer((req, res) => res.end(name + ' ' +
		    process.pid));
		s.on('error', (err) => log('error', { name, code: err.code,
		    syscall: err.syscall, message: err.message }));
		s.listen(Number(arg), '127.0.0.1', () => listening(s, name));
		servers.push(s);
	}
	break;
}
case 'maxconn': {
	const s = http.createServer(handler);
	s.maxConnections = 1;
	s.listen(0, '127.0.0.1', () => listening(s, 'maxconn'));
	servers.push(s);
	break;
}
case 'drain': {
	const s = net.createServer((c) => {
		c.setEncoding('utf8');
		c.on('data', () => c.write(process.pid + '\n'));
		c.on('error', () => {});
	});
	s.listen(0, '127.0.0.1', () => listening(s, 'drain'));
	s.on('close', () => log('closed'));
	servers.push(s);
	break;
}
case 'v6only': {
	const s = http.createServer(handler);
	s.on('error', onError);
	s.listen({ host: '::', port: 0, ipv6Only: true }, () => {
		listening(s, 'v6only');
		const v4 = http.createServer(handler);
		v4.on('error', onError);
		v4.listen(s.address().port, '127.0.0.1', () => listening(v4, 'v4'));
		servers.push(v4);
	});
	servers.push(s);
	break;
}
case 'nonblock': {
	const nonblock = (fd) => {
		const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(
		    `/proc/self/fdinfo/${fd}`, 'utf8'));
		return m ? (parseInt(m[1], 8) & 0o4000) !== 0 : null;
	};
	const s = http.createServer((req, res) => res.end(JSON.stringify({
		pid: process.pid,
		listener: s._handle && s._handle.fd >= 0 ?
		    nonblock(s._handle.fd) : 'primary',
		conn: nonblock(req.socket._handle.fd),
	})));
	s.listen(0, '127.0.0.1', () => listening(s, 'nonblock'));
	servers.push(s);
	break;
}
case 'throw':
	throw new Error('thrown at the top');
default:
	log('unknown-mode', mode);
	process.exit(2);
}

log('start', who());
let hold;
process.on('message', (m) => {
	log('message', m);
	if (m === 'close') {
		servers[0].close(() => log('closed'));
		const s = http.createServer(handler);
		s.listen(0, '127.0.0.1', () => listening(s, 'second'));
		servers = [s];
	} else if (m && m.do === 'disconnect') {
		cluster.worker.disconnect();
	} else if (m && m.do === 'kill') {
		cluster.worker.kill();
	} else if (m && m.do === 'exit') {
		process.exit(m.code || 0);
	} else if (m && m.do === 'hold') {
		hold = setInterval(() => {}, 1000);
	}
	process.send({ got: m, id });
});
cluster.worker && cluster.worker.on('disconnect', () => log('disconnect',
    { exitedAfterDisconnect: cluster.worker.exitedAfterDisconnect }));
process.on('exit', (code) => log('exit', code));
