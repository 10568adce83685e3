// What ort_bench.js and ort_profile.js share: the session they time (ONNX Runtime's CPU engine,
// sequential execution, all graph optimizations, `threads` intra-op threads, inter-op 1) and the
// reading of their integer options.
'use strict';
const ort = require('onnxruntime-node');

/// `extra`: further session options (ort_profile.js turns on the profiler).
function createSession(model, threads, extra = {}) {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    ...extra,
  });
}

/// The integer after --name on the command line (at least `min`), or `fallback` without one.
function integerOption(name, fallback, min = 0) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name}: expected an integer of at least ${min}`);
  return v;
}

module.exports = { ort, createSession, integerOption };
