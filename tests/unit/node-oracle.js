// tests/unit/node-oracle.js - Node's own answers for test-node-oracle.c.
//
// Prints one record per line:
//   E <TAB> JSON.stringify(value)
//       the C side decodes the line and re-encodes it; the bytes must match.
//   P <TAB> hex of a line's bytes <TAB> JSON.stringify(JSON.parse(line)) or !
//       the line is read as Node's channel reads it (StringDecoder, then
//       JSON.parse); ! means JSON.parse throws, so the C side must refuse
//       it.  Lone surrogates are kept and written back escaped, as
//       JSON.stringify does (proto/message.h).
//   END <TAB> number of records before it
'use strict';
const { StringDecoder } = require('string_decoder');

const out = [];
let count = 0;

function E(value) {
	const s = JSON.stringify(value);
	if (s === undefined) throw new Error('not JSON: ' + String(value));
	out.push('E\t' + s);
	count++;
}

function P(line) {
	const buf = Buffer.isBuffer(line) ? line : Buffer.from(line, 'utf8');
	const dec = new StringDecoder('utf8');
	const text = dec.write(buf) + dec.end();
	let want;
	try {
		want = JSON.stringify(JSON.parse(text));
	} catch (e) {
		want = '!';
	}
	out.push('P\t' + buf.toString('hex') + '\t' + want);
	count++;
}

// A fixed-seed generator, so every run checks the same values.
let seed = 0x2545f491;
function rnd() {
	seed ^= seed << 13; seed >>>= 0;
	seed ^= seed >>> 17;
	seed ^= seed << 5; seed >>>= 0;
	return seed / 4294967296;
}
function rndInt(n) { return Math.floor(rnd() * n); }

// ---- Encoder corpus (section 2.1: what Node writes) ----

// Top-level values of every kind.
[null, 's', 42, true, false, [1], {}, [], '', 0, -1].forEach(E);

// Strings: every control character (lowercase \u001f), quote, backslash,
// slash, DEL, Latin-1, U+2028/U+2029, emoji, "\u0000" inside.
let c0 = '';
for (let i = 0; i < 32; i++) { c0 += String.fromCharCode(i); E(String.fromCharCode(i)); }
E(c0);
['"', '\\', '/', '\x7f', '\u2028', '\u2029', '\u2028\u2029', '\ud83d\ude00',
	'a\u0000b', '\u0000', 'caf\u00e9 \u20ac \u{10ffff} \uffff \ufeff',
	'<script>', '\'', '\b\f\n\r\t', '\\u0041', 'x'.repeat(70000)].forEach(E);
let latin = '';
for (let i = 0x7f; i < 0x800; i++) latin += String.fromCharCode(i);
E(latin);

// Numbers: the list, then boundaries, powers and random doubles.
[0.1, 1e21, 1e-7, 5e-324, -0, 123456789012345680000, 1.7976931348623157e308,
	1e20, 1e-6, 1.5e-7, 0.30000000000000004, 1 / 3, 2 / 3, 100, 1e100,
	-1e-100, 4.35, 0.000001234, 2.2250738585072014e-308,
	2.225073858507201e-308, 9007199254740991, 9007199254740992,
	9007199254740993, -9007199254740993, 2 ** 31, -(2 ** 31), 2 ** 32,
	2 ** 63, -(2 ** 63), 2 ** 64, 2 ** 63 - 1024, 12345678901234567890,
	NaN, Infinity, -Infinity].forEach(E);
for (let e = -1074; e <= 1023; e++) E(2 ** e);
for (let e = -323; e <= 308; e++) { E(Number('1e' + e)); E(Number('9.999e' + e)); }
{
	const dv = new DataView(new ArrayBuffer(8));
	for (let i = 0; i < 5000; i++) {
		dv.setUint32(0, rndInt(2 ** 32));
		dv.setUint32(4, rndInt(2 ** 32));
		const d = dv.getFloat64(0);
		if (Number.isFinite(d)) E(d);
	}
	for (let i = 0; i < 1000; i++) E(Math.round(rnd() * 2 ** rndInt(70)) * (rnd() < 0.5 ? -1 : 1));
}

// Objects: insertion order, nesting, keys that need escaping, what
// JSON.stringify does with types JSON lacks.
E({ z: 1, a: { y: [1, { b: 2 }], x: null }, m: 'x' });
E({ 'a\nb': 1, '\u2028': 2, '"': 3, '': 4, '\u001f': [] });
E({ 2: 'b', 1: 'a', b: 1, a: 2 });	// Node puts integer keys first
E({ date: new Date(0), buf: Buffer.from([1, 2]), map: new Map([[1, 2]]),
	u: undefined, f() {}, arr: [undefined, () => 0, NaN] });
{
	let deep = [];
	for (let i = 0; i < 1000; i++) deep = [deep, { d: i }];
	E(deep);
}

// Random nested values.
// Keys never hold U+0000: jansson refuses it there (proto/message.h).
function rndString(key) {
	const pool = ['a', 'Z', ' ', '"', '\\', '\n', '\t', '\u0001', '\u001f',
		'\x7f', '\u00e9', '\u2028', '\u2029', '\u20ac', '\ud83d\ude00',
		'\u0000', '\ufffd', '/', '1'];
	let s = '';
	for (let n = rndInt(12); n > 0; n--) s += pool[rndInt(pool.length)];
	return key ? s.replaceAll('\u0000', '0') : s;
}
function rndValue(depth) {
	switch (rndInt(depth > 3 ? 5 : 7)) {
	case 0: return null;
	case 1: return rnd() < 0.5;
	case 2: return rndInt(3) ? rndInt(2000) - 1000 : (rnd() - 0.5) * 10 ** rndInt(40);
	case 3: case 4: return rndString();
	case 5: {
		const a = [];
		for (let n = rndInt(5); n > 0; n--) a.push(rndValue(depth + 1));
		return a;
	}
	default: {
		const o = {};
		for (let n = rndInt(5); n > 0; n--) o[rndString(true)] = rndValue(depth + 1);
		return o;
	}
	}
}
for (let i = 0; i < 3000; i++) E(rndValue(0));

// ---- Reader corpus (section 2.2: what JSON.parse accepts) ----

// Whitespace, CR, and everything JSON.parse rejects.
['{"a":1}', '  {"a":1}  ', '{"a":1}\r', '\t[1,2]\r\r', '\r1', '', ' ',
	'\t\r ', '\ufeff{}', '{"a":1}{"b":2}', '1 2', '"a\tb"', '"a\u0000b"',
	'"\u001f"', 'undefined', 'NaN', 'Infinity', '-Infinity', "'a'", '[1,]',
	'{"a":1,}', '/* c */ 1', '01', '+1', '.5', '1.', '0x10', '"\\x41"',
	'{"a"}', '{a:1}', 'tru', '[1', '"open', '"\\u12"', '"\\U0041"',
	'nul', 'True', '[1]]', '{"a":1}}', '[,1]', '--1', '1e', '1e+',
	'-', '"\\', '\u00a0 1', '1\u00a0', '\u2028 1'].forEach(P);

// Escapes, numbers, duplicate keys, __proto__.
['"\\/"', '"\\u00e9"', '"\\u00E9"', '"\\uD83D\\uDE00"', '"\\b\\f\\n\\r\\t"',
	'"\\"\\\\"', '1E2', '1e-2', '-0', '-0.0', '0.5e1', '1e21', '1.0',
	'100.00', '9007199254740992', '18446744073709551616',
	'-9223372036854775809', '123456789012345678901234567890', '1e-400', '5e-324', '4.9e-324',
	'{"b":1,"a":2,"b":3}', '{"__proto__":1}', '{"a":{"a":{"a":[]}}}',
	'[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]', '"\u2028\u2029"',
	'{"cmd":"NODE_HANDLE_ACK"}', '"\\u0000"', '["\\u0000x"]'].forEach(P);

// Lone surrogates: kept, and escaped again.
['"\\ud800"', '"\\uDBFF"', '"\\udc00"', '"a\\ud800b"', '"\\ud800\\ud800"',
	'"\\udc00\\ud800"', '"\\udc00\\ud800\\udc00"', '"\\ud800\\u0041"',
	'"\\ud800\\n"', '"\\\\ud800"', '"\\\\\\ud800"', '"\\"\\ud800"',
	'{"\\ud800":"\\udfff","k":"v\\""}', '[99999999999999999999,"\\ud800"]',
	'["\\ud800",99999999999999999999]', '"\\ud800'].forEach(P);

// Invalid UTF-8 bytes: read as U+FFFD, one per maximal subpart.
const q = (...b) => Buffer.from([0x22, ...b, 0x22]);
[q(0xff), q(0xff, 0x41), q(0xe2, 0x82, 0x41), q(0xf0, 0x9f, 0x98, 0x41),
	q(0xf0, 0x9f, 0x98), q(0xed, 0xa0, 0x80), q(0xc0, 0x80),
	q(0xe0, 0x80, 0x80), q(0xf4, 0x90, 0x80, 0x80), q(0x80, 0xbf), q(0xc3),
	q(0x61, 0xc3, 0xa9, 0xff, 0xc3, 0xa9), q(0xf5, 0x80), q(0xfe, 0xff),
	q(0xe0, 0xa0), q(0xed, 0x9f, 0xbf), q(0xef, 0xbf, 0xbe),
	q(0xf0, 0x90, 0x80), q(0xf1, 0x80, 0x80, 0x80),
	Buffer.from([0x5b, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39,
		0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39,
		0x2c, 0x22, 0xff, 0x22, 0x5d]),
	Buffer.from([0xff, 0x31]), Buffer.from([0x31, 0xff])].forEach(P);
// Random byte strings inside quotes: every UTF-8 corner Node decodes.
for (let i = 0; i < 3000; i++) {
	const b = [];
	for (let n = 1 + rndInt(6); n > 0; n--) {
		const r = rnd();
		b.push(r < 0.3 ? 0x80 + rndInt(0x40) : r < 0.6 ? 0xc0 + rndInt(0x40) :
			r < 0.7 ? 0x20 + rndInt(0x5f) : rndInt(256));
	}
	P(q(...b.filter((x) => x !== 0x22 && x !== 0x5c && x >= 0x20)));
}

// Integers between 2^53 and 2^63 are left out on purpose: JSON.parse
// rounds them to doubles, jansson keeps them exact (test-message.c).
// Integer-like keys are left out on purpose: JSON.parse moves them first,
// while childproc keeps the order of the line (both are the same object).

out.push('END\t' + count);
process.stdout.write(out.join('\n') + '\n');
