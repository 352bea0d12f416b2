// The official OpenAI SDK through aiproxy to a fake Gemini upstream (fake_gemini.mjs): chat plain
// and streamed (SSE and JSON array), parallel tool calls and their results, JSON mode, legacy
// completions, embeddings, Vertex paths, and Google's errors passed through or normalized.
// Touches only its fake upstream and gateway.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { start_fake_gemini } from './fake_gemini.mjs';
import {
  use_provider_gateway, ai_plugin, ai_route, error_routes, routes_config, collect, skip_reason,
} from './harness.mjs';

const model = 'gemini-2.0-flash';

function gemini_config(upstream) {
  const ai = (route_type, name, extra = {}) => ai_plugin({
    route_type,
    auth: extra.auth ?? { header_name: 'x-goog-api-key', header_value: extra.key ?? 'AIza-upstream' },
    normalize_errors: extra.normalize_errors,
    provider: 'gemini', model: name, options: { upstream_url: upstream.url, ...(extra.options ?? {}) },
  });
  const vertex = { gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'proj-1', location_id: 'us-central1' } };
  return routes_config([
    ai_route('chat', '/v1/chat/completions', ai('llm/v1/chat', model)),
    ai_route('completions', '/v1/completions', ai('llm/v1/completions', model)),
    ai_route('embeddings', '/v1/embeddings', ai('llm/v1/embeddings', 'text-embedding-004')),
    ai_route('query', '/query/v1/chat/completions', ai('llm/v1/chat', model, {
      auth: { param_name: 'key', param_value: 'AIza-upstream', param_location: 'query' } })),
    ai_route('vertex', '/vertex/v1/chat/completions', ai('llm/v1/chat', model, { options: vertex })),
    ai_route('array', '/array/v1/chat/completions', ai('llm/v1/chat', 'array-stream')),
    ...error_routes(ai, model, 'AIza-revoked'),
  ]);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

describe('gemini through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_gemini, gemini_config);
  const { client } = ctx;

  it('answers a chat with generateContent underneath', async () => {
    const r = await client().chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi there' }],
      max_tokens: 50,
      temperature: 0.3,
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^resp-fake-/);
    assert.equal(r.model, `${model}-001`);
    assert.equal(r.choices[0].message.content, 'Hello from fake Gemini: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 2);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1beta/models/${model}:generateContent`);
    assert.equal(sent.headers['x-goog-api-key'], 'AIza-upstream');
    assert.equal(sent.headers.authorization, undefined, 'the client key does not travel upstream');
    assert.deepEqual(sent.body.systemInstruction, { parts: [{ text: 'Be brief.\nBe kind.' }] });
    assert.deepEqual(sent.body.generationConfig, { maxOutputTokens: 50, temperature: 0.3 });
  });

  it('sends the key as a query parameter when configured so', async () => {
    const r = await client('/query').chat.completions.create({ model, messages: [{ role: 'user', content: 'q' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Gemini: q');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.query.get('key'), 'AIza-upstream');
    assert.equal(sent.headers['x-goog-api-key'], undefined);
  });

  it('streams SSE chunks with one finish chunk and the usage chunk', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Tell me something' }], stream: true, stream_options: { include_usage: true },
    }));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from fake Gemini: Tell me something');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'stop');
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.completion_tokens > 0);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === `${model}-001` && /^resp-fake-/.test(c.id)));
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1beta/models/${model}:streamGenerateContent`);
    assert.equal(sent.query.get('alt'), 'sse');
  });

  it('accepts a stream sent as a JSON array', async () => {
    const chunks = await collect(await client('/array').chat.completions.create({
      model: 'array-stream', messages: [{ role: 'user', content: 'Array please' }], stream: true,
    }));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from fake Gemini: Array please');
    assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'stop');
  });

  it('returns parallel tool calls and sends their results back with the right names', async () => {
    const first = await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather and time in Paris?' }], tools,
    });
    const msg = first.choices[0].message;
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, 'Let me look that up.');
    assert.deepEqual(msg.tool_calls.map((c) => c.function.name), ['get_weather', 'get_time']);
    assert.equal(new Set(msg.tool_calls.map((c) => c.id)).size, 2);
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
    const declared = ctx.upstream.last_request().body.tools[0].functionDeclarations;
    assert.equal(declared[0].parametersJsonSchema.additionalProperties, false);

    const second = await client().chat.completions.create({
      model, tools,
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        msg,
        { role: 'tool', tool_call_id: msg.tool_calls[1].id, content: '{"time":"12:00"}' },
        { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'sunny' },
      ],
    });
    assert.equal(second.choices[0].message.content,
      'The tool returned: get_time={"time":"12:00"} | get_weather={"content":"sunny"}');
    const turns = ctx.upstream.last_request().body.contents;
    assert.deepEqual(turns.map((t) => t.role), ['user', 'model', 'user']);
    assert.equal(turns[1].parts.filter((p) => p.functionCall).length, 2);
  });

  it('streams tool calls with index, id, type and arguments', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true,
    }));
    const calls = [];
    for (const c of chunks) {
      for (const d of c.choices[0]?.delta?.tool_calls ?? []) {
        calls[d.index] ??= { id: d.id, type: d.type, name: d.function?.name, arguments: '' };
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
    }
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.name), ['get_weather', 'get_time']);
    assert.ok(calls.every((c) => c.type === 'function' && c.id));
    assert.deepEqual(JSON.parse(calls[1].arguments), { city: 'Paris' });
    assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
  });

  it('forces a named function', async () => {
    const r = await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Time?' }], tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_time');
    assert.deepEqual(ctx.upstream.last_request().body.toolConfig,
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } });
  });

  it('asks for JSON in JSON mode', async () => {
    const r = await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' },
    });
    assert.deepEqual(JSON.parse(r.choices[0].message.content), { ok: true });
    assert.equal(ctx.upstream.last_request().body.generationConfig.responseMimeType, 'application/json');
  });

  it('sends images as inline data', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    await client().chat.completions.create({
      model, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    const parts = ctx.upstream.last_request().body.contents[0].parts;
    assert.deepEqual(parts[1], { inlineData: { mimeType: 'image/png', data: png } });
  });

  it('answers legacy completions', async () => {
    const r = await client().completions.create({ model, prompt: 'Say hi' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, 'Hello from fake Gemini: Say hi');
    const chunks = await collect(await client().completions.create({ model, prompt: 'Say hi', stream: true }));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), 'Hello from fake Gemini: Say hi');
  });

  it('computes embeddings with batchEmbedContents', async () => {
    const r = await client().embeddings.create({
      model: 'text-embedding-004', input: ['abc', 'de'], dimensions: 3, encoding_format: 'float',
    });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    assert.equal(r.data[1].embedding.length, 3);
    assert.ok(Math.abs(r.data[1].embedding[0] - 0.02) < 1e-6);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1beta/models/text-embedding-004:batchEmbedContents');
    assert.equal(sent.body.requests[0].model, 'models/text-embedding-004');
  });

  it('uses the Vertex AI path when the gemini options are set', async () => {
    const r = await client('/vertex').chat.completions.create({ model, messages: [{ role: 'user', content: 'Vertex?' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Gemini: Vertex?');
    assert.equal(ctx.upstream.last_request().path,
      `/v1/projects/proj-1/locations/us-central1/publishers/google/models/${model}:generateContent`);
  });

  it('passes Google errors through with their status', async () => {
    await assert.rejects(
      client('/badkey').chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 400 && /API key not valid/.test(err.message));
  });

  it('normalizes Google errors into the OpenAI shape when asked', async () => {
    await assert.rejects(
      client('/normalized').chat.completions.create({ model: 'overloaded', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 503 && err.code === 'UNAVAILABLE' && err.type === 'server_error');
  });

  it('turns a mid-stream error event into a stream error', async () => {
    const stream = await client('/overloaded').chat.completions.create({
      model: 'overloaded', messages: [{ role: 'user', content: 'x' }], stream: true,
    });
    await assert.rejects(collect(stream), /overloaded/);
  });
});
