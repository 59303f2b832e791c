// SPDX-License-Identifier: MIT
// Differential check against Hugging Face tokenizers on random multi-script text: N seeded
// random strings (letters, digits, marks, spaces, special tokens and pieces of them, contractions,
// emoji, scripts new in Unicode 15-17, ...) are encoded and decoded by HF (npm `tokenizers`) and
// by mamba-tokenizer-bench -j; every id list and decoded text must match.
// Usage: node diff_vs_hf.mjs BENCH_BINARY TOKENIZER.json [N=5000] [SEED=1]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [bin, tokPath] = process.argv.slice(2, 4);
const n = Number(process.argv[4] ?? 5000);
let seed = Number(process.argv[5] ?? 1);
if (!bin || !tokPath) {
  console.error('usage: node diff_vs_hf.mjs BENCH_BINARY TOKENIZER.json [N] [SEED]');
  process.exit(2);
}
const { Tokenizer } = await import('tokenizers');

const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const ranges = [
  [0x20, 0x7e], [0x80, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff],
  [0x600, 0x6ff], [0x890, 0x8ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff],
  [0x1c80, 0x1c8f], [0x1dc0, 0x1dff], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2070, 0x218f],
  [0x2460, 0x24ff], [0x3000, 0x303f], [0x3040, 0x30ff], [0x4e00, 0x4fff], [0xa7c0, 0xa7df],
  [0xa8e0, 0xa8ff], [0xac00, 0xad00], [0xfb00, 0xfb4f], [0xfe00, 0xfe0f], [0xff00, 0xffef],
  [0x10000, 0x1007f], [0x105c0, 0x105ff], [0x10d40, 0x10d8f], [0x11000, 0x1107f],
  [0x11380, 0x113ff], [0x11900, 0x1195f], [0x11f00, 0x11f5f], [0x16d40, 0x16d7f],
  [0x1ccf0, 0x1ccff], [0x1d400, 0x1d4ff], [0x1e030, 0x1e08f], [0x1e5d0, 0x1e5ff],
  [0x1f1e6, 0x1f1ff], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x2ebf0, 0x2ec00],
  [0x323b0, 0x323c0], [0xe0000, 0xe007f]];
const atoms = [' ', '  ', '   ', '\n', '\t', '\r\n', "'s", "'ll", "'", '<|endoftext|>',
  '<|padding|>', '<|endo', '\u00a0', '\u3000', '\u200b', '\u0301', 'the', ' the', '123', ' 4567',
  '!!', '...', 'e\u0301', '\u1100\u1161', '\u0958', '\u212b', ' '.repeat(30)];
const texts = [];
for (let i = 0; i < n; ++i) {
  let s = '';
  const parts = 1 + Math.floor(rnd() * 30);
  for (let k = 0; k < parts; ++k) {
    if (rnd() < 0.4) {
      s += pick(atoms);
    } else {
      const [a, b] = pick(ranges);
      const cp = a + Math.floor(rnd() * (b - a + 1));
      s += String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0x41 : cp);
    }
  }
  texts.push(s);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-diff-'));
const input = path.join(dir, 'texts.jsonl');
fs.writeFileSync(input, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
const ours = execFileSync(bin, ['-t', tokPath, '-j', input], { maxBuffer: 1 << 30 })
  .toString('utf8').split('\n');
fs.rmSync(dir, { recursive: true });

const tok = Tokenizer.fromFile(tokPath);
let bad = 0;
for (let i = 0; i < texts.length; ++i) {
  const enc = await tok.encode(texts[i], null, { addSpecialTokens: false });
  const ids = enc.getIds();
  const want = ids.join(' ') + '\t' + JSON.stringify(await tok.decode(ids, false));
  const [gotIds, gotText] = ours[i].split('\t');
  if (gotIds !== ids.join(' ') || JSON.parse(gotText) !== JSON.parse(want.split('\t')[1])) {
    if (++bad <= 5) console.log(`MISMATCH ${JSON.stringify(texts[i])}\n  hf   ${ids.join(' ')}\n  ours ${gotIds}`);
  }
}
console.log(`${texts.length - bad} passed, ${bad} failed`);
process.exit(bad === 0 ? 0 : 1);
