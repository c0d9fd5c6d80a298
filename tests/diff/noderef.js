'use strict';
// The reference side of the differential suite: runs one case through
// Node's own child_process and prints, as one line of JSON on stdout,
// exactly what the matching childproc command prints with --json:
//   spawnSync        JSON.stringify of the result (encoding 'utf8' unless
//                    the case sets one)
//   exec, execFile   {"error": ..., "stdout": ..., "stderr": ...} as the
//                    callback receives them, the error written as its
//                    message followed by its own enumerable properties in
//                    Node's order, null when there is none.
// When exec/execFile throw at call time (spawn ENOTDIR, spawn EPERM) the
// thrown error takes the callback's place with empty stdout and stderr.
//
// Usage: node noderef.js CASE-JSON  (the case as run-case.js prepared it:
// placeholders substituted, runner-only keys still present)
const cp = require('child_process');
const { nodeOptions } = require('./caselib');

function serializeError(err) {
	if (err === null || err === undefined)
		return null;
	const o = { message: err.message };
	for (const k of Object.keys(err))
		o[k] = err[k];
	return o;
}

function main() {
	const c = JSON.parse(process.argv[2]);
	const opts = nodeOptions(c);
	const args = c.args || [];
	const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');
	const cb = (error, stdout, stderr) => print({
		error: serializeError(error), stdout, stderr,
	});

	switch (c.api) {
	case 'spawnSync':
		if (!('encoding' in opts))
			opts.encoding = 'utf8';
		print(cp.spawnSync(c.file, args, opts));
		break;
	case 'exec':
		if (args.length !== 0)
			throw new Error(`${c.name}: exec takes no args`);
		try {
			cp.exec(c.file, opts, cb);
		} catch (e) {
			cb(e, '', '');
		}
		break;
	case 'execFile':
		try {
			cp.execFile(c.file, args, opts, cb);
		} catch (e) {
			cb(e, '', '');
		}
		break;
	default:
		throw new Error(`${c.name}: unknown api ${c.api}`);
	}
}

main();
