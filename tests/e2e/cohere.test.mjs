// The official OpenAI SDK through aiproxy to a fake Cohere upstream (fake_cohere.mjs): v2 chat
// plain and streamed, parallel tool calls and their results (plain and streamed), JSON mode,
// images, the v1 chat API behind a /v1/chat upstream_url, generate, embed, and Cohere's errors
// passed through or normalized. Touches only its fake upstream and gateway.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { start_fake_cohere } from './fake_cohere.mjs';
import {
  use_provider_gateway, ai_plugin, ai_route, error_routes, routes_config, collect, skip_reason,
} from './harness.mjs';

const model = 'command-a-03-2025';

function cohere_config(upstream) {
  const ai = (route_type, name, extra = {}) => ai_plugin({
    route_type,
    auth: { header_name: 'Authorization', header_value: `Bearer ${extra.key ?? 'co-upstream'}` },
    normalize_errors: extra.normalize_errors,
    provider: 'cohere', model: name,
    options: { upstream_url: extra.url ?? upstream.url, ...(extra.options ?? {}) },
  });
  return routes_config([
    ai_route('chat', '/v1/chat/completions', ai('llm/v1/chat', model)),
    ai_route('v1chat', '/v1api/v1/chat/completions', ai('llm/v1/chat', 'command-r', { url: `${upstream.url}/v1/chat` })),
    ai_route('completions', '/v1/completions', ai('llm/v1/completions', 'command')),
    ai_route('embeddings', '/v1/embeddings', ai('llm/v1/embeddings', 'embed-v4.0', { options: { cohere: { embedding_input_type: 'search_query' } } })),
    ...error_routes(ai, model, 'co-revoked'),
  ]);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

describe('cohere through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_cohere, cohere_config);
  const { client } = ctx;

  it('answers a chat with the v2 Chat API underneath', async () => {
    const r = await client().chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi there' }],
      temperature: 0.2, top_p: 0.8, stop: ['END'], seed: 7,
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^fake-/);
    assert.equal(r.model, model);
    assert.equal(r.choices[0].message.content, 'Hello from fake Cohere: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 2);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v2/chat');
    assert.equal(sent.headers.authorization, 'Bearer co-upstream', 'the gateway key replaces the client key');
    assert.deepEqual(sent.body.messages.slice(0, 2), [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Be kind.' }]);
    assert.equal(sent.body.p, 0.8);
    assert.deepEqual(sent.body.stop_sequences, ['END']);
    assert.equal(sent.body.seed, 7);
  });

  it('streams a chat with one finish chunk, the usage chunk and [DONE]', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Cohere: Stream please');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'stop');
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 7);
    assert.ok(chunks.every((c) => c.id.startsWith('fake-')));
  });

  it('round-trips parallel tool calls and their results', async () => {
    const messages = [{ role: 'user', content: 'Weather and time in Paris?' }];
    const first = await client().chat.completions.create({ model, messages, tools, tool_choice: 'required' });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const reply = first.choices[0].message;
    assert.equal(reply.content, null);
    assert.equal(reply.reasoning_content, 'I will call the tools.');
    assert.deepEqual(reply.tool_calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [
      ['get_weather_fake1', 'get_weather', { city: 'Paris' }],
      ['get_time_fake2', 'get_time', { city: 'Paris' }],
    ]);
    assert.equal(ctx.upstream.last_request().body.tool_choice, 'REQUIRED');
    assert.deepEqual(ctx.upstream.last_request().body.tools[0], tools[0]);

    messages.push(reply,
      { role: 'tool', tool_call_id: 'get_weather_fake1', content: '21 C' },
      { role: 'tool', tool_call_id: 'get_time_fake2', content: '14:05' });
    const second = await client().chat.completions.create({ model, messages, tools });
    assert.equal(second.choices[0].message.content, 'The tool returned: 21 C | 14:05');
    assert.equal(second.choices[0].finish_reason, 'stop');
    const sent = ctx.upstream.last_request().body.messages;
    assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'tool', 'tool']);
    assert.equal(sent[1].tool_calls[1].id, 'get_time_fake2');
    assert.equal(sent[3].tool_call_id, 'get_time_fake2');
  });

  it('streams parallel tool calls with their own indexes', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather and time?' }], tools, stream: true,
    }));
    const by_index = new Map();
    for (const d of chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])) {
      const call = by_index.get(d.index) ?? { id: d.id, type: d.type, name: d.function?.name, args: '' };
      call.args += d.function?.arguments ?? '';
      by_index.set(d.index, call);
    }
    assert.deepEqual([...by_index.keys()], [0, 1]);
    assert.equal(by_index.get(0).id, 'get_weather_fake1');
    assert.equal(by_index.get(0).type, 'function');
    assert.equal(by_index.get(1).name, 'get_time');
    assert.deepEqual(JSON.parse(by_index.get(1).args), { city: 'Paris' });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'tool_calls');
  });

  it('sends JSON mode and images the Cohere way', async () => {
    const r = await client().chat.completions.create({
      model,
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'Which city is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ] }],
      response_format: { type: 'json_schema', json_schema: { name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } } } } },
    });
    assert.deepEqual(JSON.parse(r.choices[0].message.content), { city: 'Paris' });
    const sent = ctx.upstream.last_request().body;
    assert.deepEqual(sent.response_format, { type: 'json_object', json_schema: { type: 'object', properties: { city: { type: 'string' } } } });
    assert.deepEqual(sent.messages[0].content[1], { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } });
  });

  it('speaks the v1 Chat API when upstream_url ends in /v1/chat', async () => {
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'One' }, { role: 'assistant', content: 'Two' }, { role: 'user', content: 'Three' }];
    const r = await client('/v1api').chat.completions.create({ model: 'command-r', messages });
    assert.equal(r.choices[0].message.content, 'Hello from fake Cohere v1: Three');
    assert.equal(r.usage.prompt_tokens, 30);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v1/chat');
    assert.equal(sent.body.preamble, 'Be brief.');
    assert.deepEqual(sent.body.chat_history, [{ role: 'USER', message: 'One' }, { role: 'CHATBOT', message: 'Two' }]);
    const chunks = await collect(await client('/v1api').chat.completions.create({ model: 'command-r', messages, stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Cohere v1: Three');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  it('serves completions through generate, plain and streamed', async () => {
    const r = await client().completions.create({ model: 'command', prompt: 'Say hi' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' Fake Cohere completes: Say hi');
    assert.equal(r.usage.total_tokens, 10);
    assert.equal(ctx.upstream.last_request().url, '/v1/generate');
    const chunks = await collect(await client().completions.create({ model: 'command', prompt: 'Say hi', stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), ' Fake Cohere completes: Say hi');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  it('serves embeddings through embed', async () => {
    const r = await client().embeddings.create({ model: 'embed-v4.0', input: ['hello', 'goodbye'], dimensions: 4, encoding_format: 'float' });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    assert.deepEqual(r.data[1].embedding, [7 / 8, 1, 9 / 8, 10 / 8]);
    assert.equal(r.usage.prompt_tokens, 4);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v2/embed');
    assert.equal(sent.body.input_type, 'search_query');
    assert.equal(sent.body.output_dimension, 4);
    assert.deepEqual(sent.body.embedding_types, ['float']);
  });

  it('rejects what Cohere cannot express with a 400', async () => {
    await assert.rejects(
      client().chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], tools, tool_choice: { type: 'function', function: { name: 'get_time' } } }),
      (err) => err.status === 400 && /tool_choice/.test(err.message));
  });

  it('passes Cohere errors through, or normalizes them when the route asks', async () => {
    await assert.rejects(
      client('/badkey').chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      // Passed through unchanged: Cohere's {"message"} body is not OpenAI-shaped, so the SDK
      // only reports the status.
      (err) => err.status === 401 && err.error === undefined);
    assert.equal(ctx.upstream.last_request().headers.authorization, 'Bearer co-revoked');
    await assert.rejects(
      client('/normalized').chat.completions.create({ model: 'overloaded', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 429 && err.type === 'rate_limit_error' && err.error?.message === 'too many requests, slow down');
  });

  it('turns a Cohere generation error mid-stream into a stream error', async () => {
    const stream = await client('/overloaded').chat.completions.create({
      model: 'overloaded', messages: [{ role: 'user', content: 'x' }], stream: true,
    });
    let text = '';
    await assert.rejects((async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })(), (err) => /model overloaded/.test(err.message));
    assert.equal(text, 'Partial answer');
  });
});
