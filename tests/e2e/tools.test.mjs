// A full tool-call round trip through the gateway with the official SDK:
// tools -> tool_calls -> tool result -> final answer, plain and streamed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { use_gateway, skip_reason, collect } from './harness.mjs';

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

describe('tool calls through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();

  it('round-trips tools -> tool_calls -> tool result -> final answer', async () => {
    const client = ctx.client();
    const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages, tools, tool_choice: 'auto' });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const reply = first.choices[0].message;
    assert.equal(reply.content, null);
    assert.equal(reply.tool_calls.length, 1);
    const call = reply.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.deepEqual(ctx.upstream.last_request().body.tools, tools);
    assert.equal(ctx.upstream.last_request().body.tool_choice, 'auto');

    messages.push(reply, { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 21, "sky": "clear"}' });
    const second = await client.chat.completions.create({ model: 'gpt-4o', messages, tools });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.equal(second.choices[0].message.content, 'The tool returned: {"temp_c": 21, "sky": "clear"}');
    const sent = ctx.upstream.last_request().body.messages;
    assert.equal(sent.length, 3);
    assert.equal(sent[1].tool_calls[0].id, call.id);
    assert.equal(sent[2].role, 'tool');
    assert.equal(sent[2].tool_call_id, call.id);
  });

  it('streams a tool call whose argument pieces reassemble', async () => {
    const chunks = await collect(await ctx.client().chat.completions.create({
      model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true,
    }));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    assert.ok(deltas.length > 1, 'arguments arrive in several chunks');
    assert.equal(deltas[0].id, 'call_fake0001');
    assert.equal(deltas[0].function.name, 'get_weather');
    assert.ok(deltas.every((d) => d.index === 0));
    assert.deepEqual(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join('')), { city: 'Paris' });
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'tool_calls'));
  });
});
