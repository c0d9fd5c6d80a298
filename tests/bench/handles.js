// handles.js - handle passing rate, the Node side of bench-handles.c.
//   node handles.js parent [-n COUNT] -- CHILD [ARG...]
//       sends one connected TCP socket COUNT times (keepOpen, so each send
//       passes a new fd of it), each from the callback of the one before,
//       and prints
//       "handles_per_s=R seconds=S count=N"
//   node handles.js child
//       the receiver: closes every socket it gets, echoes plain messages
'use strict';
const net = require('net');
const { spawn } = require('child_process');

if (process.argv[2] === 'child') {
  process.on('message', (m, handle) => {
    if (handle) handle.destroy();
    else process.send(m);
  });
} else if (process.argv[2] === 'parent') {
  const args = process.argv.slice(3);
  let count = 1000;
  if (args[0] === '-n') { args.shift(); count = Number(args.shift()); }
  if (args.shift() !== '--' || args.length === 0 || !(count >= 1)) {
    console.error('usage: node handles.js parent [-n COUNT] -- CHILD [ARG...]');
    process.exit(2);
  }
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const sock = net.connect(server.address().port, '127.0.0.1', () => {
      const child = spawn(args[0], args.slice(1),
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let acked = 0, t0;
      // Each send from the callback of the one before: with all of them
      // queued at once Node re-queues the rest on every ACK (quadratic).
      const next = (err) => {
        if (err) { console.error(`handles.js: ${err.message}`); process.exit(1); }
        if (t0 !== undefined && ++acked === count) {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          console.log(`handles_per_s=${(count / secs).toFixed(0)} ` +
            `seconds=${secs.toFixed(3)} count=${count}`);
          child.disconnect();
          sock.destroy();
          server.close();
          return;
        }
        if (t0 === undefined) t0 = process.hrtime.bigint();
        child.send('h', sock, { keepOpen: true }, next);
      };
      child.on('message', () => next());  // the warm-up came back
      child.on('exit', (code, sig) => {
        if (acked !== count || code !== 0) {
          console.error(`handles.js: child exited ${code} ${sig} after ${acked}`);
          process.exit(1);
        }
      });
      child.send({ seq: -1 });
    });
  });
} else {
  console.error('usage: node handles.js parent|child ...');
  process.exit(2);
}
