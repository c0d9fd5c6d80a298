// app.js - the unmodified app of the cluster benchmark: a trivial HTTP
// server whose answer is its pid.  The same file runs under Node's own
// primary (cluster.js) and under childproc-fork -n 4 as its primary.
'use strict';
require('http').createServer((req, res) => res.end(String(process.pid)))
	.listen(0, '127.0.0.1');
