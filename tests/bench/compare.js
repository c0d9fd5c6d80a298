#!/usr/bin/env node
// compare.js [-t PERCENT] OLD.json NEW.json - two runs of tests/bench/run.sh,
// row by row (matched by name): each side's ratio, the change, and whether
// its target was met.  Prints a table; with -t, only the rows whose ratio
// moved by more than PERCENT either way (and those whose target changed
// hands).  Exits 1 if a target met in OLD is missed in NEW, or (with -t) if
// a ratio got worse for C by more than PERCENT; 0 otherwise.  Rows only one
// run has are listed as such.  Ratios from one run (C against Node under
// the same load) are what compare: absolute figures move with the
// machine's load (each run's is shown, and each row's in results.json).
'use strict';
const fs = require('fs');

const args = process.argv.slice(2);
let threshold = null;
if (args[0] === '-t') {
  args.shift();
  threshold = Number(args.shift());
}
if (args.length !== 2 || (threshold !== null && !(threshold >= 0))) {
  console.error('usage: compare.js [-t PERCENT] OLD.json NEW.json');
  process.exit(2);
}
const [a, b] = args.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const byName = (run) => new Map(run.rows.map((r) => [r.name, r]));
const ra = byName(a), rb = byName(b);
const met = (r) => (r.met === null ? 'info' : r.met ? 'yes' : 'NO');
let regressions = 0, worse = 0;

console.log(`old: ${a.date} ${a.commit}, load ${a.load.start} -> ${a.load.end}`);
console.log(`new: ${b.date} ${b.commit}, load ${b.load.start} -> ${b.load.end}`);
if (threshold !== null)
  console.log(`rows whose ratio moved by more than ${threshold}%:`);
console.log(['ratio old', 'ratio new', 'change', 'met old', 'met new',
  'benchmark'].join('\t'));
for (const [name, n] of rb) {
  const o = ra.get(name);
  if (!o) {
    console.log(`-\t${n.ratio}\t-\t-\t${met(n)}\t${name} (new row)`);
    continue;
  }
  let change = '-', d = 0;
  if (typeof o.ratio === 'number' && typeof n.ratio === 'number' &&
      o.ratio !== 0) {
    // Positive: better for C, whichever way the row counts.
    d = (n.ratio / o.ratio - 1) * (n.better === 'lower' ? -1 : 1) * 100;
    change = `${d >= 0 ? '+' : ''}${d.toFixed(0)}%`;
  }
  const lost = o.met === true && n.met === false;
  if (lost) regressions++;
  const moved = threshold === null || Math.abs(d) > threshold;
  if (threshold !== null && d < -threshold) worse++;
  if (moved || o.met !== n.met)
    console.log(`${o.ratio}\t${n.ratio}\t${change}\t${met(o)}\t${met(n)}\t${name}`);
}
for (const name of ra.keys()) {
  if (!rb.has(name)) console.log(`${ra.get(name).ratio}\t-\t-\t-\t-\t${name} (gone)`);
}
if (regressions > 0)
  console.log(`${regressions} target(s) met before and missed now`);
if (worse > 0)
  console.log(`${worse} ratio(s) worse for C by more than ${threshold}%`);
process.exit(regressions > 0 || worse > 0 ? 1 : 0);
