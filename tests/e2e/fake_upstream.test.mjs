// Checks the fake upstream itself with the official SDK pointed straight at it (no gateway), so a
// failing gateway test is never the fake's fault. Runs with or without AIPROXY_BIN.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { start_fake_upstream, fake_embedding } from './fake_upstream.mjs';
import { collect } from './harness.mjs';

describe('fake upstream (SDK direct, no gateway)', () => {
  let upstream;
  let client;
  before(async () => {
    upstream = await start_fake_upstream();
    client = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-upstream', maxRetries: 0 });
  });
  after(() => upstream.close());

  it('answers chat and records the request', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, 'Hello from the fake upstream. You said: hi there');
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const rec = upstream.last_request();
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.headers.authorization, 'Bearer sk-upstream');
    assert.equal(rec.body.model, 'gpt-4o');
  });

  it('streams with and without the usage chunk', async () => {
    const params = { model: 'gpt-4o', messages: [{ role: 'user', content: 'one two' }], stream: true };
    const plain = await collect(await client.chat.completions.create(params));
    assert.ok(plain.every((c) => c.choices.length === 1 && !c.usage));
    assert.equal(plain.map((c) => c.choices[0].delta.content ?? '').join(''),
      'Hello from the fake upstream. You said: one two');
    const withu = await collect(await client.chat.completions.create({ ...params, stream_options: { include_usage: true } }));
    const last = withu[withu.length - 1];
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.completion_tokens > 0);
  });

  it('holds a stream until released', async () => {
    const held = upstream.hold_stream();
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    const it_ = stream[Symbol.asyncIterator]();
    let first;
    do { first = (await it_.next()).value; } while (!first.choices[0].delta.content);
    await held.reached;
    held.release();
    let rest = 0;
    for (let n = await it_.next(); !n.done; n = await it_.next()) rest++;
    assert.ok(rest > 1);
  });

  it('round-trips a tool call', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const messages = [{ role: 'user', content: 'weather?' }];
    const r1 = await client.chat.completions.create({ model: 'gpt-4o', messages, tools });
    assert.equal(r1.choices[0].finish_reason, 'tool_calls');
    const call = r1.choices[0].message.tool_calls[0];
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    const r2 = await client.chat.completions.create({ model: 'gpt-4o', tools, messages: [...messages, r1.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }] });
    assert.equal(r2.choices[0].message.content, 'The tool returned: sunny');
  });

  it('answers embeddings in float and base64 (the SDK default)', async () => {
    const f = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'abc', encoding_format: 'float' });
    const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['abc', 'def'] });
    assert.equal(upstream.last_request().body.encoding_format, 'base64');
    assert.deepEqual(f.data[0].embedding, fake_embedding('abc', 8));
    assert.deepEqual(b.data[0].embedding, f.data[0].embedding);
    assert.equal(b.data.length, 2);
  });

  it('answers legacy completions', async () => {
    const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this' });
    assert.equal(r.choices[0].text, ' Fake completion of: Say this');
  });

  it('rejects a wrong key with OpenAI\'s 401 body', async () => {
    const bad = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-wrong-key-123', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.AuthenticationError && err.code === 'invalid_api_key' && /Incorrect API key provided: sk-\*+-123/.test(err.message));
  });

  it('scripts errors by model name', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'error-429', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.RateLimitError && err.headers.get('retry-after') === '1');
  });
});
