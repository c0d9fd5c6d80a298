// ipc.js - bench-ipc.c for a Node parent: same modes, options and output.
//   node ipc.js throughput|latency|big [-n COUNT] [-w WINDOW] [-s SIZE] [-S MODE] -- CHILD [ARG...]
'use strict';
const { spawn } = require('child_process');

const args = process.argv.slice(2);
const mode = args.shift();
if (!['throughput', 'latency', 'big'].includes(mode))
  usage();
let count = mode === 'throughput' ? 100000 : mode === 'latency' ? 20000 : 1;
let window = 100;
let size = mode === 'big' ? 64 * 1024 * 1024 : 16;
let serialization = 'json';
while (args.length > 0 && args[0] !== '--') {
  const opt = args.shift();
  const arg = args.shift();
  const val = Number(arg);
  if (opt === '-S') serialization = arg;
  else if (opt === '-n') count = val;
  else if (opt === '-w') window = val;
  else if (opt === '-s') size = val;
  else usage();
}
if (args.shift() !== '--' || args.length === 0)
  usage();

function usage() {
  console.error('usage: node ipc.js throughput|latency|big [-n COUNT] ' +
    '[-w WINDOW] [-s SIZE] [-S json|advanced] -- CHILD [ARG...]');
  process.exit(2);
}

function fail(what) {
  console.error(`ipc.js: ${what}`);
  process.exit(1);
}

const data = 'x'.repeat(size);
const times = mode === 'throughput' ? null : new Float64Array(count);
let sent = 0, received = 0, started = false, t0 = 0n, t1 = 0n, sentAt = 0n;
let cpu = null;  // our CPU time (user + system, µs) over the timed part

const child = spawn(args[0], args.slice(1),
  { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });

function sendNext() {
  if (times) sentAt = process.hrtime.bigint();
  child.send({ seq: sent, data });
  sent++;
}

child.on('message', (m) => {
  if (!started) {
    if (m.seq !== -1) fail('unexpected warm-up reply');
    started = true;
    cpu = process.cpuUsage();
    t0 = process.hrtime.bigint();
    const first = mode === 'throughput' ? window : 1;
    for (let i = 0; i < first && sent < count; i++)
      sendNext();
    return;
  }
  if (m.seq !== received) fail('reply out of order');
  if (typeof m.data !== 'string' || m.data.length !== size)
    fail('reply with wrong data');
  // The clock is read per message only where it is needed.
  const now = times || received + 1 === count ? process.hrtime.bigint() : 0n;
  if (times) times[received] = Number(now - sentAt);
  received++;
  if (received === count) {
    t1 = now;
    cpu = process.cpuUsage(cpu);
    child.disconnect();
    return;
  }
  if (sent < count) sendNext();
});

child.on('exit', (code, signal) => {
  if (received !== count) fail('the child went away before every reply came back');
  if (code !== 0 || signal !== null) fail('the child failed');
  const q = (a, p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
  let secs = Number(t1 - t0) / 1e9;
  if (mode === 'throughput') {
    const cpuPerMsg = (cpu.user + cpu.system) / count;
    console.log(`msgs_per_s=${(count / secs).toFixed(0)} seconds=${secs.toFixed(3)} ` +
      `cpu_us_per_msg=${cpuPerMsg.toFixed(2)} count=${count} window=${window} size=${size}`);
  } else if (mode === 'latency') {
    times.sort();
    console.log(`median_us=${(q(times, 0.5) / 1e3).toFixed(1)} ` +
      `p99_us=${(q(times, 0.99) / 1e3).toFixed(1)} count=${count} size=${size}`);
  } else {
    times.sort();
    secs = q(times, 0.5) / 1e9;
    console.log(`seconds=${secs.toFixed(3)} mb_per_s=${(2 * size / 1e6 / secs).toFixed(1)} ` +
      `reps=${count} size=${size}`);
  }
});

child.send({ seq: -1 });
