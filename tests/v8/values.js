// tests/v8/values.js - values for the advanced-serialization tests, the
// JSON form of proto/v8.h written in JavaScript (toForm), and a deep
// comparison that also checks the object graph (same).
'use strict';

let seed = 12345;
function setSeed(s) { seed = s; }

const viewNames = {
  Int8Array: '$int8array', Uint8Array: '$uint8array', Uint8ClampedArray: '$uint8clampedarray',
  Int16Array: '$int16array', Uint16Array: '$uint16array', Int32Array: '$int32array',
  Uint32Array: '$uint32array', Float32Array: '$float32array', Float64Array: '$float64array',
  BigInt64Array: '$bigint64array', BigUint64Array: '$biguint64array', DataView: '$dataview',
};
const errorNames = ['EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError'];
const isIndex = (k) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 4294967295;

// The JSON form of a value (proto/v8.h), written independently of the C code.
function toForm(root) {
  const ids = new Map();
  let next = 0;
  const num = (x) => {
    if (Number.isNaN(x)) return { $number: 'NaN' };
    if (x === Infinity) return { $number: 'Infinity' };
    if (x === -Infinity) return { $number: '-Infinity' };
    if (Object.is(x, -0)) return { $number: '-0' };
    return x;
  };
  const b64 = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  function f(v) {
    if (v === undefined) return { $undefined: null };
    if (v === null || typeof v === 'boolean') return v;
    // Strings as they are: a lone surrogate too (WTF-8 in C).
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return num(v);
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    if (ids.has(v)) return { $ref: ids.get(v) };
    ids.set(v, next++);
    if (Array.isArray(v)) {
      const keys = Object.keys(v);
      const idx = keys.filter(isIndex);
      const other = keys.filter((k) => !isIndex(k));
      if (other.length === 0 && v.length <= 2 * idx.length + 16) {
        const a = [];
        for (let i = 0; i < v.length; i++) a.push(i in v ? f(v[i]) : { $hole: null });
        return a;
      }
      const o = { length: v.length };
      for (const k of keys) o[k] = f(v[k]);
      return { $array: o };
    }
    if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? null : v.getTime() };
    if (v instanceof RegExp) return { $regexp: [v.source, v.flags] };
    if (v instanceof Map) return { $map: [...v].map(([k, x]) => [f(k), f(x)]) };
    if (v instanceof Set) return { $set: [...v].map(f) };
    if (v instanceof ArrayBuffer) {
      const data = Buffer.from(v).toString('base64');
      return { $arraybuffer: v.resizable ? [data, v.maxByteLength] : data };
    }
    if (Buffer.isBuffer(v)) return { $buffer: b64(v) };
    if (ArrayBuffer.isView(v)) return { [viewNames[v.constructor.name]]: b64(v) };
    if (v instanceof Boolean || v instanceof Number || v instanceof String ||
        Object.prototype.toString.call(v) === '[object BigInt]')
      return { $boxed: f(v.valueOf()) };
    if (v instanceof Error) {
      const e = { name: errorNames.includes(String(v.name)) ? String(v.name) : 'Error' };
      const md = Object.getOwnPropertyDescriptor(v, 'message');
      if (md && 'value' in md) e.message = String(md.value);
      if (typeof v.stack === 'string') e.stack = v.stack;
      const cd = Object.getOwnPropertyDescriptor(v, 'cause');
      if (cd && 'value' in cd) e.cause = f(cd.value);
      return { $error: e };
    }
    const o = {};
    for (const k of Object.keys(v)) o[k] = f(v[k]);
    const k = Object.keys(o);
    return k.length === 1 && k[0][0] === '$' ? { $object: o } : o;
  }
  return f(root);
}

// Equal values and the same object graph.
function same(a, b, seen = new Map(), path = '$') {
  const fail = (why) => { throw new Error(`${path}: ${why}`); };
  if (typeof a === 'string') {
    if (b !== a) fail(`string ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
    return;
  }
  if (a === null || typeof a !== 'object') {
    if (!Object.is(a, b)) fail(`${String(a)} != ${String(b)}`);
    return;
  }
  if (b === null || typeof b !== 'object') fail('object became ' + typeof b);
  if (seen.has(a)) {
    if (seen.get(a) !== b) fail('shared reference not preserved');
    return;
  }
  seen.set(a, b);
  const tag = (x) => Object.prototype.toString.call(x);
  if (tag(a) !== tag(b)) fail(`${tag(a)} != ${tag(b)}`);
  if (Buffer.isBuffer(a) !== Buffer.isBuffer(b)) fail('Buffer-ness differs');
  if (ArrayBuffer.isView(a)) {
    if (a.constructor.name !== b.constructor.name) fail('view type');
    const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    if (!x.equals(y)) fail('view bytes');
    return;
  }
  if (a instanceof ArrayBuffer) {
    if (!Buffer.from(a).equals(Buffer.from(b))) fail('ArrayBuffer bytes');
    if (!!a.resizable !== !!b.resizable || a.maxByteLength !== b.maxByteLength) fail('resizable');
    return;
  }
  if (a instanceof Date) return same(a.getTime(), b.getTime(), seen, path + '.time');
  if (a instanceof RegExp) {
    if (a.source !== b.source || a.flags !== b.flags) fail('regexp');
    return;
  }
  if (a instanceof Boolean || a instanceof Number || a instanceof String ||
      tag(a) === '[object BigInt]')
    return same(a.valueOf(), b.valueOf(), seen, path + '.valueOf()');
  if (a instanceof Map) {
    const x = [...a], y = [...b];
    if (x.length !== y.length) fail('map size');
    x.forEach(([k, v], i) => { same(k, y[i][0], seen, `${path}.key${i}`); same(v, y[i][1], seen, `${path}.val${i}`); });
    return;
  }
  if (a instanceof Set) {
    const x = [...a], y = [...b];
    if (x.length !== y.length) fail('set size');
    x.forEach((v, i) => same(v, y[i], seen, `${path}.item${i}`));
    return;
  }
  if (a instanceof Error) {
    const name = errorNames.includes(String(a.name)) ? String(a.name) : 'Error';
    if (b.name !== name) fail(`error name ${b.name} != ${name}`);
    const md = Object.getOwnPropertyDescriptor(a, 'message');
    same(md && 'value' in md ? String(md.value) : undefined,
      Object.getOwnPropertyDescriptor(b, 'message')?.value, seen, path + '.message');
    if (typeof a.stack === 'string') same(a.stack, b.stack, seen, path + '.stack');
    const cd = Object.getOwnPropertyDescriptor(a, 'cause');
    if (cd && 'value' in cd) same(cd.value, b.cause, seen, path + '.cause');
    else if ('cause' in b) fail('cause appeared');
    return;
  }
  if (Array.isArray(a) && a.length !== b.length) fail(`length ${a.length} != ${b.length}`);
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) fail(`keys ${ka} != ${kb}`);
  ka.forEach((k, i) => {
    if (k !== kb[i]) fail(`key ${k} != ${kb[i]}`);
    same(a[k], b[kb[i]], seen, `${path}.${k}`);
  });
}

// Fixed cases: every tag Node writes for a value a message can hold.
function fixed() {
  const circ = { name: 'c' }; circ.self = circ;
  const shared = { s: 1 };
  const arrCirc = [1]; arrCirc.push(arrCirc);
  const mapCirc = new Map(); mapCirc.set(mapCirc, mapCirc);
  const setCirc = new Set(); setCirc.add(setCirc);
  const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const sparse = []; sparse[1000000] = 'far';
  const withProps = Object.assign([1, 2], { extra: 'x' });
  const errCause = new RangeError('bad', { cause: { code: 7 } });
  const errNoStack = new TypeError('t'); errNoStack.stack = undefined;
  const errCustom = new Error('custom'); errCustom.name = 'MyError';
  const errStackOnly = new Error(); delete errStackOnly.message;
  const ab = new ArrayBuffer(8); new Uint8Array(ab).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const views = [new Int8Array([-1, 2]), new Uint8Array([255, 0]), new Uint8ClampedArray([9]),
    new Int16Array([-2, 300]), new Uint16Array([65535]), new Int32Array([-5, 1 << 30]),
    new Uint32Array([4294967295]), new Float32Array([1.5, -0]), new Float64Array([Math.PI, NaN]),
    new BigInt64Array([-1n, 5n]), new BigUint64Array([2n ** 64n - 1n]), new DataView(ab, 2, 4),
    new Uint16Array(ab, 2, 2), Buffer.from('hello'), Buffer.alloc(0), new Uint8Array(0)];
  const cases = [
    null, undefined, true, false, 0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2,
    1.5, -1e-300, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity,
    0n, 1n, -1n, 2n ** 63n, -(2n ** 64n), 12345678901234567890123456789n, 2n ** 1000n,
    '', 'a', 'latin1: é ÿ', 'two-byte: € 😀', '\u0000nul', 'lone \ud800 surrogate', '\udc00\ud800', 'x'.repeat(70000),
    'é'.repeat(1000) + '€', [], [1, 'two', 3.5], [undefined, null], holey, new Array(5), sparse, withProps,
    {}, { a: 1, b: { c: [true] } }, { 1: 'one', b: 2, 0: 'zero' }, { $x: 1 }, { $undefined: null }, { $ref: 0, other: 1 },
    { '': 'empty key', 'é': 'latin1 key', '€': 'wide key' }, { 4294967294: 'max index', 4294967295: 'not index' },
    new Date(0), new Date(1700000000123), new Date(-8.64e15), new Date(NaN),
    /a+b/g, /x/dgimsuy, new RegExp('[\\u{1F600}]', 'u'), /é€/i,
    new Map(), new Map([[1, 'a'], ['k', { v: 1 }], [{ o: 1 }, [2]]]), new Set([1, 'a', null, undefined, 2n]),
    ab, new ArrayBuffer(0), ...views,
    new Boolean(true), new Boolean(false), new Number(3.25), new Number(NaN), new Number(-0),
    new String('boxed'), new String('b€xed'), Object(5n), Object(-(2n ** 70n)),
    new Error('plain'), new EvalError('e'), new RangeError('r'), new ReferenceError('f'),
    new SyntaxError('s'), new TypeError('t'), new URIError('u'), errCause, errNoStack, errCustom, errStackOnly,
    circ, [shared, shared, { inner: shared }], arrCirc, mapCirc, setCirc,
    // Lone surrogates come through as they are (WTF-8 in C), in every place a string can be.
    'end \ud83d', '\ud800\ud800', '\udfff', { '\udfff': 'lone key', k: '\ud800' }, new Error('lone \ud800'),
    new String('\udc00'), new Map([['\ud800', '\udc00']]), ['\ud83d', '\ude00', '\ud83d\ude00'],
    { cmd: 'NODE_HANDLE_ACK' }, { cmd: 'NODE_HANDLE', type: 'net.Server', msg: { big: 10n } },
  ];
  if (typeof ArrayBuffer.prototype.resize === 'function')
    cases.push(new ArrayBuffer(2, { maxByteLength: 16 }));
  return cases;
}

function rng() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}
const pick = (a) => a[Math.floor(rng() * a.length)];

function randomValue(depth, pool) {
  const leaves = [
    () => null, () => undefined, () => rng() < 0.5,
    () => Math.floor(rng() * 2000) - 1000, () => (rng() - 0.5) * 1e10, () => pick([NaN, -0, Infinity, 2 ** 40]),
    () => BigInt(Math.floor(rng() * 1e9)) * pick([1n, -1n, 10n ** 30n]),
    () => pick(['', 'abc', 'ü', '€uro', '😀', 'a\nb', '\ud83d']),
    () => new Date(Math.floor(rng() * 2e12)),
    () => new RegExp(pick(['a', '\\d+', '[x-z]']), pick(['', 'g', 'im', 'su', 'y'])),
    () => Buffer.from([Math.floor(rng() * 256), 1, 2]),
    () => new (pick([Int8Array, Uint16Array, Float64Array, BigInt64Array]))(2),
    () => new Number(rng()), () => new String('s'),
  ];
  if (pool.length > 0 && rng() < 0.1) return pick(pool);
  if (depth <= 0 || rng() < 0.35) return pick(leaves)();
  const n = Math.floor(rng() * 4);
  const kind = Math.floor(rng() * 6);
  let v;
  if (kind === 0) {
    v = [];
    pool.push(v);
    for (let i = 0; i < n; i++) v.push(randomValue(depth - 1, pool));
    if (rng() < 0.2) v[n + 2] = 'after a hole';
  } else if (kind === 1) {
    v = new Map();
    pool.push(v);
    for (let i = 0; i < n; i++) v.set(randomValue(depth - 1, pool), randomValue(depth - 1, pool));
  } else if (kind === 2) {
    v = new Set();
    pool.push(v);
    for (let i = 0; i < n; i++) v.add(randomValue(depth - 1, pool));
  } else if (kind === 3) {
    v = new Error('e' + n, { cause: randomValue(depth - 1, pool) });
  } else {
    v = {};
    pool.push(v);
    for (let i = 0; i < n; i++) v[pick(['a', 'b', '$c', '7', 'é', 'k' + i])] = randomValue(depth - 1, pool);
  }
  return v;
}

module.exports = { toForm, same, fixed, randomValue, setSeed };
