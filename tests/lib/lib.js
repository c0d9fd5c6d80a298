// tests/lib/lib.js - helpers the tests' node scripts share (the JS side of
// tests/lib/lib.sh).  require('../../lib/lib.js') from tests/SUITE/node/.
'use strict';

// readLine(sock, cb): reads one line from sock (as utf8), then calls cb
// with it, without its newline, and stops listening for data.
function readLine(sock, cb) {
	let buf = '';
	sock.setEncoding('utf8');
	sock.on('data', function onData(d) {
		buf += d;
		const i = buf.indexOf('\n');
		if (i >= 0) {
			sock.removeListener('data', onData);
			cb(buf.slice(0, i));
		}
	});
}

module.exports = { readLine };
