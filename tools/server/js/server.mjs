// SPDX-License-Identifier: MIT
// Starts mamba-server as a child process on a free 127.0.0.1 port and returns its base URL.
// MAMBA_SERVER (default ../../../build/tools/server/mamba-server) and MAMBA_MODEL (default the
// repository's models/) choose the binary and the model.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");

export async function startServer(extraArgs = []) {
  const bin = process.env.MAMBA_SERVER || path.join(repoRoot, "build/tools/server/mamba-server");
  const model = process.env.MAMBA_MODEL || path.join(repoRoot, "models");
  const child = spawn(bin, ["-m", model, "--port", "0", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("mamba-server did not start:\n" + log)), 60000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`mamba-server exited (${code}):\n${log}`)));
    child.on("error", reject);
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// Scrapes /metrics into {name: value}.
export async function metrics(url, apiKey) {
  const headers = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [name, value] = line.split(" ");
    out[name] = Number(value);
  }
  return out;
}
