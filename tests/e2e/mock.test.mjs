// The built-in mock provider through the gateway: deterministic answers, plain and streamed,
// without touching the network.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { use_gateway, skip_reason, collect } from './harness.mjs';

const messages = [{ role: 'user', content: 'Ping from the e2e test' }];

describe('mock provider through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();

  it('answers with the configured reply and never calls the upstream', async () => {
    const before = ctx.upstream.requests.length;
    const { data, response } = await ctx.client('/mockfixed').chat.completions
      .create({ model: 'mock-model', messages }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-kong-llm-model'), 'mock/mock-model');
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, 'Fixed mock reply.');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage.total_tokens > 0);
    assert.equal(ctx.upstream.requests.length, before);
  });

  it('answers the same prompt the same way', async () => {
    const a = await ctx.client('/mock').chat.completions.create({ messages });
    const b = await ctx.client('/mock').chat.completions.create({ messages });
    const c = await ctx.client('/mock').chat.completions.create({ messages: [{ role: 'user', content: 'Something else' }] });
    assert.equal(typeof a.choices[0].message.content, 'string');
    assert.ok(a.choices[0].message.content.length > 0);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.deepEqual(a.usage, b.usage);
    assert.notEqual(c.choices[0].message.content, a.choices[0].message.content, 'the reply depends on the prompt');
  });

  it('streams the same text it answers, with usage on request', async () => {
    const plain = await ctx.client('/mock').chat.completions.create({ messages });
    const chunks = await collect(await ctx.client('/mock').chat.completions.create({
      messages, stream: true, stream_options: { include_usage: true },
    }));
    assert.ok(chunks.length > 2);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), plain.choices[0].message.content);
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'stop'));
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.completion_tokens > 0);
  });

  it('streams the configured reply', async () => {
    const chunks = await collect(await ctx.client('/mockfixed').chat.completions.create({ messages, stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Fixed mock reply.');
    assert.ok(chunks.every((c) => !c.usage));
  });
});
