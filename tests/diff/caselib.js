'use strict';
// Reading the cases of cases.tsv and turning one case into Node options
// (for noderef.js) and into a childproc command line (for run-case.js).
//
// A case is one line: NAME <tab> API <tab> FILE <tab> ARGS <tab> OPTIONS
//   API      spawnSync (childproc-spawn), exec (childproc-exec) or
//            execFile (childproc-execfile)
//   ARGS     a JSON array of strings, or - for none
//   OPTIONS  a JSON object of Node options, or - for none.  "Infinity" is
//            accepted for maxBuffer.  Keys starting with "_" are for the
//            runner only:
//     _env        [["set", "NAME=VALUE"] | ["unset", "NAME"], ...]: edits
//                 of the inherited environment (-e / -u; Node gets a
//                 modified copy of process.env)
//     _inputFile  a file whose bytes are the input (--input-file)
//     _stdin      what both sides get on their own stdin (default: nothing)
//     _asUser     a uid: both sides run as that user (and its gid)
//     _cmpStderr  compare what both sides wrote on stderr, too
//     _files      {"NAME": SIZE, ...}: files of SIZE bytes ("x") made in @TMP@
// Strings may use @TMP@ (a scratch directory made for the case, with a
// mode 0700 subdirectory "private") and @FIX@ (the fixtures directory).
// Both sides also get CP_DIFF_CASE=NAME in their environment.
// Lines that are empty or start with # are comments.
const fs = require('fs');
const path = require('path');

const FIXTURES = path.join(__dirname, 'fixtures');
const CASES = path.join(__dirname, 'cases.tsv');

function readCases(subst) {
	const text = fs.readFileSync(CASES, 'utf8');
	const cases = [];
	text.split('\n').forEach((raw, i) => {
		if (raw.trim() === '' || raw.startsWith('#'))
			return;
		let line = raw;
		if (subst)
			line = line.split('@TMP@').join(subst.tmp)
			    .split('@FIX@').join(FIXTURES);
		const f = line.split('\t');
		if (f.length !== 5)
			throw new Error(`cases.tsv:${i + 1}: want 5 tab-separated fields, got ${f.length}`);
		const [name, api, file, args, opts] = f;
		cases.push({
			name, api, file, line: i + 1,
			args: args === '-' ? [] : JSON.parse(args),
			opts: opts === '-' ? {} : JSON.parse(opts),
		});
	});
	return cases;
}

function findCase(name, subst) {
	const c = readCases(subst).find((x) => x.name === name);
	if (c === undefined)
		throw new Error(`no case named ${name}`);
	return c;
}

function editedEnv(ops) {
	const env = { ...process.env };
	for (const [op, arg] of ops) {
		if (op === 'unset') {
			delete env[arg];
		} else {
			const eq = arg.indexOf('=');
			env[arg.slice(0, eq)] = arg.slice(eq + 1);
		}
	}
	return env;
}

// The options object handed to Node.
function nodeOptions(c) {
	const o = {};
	for (const [k, v] of Object.entries(c.opts)) {
		if (!k.startsWith('_'))
			o[k] = v;
	}
	if (o.maxBuffer === 'Infinity')
		o.maxBuffer = Infinity;
	if (c.opts._env)
		o.env = editedEnv(c.opts._env);
	if (c.opts._inputFile)
		o.input = fs.readFileSync(path.resolve(FIXTURES, c.opts._inputFile));
	return o;
}

const COMMAND = {
	spawnSync: 'childproc-spawn',
	exec: 'childproc-exec',
	execFile: 'childproc-execfile',
};

// The childproc command line, spelled as the issue spells the options.
function cliArgv(c) {
	const o = c.opts;
	const a = ['--json'];
	for (const [k, v] of Object.entries(o)) {
		switch (k) {
		case 'cwd': a.push(`--cwd=${v}`); break;
		case 'env':
			a.push('-i');
			for (const [n, val] of Object.entries(v))
				a.push(`--env=${n}=${val}`);
			break;
		case '_env':
			for (const [op, arg] of v)
				a.push(op === 'unset' ? `--unset=${arg}` : `--env=${arg}`);
			break;
		case 'argv0': a.push(`--argv0=${v}`); break;
		case 'uid': a.push(`--uid=${v}`); break;
		case 'gid': a.push(`--gid=${v}`); break;
		case 'detached': if (v) a.push('--detached'); break;
		case 'shell':
			if (typeof v === 'string')
				a.push(`--shell=${v}`);
			else if (v && c.api !== 'exec')
				a.push('--shell');
			break;
		case 'stdio':
			a.push(`--stdio=${Array.isArray(v) ? v.join(',') : v}`);
			break;
		case 'timeout': a.push(`--timeout=${v}`); break;
		case 'killSignal': a.push(`--kill-signal=${v}`); break;
		case 'maxBuffer': a.push(`--max-buffer=${v}`); break;
		case 'encoding': a.push(`--encoding=${v}`); break;
		case 'input': a.push(`--input=${v}`); break;
		case '_inputFile': a.push(`--input-file=${v}`); break;
		case '_stdin': case '_asUser': case '_cmpStderr': case '_files': break;
		default: throw new Error(`${c.name}: option ${k} has no CLI spelling here`);
		}
	}
	a.push('--', c.file, ...c.args);
	return [COMMAND[c.api], a];
}

module.exports = { readCases, findCase, nodeOptions, cliArgv, FIXTURES };
