// Echoes each message and, with a handle, the first bytes read from it.
process.on('message', (m, h) => {
  if (h) {
    h.once('data', (d) => { process.send({ got: m, data: d.toString() }); h.destroy(); });
  } else {
    process.send({ got: m, handle: false });
  }
});
