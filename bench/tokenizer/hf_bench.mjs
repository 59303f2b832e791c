// SPDX-License-Identifier: MIT
// The Hugging Face side of the tokenizer benchmark: npm `tokenizers` (the Rust library through
// its prebuilt native binding), same measurements and output format as mamba-tokenizer-bench.
// encode() of one string runs on one thread (RAYON_NUM_THREADS=1 is set anyway).
// Usage: node hf_bench.mjs -t tokenizer.json [-r REPEAT] [-l LOADS] [-c CHUNK] FILE...
import fs from 'node:fs';

process.env.RAYON_NUM_THREADS = '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const { Tokenizer } = await import('tokenizers');

const args = process.argv.slice(2);
let tokenizerPath = '';
let repeat = 5;
let loads = 10;
let chunk = 0;
const files = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '-t') tokenizerPath = args[++i];
  else if (args[i] === '-r') repeat = Math.max(1, Number(args[++i]));
  else if (args[i] === '-l') loads = Math.max(1, Number(args[++i]));
  else if (args[i] === '-c') chunk = Math.max(0, Number(args[++i]));
  else files.push(args[i]);
}
if (!tokenizerPath) {
  console.error('usage: node hf_bench.mjs -t tokenizer.json [-r REPEAT] [-l LOADS] [-c CHUNK] FILE...');
  process.exit(2);
}

// Same cuts as Chunks() in tokenizer_bench.cc: after a '\n' once a chunk has >= `size` bytes.
function chunks(buf, size) {
  if (size === 0) return [buf.toString('utf8')];
  const out = [];
  let start = 0;
  while (start < buf.length) {
    let end = start + size;
    if (end >= buf.length) {
      end = buf.length;
    } else {
      const nl = buf.indexOf(0x0a, end - 1);
      end = nl < 0 ? buf.length : nl + 1;
    }
    out.push(buf.subarray(start, end).toString('utf8'));
    start = end;
  }
  return out;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
// Process CPU time (user + system, all threads), in ms.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const loadMs = [];
const loadCpuMs = [];
let tok;
for (let i = 0; i < loads; ++i) {
  const t0 = nowMs();
  const c0 = cpuMs();
  tok = Tokenizer.fromFile(tokenizerPath);
  loadCpuMs.push(cpuMs() - c0);
  loadMs.push(nowMs() - t0);
}
console.log(`impl=hf load_ms_median=${median(loadMs).toFixed(1)} ` +
  `load_ms_min=${Math.min(...loadMs).toFixed(1)} load_cpu_ms_median=${median(loadCpuMs).toFixed(1)}`);

for (const file of files) {
  const bytes = fs.readFileSync(file);
  const texts = chunks(bytes, chunk);
  const secs = [];
  const cpuSecs = [];
  let ids = [];
  for (let r = 0; r < repeat; ++r) {
    ids = [];
    const t0 = nowMs();
    const c0 = cpuMs();
    for (const text of texts) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      for (const id of enc.getIds()) ids.push(id);
    }
    cpuSecs.push((cpuMs() - c0) / 1000);
    secs.push((nowMs() - t0) / 1000);
  }
  let h = 2166136261;
  for (const id of ids) h = Math.imul(h ^ id, 16777619) >>> 0;
  const mb = bytes.length / 1e6;
  console.log(`impl=hf file=${file} chunk=${chunk} bytes=${bytes.length} tokens=${ids.length} ` +
    `ids_hash=${h.toString(16).padStart(8, '0')} mb_s_median=${(mb / median(secs)).toFixed(2)} ` +
    `mb_s_best=${(mb / Math.min(...secs)).toFixed(2)} cpu_mb_s_median=${(mb / median(cpuSecs)).toFixed(2)}`);
}
