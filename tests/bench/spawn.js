// spawn.js - bench-spawn.c for Node: spawnSync(PROGRAM) in a loop.
//   node spawn.js sync|sync-ignore|async [-n COUNT] [-H MIB] [PROGRAM [ARG...]]
// sync: spawnSync with its default pipes; sync-ignore: stdio 'ignore';
// async: spawn() and wait for 'close' before the next one.
// -H MIB: first allocate and touch MIB MiB (a Buffer outside V8's heap).
'use strict';
const { spawnSync, spawn } = require('child_process');

const args = process.argv.slice(2);
const mode = args.shift();
let n = 2000;
let heapMib = 0;
for (;;) {
  if (args[0] === '-n') { args.shift(); n = Number(args.shift()); }
  else if (args[0] === '-H') { args.shift(); heapMib = Number(args.shift()); }
  else break;
}
// Kept referenced until the end; fill() touches every page.
const heap = heapMib > 0 ? Buffer.allocUnsafe(heapMib << 20).fill(1) : null;
const prog = args.length > 0 ? args : ['/bin/true'];
if (!['sync', 'sync-ignore', 'async'].includes(mode) || !(n >= 1)) {
  console.error('usage: node spawn.js sync|sync-ignore|async [-n COUNT] [-H MIB] [PROGRAM [ARG...]]');
  process.exit(2);
}
const t = new Float64Array(n);

function report() {
  t.sort();
  const sum = t.reduce((a, b) => a + b, 0);
  console.log(`median_us=${(t[(n - 1) >> 1] / 1e3).toFixed(1)} ` +
    `mean_us=${(sum / n / 1e3).toFixed(1)} count=${n}` +
    (heap ? ` heap_mib=${heap.length >> 20}` : ''));
}

function fail(what) {
  console.error(`spawn.js: ${prog[0]}: ${what}`);
  process.exit(1);
}

if (mode === 'async') {
  let i = 0;
  const next = () => {
    const t0 = process.hrtime.bigint();
    const c = spawn(prog[0], prog.slice(1));
    c.on('error', (e) => fail(e.message));
    c.on('close', (code, signal) => {
      if (code !== 0) fail(`exit ${code} ${signal}`);
      t[i++] = Number(process.hrtime.bigint() - t0);
      if (i < n) next(); else report();
    });
  };
  next();
} else {
  const opts = mode === 'sync-ignore' ? { stdio: 'ignore' } : {};
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(prog[0], prog.slice(1), opts);
    if (r.error || r.status !== 0) fail(r.error ? r.error.message : `exit ${r.status}`);
    t[i] = Number(process.hrtime.bigint() - t0);
  }
  report();
}
