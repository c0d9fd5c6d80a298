// sub.js - the child of the seed article, as it was written there.
process.on('message', function (m) {
	console.log('child get message', m);
});

process.send({ foo: 'bar' });
