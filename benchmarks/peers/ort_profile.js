// ONNX Runtime's own per-node profile of one ONNX model, to set beside
// `wastenet-bench-forward --layers` on the same network: where the peer spends its time.
//
//   node ort_profile.js MODEL.onnx [--threads T] [--runs R] [--warmup W] [--size S]
//
// The session of ort_bench.js (ort_session.js), plus ORT's profiler. Prints a Markdown table:
// each node's median kernel time over the timed runs, in execution order, and their sum. The
// profiler's JSON goes to a temporary folder, removed after.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ort, createSession, integerOption } = require('./ort_session');

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const model = process.argv[2];
  if (!model || model.startsWith('--')) throw new Error('usage: node ort_profile.js MODEL.onnx [options]');
  if (!fs.existsSync(model)) throw new Error(`${model}: no such file`);
  const threads = integerOption('threads', 1, 1), runs = integerOption('runs', 50, 1);
  const warmup = integerOption('warmup', 5), size = integerOption('size', 224, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
  try {
    const session = await createSession(model, threads, { enableProfiling: true, profileFilePrefix: path.join(dir, 'profile') });
    const data = new Float32Array(3 * size * size).fill(0.25);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, size, size]) };
    for (let i = 0; i < warmup + runs; ++i) await session.run(feeds);
    session.endProfiling();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ONNX Runtime wrote no profile');
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    // One "<node>_kernel_time" event per node and run, in execution order.
    const nodes = new Map();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const name = e.name.slice(0, -'_kernel_time'.length);
      if (!nodes.has(name)) nodes.set(name, { op: e.args.op_name, shape: e.args.output_type_shape, us: [] });
      nodes.get(name).us.push(e.dur);
    }
    console.log(`${path.basename(model)}: ONNX Runtime ${ort.env.versions.common}, ${threads} thread(s), ` +
                `per-node median kernel time of ${runs} runs (after ${warmup} warm-up)\n`);
    console.log('| node | op | output | median us |\n|---|---|---|---|');
    let total = 0;
    for (const [name, n] of nodes) {
      const us = median(n.us.slice(-runs));
      total += us;
      const shape = (n.shape || []).map((o) => Object.values(o)[0].join('x')).join(', ');
      console.log(`| ${name} | ${n.op} | ${shape} | ${us.toFixed(1)} |`);
    }
    console.log(`| | | sum of medians | ${total.toFixed(1)} |`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`ort_profile: ${e.message}`); process.exit(1); });
