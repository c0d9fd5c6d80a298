// bridge.js - what childproc-fork --end replies does, written in Node: each
// line of stdin is a message to the child, each message from the child a
// line on stdout; once input is over and every message has had its reply,
// disconnect.  The Node side of the bridge benchmark.
//   node bridge.js MODULE [ARG...]
'use strict';
const { fork } = require('child_process');

const child = fork(process.argv[2], process.argv.slice(3),
  { stdio: ['ignore', 2, 'inherit', 'ipc'] });
let sent = 0, received = 0, ended = false, rest = '';

function maybeEnd() {
  if (ended && received === sent && child.connected) child.disconnect();
}

child.on('message', (m) => {
  received++;
  process.stdout.write(JSON.stringify(m) + '\n');
  maybeEnd();
});

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop();
  let ok = true, last = -1;
  for (let i = 0; i < lines.length; i++)
    if (lines[i].trim() !== '') last = i;
  for (let i = 0; i <= last; i++) {
    if (lines[i].trim() === '') continue;
    // The chunk's last send says when the queue has drained.
    ok = i === last ? child.send(JSON.parse(lines[i]), resume)
      : child.send(JSON.parse(lines[i]));
    sent++;
  }
  if (!ok) process.stdin.pause();  // send() said false: slow down
});
function resume() {
  if (process.stdin.isPaused()) process.stdin.resume();
}
process.stdin.on('end', () => {
  if (rest.trim() !== '') { child.send(JSON.parse(rest)); sent++; }
  ended = true;
  maybeEnd();
});
child.on('exit', (code, signal) => {
  process.exitCode = signal ? 128 : code;
});
