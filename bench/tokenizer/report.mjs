// SPDX-License-Identifier: MIT
// Turns the key=value lines of mamba-tokenizer-bench and hf_bench.mjs into a Markdown table.
// Usage: node report.mjs results.txt
import fs from 'node:fs';
import path from 'node:path';

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((line) =>
  Object.fromEntries(line.split(' ').map((kv) => kv.split('='))));
const load = {};
const enc = new Map();
for (const r of rows) {
  if (r.load_ms_median) {
    // Keep the run with the lowest median (the runner loads in each of its two passes).
    if (!load[r.impl] || Number(r.load_ms_median) < Number(load[r.impl].load_ms_median)) {
      load[r.impl] = r;
    }
    continue;
  }
  const key = `${path.basename(r.file, '.txt')}|${r.chunk}`;
  if (!enc.has(key)) enc.set(key, {});
  enc.get(key)[r.impl] = r;
}
console.log('| text | input | MB | tokens | same ids | ours MB/s | HF MB/s | ours / HF | ours MB/CPU-s | HF MB/CPU-s |');
console.log('|---|---|---:|---:|:---:|---:|---:|---:|---:|---:|');
for (const [key, v] of enc) {
  const [name, chunk] = key.split('|');
  const m = v.mamba;
  const h = v.hf;
  if (!m || !h) continue;
  const input = chunk === '0' ? 'one string' : `${chunk} B chunks`;
  const same = m.ids_hash === h.ids_hash && m.tokens === h.tokens ? 'yes' : '**NO**';
  const ratio = Number(m.mb_s_median) / Number(h.mb_s_median);
  console.log(`| ${name} | ${input} | ${(Number(m.bytes) / 1e6).toFixed(2)} | ${m.tokens} | ${same} | ` +
    `${m.mb_s_median} | ${h.mb_s_median} | ${ratio.toFixed(1)}x | ${m.cpu_mb_s_median} | ` +
    `${h.cpu_mb_s_median} |`);
}
if (load.mamba && load.hf) {
  console.log(`\nLoad tokenizer.json, ms (ours vs HF): median wall ${load.mamba.load_ms_median} vs ` +
    `${load.hf.load_ms_median}, min wall ${load.mamba.load_ms_min} vs ${load.hf.load_ms_min}, ` +
    `median CPU ${load.mamba.load_cpu_ms_median} vs ${load.hf.load_cpu_ms_median}.`);
}
