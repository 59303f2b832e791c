// SPDX-License-Identifier: MIT
// The web page at "/" in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// a greedy generation streams the same text as the API, the stop button ends a long generation
// and frees its slot, the page makes no request outside the server, and it fits a phone screen.
// Screenshots go to $MAMBA_TEST_ARTIFACTS (default build/test-artifacts): server-page.png after
// the greedy generation, server-page-stopped.png after the stop button.
// Run: npm ci && MAMBA_SERVER=../../../build/tools/server/mamba-server npm run test:browser
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { metrics, repoRoot, startServer } from "./server.mjs";

const artifacts = process.env.MAMBA_TEST_ARTIFACTS || path.join(repoRoot, "build/test-artifacts");

async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 1000, `screenshot ${file} is empty`);
  console.log(`screenshot: ${file}`);
}

let server;
let browser;

before(async () => {
  server = await startServer(["-t", "1", "--max-tokens-limit", "1000000"]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-dev-shm-usage", "--no-first-run"],
  });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function openPage(viewport) {
  const page = await browser.newPage({ viewport });
  const foreign = [];
  await page.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.origin !== new URL(server.url).origin) {
      foreign.push(u.href);
      return route.abort();
    }
    return route.continue();
  });
  await page.goto(server.url + "/");
  return { page, foreign };
}

test("greedy generation streams the API's text", async () => {
  const { page, foreign } = await openPage({ width: 1200, height: 900 });
  await page.fill("#prompt", "ROMEO:");
  await page.fill("#max_tokens", "24");
  await page.fill("#temperature", "0");
  await page.click("#generate");
  await page.waitForFunction(() => !document.getElementById("generate").disabled &&
                                   document.getElementById("stats").textContent.includes("tok"));
  const shown = await page.textContent("#output");
  const api = await (await fetch(server.url + "/v1/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "ROMEO:", max_tokens: 24, temperature: 0 }),
  })).json();
  assert.equal(shown, "ROMEO:" + api.choices[0].text);
  assert.match(await page.textContent("#stats"), /24 tokens/);
  assert.equal(await page.textContent("#error"), "");
  assert.deepEqual(foreign, []);
  await screenshot(page, "server-page.png");
  await page.close();
});

test("stop button ends the generation and frees the slot", async () => {
  const { page } = await openPage({ width: 1200, height: 900 });
  await page.fill("#max_tokens", "1000000");
  await page.click("#generate");
  // Text arrives while the generation still runs (streamed, not one final answer).
  await page.waitForFunction(() => document.getElementById("output").textContent.length > 40);
  assert.ok(await page.isDisabled("#generate"));
  assert.ok(await page.isEnabled("#stop_button"));
  await page.click("#stop_button");
  await page.waitForFunction(() => !document.getElementById("generate").disabled);
  const stopped = await page.textContent("#output");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.textContent("#output"), stopped, "text kept coming after stop");
  await screenshot(page, "server-page-stopped.png");
  const deadline = Date.now() + 20000;
  let m;
  do {
    await new Promise((r) => setTimeout(r, 50));
    m = await metrics(server.url);
  } while (m.mamba_active_sequences !== 0 && Date.now() < deadline);
  assert.equal(m.mamba_active_sequences, 0);
  await page.close();
});

test("fits a phone screen", async () => {
  const { page } = await openPage({ width: 360, height: 740 });
  const overflow = await page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  const box = await page.locator("#generate").boundingBox();
  assert.ok(box && box.x + box.width <= 360);
  await page.close();
});
