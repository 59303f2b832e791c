// SPDX-License-Identifier: MIT
// mamba-server against the official `openai` npm client over loopback: models, completions and
// chat (whole and streamed, which must agree), seeds, stop strings, the client's error classes
// for bad requests and API keys, and a stream the client aborts freeing its slot.
// Run: npm install && MAMBA_SERVER=../../../build/tools/server/mamba-server npm test
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { metrics, startServer } from "./server.mjs";

const KEY = "test-key";
let server;
let client;

before(async () => {
  server = await startServer(["--api-key", KEY, "--parallel", "4", "-t", "1",
                              "--max-tokens-limit", "1000000"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
after(async () => server && (await server.stop()));

async function collect(stream, chat) {
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    text += (chat ? c.delta?.content : c.text) ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, finish, usage };
}

describe("openai client", () => {
  test("models.list", async () => {
    const models = await client.models.list();
    assert.equal(models.data.length, 1);
    assert.equal(models.data[0].object, "model");
  });

  test("completions: whole and streamed agree (greedy)", async () => {
    const params = { model: "m", prompt: "ROMEO:", max_tokens: 24, temperature: 0 };
    const whole = await client.completions.create(params);
    assert.equal(whole.object, "text_completion");
    assert.ok(whole.choices[0].text.length > 0);
    assert.ok(["stop", "length"].includes(whole.choices[0].finish_reason));
    assert.equal(whole.usage.total_tokens,
                 whole.usage.prompt_tokens + whole.usage.completion_tokens);
    const streamed = await collect(await client.completions.create(
        { ...params, stream: true, stream_options: { include_usage: true } }), false);
    assert.equal(streamed.text, whole.choices[0].text);
    assert.equal(streamed.finish, whole.choices[0].finish_reason);
    assert.deepEqual(streamed.usage, whole.usage);
  });

  test("completions: same seed, same text; stop string cuts", async () => {
    const params = { model: "m", prompt: "KING:", max_tokens: 20, temperature: 1, seed: 1234 };
    const a = await client.completions.create(params);
    const b = await client.completions.create(params);
    assert.equal(a.choices[0].text, b.choices[0].text);
    const full = (await client.completions.create(
        { model: "m", prompt: "KING:", max_tokens: 20, temperature: 0 })).choices[0].text;
    const stop = full.slice(4, 7);
    const cut = await client.completions.create(
        { model: "m", prompt: "KING:", max_tokens: 20, temperature: 0, stop: [stop] });
    assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, "stop");
  });

  test("chat: whole and streamed agree", async () => {
    const params = { model: "m", messages: [{ role: "user", content: "Hello" }],
                     max_tokens: 16, temperature: 0 };
    const whole = await client.chat.completions.create(params);
    assert.equal(whole.object, "chat.completion");
    assert.equal(whole.choices[0].message.role, "assistant");
    const streamed = await collect(
        await client.chat.completions.create({ ...params, stream: true }), true);
    assert.equal(streamed.text, whole.choices[0].message.content);
    assert.equal(streamed.finish, whole.choices[0].finish_reason);
  });

  test("bad requests raise BadRequestError", async () => {
    await assert.rejects(
        client.completions.create({ model: "m", prompt: "a", max_tokens: -1 }),
        (e) => e instanceof OpenAI.BadRequestError && e.param === "max_tokens");
    await assert.rejects(
        client.completions.create({ model: "m", prompt: "a", temperature: "hot" }),
        (e) => e instanceof OpenAI.BadRequestError && e.param === "temperature");
    await assert.rejects(
        client.chat.completions.create({ model: "m", messages: [] }),
        (e) => e instanceof OpenAI.BadRequestError);
  });

  test("a wrong API key raises AuthenticationError", async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "nope", maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  });

  test("aborting a stream frees its slot", async () => {
    const stream = await client.completions.create({ model: "m", prompt: "ROMEO:",
        max_tokens: 1000000, ignore_eos: true, temperature: 0, stream: true });
    let n = 0;
    for await (const chunk of stream) {
      if (++n === 5) break;  // leaving the loop aborts the request
    }
    const deadline = Date.now() + 20000;
    let m;
    do {
      await new Promise((r) => setTimeout(r, 50));
      m = await metrics(server.url, KEY);
    } while (m.mamba_active_sequences !== 0 && Date.now() < deadline);
    assert.equal(m.mamba_active_sequences, 0);
  });
});
