// Times ONNX Runtime's CPU engine on one ONNX model: the peer wastenet is measured against.
//
//   node ort_bench.js MODEL.onnx --size S --batch B --threads T --runs R --warmup W [--check PREFIX]
//
// --check PREFIX: first runs PREFIX.input.bin (float32 NHWC, from tools/make_reference.py) and prints
// the largest difference from PREFIX.logits.bin (torchvision's logits), so a run proves it timed the
// same network.
// Sequential execution, all graph optimizations, intraOpNumThreads = T (interOp 1), fixed input.
// Prints one JSON line: median and p90 milliseconds per run.
'use strict';
const { ort, createSession, integerOption } = require('./ort_session');

async function main() {
  const model = process.argv[2];
  if (!model || model.startsWith('--')) throw new Error('usage: node ort_bench.js MODEL.onnx [options]');
  const size = integerOption('size', 224), batch = integerOption('batch', 1), threads = integerOption('threads', 1);
  const runs = integerOption('runs', 50), warmup = integerOption('warmup', 5);
  const session = await createSession(model, threads);
  const data = new Float32Array(batch * 3 * size * size);
  let seed = 1;
  for (let i = 0; i < data.length; ++i) { seed = (seed * 1103515245 + 12345) % 2147483648; data[i] = (seed % 2001) / 1000 - 1; }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  const ci = process.argv.indexOf('--check');
  let check = null;
  if (ci >= 0) {
    const fs = require('fs');
    const read = (f) => { const b = fs.readFileSync(f); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
    const nhwc = read(process.argv[ci + 1] + '.input.bin'), want = read(process.argv[ci + 1] + '.logits.bin');
    if (nhwc.length !== 3 * size * size) throw new Error(`--check: ${process.argv[ci + 1]}.input.bin is not 1x${size}x${size}x3`);
    const nchw = new Float32Array(nhwc.length);
    for (let y = 0; y < size; ++y)
      for (let x = 0; x < size; ++x)
        for (let c = 0; c < 3; ++c) nchw[(c * size + y) * size + x] = nhwc[(y * size + x) * 3 + c];
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', nchw, [1, 3, size, size]) });
    const got = out[session.outputNames[0]].data;
    if (got.length !== want.length) throw new Error('--check: logits count differs from the reference');
    check = 0;
    for (let i = 0; i < got.length; ++i) check = Math.max(check, Math.abs(got[i] - want[i]));
  }
  const ms = [];
  for (let i = 0; i < warmup + runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= warmup) ms.push(dt);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)], p90 = ms[Math.min(ms.length - 1, Math.floor(ms.length * 9 / 10))];
  console.log(JSON.stringify({ engine: 'onnxruntime', version: ort.env.versions.common, model, threads, batch, size,
                               runs, max_abs_diff_vs_torchvision: check, median_ms: median, p90_ms: p90, images_per_second: 1000 * batch / median }));
}

main().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
