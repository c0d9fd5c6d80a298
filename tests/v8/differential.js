// tests/v8/differential.js - the proto/v8 codec against the running node's
// own v8 serializer.  Usage: node differential.js V8TOOL [SEED]
//
// For every value (fixed cases plus random ones from a seeded generator),
// in both host-object forms (v8.serialize's and the child_process
// channel's):
//   1. C decodes node's bytes; the result must equal toForm(value), this
//      file's own rendering of the JSON form described in proto/v8.h;
//   2. C encodes that JSON form; node must deserialize the bytes to a value
//      equal to the original (same types, same object graph: shared and
//      circular references included).
// Then hostile inputs must each end in an error, and nothing else.
'use strict';
const v8 = require('v8');
const assert = require('assert');
const { spawnSync } = require('child_process');

const tool = process.argv[2];
const { toForm, same, fixed, randomValue, setSeed } = require('./values.js');
setSeed(Number(process.argv[3] || 12345));

// Node's channel serializer (lib/internal/child_process/serialization.js),
// from the public v8 API: a varint 0 before a view, 1 + a copy otherwise.
class ChannelSerializer extends v8.DefaultSerializer {
  _writeHostObject(object) {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(0);
      return super._writeHostObject(object);
    }
    this.writeUint32(1);
    this.writeValue({ ...object });
  }
}
class ChannelDeserializer extends v8.DefaultDeserializer {
  _readHostObject() {
    const tag = this.readUint32();
    if (tag === 0) return super._readHostObject();
    assert.strictEqual(tag, 1);
    return this.readValue();
  }
}
const modes = {
  serialize: {
    ser: (v) => v8.serialize(v),
    de: (b) => v8.deserialize(b),
  },
  channel: {
    ser: (v) => { const s = new ChannelSerializer(); s.writeHeader(); s.writeValue(v); return s.releaseBuffer(); },
    de: (b) => { const d = new ChannelDeserializer(b); d.readHeader(); return d.readValue(); },
  },
};

function runTool(args, lines) {
  const r = spawnSync(tool, args, { input: lines.join('\n') + '\n', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`v8tool ${args} exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.toString().split('\n');
  out.pop();
  assert.strictEqual(out.length, lines.length, 'one answer per line');
  return out;
}

let failures = 0;
function check(label, fn) {
  try {
    fn();
  } catch (e) {
    failures++;
    console.error(`FAIL ${label}: ${e.message}`);
  }
}

const values = fixed();
for (let i = 0; i < 300; i++) values.push(randomValue(4, []));

let identical = 0;
for (const [mode, { ser, de }] of Object.entries(modes)) {
  const args = mode === 'serialize' ? ['serialize'] : [];
  const bytes = values.map((v) => ser(v));
  const decoded = runTool(['decode', ...args], bytes.map((b) => b.toString('hex')));
  const forms = [];
  decoded.forEach((line, i) => {
    const label = `${mode} decode #${i} (${bytes[i].toString('hex').slice(0, 60)})`;
    check(label, () => {
      if (!line.startsWith('ok ')) throw new Error(line);
      assert.deepStrictEqual(JSON.parse(line.slice(3)), JSON.parse(JSON.stringify(toForm(values[i]))));
    });
    forms.push(line.startsWith('ok ') ? line.slice(3) : JSON.stringify(toForm(values[i])));
  });
  const encoded = runTool(['encode', ...args], forms);
  encoded.forEach((line, i) => {
    check(`${mode} encode #${i} ${forms[i].slice(0, 80)}`, () => {
      if (!line.startsWith('ok ')) throw new Error(line);
      const buf = Buffer.from(line.slice(3), 'hex');
      if (buf.equals(bytes[i])) identical++;
      same(values[i], de(buf));
    });
  });
}

// Hostile inputs: each must give an error line and nothing else.
const nested = (n) => 'ff0f' + '4101'.repeat(n) + '41002400' + '00' + '240001'.repeat(n);
const hostile = [
  '', '00', 'ff', 'ff0f', 'ff0f00', 'ff0c49', 'ff0f01', 'ff0f7f', 'ff0f4d', 'ff0f74', 'ff0f75', 'ff0f70', 'ff0f77',
  'ff0f22', 'ff0f2205', 'ff0f2205616263', 'ff0f22ffffffff0f', 'ff0f22ffffffffff', 'ff0f4e0000', 'ff0f49',
  'ff0f42ffffffff0f', 'ff0f63ffffffff0f', 'ff0f6303610000', 'ff0f5affffffff0f', 'ff0f41ffffffff0f',
  'ff0f61ffffffff0f', 'ff0f6fffffffff0f', 'ff0f5e00', 'ff0f6f22016a5e017b01',
  'ff0f6f2201615f2201615f7b02', 'ff0f6f2201615f7b02', 'ff0f4102490249042400', 'ff0f4101490224000203',
  'ff0f3b49023a02', 'ff0f27490249042c01', 'ff0f52220161ffffffff0f', 'ff0f5222016140',
  'ff0f725a', 'ff0f726d49022e', 'ff0f72632e', 'ff0f72635e002e', 'ff0f5c02', 'ff0f5c000d0100',
  'ff0f5c0001ffffffff0f', 'ff0f5c0004030102', 'ff0f42040102030456420000', 'ff0f4204010203045662000900',
  'ff0f6f6f7b00497b01', 'ff0f610249024902490249044002', 'ff0f3f',
  nested(100000),
];
const hostileSer = ['ff0f5c0d0100', 'ff0f5c04030102', 'ff0f5c0a05010203'];
const hres = runTool(['decode'], hostile);
hres.forEach((line, i) => check(`hostile #${i} ${hostile[i].slice(0, 40)}`, () => {
  if (!line.startsWith('err ')) throw new Error('decoded: ' + line.slice(0, 200));
}));
const hres2 = runTool(['decode', 'serialize'], hostileSer);
hres2.forEach((line, i) => check(`hostile serialize #${i}`, () => {
  if (!line.startsWith('err ')) throw new Error('decoded: ' + line.slice(0, 200));
}));
// Node agrees that these are not values (where it does not crash on them).
for (const h of hostile.slice(0, 40)) {
  let ok = true;
  try { modes.channel.de(Buffer.from(h, 'hex')); } catch { ok = false; }
  if (ok && h !== '' && h !== '00' && h !== 'ff')
    check(`node accepts hostile ${h}`, () => { throw new Error('node decoded it'); });
}

// Bad JSON forms: each a clear error from the encoder.
const badForms = ['{"$nope":1}', '{"$hole":null}', '{"$ref":0}', '[{"$ref":1}]', '{"$bigint":"1.5"}',
  '{"$bigint":""}', '{"$number":"1"}', '{"$date":"x"}', '{"$regexp":["a","gg"]}', '{"$regexp":["a","uv"]}',
  '{"$regexp":"a"}', '{"$map":[[1]]}', '{"$set":{}}', '{"$buffer":"%%%"}', '{"$uint16array":"AQ=="}',
  '{"$error":{"name":"MyError"}}', '{"$error":{"code":1}}', '{"$error":{"cause":{"$ref":0}}}',
  '{"$array":{"length":1,"5":1}}', '{"$array":{}}', '{"$arraybuffer":["AA==",0]}', '{"$boxed":null}',
  '{"$undefined":1}', '{"$object":1}'];
const bres = runTool(['encode'], badForms);
bres.forEach((line, i) => check(`bad form ${badForms[i]}`, () => {
  if (!line.startsWith('err ')) throw new Error('encoded: ' + line);
}));

console.log(`${process.version}: ${values.length} values x 2 modes, ${identical} re-encoded byte for byte; ` +
  `${hostile.length + hostileSer.length} hostile inputs, ${badForms.length} bad forms; ${failures} failures`);
process.exit(failures ? 1 : 0);
