// tests/v8/channel.js - a C child (advecho.c) under a node parent that uses
// serialization 'advanced'.   node channel.js CASE ADVECHO [NPM_DIR]
//   fork    fork(..., {serialization: 'advanced'}): every value of
//           values.js that send() takes comes back equal (same types, same
//           object graph), and a net.Server handle comes back with its
//           message
//   execa   execa(ADVECHO, {ipc: true}) (execa's default serialization is
//           'advanced'): BigInt, Map, Set, Date, Buffer, typed arrays and a
//           circular object come back exactly
'use strict';
const { fork } = require('child_process');
const net = require('net');
const path = require('path');
const { once } = require('events');
const { same, fixed, randomValue, setSeed } = require('./values.js');

const [which, advecho, npmDir] = process.argv.slice(2);

// What Node's send() accepts: not undefined or a BigInt at the top, and no
// NODE_ command (those are internal messages).
const sendable = (v) => v !== undefined && typeof v !== 'bigint' &&
  !(v && typeof v.cmd === 'string' && v.cmd.startsWith('NODE_'));

function nextMessage(c) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`child exited ${code} early`));
    c.once('exit', onExit);
    c.once('message', (m, h) => { c.off('exit', onExit); resolve([m, h]); });
  });
}

async function forkCase() {
  const c = fork('advecho', [], {
    execPath: advecho, execArgv: [], serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = await nextMessage(c);
  same({ ready: 'advanced' }, ready);
  setSeed(777);
  const values = fixed().filter(sendable);
  for (let i = 0; i < 100; i++) values.push([randomValue(4, [])]);
  for (const [i, v] of values.entries()) {
    c.send(v);
    const [echo] = await nextMessage(c);
    try {
      same(v, echo);
    } catch (e) {
      throw new Error(`value #${i}: ${e.message}`);
    }
  }
  // A handle goes there and back, its message intact.
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const msg = { big: 2n ** 70n, m: new Map([[1, new Set([2])]]), d: new Date(5) };
  msg.self = msg;	// back-references inside a NODE_HANDLE frame
  c.send(msg, server);
  const [back, handle] = await nextMessage(c);
  same(msg, back);
  if (!(handle instanceof net.Server)) throw new Error('no net.Server came back');
  if (handle.address().port !== server.address().port)
    throw new Error(`port ${handle.address().port} != ${server.address().port}`);
  handle.close();
  server.close();
  c.send('bye');
  const [code] = await once(c, 'exit');
  if (code !== 0) throw new Error(`advecho exited ${code}`);
  console.log(`fork: ${values.length} values and a handle echoed`);
}

async function execaCase() {
  const { execa } = await import(path.join(npmDir, 'node_modules', 'execa', 'index.js'));
  const sub = execa(advecho, { ipc: true, stdout: 'inherit', stderr: 'inherit' });
  same({ ready: 'advanced' }, await sub.getOneMessage());
  const circ = { name: 'circ' };
  circ.self = circ;
  const values = [
    { n: 1n, neg: -(2n ** 100n) }, new Map([['a', 1], [{ k: 2 }, [3n]]]), new Set([1, 'x', null]),
    new Date(1700000000123), Buffer.from('buffer'), new Uint8Array([1, 2, 3]), new Int16Array([-1, 300]),
    new Float64Array([Math.PI]), new BigUint64Array([2n ** 64n - 1n]), circ, [circ, circ],
  ];
  for (const [i, v] of values.entries()) {
    await sub.sendMessage(v);
    const echo = await sub.getOneMessage();
    try {
      same(v, echo);
    } catch (e) {
      throw new Error(`execa value #${i}: ${e.message}`);
    }
  }
  await sub.sendMessage('bye');
  const r = await sub;
  if (r.exitCode !== 0) throw new Error(`advecho exited ${r.exitCode}`);
  console.log(`execa: ${values.length} values echoed`);
}

const cases = { fork: forkCase, execa: execaCase };
const timer = setTimeout(() => { console.error(`${which}: timed out`); process.exit(1); }, 120000);
cases[which]().then(() => clearTimeout(timer), (e) => {
  console.error(`${which}: FAIL: ${e.stack}`);
  process.exit(1);
});
