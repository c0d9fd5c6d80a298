// child.js CASE - the Node side of the C parent tests (cparent.c).
// Each case is the Node half of one case of cparent.c (childproc-ipc(7)).
'use strict';
const fs = require('fs');

// Any parse error on the channel would be a bug in the C writer: report it.
process.on('uncaughtException', (e) => {
	process.send({ uncaught: String(e) });
});

const cases = {
	// basic, fd-number, chunking, unicode and the big tests: echo
	// everything.
	echo() {
		process.send({
			hello: {
				env_fd: process.env.NODE_CHANNEL_FD ?? null,
				env_mode: process.env.NODE_CHANNEL_SERIALIZATION_MODE ?? null,
				channel_fd: process.channel.fd,
			},
		});
		process.on('message', (m) => process.send({ got: m }));
	},

	// Top-level values both ways.
	values() {
		for (const v of [null, 's', 42, true, [1]])
			process.send(v);
		process.on('message', (m) => process.send({ type: typeof m, got: m }));
	},

	// JSON.stringify gives undefined, so Node writes "undefined\n".
	undefined() {
		process.send({ toJSON() { return undefined; } });
		process.send({ ok: 1 });
		process.on('message', () => {});
	},

	// Keep-alive rules of a Node child.
	alive() {
		const how = process.argv[3];
		if (how === 'none')
			return;		// no listener: exits at once
		process.on('message', (m) => process.send({ got: m }));
		if (how === 'unref')
			process.channel.unref();
	},

	// Messages that arrive before any listener wait for one.
	pending() {
		setTimeout(() => {
			const got = [];
			process.on('message', (m) => {
				got.push(m);
				if (got.length === 2)
					process.send({ got });
			});
		}, 500);
	},

	// The parent disconnects; log what this side saw on stdout.
	events() {
		const log = [];
		process.on('message', (m) => log.push(['message', m]));
		process.on('disconnect', () => log.push(['disconnect']));
		process.on('exit', (code) => {
			log.push(['exit', code]);
			process.stdout.write(JSON.stringify(log) + '\n');
		});
	},

	// This side disconnects right after one message.
	bye() {
		process.on('disconnect', () => console.log('disconnect'));
		process.send('bye');
		process.disconnect();
	},

	// Send, then exit at once.  10 KiB fits the socket buffer and is
	// written in full; 1 MiB does not and Node drops the rest (its bug).
	exitsend() {
		process.send({ small: 'x'.repeat(10240) });
		process.send({ big: 'y'.repeat(1 << 20) });
		process.exit(0);
	},

	// A slow reader: block the event loop after saying ready.
	slow() {
		let i = 0;
		process.on('message', (m) => process.send({ i: i++, len: m.length }));
		process.send('ready');
		Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
	},

	// What the C reader must reassemble: raw writes on the channel
	// fd (many lines in one write, one line byte by byte splitting a
	// 4-byte emoji), then a 1 MiB message and 10 000 small ones.
	rawout() {
		const fd = process.channel.fd;
		const lines = [];
		for (let i = 0; i < 100; i++)
			lines.push(JSON.stringify({ i }));
		fs.writeSync(fd, lines.join('\n') + '\n');
		const slow = Buffer.from(JSON.stringify({ emoji: '\u{1F600}\u2028\u00e9' }) + '\n');
		let k = 0;
		const next = () => {
			if (k < slow.length) {
				fs.writeSync(fd, slow.subarray(k, k + 1));
				k++;
				setTimeout(next, 1);
				return;
			}
			process.send('z'.repeat(1 << 20));
			for (let n = 0; n < 10000; n++)
				process.send({ n });
			process.send('done');
		};
		next();
		process.on('message', () => {});
	},
};

const run = cases[process.argv[2]];
if (run === undefined) {
	console.error(`child.js: unknown case ${process.argv[2]}`);
	process.exit(2);
}
run();
