// ping.js - the peer of tests/ops/ping.c: its code knows nothing of pings.
//   {"block":MS}   answers {"blocking":MS}, then blocks its event loop MS ms,
//                  then answers {"unblocked":true}
//   {"report":1}   answers {"messages":N,"handles":H}: the 'message' events
//                  seen (this one included) and how many came with a handle
'use strict';
let messages = 0, handles = 0;
const servers = [];
process.on('disconnect', () => servers.forEach((s) => s.close()));
process.on('message', (m, h) => {
	messages++;
	if (h) {
		handles++;
		servers.push(h);
	}
	if (m && m.block) {
		process.send({ blocking: m.block }, () => {
			const t = Date.now();
			while (Date.now() - t < m.block)
				;
			process.send({ unblocked: true });
		});
	} else if (m && m.report) {
		process.send({ messages, handles });
	}
});
