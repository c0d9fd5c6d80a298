#!/usr/bin/env node
// compare.js OLD.json NEW.json - two runs of tests/bench/run.sh, row by row
// (matched by name): each side's ratio, the change, and whether its target
// was met.  Prints a table; exits 1 if a target met in OLD is missed in
// NEW, 0 otherwise.  Rows only one run has are listed as such.  Ratios
// from one run (C against Node under the same load) are what compare:
// absolute figures move with the machine's load (each run's is shown).
'use strict';
const fs = require('fs');

if (process.argv.length !== 4) {
  console.error('usage: compare.js OLD.json NEW.json');
  process.exit(2);
}
const [a, b] = process.argv.slice(2).map((f) =>
  JSON.parse(fs.readFileSync(f, 'utf8')));
const byName = (run) => new Map(run.rows.map((r) => [r.name, r]));
const ra = byName(a), rb = byName(b);
const met = (r) => (r.met === null ? 'info' : r.met ? 'yes' : 'NO');
let regressions = 0;

console.log(`old: ${a.date} ${a.commit}, load ${a.load.start} -> ${a.load.end}`);
console.log(`new: ${b.date} ${b.commit}, load ${b.load.start} -> ${b.load.end}`);
console.log(['ratio old', 'ratio new', 'change', 'met old', 'met new',
  'benchmark'].join('\t'));
for (const [name, n] of rb) {
  const o = ra.get(name);
  if (!o) {
    console.log(`-\t${n.ratio}\t-\t-\t${met(n)}\t${name} (new row)`);
    continue;
  }
  let change = '-';
  if (typeof o.ratio === 'number' && typeof n.ratio === 'number' &&
      o.ratio !== 0) {
    // Positive: better for C, whichever way the row counts.
    const d = (n.ratio / o.ratio - 1) * (n.better === 'lower' ? -1 : 1);
    change = `${d >= 0 ? '+' : ''}${(d * 100).toFixed(0)}%`;
  }
  if (o.met === true && n.met === false) regressions++;
  console.log(`${o.ratio}\t${n.ratio}\t${change}\t${met(o)}\t${met(n)}\t${name}`);
}
for (const name of ra.keys()) {
  if (!rb.has(name)) console.log(`${ra.get(name).ratio}\t-\t-\t-\t-\t${name} (gone)`);
}
if (regressions > 0) {
  console.log(`${regressions} target(s) met before and missed now`);
  process.exit(1);
}
