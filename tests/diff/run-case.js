'use strict';
// Runs one case of cases.tsv twice: through Node (noderef.js) and through
// the matching childproc command with --json, then compares the two JSON
// results field by field, pid excepted.  Both sides run from the fixtures
// directory with the same environment, stdin and user.  Exit 0 when they
// match, 1 when they do not (both results and the differing fields are
// printed), 77 (skipped) when the case needs root and we are not.
//
// Usage: node run-case.js NAME       compare one case
//        node run-case.js --ref NAME print Node's result only
//        node run-case.js --list     print the case names
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { readCases, findCase, cliArgv, FIXTURES } = require('./caselib');

const SANITIZER = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)/;
// Far above any case's own run time; only there so a hang ends as a failure.
const HANG_MS = 120000;

function runSide(file, argv, c) {
	const o = c.opts;
	const opts = {
		cwd: FIXTURES,
		input: o._stdin || '',
		encoding: 'utf8',
		maxBuffer: Infinity,
		timeout: HANG_MS,
		killSignal: 'SIGKILL',
		env: { ...process.env, CP_DIFF_CASE: c.name },
	};
	if (o._asUser !== undefined) {
		opts.uid = o._asUser;
		opts.gid = o._asUser;
	}
	return cp.spawnSync(file, argv, opts);
}

function describe(label, r) {
	return `${label}: status ${r.status} signal ${r.signal}` +
	    (r.error ? ` error ${r.error.message}` : '') +
	    `\n--- ${label} stdout ---\n${r.stdout}\n--- ${label} stderr ---\n${r.stderr}`;
}

// The one JSON value on stdout, or an explanation of why there is none.
function parseOnly(text) {
	const t = text.endsWith('\n') ? text.slice(0, -1) : text;
	if (t.includes('\n'))
		return { why: 'more than one line on stdout' };
	try {
		return { value: JSON.parse(t) };
	} catch (e) {
		return { why: `stdout is not one JSON value: ${e.message}` };
	}
}

function withoutPid(v) {
	if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'pid' in v) {
		const o = { ...v };
		delete o.pid;
		return o;
	}
	return v;
}

function short(v) {
	const s = JSON.stringify(v);
	return s === undefined ? 'undefined' :
	    s.length > 300 ? `${s.slice(0, 300)}... (${s.length} chars)` : s;
}

// Lines naming each differing path, for a readable failure.
function diffs(a, b, where, out) {
	if (JSON.stringify(a) === JSON.stringify(b))
		return out;
	const isObj = (x) => x !== null && typeof x === 'object';
	if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
		const ka = Object.keys(a), kb = Object.keys(b);
		for (const k of new Set([...ka, ...kb]))
			diffs(a[k], b[k], `${where}.${k}`, out);
		if (out.length === 0 || ka.join() !== kb.join())
			out.push(`${where}: keys (in order) node [${ka}] vs childproc [${kb}]`);
		return out;
	}
	out.push(`${where}: node ${short(a)} vs childproc ${short(b)}`);
	return out;
}

// The case with @TMP@ filled in, and its scratch directory made.
function prepare(name, tmp) {
	fs.chmodSync(tmp, 0o755);
	fs.mkdirSync(path.join(tmp, 'private'), { mode: 0o700 });
	const c = findCase(name, { tmp });
	for (const [f, size] of Object.entries(c.opts._files || {}))
		fs.writeFileSync(path.join(tmp, f), 'x'.repeat(size));
	return c;
}

// meson's "skipped" exit status.
const SKIP = 77;

function compare(name) {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-diff-'));
	try {
		const c = prepare(name, tmp);
		if (c.opts._asUser !== undefined && process.getuid() !== 0) {
			console.log(`case ${name}: skipped, running as another user needs root`);
			return SKIP;
		}
		const ref = runSide(process.execPath,
		    [path.join(__dirname, 'noderef.js'), JSON.stringify(c)], c);
		const [cmd, argv] = cliArgv(c);
		const got = runSide(cmd, argv, c);
		const line = `case ${c.name} (cases.tsv:${c.line}): ${cmd} ` +
		    argv.map((x) => JSON.stringify(x)).join(' ');
		console.log(line);

		const pr = parseOnly(ref.stdout || '');
		if (ref.status !== 0 || pr.why) {
			console.log(`the Node side failed: ${pr.why || ''}\n${describe('node', ref)}`);
			return 1;
		}
		// EPIPE only says the command did not read all of the input we
		// gave it (a case whose child ignores stdin): its result stands.
		if ((got.error && got.error.code !== 'EPIPE') || got.stdout === null) {
			console.log(`could not run ${cmd}: ${got.error && got.error.message}`);
			return 1;
		}
		let bad = [];
		if (SANITIZER.test(got.stderr))
			bad.push('a sanitizer reported an error (see stderr)');
		const pg = parseOnly(got.stdout);
		if (pg.why) {
			bad.push(pg.why);
		} else {
			bad = bad.concat(diffs(withoutPid(pr.value), withoutPid(pg.value),
			    'result', []));
		}
		if (c.opts._cmpStderr && ref.stderr !== got.stderr)
			bad.push(`stderr: node ${short(ref.stderr)} vs childproc ${short(got.stderr)}`);
		if (bad.length === 0) {
			console.log(`ok: ${short(withoutPid(pr.value))}`);
			return 0;
		}
		console.log(`MISMATCH\n  ${bad.join('\n  ')}`);
		console.log(`node:      ${short(pr.value)}`);
		console.log(describe('childproc', got));
		return 1;
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

function main() {
	const a = process.argv.slice(2);
	if (a[0] === '--list') {
		for (const c of readCases())
			console.log(`${c.name}\t${c.api}`);
		return 0;
	}
	if (a[0] === '--ref') {
		const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-diff-'));
		try {
			const c = prepare(a[1], tmp);
			const r = runSide(process.execPath,
			    [path.join(__dirname, 'noderef.js'), JSON.stringify(c)], c);
			process.stdout.write(r.stdout);
			process.stderr.write(r.stderr);
			return r.status === 0 ? 0 : 1;
		} finally {
			fs.rmSync(tmp, { recursive: true, force: true });
		}
	}
	if (a.length !== 1) {
		console.error('usage: run-case.js NAME | --ref NAME | --list');
		return 2;
	}
	return compare(a[0]);
}

process.exitCode = main();
