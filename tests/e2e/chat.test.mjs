// Chat through the gateway with the official SDK: plain, streamed with and without
// stream_options.include_usage, chunk-by-chunk delivery, the raw SSE ending and legacy completions.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { use_gateway, skip_reason, collect } from './harness.mjs';

const messages = [{ role: 'user', content: 'Tell me a joke' }];
const expected = 'Hello from the fake upstream. You said: Tell me a joke';

describe('chat through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();

  it('answers a chat completion and sends the configured model and key upstream', async () => {
    const { data, response } = await ctx.client().chat.completions
      .create({ model: 'gpt-4o', messages }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/gpt-4o');
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, expected);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.ok(data.usage.completion_tokens > 0);

    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, 'Bearer sk-upstream');  // not the client's key
    assert.equal(sent.body.model, 'gpt-4o');
    assert.deepEqual(sent.body.messages, messages);
  });

  it('fills in the configured model when the client sends none', async () => {
    const data = await ctx.client().chat.completions.create({ messages });
    assert.equal(data.choices[0].message.content, expected);
    assert.equal(ctx.upstream.last_request().body.model, 'gpt-4o');
  });

  it('streams and delivers the usage chunk when the client asks for it', async () => {
    const chunks = await collect(await ctx.client().chat.completions.create({
      model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true },
    }));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, expected);
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'stop'));
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage, 'the last chunk carries usage');
    assert.equal(last.usage.completion_tokens, expected.split(' ').length);
    assert.equal(ctx.upstream.last_request().body.stream_options?.include_usage, true);
  });

  it('asks the upstream for usage but strips the usage-only chunk when the client did not', async () => {
    const chunks = await collect(await ctx.client().chat.completions.create({ model: 'gpt-4o', messages, stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), expected);
    assert.ok(chunks.length > 3);
    for (const c of chunks) {
      assert.equal(c.choices.length, 1, `no usage-only chunk: ${JSON.stringify(c)}`);
      assert.ok(!c.usage, `no usage reaches the client: ${JSON.stringify(c)}`);
    }
    const sent = ctx.upstream.last_request().body;
    assert.equal(sent.stream, true);
    assert.equal(sent.stream_options?.include_usage, true, 'the gateway asked the upstream for usage');
  });

  it('forwards each chunk as it arrives (does not buffer the stream)', async () => {
    // The fake upstream pauses after its first content chunk until we release it. A gateway that
    // buffers delivers nothing until the deadline below releases the stream; the test then fails.
    const held = ctx.upstream.hold_stream();
    let deadline_hit = false;
    const deadline = setTimeout(() => { deadline_hit = true; held.release(); }, 5000);
    try {
      const stream = await ctx.client().chat.completions.create({ model: 'gpt-4o', messages, stream: true });
      const iter = stream[Symbol.asyncIterator]();
      let text = '';
      while (!text) {
        const next = await iter.next();
        assert.ok(!next.done, 'stream ended before the first content chunk');
        text += next.value.choices[0]?.delta?.content ?? '';
      }
      assert.equal(deadline_hit, false, 'the first chunk arrived only after the upstream finished');
      assert.equal(text, 'Hello');
      await held.reached;
      held.release();
      for (let n = await iter.next(); !n.done; n = await iter.next()) text += n.value.choices[0]?.delta?.content ?? '';
      assert.equal(text, expected);
    } finally {
      clearTimeout(deadline);
      held.release();  // never leave the fake upstream's stream hanging
    }
  });

  it('ends the raw SSE stream with data: [DONE]', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' },
      body: JSON.stringify({ model: 'gpt-4o', messages, stream: true }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const body = await res.text();
    const events = body.split(/\n\n/).filter((e) => e.trim());
    assert.equal(events[events.length - 1].trim(), 'data: [DONE]');
    assert.equal(body.match(/data: \[DONE\]/g).length, 1);
    for (const e of events.slice(0, -1)) JSON.parse(e.replace(/^data: /, ''));
  });

  it('answers a legacy completion (llm/v1/completions)', async () => {
    const data = await ctx.client().completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    assert.equal(data.choices[0].text, ' Fake completion of: Say this is a test');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/completions');
    assert.equal(sent.body.model, 'gpt-3.5-turbo-instruct');
  });
});
