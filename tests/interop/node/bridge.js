// bridge.js MODE - a node child for childproc-fork (fork-cli.sh).
//   echo     answer each message m with {got: m}; {exit: N} then exits N,
//            {kill: SIG} kills itself
//   delayed  the same, each answer 100 ms later (after input has ended)
//   late     echo, plus {late: true} 300 ms after the last answer
//   signals  say {ready: true}, then report SIGINT/SIGTERM/SIGHUP and exit 3
//   hang     never end
// It logs "received N" on stderr when the channel closes.
'use strict';
const mode = process.argv[2];
let received = 0;
let late = null;

// The bridge may hang up first (--end disconnect): a failed send is fine.
function send(m) {
	process.send(m, () => {});
}

function answer(m) {
	if (m !== null && typeof m === 'object' && 'exit' in m) {
		// Exit once every answer is written (Node's exit drops its queue).
		process.send({ got: m }, () => process.exit(m.exit));
		return;
	}
	send({ got: m });
	if (m !== null && typeof m === 'object' && 'kill' in m)
		process.kill(process.pid, m.kill);
}

process.on('disconnect', () => {
	console.error(`received ${received}`);
	clearTimeout(late);
});

switch (mode) {
case 'echo':
	process.on('message', (m) => { received++; answer(m); });
	break;
case 'delayed':
	process.on('message', (m) => {
		received++;
		setTimeout(() => answer(m), 100);
	});
	break;
case 'late':
	process.on('message', (m) => {
		received++;
		answer(m);
		clearTimeout(late);
		late = setTimeout(() => send({ late: true }), 300);
	});
	break;
case 'signals':
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(sig, () => {
			process.send({ signal: sig });
			process.exit(3);
		});
	}
	setInterval(() => {}, 1000);
	process.send({ ready: true });
	break;
case 'hang':
	setInterval(() => {}, 1000);
	break;
default:
	console.error(`bridge.js: unknown mode ${mode}`);
	process.exit(2);
}
