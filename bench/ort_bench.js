#!/usr/bin/env node
// Times one ONNX model on ONNX Runtime's CPU provider (onnxruntime-node).
//
// usage: node ort_bench.js MODEL.onnx [--batch N] [--threads T] [--iters K]
//                          [--warmup W] [--input X.npy] [--output Y.npy] [--no-spin]
// Prints one JSON line: {"median_ms", "min_ms", "iters", "threads", "batch",
// "output_shape"}. The input is the model's input with its batch dimension set
// to N (from X.npy when given, else a fixed pseudo-random one); --output writes
// the first output as float32 .npy so the caller can compare it with torch.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { model: null, batch: 1, threads: 1, iters: 10, warmup: 2, input: null, output: null,
    spin: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--batch') a.batch = parseInt(next(), 10);
    else if (k === '--threads') a.threads = parseInt(next(), 10);
    else if (k === '--iters') a.iters = parseInt(next(), 10);
    else if (k === '--warmup') a.warmup = parseInt(next(), 10);
    else if (k === '--input') a.input = next();
    else if (k === '--output') a.output = next();
    else if (k === '--no-spin') a.spin = false;
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else if (a.model === null) a.model = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (a.model === null) throw new Error('no model given');
  for (const k of ['batch', 'threads', 'iters']) {
    if (!(a[k] >= 1)) throw new Error(`--${k} must be a positive integer`);
  }
  return a;
}

// Minimal .npy (version 1/2/3, little-endian float32, C order) reader and writer.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) {
    throw new Error(`${path}: only little-endian float32 is supported`);
  }
  if (/'fortran_order':\s*True/.test(header)) {
    throw new Error(`${path}: Fortran order is not supported`);
  }
  const m = header.match(/'shape':\s*\(([^)]*)\)/);
  if (!m) throw new Error(`${path}: no shape in header`);
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = shape.reduce((x, y) => x * y, 1);
  const off = hstart + hlen;
  // copy: the buffer's offset need not be 4-aligned
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return { shape, data };
}

function writeNpy(path, shape, data) {
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shp}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

// Deterministic input in [-1, 1) so that runs are repeatable without numpy.
function makeInput(n) {
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 4294967296) * 2 - 1;
  }
  return data;
}

function median(xs) {
  const s = xs.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // idle workers sleep instead of spinning: fairer when other processes share the cores
    extra: a.spin ? {} : { session: { intra_op: { allow_spinning: '0' } } },
  });
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];

  let shape;
  let data;
  if (a.input) {
    ({ shape, data } = readNpy(a.input));
    if (shape[0] !== a.batch) throw new Error(`${a.input}: batch ${shape[0]}, --batch ${a.batch}`);
  } else {
    // the exported model has a static shape; take it from the model's metadata when present
    const meta = session.inputMetadata ? session.inputMetadata[0] : null;
    shape = meta && meta.shape
      ? meta.shape.map((d) => (typeof d === 'number' ? d : 1))
      : [a.batch, 3, 224, 224];
    shape[0] = a.batch;
    data = makeInput(shape.reduce((x, y) => x * y, 1));
  }
  const feeds = { [inName]: new ort.Tensor('float32', data, shape) };

  let out = null;
  for (let i = 0; i < a.warmup; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < a.iters; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (out === null) out = await session.run(feeds);
  const y = out[outName];
  if (a.output) writeNpy(a.output, y.dims, y.data);
  console.log(JSON.stringify({
    median_ms: median(times),
    min_ms: Math.min(...times),
    iters: a.iters,
    threads: a.threads,
    batch: a.batch,
    output_shape: y.dims,
  }));
}

main().catch((e) => {
  console.error(`ort_bench: error: ${e.message}`);
  process.exit(1);
});
