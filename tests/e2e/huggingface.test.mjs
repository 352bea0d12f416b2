// The official OpenAI SDK through aiproxy to a fake Hugging Face upstream (fake_huggingface.mjs):
// router chat plain, streamed and with tools; text-generation completions plain and from a TGI
// token stream; feature-extraction embeddings through the SDK's default (base64) call; HF errors
// (200 with {"error"}, 503 model loading passed through or normalized); and llama2 with
// llama2_format raw: the Llama 2 [INST] prompt, TGI answers and token streams, tools refused.
// Touches only its fake upstream and gateway.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  start_fake_huggingface, fake_vector, LLAMA2_MESSAGES, LLAMA2_ANSWER,
} from './fake_huggingface.mjs';
import {
  use_provider_gateway, ai_plugin, ai_route, routes_config, collect, skip_reason,
} from './harness.mjs';

const chat_model = 'meta-llama/Llama-3.1-8B-Instruct';
const gen_model = 'openai-community/gpt2';
const embed_model = 'sentence-transformers/all-MiniLM-L6-v2';

function hf_config(upstream) {
  const hf = (route_type, name, extra = {}) => ai_plugin({
    route_type,
    auth: { header_name: 'Authorization', header_value: 'Bearer hf-upstream' },
    normalize_errors: extra.normalize_errors,
    provider: 'huggingface', model: name,
    // A path-less upstream_url keeps each route's Hugging Face path on the fake's host.
    options: { upstream_url: upstream.url, ...(extra.options ?? {}) },
  });
  const llama = (route_type) => ai_plugin({
    route_type,
    auth: { header_name: 'Authorization', header_value: 'Bearer llama-upstream' },
    provider: 'llama2', model: 'llama-2-7b-chat',
    options: { llama2_format: 'raw', upstream_url: `${upstream.url}/llama/generate` },
  });
  return routes_config([
    ai_route('chat', '/v1/chat/completions', hf('llm/v1/chat', chat_model, { options: { huggingface: { wait_for_model: true } } })),
    ai_route('completions', '/v1/completions', hf('llm/v1/completions', gen_model)),
    ai_route('embeddings', '/v1/embeddings', hf('llm/v1/embeddings', embed_model)),
    ai_route('error200', '/error200/v1/chat/completions', hf('llm/v1/chat', 'error-200')),
    ai_route('loading', '/loading/v1/chat/completions', hf('llm/v1/chat', 'loading')),
    ai_route('loadingn', '/loadingn/v1/chat/completions', hf('llm/v1/chat', 'loading', { normalize_errors: true })),
    ai_route('tgi2', '/tgi2/v1/chat/completions', hf('llm/v1/chat', 'tgi-2')),
    ai_route('llama', '/llama/v1/chat/completions', llama('llm/v1/chat')),
  ]);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

describe('huggingface and llama2 raw through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_huggingface, hf_config);
  const { client } = ctx;

  it('answers a router chat in OpenAI shape with the gateway key', async () => {
    const r = await client().chat.completions.create({
      model: chat_model, messages: [{ role: 'user', content: 'Hi there' }], max_completion_tokens: 50,
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-fakehf\d+$/);
    assert.equal(r.model, chat_model);
    assert.equal(r.choices[0].message.content, 'Hello from fake HF: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual(r.usage, { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, 'Bearer hf-upstream', 'the gateway key replaces the client key');
    assert.equal(sent.headers['x-wait-for-model'], 'true');
    assert.equal(sent.body.model, chat_model);
    assert.equal(sent.body.stream, false);
    assert.equal(sent.body.max_tokens, 50, 'the router documents max_tokens only');
    assert.equal(sent.body.max_completion_tokens, undefined);
  });

  it('streams a TGI-style chat with one finish chunk, the usage chunk and [DONE]', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model: chat_model, messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake HF: Stream please');
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0].choices[0].finish_reason, 'stop', "TGI's eos_token becomes stop");
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.total_tokens, 17);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1);
    assert.notEqual([...ids][0], '', "TGI's empty ids are replaced by the gateway's");
    const sent = ctx.upstream.last_request().body;
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.stream_options, { include_usage: true });
  });

  it('drops the usage chunk it asked for when the client did not', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model: chat_model, messages: [{ role: 'user', content: 'No usage' }], stream: true,
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake HF: No usage');
    assert.ok(chunks.every((c) => c.usage == null), 'no chunk carries usage');
    assert.deepEqual(ctx.upstream.last_request().body.stream_options, { include_usage: true }, 'the gateway still asks, to log usage');
  });

  it('returns the router tool calls', async () => {
    const r = await client().chat.completions.create({
      model: chat_model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, tool_choice: 'auto',
    });
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    const msg = r.choices[0].message;
    assert.equal(msg.content, null);
    assert.equal(msg.tool_calls.length, 1);
    assert.match(msg.tool_calls[0].id, /^call_fakehf\d+$/);
    assert.equal(msg.tool_calls[0].type, 'function');
    assert.equal(msg.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
    const sent = ctx.upstream.last_request().body;
    assert.deepEqual(sent.tools, tools);
    assert.equal(sent.tool_choice, 'auto');
  });

  // TGI 2.x's Messages API answers tool calls with function.arguments as a JSON object and
  // finish_reason "eos_token"; the client must get a JSON string and "tool_calls".
  it('turns a TGI 2.x tool call (arguments as an object) into OpenAI shape', async () => {
    const r = await client('/tgi2').chat.completions.create({
      model: 'tgi-2', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools,
    });
    assert.notEqual(r.id, '');
        assert.equal(r.choices[0].finish_reason, 'tool_calls', 'a tool call answer finishes with tool_calls');
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof call.function.arguments, 'string', 'OpenAI arguments are a JSON string');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  });

  it('serves completions through text-generation', async () => {
    const r = await client().completions.create({ model: gen_model, prompt: 'Once upon', max_tokens: 9, temperature: 0.5 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' and fake HF continues: Once upon');
    assert.equal(r.choices[0].finish_reason, 'length');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/hf-inference/models/${gen_model}`, "the model id keeps its '/' in the path");
    assert.equal(sent.headers.authorization, 'Bearer hf-upstream');
    assert.equal(sent.body.inputs, 'Once upon');
    assert.equal(sent.body.parameters.max_new_tokens, 9);
    assert.equal(sent.body.parameters.temperature, 0.5);
    assert.equal(sent.body.parameters.return_full_text, false);
  });

  it('streams completions from a TGI token stream', async () => {
    const chunks = await collect(await client().completions.create({
      model: gen_model, prompt: 'Once upon', stream: true, stream_options: { include_usage: true },
    }));
    const text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
    assert.equal(text, ' and fake HF continues: Once upon', 'the special </s> token is not text');
    assert.ok(!text.includes('</s>'));
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0].choices[0].finish_reason, 'length');
    const usage = chunks.find((c) => c.usage)?.usage;
    const generated = Math.ceil(' and fake HF continues: Once upon'.length / 4) + 1;
    assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: generated, total_tokens: 3 + generated });
    assert.equal(ctx.upstream.last_request().body.stream, true);
  });

  it('serves embeddings through the SDK default call (base64 re-encoded by the gateway)', async () => {
    const input = ['hello', 'goodbye, world'];
    const r = await client().embeddings.create({ model: embed_model, input });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    input.forEach((s, i) => {
      assert.equal(r.data[i].index, i);
      assert.equal(r.data[i].embedding.length, 4);
      assert.deepEqual(r.data[i].embedding, fake_vector(s).map(Math.fround), `vector ${i} within float32 precision`);
    });
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/hf-inference/models/${embed_model}/pipeline/feature-extraction`);
    assert.deepEqual(sent.body, { inputs: input }, 'encoding_format is the gateway\'s business, not the upstream\'s');
  });

  it('turns a 200 carrying {"error"} into a 502', async () => {
    await assert.rejects(
      client('/error200').chat.completions.create({ model: 'error-200', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 502 && /CUDA out of memory on the fake GPU/.test(err.message));
    assert.equal(ctx.upstream.last_request().body.model, 'error-200');
  });

  it('passes a 503 model loading through, or normalizes it when the route asks', async () => {
    await assert.rejects(
      client('/loading').chat.completions.create({ model: 'loading', messages: [{ role: 'user', content: 'x' }] }),
      // Unchanged body: the SDK reads its "error" string as the error.
      (err) => err.status === 503 && err.error === 'Model loading is currently loading');
    await assert.rejects(
      client('/loadingn').chat.completions.create({ model: 'loading', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 503 && err.type === 'server_error' && err.code === 'model_loading'
        && err.error?.message === 'Model loading is currently loading');
  });

  it('builds the Llama 2 prompt for llama2 raw and answers from generated_text', async () => {
    const r = await client('/llama').chat.completions.create({ model: 'llama-2-7b-chat', messages: LLAMA2_MESSAGES, max_tokens: 30 });
    // The fake answers 400 unless "inputs" is exactly the expected [INST] prompt.
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, LLAMA2_ANSWER);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.model, 'llama-2-7b-chat');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/llama/generate', 'a pathed upstream_url is the whole URL');
    assert.equal(sent.headers.authorization, 'Bearer llama-upstream');
    assert.equal(sent.body.parameters.max_new_tokens, 30);
    assert.equal(sent.body.stream, undefined);
  });

  it('streams llama2 raw from a TGI token stream', async () => {
    const chunks = await collect(await client('/llama').chat.completions.create({
      model: 'llama-2-7b-chat', messages: LLAMA2_MESSAGES, stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), LLAMA2_ANSWER);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0].choices[0].finish_reason, 'stop');
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, 42);
    assert.equal(last.usage.completion_tokens, Math.ceil(LLAMA2_ANSWER.length / 4) + 1);
    assert.equal(ctx.upstream.last_request().body.stream, true);
  });

  it('refuses tools for llama2 raw with a 400 before calling upstream', async () => {
    const before = ctx.upstream.requests.length;
    await assert.rejects(
      client('/llama').chat.completions.create({ model: 'llama-2-7b-chat', messages: LLAMA2_MESSAGES, tools }),
      (err) => err.status === 400 && /tools are not supported by llama2 format raw/.test(err.message));
    assert.equal(ctx.upstream.requests.length, before, 'nothing reached the upstream');
  });
});
