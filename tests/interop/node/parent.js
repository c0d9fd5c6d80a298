// parent.js CASE CCHILD [FDLIST] - a real Node parent of the C child
// (cchild.c): the Node half of each case, node -> C (childproc-ipc(7)).
'use strict';
const assert = require('assert');
const fs = require('fs');
const { spawn, fork } = require('child_process');
const { once } = require('events');

const [, , name, cchild, fdlist] = process.argv;
const MIB = 1 << 20;

// A child with the channel on fd 3 (or where stdio puts 'ipc').
function start(args, opts = {}) {
	return spawn(cchild, args, { stdio: [0, 1, 2, 'ipc'], ...opts });
}

// The next n messages.
function messages(c, n) {
	return new Promise((resolve, reject) => {
		const got = [];
		const on = (m) => {
			got.push(m);
			if (got.length === n) {
				c.off('message', on);
				resolve(got);
			}
		};
		c.on('message', on);
		// 'close' comes after the last message ('exit' may come before).
		c.once('close', (code, sig) =>
			reject(new Error(`child closed (${code}, ${sig}) after ` +
			    `${got.length} of ${n} messages`)));
	});
}

async function exited(c) {
	if (c.exitCode !== null || c.signalCode !== null)
		return [c.exitCode, c.signalCode];
	return once(c, 'exit');
}

async function expectExit(c, code) {
	assert.deepStrictEqual(await exited(c), [code, null]);
}

const cases = {
	// Spawn with 'ipc' on fd 3; what the C child saw before opening it.
	async basic() {
		const c = start(['echo']);
		const [ready] = await messages(c, 1);
		assert.deepStrictEqual(ready, {
			ready: true, env_fd: '3', env_mode: 'json', fd: 3,
			blocking: true, unix_stream: true, argv: [cchild, 'echo'],
			cloexec: true, env_cleared: true,
		});
		c.send({ x: 1 });
		assert.deepStrictEqual(await messages(c, 1), [{ x: 1 }]);
		c.disconnect();
		await expectExit(c, 0);
	},

	// The channel on fd 4.
	async 'fd-number'() {
		const c = start(['echo'], { stdio: [0, 1, 2, 'ignore', 'ipc'] });
		const [ready] = await messages(c, 1);
		assert.strictEqual(ready.fd, 4);
		assert.strictEqual(ready.env_fd, '4');
		c.send('four');
		assert.deepStrictEqual(await messages(c, 1), ['four']);
		c.disconnect();
		await expectExit(c, 0);
	},

	// fork() with execPath: the module path is just argv[1].
	async 'fork-execpath'() {
		const c = fork('echo', ['a'], { execPath: cchild, execArgv: [] });
		const [ready] = await messages(c, 1);
		assert.deepStrictEqual(ready.argv, [cchild, 'echo', 'a']);
		assert.strictEqual(ready.fd, 3);
		c.send([1, 2]);
		assert.deepStrictEqual(await messages(c, 1), [[1, 2]]);
		c.disconnect();
		await expectExit(c, 0);
	},

	// Chunking the other way: the C reader reassembles what Node writes.
	async chunking() {
		const c = start(['echo']);
		await messages(c, 1);
		const big = 'm'.repeat(MIB);
		const wait = messages(c, 10002);
		c.send(big);
		for (let n = 0; n < 10000; n++)
			c.send({ n });
		c.send('done');
		const got = await wait;
		assert.strictEqual(got[0], big);
		for (let n = 0; n < 10000; n++)
			assert.deepStrictEqual(got[n + 1], { n });
		assert.strictEqual(got[10001], 'done');
		c.disconnect();
		await expectExit(c, 0);
	},

	// Unicode and control characters, echoed byte for byte and
	// re-encoded by the C encoder (no SyntaxError in Node).
	async unicode() {
		let ctl = '';
		for (let i = 0; i < 0x20; i++)
			ctl += String.fromCharCode(i);
		ctl += '\x7f"\\/';
		const values = [
			// Not NUL in a key: jansson refuses to decode it (a known gap).
			'\u2028\u2029', '\u{1F600}', ctl, { [ctl.slice(1)]: ctl }, '\u0000',
			'\ud800', ['a\udc00b'],
		];
		for (const how of ['echo', 'reencode']) {
			const c = start([how]);
			await messages(c, 1);
			for (const v of values)
				c.send(v);
			const got = await messages(c, values.length);
			// Lone surrogates too: the C decoder keeps them (WTF-8) and
			// its encoder escapes them as JSON.stringify (issue 7, 8).
			assert.deepStrictEqual(got, values, how);
			c.disconnect();
			await expectExit(c, 0);
		}
	},

	// Top-level values through the C decoder and encoder.
	async values() {
		const c = start(['reencode']);
		await messages(c, 1);
		const values = [null, 's', 42, true, [1], 1e21, -1.5, 5e-324, {}, [],
		    2 ** 53 + 2, 'x'];
		for (const v of values)
			c.send(v);
		assert.deepStrictEqual(await messages(c, values.length), values);
		c.disconnect();
		await expectExit(c, 0);
	},

	// Node writes "undefined\n"; the C child skips it and goes on.
	async undefined() {
		const c = start(['echo']);
		await messages(c, 1);
		c.send({ toJSON() { return undefined; } });
		c.send({ ok: 1 });
		assert.deepStrictEqual(await messages(c, 2), [
			{ error: 'EPROTO', line: 'undefined' }, { ok: 1 },
		]);
		c.disconnect();
		await expectExit(c, 0);
	},

	// An unref'd C channel does not keep the child alive, but what
	// it queued is still written first.
	async unref() {
		let c = start(['unref']);
		const got = messages(c, 1);
		await expectExit(c, 0);
		assert.strictEqual((await got)[0].ready, true);
		c = start(['unref', String(MIB)]);
		const two = messages(c, 2);
		await expectExit(c, 0);
		assert.strictEqual((await two)[1], 'u'.repeat(MIB));
	},

	// The C child sends 3, disconnects, exits 1 s later.
	async 'disconnect-by-c'() {
		const c = start(['send3']);
		const events = [];
		c.on('message', (m) => events.push(m.ready ? 'ready' : m));
		c.on('disconnect', () => events.push('disconnect'));
		c.on('exit', (code, sig) => events.push(['exit', code, sig]));
		await once(c, 'close');
		assert.deepStrictEqual(events, ['ready', { n: 1 }, { n: 2 }, { n: 3 },
		    'disconnect', ['exit', 0, null]]);
	},

	// Node disconnects; the C child sees a clean EOF and exits 0.
	async 'disconnect-by-node'() {
		const c = start(['echo']);
		let disconnected = false;
		c.on('disconnect', () => { disconnected = true; });
		await messages(c, 1);
		c.disconnect();
		c.on('message', (m) => assert.fail(`message after disconnect: ${m}`));
		// Node v20 never emits 'close' here (its bug): wait for 'exit'.
		await expectExit(c, 0);
		assert.ok(disconnected);
	},

	// Sends after a disconnect, on both sides.
	async 'send-after-disconnect'() {
		const c = start(['epipe']);
		await messages(c, 1);
		c.send('bye');
		c.disconnect();
		await once(c, 'disconnect');
		let error = null;
		const ret = c.send('x', (e) => { error = e; });
		assert.strictEqual(ret, false);
		// The C child checks its own EPIPEs and exits 0 if they were right.
		await expectExit(c, 0);
		assert.strictEqual(error && error.code, 'ERR_IPC_CHANNEL_CLOSED');
	},

	// A C child that sends 1 MiB (or 32 MiB) and exits loses nothing.
	async 'exit-after-send'() {
		for (const size of [MIB, 32 * MIB]) {
			const c = start(['big-exit', String(size)]);
			const got = messages(c, 2);
			await expectExit(c, 0);
			const m = (await got)[1];
			assert.strictEqual(m.length, size);
			assert.strictEqual(m, 'b'.repeat(size));
		}
	},

	// Both directions of backpressure.
	async backpressure() {
		// Node -> a C child that falls behind: send() says false, nothing is lost.
		let c = start(['slow']);
		await messages(c, 1);
		const s = 'p'.repeat(MIB);
		const rets = [];
		let cbs = 0;
		const replies = messages(c, 4);
		for (let i = 0; i < 4; i++)
			rets.push(c.send(s, (e) => { assert.ifError(e); cbs++; }));
		assert.strictEqual(rets[0], false);
		assert.deepStrictEqual(await replies, Array(4).fill({ len: MIB }));
		assert.strictEqual(cbs, 4);
		c.disconnect();
		await expectExit(c, 0);

		// C -> a Node parent that does not read for a while.
		c = start(['send-big', '4', String(MIB)]);
		const got = messages(c, 6);
		Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
		const big = await got;
		assert.strictEqual(big[0].ready, true);
		for (let i = 1; i <= 4; i++)
			assert.strictEqual(big[i], 'c'.repeat(MIB));
		// send() returned 1 (above the high water mark) at least from the
		// second message on; every callback got 0.
		assert.deepStrictEqual(big[5].returns.slice(1), [1, 1, 1]);
		assert.ok(big[5].returns[0] === 0 || big[5].returns[0] === 1);
		assert.deepStrictEqual(big[5].callbacks, [0, 0, 0, 0]);
		await expectExit(c, 0);
	},

	// 100 000 messages each way, in order.
	async many() {
		const c = start(['echo']);
		await messages(c, 1);
		const N = 100000;
		let n = 0;
		const done = new Promise((resolve, reject) => {
			c.on('message', (m) => {
				if (m.n !== n)
					reject(new Error(`got ${JSON.stringify(m)}, expected n=${n}`));
				if (++n === N)
					resolve();
			});
		});
		for (let i = 0; i < N; i++)
			c.send({ n: i });
		await done;
		c.disconnect();
		await expectExit(c, 0);
	},

	// A 64 MiB message each way.
	async big() {
		const c = start(['echo']);
		await messages(c, 1);
		let s = '';
		for (let i = 0; i < 26; i++)
			s += String.fromCharCode(97 + i);
		s = s.repeat(Math.ceil(64 * MIB / 26)).slice(0, 64 * MIB);
		c.send(s);
		const [m] = await messages(c, 1);
		assert.ok(m === s, 'the 64 MiB echo differs');
		c.disconnect();
		await expectExit(c, 0);
	},

	// fd hygiene: the C child's own children get neither the channel fd
	// nor the variables.
	async grandchild() {
		const c = start(['grandchild', fdlist]);
		const [, g] = await messages(c, 2);
		assert.deepStrictEqual(g.grandchild, {
			fds: [0, 1, 2], NODE_CHANNEL_FD: null,
			NODE_CHANNEL_SERIALIZATION_MODE: null,
		});
		await expectExit(c, 0);
	},

	// Bad NODE_CHANNEL_FD values and modes are refused clearly.
	async 'bad-env'() {
		const env = { ...process.env };
		delete env.NODE_CHANNEL_FD;
		delete env.NODE_CHANNEL_SERIALIZATION_MODE;
		const file = fs.openSync(__filename, 'r');
		const tries = [
			['unset', {}, 'ENOENT'],
			['empty', { env: { ...env, NODE_CHANNEL_FD: '' } }, 'ENOENT'],
			['abc', { env: { ...env, NODE_CHANNEL_FD: 'abc' } }, 'EINVAL'],
			['-1', { env: { ...env, NODE_CHANNEL_FD: '-1' } }, 'EINVAL'],
			['closed fd', { env: { ...env, NODE_CHANNEL_FD: '99' } }, 'EBADF'],
			['regular file', { env: { ...env, NODE_CHANNEL_FD: '3' },
			    stdio: [0, 1, 'pipe', file] }, 'ENOTSOCK'],
			['pipe', { file: '/bin/sh', args: ['-c',
			    ': | NODE_CHANNEL_FD=0 exec "$0" open', cchild] }, 'ENOTSOCK'],
			// Node appends its own json after ours; getenv sees the first.
			['mode foo', { stdio: [0, 1, 'pipe', 'ipc'],
			    env: { ...env, NODE_CHANNEL_SERIALIZATION_MODE: 'foo' } },
			    'EPROTO'],
		];
		for (const [what, o, err] of tries) {
			const c = spawn(o.file || cchild, o.args || ['open'], {
				env, stdio: [0, 1, 'pipe'], ...o,
			});
			let stderr = '';
			c.stderr.on('data', (d) => { stderr += d; });
			c.on('message', (m) => assert.fail(`${what}: got ${m}`));
			const [code] = await exited(c);
			if (!c.stderr.readableEnded)
				await once(c.stderr, 'end');
			assert.strictEqual(code, 2, `${what}: exit ${code}: ${stderr}`);
			assert.match(stderr,
			    new RegExp(`^cchild: cannot open the IPC channel: ${err}: .+\n$`),
			    what);
		}
		fs.closeSync(file);
		// And a real channel is accepted.
		const c = start(['open']);
		await expectExit(c, 0);
	},
};

const run = cases[name];
if (run === undefined) {
	console.error(`parent.js: unknown case ${name}`);
	process.exit(2);
}
run().then(() => {
	console.log(`parent.js ${name}: ok`);
	// Nothing may be left running: the checks waited for every exit.
	process.exit(0);
}, (e) => {
	console.error(`parent.js ${name}: FAILED\n`, e);
	process.exit(1);
});
