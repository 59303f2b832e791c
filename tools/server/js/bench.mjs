// SPDX-License-Identifier: MIT
// Load benchmark for mamba-server: for 1, 4 and 8 concurrent streams (or --streams 1,2,...),
// each stream runs --requests requests back to back (streamed completions of --tokens tokens,
// EOS ignored); reports aggregate tokens/s, p50/p95 time to first token, p50/p95 time between
// streamed chunks (per-token latency) and the speed-up over one stream. Starts its own server (--parallel = the largest stream count) unless --url is given.
// Run: npm install && MAMBA_SERVER=../../../build/tools/server/mamba-server node bench.mjs
import os from "node:os";
import { parseArgs } from "node:util";
import { startServer } from "./server.mjs";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    streams: { type: "string", default: "1,4,8" },
    tokens: { type: "string", default: "128" },
    requests: { type: "string", default: "3" },
    prompt: { type: "string", default: "ROMEO:" },
    threads: { type: "string" },
    temperature: { type: "string", default: "0.8" },
  },
});
const counts = opt.streams.split(",").map(Number);
const nTokens = Number(opt.tokens);

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

// One streamed request: returns {ttft, tokens, gaps} (seconds; gaps between text chunks).
async function one(url) {
  const t0 = performance.now();
  const resp = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: opt.prompt, max_tokens: nTokens, ignore_eos: true,
                           temperature: Number(opt.temperature), stream: true,
                           stream_options: { include_usage: true } }),
  });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}: ${await resp.text()}`);
  const decoder = new TextDecoder();
  let buf = "", ttft = null, tokens = 0, last = null;
  const gaps = [];
  for await (const chunk of resp.body) {
    const now = performance.now();
    buf += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!line.startsWith("data: {")) continue;
      const j = JSON.parse(line.slice(6));
      if (j.usage) tokens = j.usage.completion_tokens;
      if (j.choices?.[0]?.text) {
        if (ttft === null) ttft = (now - t0) / 1000;
        if (last !== null) gaps.push((now - last) / 1000);
        last = now;
      }
    }
  }
  return { ttft, tokens, gaps };
}

const server = opt.url ? null : await startServer(
    ["--parallel", String(Math.max(...counts)), ...(opt.threads ? ["-t", opt.threads] : [])]);
const url = opt.url || server.url;
try {
  await one(url);  // warm-up
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`machine: ${os.cpus()[0]?.model} x ${os.cpus().length}, load average ${load()} ` +
              `(before), model ${process.env.MAMBA_MODEL || "models/"}, ${nTokens} tokens per request`);
  console.log("| streams | requests | tokens | wall s | aggregate tok/s | p50 TTFT ms | p95 TTFT ms | " +
              "p50 token ms | p95 token ms | vs 1 stream |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  let single = null;
  for (const n of counts) {
    const ttfts = [], gaps = [];
    let tokens = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, async () => {
      for (let i = 0; i < Number(opt.requests); ++i) {
        const r = await one(url);
        ttfts.push(r.ttft);
        gaps.push(...r.gaps);
        tokens += r.tokens;
      }
    }));
    const wall = (performance.now() - t0) / 1000;
    const rate = tokens / wall;
    if (n === 1) single = rate;
    console.log(`| ${n} | ${ttfts.length} | ${tokens} | ${wall.toFixed(2)} | ${rate.toFixed(1)} | ` +
                `${(percentile(ttfts, 50) * 1000).toFixed(1)} | ${(percentile(ttfts, 95) * 1000).toFixed(1)} | ` +
                `${(percentile(gaps, 50) * 1000).toFixed(1)} | ${(percentile(gaps, 95) * 1000).toFixed(1)} | ` +
                `${single ? (rate / single).toFixed(2) + "x" : "-"} |`);
  }
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")} (after)`);
} finally {
  if (server) await server.stop();
}
