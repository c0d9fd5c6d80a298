// execfile.js - Node's execFile capturing `head -c SIZE /dev/zero` with no
// maxBuffer limit, the Node side of the output-capture benchmark.
//   node execfile.js SIZE      (SIZE as head -c takes it: 1G, 64M ...)
// The output is kept as a Buffer: 1 GiB is more than a V8 string can hold.
'use strict';
const { execFile } = require('child_process');

const t0 = process.hrtime.bigint();
execFile('head', ['-c', process.argv[2], '/dev/zero'],
  { maxBuffer: Infinity, encoding: 'buffer' }, (err, stdout) => {
    if (err) {
      console.error(`execfile.js: ${err.message}`);
      process.exit(1);
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`bytes=${stdout.length} seconds=${secs.toFixed(3)} ` +
      `mb_per_s=${(stdout.length / 1e6 / secs).toFixed(0)}`);
  });
