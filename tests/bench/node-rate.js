// node-rate.js CHILD_JS N - the handle send rate node -> node, beside
// hparent's C -> node: one connected TCP socket sent N times with
// keepOpen to CHILD_JS's "rate" case, each send waiting for the ACK of
// the one before (Node holds every send behind the handle in flight).
// Each send is made from the callback of the one before, so that Node's
// queue holds at most one: with all N queued at once, Node re-queues the
// rest on every ACK, which is quadratic and would not be a fair figure.
'use strict';
const { fork } = require('child_process');
const net = require('net');

const [childJs, nArg] = process.argv.slice(2);
const n = Number(nArg);
const srv = net.createServer((conn) => {
	srv.close();
	const child = fork(childJs, ['rate', String(n)]);
	child.once('message', () => {
		const t0 = process.hrtime.bigint();
		let sent = 0;
		(function next() {
			if (sent++ < n)
				child.send(1, conn, { keepOpen: true }, next);
		})();
		child.once('message', () => {
			const s = Number(process.hrtime.bigint() - t0) / 1e9;
			console.log(`node->node: ${n} handles in ${s.toFixed(3)} s: ${(n / s).toFixed(0)}/s`);
			conn.destroy();
			client.destroy();
			child.disconnect();
		});
	});
});
let client;
srv.listen(0, '127.0.0.1', () => {
	client = net.connect(srv.address().port, '127.0.0.1');
});
