// tests/v8/echo.js - node child of advparent.c (serialization 'advanced'):
// echoes each message with the type node saw; for a net.Server handle,
// answers with its port and the BigInt in the Map + 1, then sends a
// server of its own back.
'use strict';
const net = require('net');
process.on('message', (m, handle) => {
  if (handle) {
    const port = handle.address().port;
    process.send({ port, big: m.get('k') + 1n, self: m.get('me') === m });
    handle.close();
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const back = { back: 7n, port: srv.address().port };
      back.self = back;
      process.send(back, srv);
      srv.close();
    });
    return;
  }
  const type = Buffer.isBuffer(m) ? 'Buffer' : Object.prototype.toString.call(m);
  process.send(m);
  process.send(type);
});
process.on('disconnect', () => {});
