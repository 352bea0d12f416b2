// Native-format routes (llm_format anthropic, gemini, bedrock, cohere, huggingface) driven by each
// provider's official SDK, unchanged, through the aiproxy binary to the fake upstreams: the SDK
// parses the provider's own answer (plain and streamed), the upstream sees the gateway's
// credential (a SigV4 signature by the gateway's keys for Bedrock) instead of the client's, and
// the file-log record holds the usage, cost and model read from the native response or stream.
// Touches only its fake upstreams, its gateways and a temporary log directory.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { CohereClientV2 } from 'cohere-ai';
import { InferenceClient } from '@huggingface/inference';
import { start_fake_anthropic } from './fake_anthropic.mjs';
import { start_fake_gemini } from './fake_gemini.mjs';
import { start_fake_bedrock } from './fake_bedrock.mjs';
import { start_fake_cohere } from './fake_cohere.mjs';
import { start_fake_huggingface } from './fake_huggingface.mjs';
import { use_provider_gateway, ai_route, routes_config, skip_reason } from './harness.mjs';

const input_cost = 2;    // per 1M prompt tokens
const output_cost = 10;  // per 1M completion tokens

/** A temporary file-log path, and next(): the next unread log record (waits for it, 5 s). */
function file_log() {
  const dir = mkdtempSync(join(tmpdir(), 'aiproxy-native-log-'));
  const path = join(dir, 'requests.log');
  let read = 0;
  return {
    path,
    async next() {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
        if (lines.length > read) return JSON.parse(lines[read++]);
        if (Date.now() > deadline) throw new Error(`no log record #${read + 1} in ${path}`);
        await delay(20);  // polling for a file, not waiting for a timing
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One native route: `provider` in its own format under `prefix`. */
function native_route(prefix, provider, { model, auth = {}, options = {} }) {
  return ai_route(provider, prefix, {
    route_type: 'llm/v1/chat',
    llm_format: provider,
    auth,
    logging: { log_statistics: true, log_payloads: false },
    model: { provider, ...(model ? { name: model } : {}), options: { input_cost, output_cost, ...options } },
  });
}

function config_with_log(log, routes) {
  return routes_config(routes, { plugins: [{ name: 'file-log', config: { path: log.path } }] });
}

/** Checks the logged usage, cost, models and mode against what the SDK saw. */
function check_logged(rec, { provider, request_model, response_model, mode, prompt, completion, total }) {
  const proxy = rec.ai.proxy;
  assert.equal(rec.response.status, 200);
  assert.equal(proxy.meta.provider_name, provider);
  assert.equal(proxy.meta.request_model, request_model);
  if (response_model) assert.equal(proxy.meta.response_model, response_model);
  assert.equal(proxy.meta.request_mode, mode);
  assert.equal(proxy.meta.incomplete, undefined, 'the native answer was read to its end');
  assert.equal(proxy.usage.prompt_tokens, prompt);
  assert.equal(proxy.usage.completion_tokens, completion);
  assert.equal(proxy.usage.total_tokens, total ?? prompt + completion);
  assert.ok(Math.abs(proxy.usage.cost - (prompt * input_cost + completion * output_cost) / 1e6) < 1e-12);
  assert.ok(proxy.meta.llm_latency >= 0);
  assert.ok(proxy.usage.time_to_first_token >= 0);
}

function use_native(start_fake, routes_for) {
  const log = file_log();
  const ctx = use_provider_gateway(start_fake, (upstream) => config_with_log(log, routes_for(upstream)));
  ctx.log = log;
  after(() => log.remove());
  return ctx;
}

// ---------------------------------------------------------------- Anthropic

describe('native anthropic: @anthropic-ai/sdk through aiproxy', { skip: skip_reason() }, () => {
  const model = 'claude-sonnet-4-20250514';
  const ctx = use_native(start_fake_anthropic, (up) => [native_route('/anthropic', 'anthropic', {
    auth: { header_name: 'x-api-key', header_value: 'sk-ant-upstream' },
    options: { anthropic_version: '2023-06-01', upstream_url: up.url },
  })]);
  const client = () => new Anthropic({ baseURL: `${ctx.gateway.base_url}/anthropic`, apiKey: 'sk-ant-client-dummy', maxRetries: 0, timeout: 10_000 });

  it('creates a message and logs its usage', async () => {
    const { data: msg, response } = await client().messages.create({
      model, max_tokens: 256, messages: [{ role: 'user', content: 'Hi there' }],
    }).withResponse();
    assert.equal(msg.type, 'message');
    assert.equal(msg.content[0].text, 'Hello from fake Claude: Hi there');
    assert.equal(msg.model, `${model}-fake`);
    assert.equal(response.headers.get('x-kong-llm-model'), `anthropic/${model}`);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], 'sk-ant-upstream');
    assert.ok(sent.headers['anthropic-version'], 'the SDK\'s anthropic-version travels');
    assert.deepEqual(sent.body.messages, [{ role: 'user', content: 'Hi there' }]);
    check_logged(await ctx.log.next(), {
      provider: 'anthropic', request_model: model, response_model: `${model}-fake`, mode: 'oneshot',
      prompt: msg.usage.input_tokens + msg.usage.cache_read_input_tokens, completion: msg.usage.output_tokens,
    });
  });

  it('streams a message with the SDK\'s own event parser', async () => {
    const stream = client().messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: 'Stream please' }] });
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, 'Hello from fake Claude: Stream please');
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(ctx.upstream.last_request().body.stream, true);
    check_logged(await ctx.log.next(), {
      provider: 'anthropic', request_model: model, response_model: `${model}-fake`, mode: 'stream',
      prompt: final.usage.input_tokens + final.usage.cache_read_input_tokens, completion: final.usage.output_tokens,
    });
  });

  it('passes Anthropic errors through as the SDK expects them', async () => {
    await assert.rejects(
      client().messages.create({ model: 'overloaded', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 529 && err.error?.error?.type === 'overloaded_error');
    const rec = await ctx.log.next();
    assert.equal(rec.response.status, 529);
  });
});

// ---------------------------------------------------------------- Gemini

describe('native gemini: @google/genai through aiproxy', { skip: skip_reason() }, () => {
  const model = 'gemini-2.0-flash';
  const ctx = use_native(start_fake_gemini, (up) => [native_route('/gemini', 'gemini', {
    model,
    auth: { header_name: 'x-goog-api-key', header_value: 'AIza-upstream' },
    options: { upstream_url: up.url },
  })]);
  const client = () => new GoogleGenAI({ apiKey: 'client-dummy-key', httpOptions: { baseUrl: `${ctx.gateway.base_url}/gemini` } });

  it('generates content and logs usageMetadata', async () => {
    const r = await client().models.generateContent({ model, contents: 'Hi there' });
    assert.equal(r.text, 'Hello from fake Gemini: Hi there');
    assert.equal(r.modelVersion, `${model}-001`);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1beta/models/${model}:generateContent`);
    assert.equal(sent.headers['x-goog-api-key'], 'AIza-upstream');
    check_logged(await ctx.log.next(), {
      provider: 'gemini', request_model: model, response_model: `${model}-001`, mode: 'oneshot',
      prompt: r.usageMetadata.promptTokenCount, completion: r.usageMetadata.candidatesTokenCount,
      total: r.usageMetadata.totalTokenCount,
    });
  });

  it('streams content (SSE) and logs the last usageMetadata', async () => {
    let text = '';
    let usage;
    for await (const chunk of await client().models.generateContentStream({ model, contents: 'Stream please' })) {
      text += chunk.text ?? '';
      usage = chunk.usageMetadata ?? usage;
    }
    assert.equal(text, 'Hello from fake Gemini: Stream please');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1beta/models/${model}:streamGenerateContent`);
    assert.equal(sent.query.get('alt'), 'sse');
    check_logged(await ctx.log.next(), {
      provider: 'gemini', request_model: model, response_model: `${model}-001`, mode: 'stream',
      prompt: usage.promptTokenCount, completion: usage.candidatesTokenCount, total: usage.totalTokenCount,
    });
  });

  it('refuses a model other than the configured one', async () => {
    await assert.rejects(client().models.generateContent({ model: 'gemini-2.5-pro', contents: 'x' }),
      (err) => err.status === 400 && /cannot use own model - must be: gemini-2.0-flash/.test(err.message));
    await ctx.log.next();
  });
});

// ---------------------------------------------------------------- Bedrock

describe('native bedrock: @aws-sdk/client-bedrock-runtime through aiproxy', { skip: skip_reason() }, () => {
  const model = 'anthropic.claude-3-haiku-20240307-v1:0';
  const ctx = use_native(start_fake_bedrock, (up) => [native_route('/bedrock', 'bedrock', {
    auth: { aws_access_key_id: up.access_key_id, aws_secret_access_key: up.secret_access_key },
    options: { upstream_url: up.url, bedrock: { aws_region: 'us-east-1' } },
  })]);
  // The SDK's default request handler (NodeHttp2Handler): HTTP/2 with prior knowledge on http://.
  const client = () => new BedrockRuntimeClient({
    region: 'us-east-1', endpoint: `${ctx.gateway.base_url}/bedrock`, maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDCLIENTDUMMY0000', secretAccessKey: 'client-secret-the-gateway-never-uses', sessionToken: 'client-session' },
  });
  const messages = (text) => [{ role: 'user', content: [{ text }] }];

  it('converses, re-signed by the gateway', async () => {
    const r = await client().send(new ConverseCommand({ modelId: model, messages: messages('Hi there'), inferenceConfig: { maxTokens: 50 } }));
    assert.equal(r.output.message.content[0].text, 'Hello from fake Bedrock: Hi there');
    assert.equal(r.stopReason, 'end_turn');
    const sent = ctx.upstream.last_request();
    assert.ok(sent.signature.ok, JSON.stringify(sent.signature));
    assert.match(sent.headers.authorization, /Credential=AKIDFAKEBEDROCK0001\//);
    assert.equal(sent.headers['x-amz-security-token'], undefined, 'the client\'s session token is dropped');
    assert.equal(sent.model_id, model);
    assert.deepEqual(sent.body.inferenceConfig, { maxTokens: 50 });
    check_logged(await ctx.log.next(), {
      provider: 'bedrock', request_model: model, mode: 'oneshot',
      prompt: r.usage.inputTokens, completion: r.usage.outputTokens, total: r.usage.totalTokens,
    });
  });

  it('streams a conversation as eventstream frames the SDK decodes', async () => {
    const r = await client().send(new ConverseStreamCommand({ modelId: model, messages: messages('Stream please') }));
    let text = '';
    let usage;
    let stop;
    for await (const ev of r.stream) {
      if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text ?? '';
      if (ev.messageStop) stop = ev.messageStop.stopReason;
      if (ev.metadata) usage = ev.metadata.usage;
    }
    assert.equal(text, 'Hello from fake Bedrock: Stream please');
    assert.equal(stop, 'end_turn');
    const sent = ctx.upstream.last_request();
    assert.ok(sent.signature.ok, JSON.stringify(sent.signature));
    assert.equal(sent.action, 'converse-stream');
    check_logged(await ctx.log.next(), {
      provider: 'bedrock', request_model: model, mode: 'stream',
      prompt: usage.inputTokens, completion: usage.outputTokens, total: usage.totalTokens,
    });
  });

  it('passes Bedrock errors through, plain and mid-stream, as the SDK\'s typed exceptions', async () => {
    await assert.rejects(client().send(new ConverseCommand({ modelId: model, messages: messages('[throttle]') })),
      (err) => err.name === 'ThrottlingException' && err.$metadata.httpStatusCode === 429);
    assert.equal((await ctx.log.next()).response.status, 429);
    const r = await client().send(new ConverseStreamCommand({ modelId: model, messages: messages('[throttle] now') }));
    let text = '';
    await assert.rejects((async () => {
      for await (const ev of r.stream) text += ev.contentBlockDelta?.delta?.text ?? '';
    })(), (err) => err.name === 'ThrottlingException');
    assert.ok(text.length > 0, 'the frames before the exception reached the SDK');
    const rec = await ctx.log.next();
    assert.equal(rec.ai.proxy.meta.request_mode, 'stream');
    assert.match(rec.ai.proxy.meta.incomplete, /Too many requests/);
  });
});

// ---------------------------------------------------------------- Cohere

describe('native cohere: cohere-ai CohereClientV2 through aiproxy', { skip: skip_reason() }, () => {
  const model = 'command-a-03-2025';
  const ctx = use_native(start_fake_cohere, (up) => [native_route('/cohere', 'cohere', {
    auth: { header_name: 'Authorization', header_value: 'Bearer co-upstream' },
    options: { upstream_url: up.url },
  })]);
  const client = () => new CohereClientV2({ token: 'co-client-dummy', environment: `${ctx.gateway.base_url}/cohere` });

  it('chats and logs the token usage', async () => {
    const r = await client().chat({ model, messages: [{ role: 'user', content: 'Hi there' }] });
    assert.equal(r.message.content[0].text, 'Hello from fake Cohere: Hi there');
    assert.equal(r.finishReason, 'COMPLETE');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, '/v2/chat');
    assert.equal(sent.headers.authorization, 'Bearer co-upstream');
    check_logged(await ctx.log.next(), {
      provider: 'cohere', request_model: model, mode: 'oneshot',
      prompt: r.usage.tokens.inputTokens, completion: r.usage.tokens.outputTokens,
    });
  });

  it('streams a chat with the SDK\'s event parser', async () => {
    let text = '';
    let usage;
    for await (const ev of await client().chatStream({ model, messages: [{ role: 'user', content: 'Stream please' }] })) {
      if (ev.type === 'content-delta') text += ev.delta?.message?.content?.text ?? '';
      if (ev.type === 'message-end') usage = ev.delta.usage;
    }
    assert.equal(text, 'Hello from fake Cohere: Stream please');
    check_logged(await ctx.log.next(), {
      provider: 'cohere', request_model: model, mode: 'stream',
      prompt: usage.tokens.inputTokens, completion: usage.tokens.outputTokens,
    });
  });
});

// ---------------------------------------------------------------- Hugging Face

describe('native huggingface: @huggingface/inference through aiproxy', { skip: skip_reason() }, () => {
  const model = 'meta-llama/Llama-3.1-8B-Instruct';
  const ctx = use_native(start_fake_huggingface, (up) => [native_route('/hf', 'huggingface', {
    model,
    auth: { header_name: 'Authorization', header_value: 'Bearer hf-upstream' },
    options: { upstream_url: up.url },
  })]);
  const client = () => new InferenceClient('hf_client_dummy_token', { endpointUrl: `${ctx.gateway.base_url}/hf` });

  it('completes a chat with only an endpointUrl (the configured model fills in)', async () => {
    const r = await client().chatCompletion({ messages: [{ role: 'user', content: 'Hi there' }], max_tokens: 20 });
    assert.equal(r.choices[0].message.content, 'Hello from fake HF: Hi there');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.body.model, model, 'the SDK sent its endpoint URL as model; the gateway named the configured one');
    assert.equal(sent.headers.authorization, 'Bearer hf-upstream');
    check_logged(await ctx.log.next(), {
      provider: 'huggingface', request_model: model, response_model: model, mode: 'oneshot',
      prompt: r.usage.prompt_tokens, completion: r.usage.completion_tokens, total: r.usage.total_tokens,
    });
  });

  it('streams a chat and logs the usage chunk', async () => {
    let text = '';
    let usage;
    for await (const chunk of client().chatCompletionStream({
      model, messages: [{ role: 'user', content: 'Stream please' }], stream_options: { include_usage: true },
    })) {
      text += chunk.choices?.[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'Hello from fake HF: Stream please');
    assert.equal(ctx.upstream.last_request().body.stream, true);
    check_logged(await ctx.log.next(), {
      provider: 'huggingface', request_model: model, mode: 'stream',
      prompt: usage.prompt_tokens, completion: usage.completion_tokens, total: usage.total_tokens,
    });
  });
});
