// The official OpenAI SDK through aiproxy to a fake Anthropic upstream (fake_anthropic.mjs):
// chat plain and streamed, parallel tool calls and their results, JSON mode, legacy completions,
// and Anthropic's errors passed through or normalized. Touches only its fake upstream and gateway.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { start_fake_anthropic } from './fake_anthropic.mjs';
import {
  use_provider_gateway, ai_plugin, ai_route, error_routes, routes_config, collect, skip_reason,
} from './harness.mjs';

const model = 'claude-sonnet-4-20250514';

function anthropic_config(upstream) {
  const ai = (route_type, name, extra = {}) => ai_plugin({
    route_type,
    auth: { header_name: 'x-api-key', header_value: extra.key ?? 'sk-ant-upstream' },
    log_statistics: route_type === 'llm/v1/chat',
    normalize_errors: extra.normalize_errors,
    provider: 'anthropic', model: name, options: { anthropic_version: '2023-06-01', upstream_url: upstream.url },
  });
  return routes_config([
    ai_route('chat', '/v1/chat/completions', ai('llm/v1/chat', model)),
    ai_route('completions', '/v1/completions', ai('llm/v1/completions', 'claude-2.1')),
    ...error_routes(ai, model, 'sk-ant-revoked'),
  ]);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

describe('anthropic through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_anthropic, anthropic_config);
  const { client } = ctx;

  it('answers a chat with the Messages API underneath', async () => {
    const r = await client().chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi there' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^msg_fake/);
    assert.equal(r.model, `${model}-fake`);
    assert.equal(r.choices[0].message.content, 'Hello from fake Claude: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 3);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], 'sk-ant-upstream');
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers.authorization, undefined, 'the client key does not travel upstream');
    assert.deepEqual(sent.body.system, [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Be kind.' }]);
    assert.equal(sent.body.max_tokens, 4096);
  });

  it('streams a chat with one finish chunk, the usage chunk and [DONE]', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true },
    }));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from fake Claude: Stream please');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'stop');
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.completion_tokens > 0);
    assert.equal(last.usage.prompt_tokens_details.cached_tokens, 3);
    assert.ok(chunks.every((c) => c.id.startsWith('msg_fake')));
  });

  it('round-trips parallel tool calls and their results', async () => {
    const messages = [{ role: 'user', content: 'Weather and time in Paris?' }];
    const first = await client().chat.completions.create({ model, messages, tools });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const reply = first.choices[0].message;
    assert.equal(reply.content, 'Let me look that up.');
    assert.deepEqual(reply.tool_calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [
      ['toolu_fake1', 'get_weather', { city: 'Paris' }],
      ['toolu_fake2', 'get_time', { city: 'Paris' }],
    ]);
    assert.deepEqual(ctx.upstream.last_request().body.tools[0], { name: 'get_weather', description: 'Current weather in a city', input_schema: tools[0].function.parameters });

    messages.push(reply,
      { role: 'tool', tool_call_id: 'toolu_fake1', content: '21 C' },
      { role: 'tool', tool_call_id: 'toolu_fake2', content: '14:05' });
    const second = await client().chat.completions.create({ model, messages, tools });
    assert.equal(second.choices[0].message.content, 'The tool returned: 21 C | 14:05');
    assert.equal(second.choices[0].finish_reason, 'stop');
    const sent = ctx.upstream.last_request().body.messages;
    assert.equal(sent.length, 3, 'the two tool results share one user turn');
    assert.deepEqual(sent[1].content.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
    assert.deepEqual(sent[2].content.map((b) => b.tool_use_id), ['toolu_fake1', 'toolu_fake2']);
  });

  it('streams parallel tool calls with their own indexes', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather and time?' }], tools, stream: true,
    }));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    const by_index = new Map();
    for (const d of deltas) {
      const call = by_index.get(d.index) ?? { id: d.id, name: d.function?.name, args: '' };
      call.args += d.function?.arguments ?? '';
      by_index.set(d.index, call);
    }
    assert.deepEqual([...by_index.keys()], [0, 1]);
    assert.equal(by_index.get(0).id, 'toolu_fake1');
    assert.equal(by_index.get(1).name, 'get_time');
    assert.deepEqual(JSON.parse(by_index.get(1).args), { city: 'Paris' });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'tool_calls');
  });

  it('gives JSON mode answers as content, plain and streamed', async () => {
    const response_format = {
      type: 'json_schema',
      json_schema: { name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    };
    const r = await client().chat.completions.create({ model, messages: [{ role: 'user', content: 'A city?' }], response_format });
    assert.deepEqual(JSON.parse(r.choices[0].message.content), { city: 'Paris' });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].message.tool_calls, undefined);
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'A city?' }], response_format, stream: true,
    }));
    assert.deepEqual(JSON.parse(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')), { city: 'Paris' });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'stop');
  });

  it('serves legacy completions, plain and streamed', async () => {
    const r = await client().completions.create({ model: 'claude-2.1', prompt: 'Say hi' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' Fake Claude completes: Say hi');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(ctx.upstream.last_request().url, '/v1/complete');
    const chunks = await collect(await client().completions.create({ model: 'claude-2.1', prompt: 'Say hi', stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), ' Fake Claude completes: Say hi');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  it('rejects what Anthropic cannot express with a 400', async () => {
    await assert.rejects(
      client().chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], seed: 7 }),
      (err) => err.status === 400 && /seed/.test(err.message));
  });

  it('passes Anthropic errors through, or normalizes them when the route asks', async () => {
    await assert.rejects(
      client('/badkey').chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 401 && /invalid x-api-key/.test(err.message));
    await assert.rejects(
      client('/normalized').chat.completions.create({ model: 'overloaded', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 529 && err.type === 'server_error' && err.code === 'overloaded_error' && /Overloaded/.test(err.message));
  });

  it('turns a mid-stream Anthropic error into a stream error', async () => {
    const stream = await client('/overloaded').chat.completions.create({
      model: 'overloaded', messages: [{ role: 'user', content: 'x' }], stream: true,
    });
    let text = '';
    await assert.rejects((async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })(), (err) => /Overloaded/.test(err.message));
    assert.equal(text, 'Partial answer');
  });
});
