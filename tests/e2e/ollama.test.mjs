// The official OpenAI SDK through aiproxy to a fake Ollama upstream (fake_ollama.mjs), with
// llama2 (llama2_format ollama): chat plain and streamed, parallel tool calls and their results
// (plain and streamed), JSON mode, images from data URLs, generate, embed, a mid-stream error,
// and Ollama's errors passed through or normalized. Touches only its fake upstream and gateway.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { start_fake_ollama } from './fake_ollama.mjs';
import { start_gateway, skip_reason } from './gateway.mjs';
import { collect } from './harness.mjs';

const model = 'llama3.2';

function ollama_config(upstream_url) {
  const ai = (route_type, name, extra = {}) => ({
    route_type,
    logging: { log_statistics: true, log_payloads: false },
    ...(extra.normalize_errors ? { normalize_errors: true } : {}),
    model: { provider: 'llama2', name, options: { llama2_format: 'ollama', upstream_url } },
  });
  const route = (name, path, config) => ({ name, paths: [path], plugins: [{ name: 'ai-proxy', config }] });
  return JSON.stringify({
    _format_version: '3.0',
    routes: [
      route('chat', '/v1/chat/completions', ai('llm/v1/chat', model)),
      route('completions', '/v1/completions', ai('llm/v1/completions', 'codellama')),
      route('embeddings', '/v1/embeddings', ai('llm/v1/embeddings', 'all-minilm')),
      route('missing', '/missing/v1/chat/completions', ai('llm/v1/chat', 'missing')),
      route('normalized', '/normalized/v1/chat/completions', ai('llm/v1/chat', 'missing', { normalize_errors: true })),
      route('crash', '/crash/v1/chat/completions', ai('llm/v1/chat', 'crash')),
    ],
  }, null, 2);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

describe('ollama through aiproxy', { skip: skip_reason() }, () => {
  let upstream;
  let gateway;
  before(async () => {
    upstream = await start_fake_ollama();
    try {
      gateway = await start_gateway(ollama_config(upstream.url));
    } catch (err) {
      await upstream.close();
      upstream = null;
      throw err;
    }
  });
  after(async () => {
    if (gateway) await gateway.stop();
    if (upstream) await upstream.close();
  });
  const client = (prefix = '') => new OpenAI({
    baseURL: `${gateway.base_url}${prefix}/v1`, apiKey: 'sk-unused', maxRetries: 0, timeout: 10_000,
  });

  it('answers a chat through /api/chat with Ollama options', async () => {
    const r = await client().chat.completions.create({
      model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }],
      max_tokens: 50, temperature: 0.2, stop: ['END'], seed: 7,
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, model);
    assert.equal(typeof r.created, 'number');
    assert.equal(r.choices[0].message.content, 'Hello from fake Ollama: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [26, 12, 38]);
    const sent = upstream.last_request();
    assert.equal(sent.url, '/api/chat');
    assert.equal(sent.body.stream, false);
    assert.deepEqual(sent.body.options, { num_predict: 50, temperature: 0.2, stop: ['END'], seed: 7 });
  });

  it('streams a chat with one finish chunk, the usage chunk and [DONE]', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Ollama: Stream please');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.total_tokens, 38);
    assert.equal(upstream.last_request().body.stream, true);
  });

  it('round-trips parallel tool calls and their results', async () => {
    const messages = [{ role: 'user', content: 'Weather and time in Paris?' }];
    const first = await client().chat.completions.create({ model, messages, tools });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const reply = first.choices[0].message;
    assert.equal(reply.content, null);
    assert.deepEqual(reply.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
      [['get_weather', { city: 'Paris' }], ['get_time', { city: 'Paris' }]]);
    assert.notEqual(reply.tool_calls[0].id, reply.tool_calls[1].id);
    messages.push(reply,
      { role: 'tool', tool_call_id: reply.tool_calls[0].id, content: '21 C' },
      { role: 'tool', tool_call_id: reply.tool_calls[1].id, content: '14:05' });
    const second = await client().chat.completions.create({ model, messages, tools });
    assert.equal(second.choices[0].message.content, 'The tool returned: get_weather=21 C | get_time=14:05');
    const sent = upstream.last_request().body.messages;
    assert.deepEqual(sent[1].tool_calls[0], { function: { name: 'get_weather', arguments: { city: 'Paris' } } });
  });

  it('streams tool calls with index, id, type and arguments', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true,
    }));
    const starts = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []).filter((t) => t.id);
    assert.deepEqual(starts.map((t) => [t.index, t.type, t.function.name]), [[0, 'function', 'get_weather'], [1, 'function', 'get_time']]);
    const args = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []).filter((t) => t.index === 1)
      .map((t) => t.function?.arguments ?? '').join('');
    assert.deepEqual(JSON.parse(args), { city: 'Paris' });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'tool_calls');
  });

  it('sends JSON mode as format json and images as base64', async () => {
    const j = await client().chat.completions.create({ model, messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
    assert.deepEqual(JSON.parse(j.choices[0].message.content), { city: 'Paris' });
    const r = await client().chat.completions.create({ model, messages: [{ role: 'user', content: [
      { type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Ollama: What is this? [1 images]');
    assert.deepEqual(upstream.last_request().body.messages[0].images, ['iVBORw0KGgo=']);
    await assert.rejects(client().chat.completions.create({ model, messages: [{ role: 'user', content: [
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
    (err) => err.status === 400 && /base64/.test(err.message));
  });

  it('completes through /api/generate, plain and streamed', async () => {
    const r = await client().completions.create({ model: 'codellama', prompt: 'def f():', max_tokens: 5 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' Fake Ollama completes: def f():');
    assert.equal(r.choices[0].finish_reason, 'length');
    const chunks = await collect(await client().completions.create({ model: 'codellama', prompt: 'x', stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), ' Fake Ollama completes: x');
  });

  it('embeds through /api/embed', async () => {
    const r = await client().embeddings.create({ model: 'all-minilm', input: ['abcdefgh', 'ab'], encoding_format: 'float' });
    assert.deepEqual(r.data.map((d) => d.embedding), [[1, 0.5, -0.25], [0.25, 0.5, -0.25]]);
    assert.equal(r.usage.prompt_tokens, 6);
    assert.equal(upstream.last_request().url, '/api/embed');
  });

  it('passes Ollama errors through, or normalizes them when the route asks', async () => {
    await assert.rejects(client('/missing').chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 404);
    await assert.rejects(client('/normalized').chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 404 && err.type === 'invalid_request_error' && /not found/.test(err.error?.message));
  });

  it('ends a stream with an error when Ollama reports one mid-stream', async () => {
    const stream = await client('/crash').chat.completions.create({ model: 'crash', messages: [{ role: 'user', content: 'x' }], stream: true });
    await assert.rejects(collect(stream), (err) => /unexpected EOF/.test(err.message));
  });
});
