// The official OpenAI SDK through aiproxy to a fake AWS Bedrock Runtime (fake_bedrock.mjs) that
// checks SigV4 signatures for real: Converse chat, ConverseStream over binary eventstream frames cut
// mid-frame, a tool call round trip (plain and streamed), model ids with ':' and inference-profile
// ARNs in the path, a wrong secret's 403, a mid-stream throttlingException and Titan embeddings.
// Also checks the fake's signature check itself against AWS's published SigV4 test suite.
// Touches only its fake upstream and gateway.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { start_fake_bedrock, verify_sigv4, signature_mismatch_message } from './fake_bedrock.mjs';
import { use_provider_gateway, ai_plugin, ai_route, routes_config, collect, skip_reason } from './harness.mjs';

const model = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0';
const embed_model = 'amazon.titan-embed-text-v2:0';

function bedrock_config(upstream) {
  const ai = (route_type, name, extra = {}) => ai_plugin({
    route_type,
    auth: { aws_access_key_id: upstream.access_key_id, aws_secret_access_key: extra.secret ?? upstream.secret_access_key },
    normalize_errors: extra.normalize_errors,
    provider: 'bedrock', model: name, options: { upstream_url: upstream.url, bedrock: { aws_region: 'us-east-1' } },
  });
  const wrong = 'fake/bedrock+secret/KEY0123456789abcdefgX';
  return routes_config([
    ai_route('chat', '/v1/chat/completions', ai('llm/v1/chat', model)),
    ai_route('arn', '/arn/v1/chat/completions', ai('llm/v1/chat', arn)),
    ai_route('embeddings', '/v1/embeddings', ai('llm/v1/embeddings', embed_model)),
    ai_route('badsecret', '/badsecret/v1/chat/completions', ai('llm/v1/chat', model, { secret: wrong })),
    ai_route('badsecret-normalized', '/badsecret-normalized/v1/chat/completions',
      ai('llm/v1/chat', model, { secret: wrong, normalize_errors: true })),
  ]);
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];

// AWS's published SigV4 test suite, as copied for the C++ unit tests.
const suite_dir = new URL('../unit/upstream/data/sigv4/', import.meta.url);

function read_suite_request(name) {
  const text = readFileSync(new URL(`${name}/${name}.req`, suite_dir), 'utf8');
  const blank = text.indexOf('\n\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const body = blank < 0 ? '' : text.slice(blank + 2);
  const [request_line, ...header_lines] = head.split('\n');
  const method = request_line.slice(0, request_line.indexOf(' '));
  const url = request_line.slice(method.length + 1, request_line.lastIndexOf(' HTTP/'));
  const raw_headers = header_lines.flatMap((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]);
  const authz = readFileSync(new URL(`${name}/${name}.authz`, suite_dir), 'utf8').trim();
  return { method, url, raw_headers: [...raw_headers, 'Authorization', authz], body: Buffer.from(body, 'utf8') };
}

describe('the fake Bedrock signature check', () => {
  const keys = {
    access_key_id: 'AKIDEXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1', service: 'service', now: Date.UTC(2015, 7, 30, 12, 36, 0),
  };
  const cases = readdirSync(fileURLToPath(suite_dir), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

  it('accepts the requests of AWS\'s SigV4 test suite, not with another secret or path', () => {
    assert.ok(cases.length >= 20, `expected the AWS suite in ${suite_dir}, found ${cases.length} cases`);
    for (const name of cases) {
      const req = read_suite_request(name);
      const result = verify_sigv4(req, keys);
      if (name === 'post-x-www-form-urlencoded-parameters') {
        // The suite's published signature for this vector is not the one of its own canonical
        // request (see sigv4_test.cpp): check the canonical request only.
        assert.equal(result.canonical_request, readFileSync(new URL(`${name}/${name}.creq`, suite_dir), 'utf8'));
      } else {
        assert.equal(result.ok, true, `${name}: ${JSON.stringify(result)}`);
      }
      const other_secret = verify_sigv4(req, { ...keys, secret_access_key: `${keys.secret_access_key}x` });
      assert.equal(other_secret.message, signature_mismatch_message, name);
      const other_path = verify_sigv4({ ...req, url: req.url.replace(/^\//, '/x') }, keys);
      assert.equal(other_path.ok, false, name);
    }
  });
});

describe('bedrock through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_bedrock, bedrock_config);
  const { client } = ctx;

  it('answers a chat through a signed Converse call', async () => {
    const r = await client().chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }],
      max_tokens: 200,
      temperature: 0.5,
    });
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true);
    assert.equal(sent.url, '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    assert.equal(sent.model_id, model);
    assert.match(sent.signature.canonical_request, /^POST\n\/model\/anthropic\.claude-3-5-haiku-20241022-v1%253A0\/converse\n/);
    assert.match(sent.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDFAKEBEDROCK0001\/\d{8}\/us-east-1\/bedrock\/aws4_request, /);
    assert.deepEqual(sent.body.system, [{ text: 'Be brief.' }]);
    assert.deepEqual(sent.body.messages, [{ role: 'user', content: [{ text: 'Hi there' }] }]);
    assert.deepEqual(sent.body.inferenceConfig, { maxTokens: 200, temperature: 0.5 });

    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, model);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Hello from fake Bedrock: Hi there');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens],
      [sent.usage.inputTokens, sent.usage.outputTokens, sent.usage.totalTokens]);
  });

  it('streams a chat from eventstream frames cut mid-frame, with one finish chunk and the usage', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true },
    }));
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true);
    assert.equal(sent.url, '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream');
    assert.ok(sent.writes > sent.frames, `${sent.writes} writes for ${sent.frames} frames`);

    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Bedrock: Stream please');
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0].choices[0].finish_reason, 'stop');
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assert.deepEqual([last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens],
      [sent.usage.inputTokens, sent.usage.outputTokens, sent.usage.totalTokens]);
    assert.equal(chunks.filter((c) => c.usage).length, 1, 'usage is reported once');
    assert.ok(chunks.every((c) => c.id === chunks[0].id && c.object === 'chat.completion.chunk'));
  });

  it('round-trips a tool call and its result through toolUse and toolResult', async () => {
    const messages = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client().chat.completions.create({ model, messages, tools });
    assert.deepEqual(ctx.upstream.last_request().body.toolConfig.tools[0], {
      toolSpec: { name: 'get_weather', description: 'Current weather in a city', inputSchema: { json: tools[0].function.parameters } },
    });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const reply = first.choices[0].message;
    assert.equal(reply.content, 'Let me check.');
    assert.deepEqual(reply.tool_calls.map((c) => [c.id, c.type, c.function.name, JSON.parse(c.function.arguments)]),
      [['tooluse_fakeA1b2C3', 'function', 'get_weather', { city: 'Paris' }]]);

    messages.push(reply, { role: 'tool', tool_call_id: reply.tool_calls[0].id, content: '21 C and sunny' });
    const second = await client().chat.completions.create({ model, messages, tools });
    assert.equal(second.choices[0].message.content, 'The tool returned: 21 C and sunny');
    assert.equal(second.choices[0].finish_reason, 'stop');
    const sent = ctx.upstream.last_request().body.messages;
    assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.deepEqual(sent[1].content, [
      { text: 'Let me check.' },
      { toolUse: { toolUseId: 'tooluse_fakeA1b2C3', name: 'get_weather', input: { city: 'Paris' } } },
    ]);
    assert.equal(sent[2].content.length, 1);
    assert.equal(sent[2].content[0].toolResult.toolUseId, 'tooluse_fakeA1b2C3');
    assert.deepEqual(sent[2].content[0].toolResult.content, [{ text: '21 C and sunny' }]);
  });

  it('streams a tool call with its id, name and arguments', async () => {
    const chunks = await collect(await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true,
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Let me check.');
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    assert.ok(deltas.length > 2, 'the arguments arrive in pieces');
    assert.ok(deltas.every((d) => d.index === 0));
    assert.equal(deltas[0].id, 'tooluse_fakeA1b2C3');
    assert.equal(deltas[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join('')), { city: 'Paris' });
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(finishes.map((c) => c.choices[0].finish_reason), ['tool_calls']);
  });

  it('puts an inference-profile ARN in the path as one escaped segment the signature covers', async () => {
    const r = await client('/arn').chat.completions.create({ model: arn, messages: [{ role: 'user', content: 'Hi ARN' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Bedrock: Hi ARN');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true);
    assert.equal(sent.url, `/model/${encodeURIComponent(arn)}/converse`);
    assert.equal(sent.model_id, arn);
    assert.ok(sent.signature.canonical_request.includes('/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252Fus.'));
    const chunks = await collect(await client('/arn').chat.completions.create({
      model: arn, messages: [{ role: 'user', content: 'Hi ARN' }], stream: true,
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Bedrock: Hi ARN');
    assert.equal(ctx.upstream.last_request().url, `/model/${encodeURIComponent(arn)}/converse-stream`);
  });

  it('passes the 403 of a wrong secret on to the SDK, raw or normalized', async () => {
    // Passed through as is, Bedrock's {"message"} body is not OpenAI's {"error"} shape: the SDK
    // sees the status and Bedrock's headers, and the message only with normalize_errors.
    const raw = await fetch(`${ctx.gateway.base_url}/badsecret/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(raw.status, 403);
    assert.deepEqual(await raw.json(), { message: signature_mismatch_message });
    await assert.rejects(
      client('/badsecret').chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.PermissionDeniedError && err.status === 403 &&
        err.headers.get('x-amzn-errortype')?.startsWith('InvalidSignatureException:'));
    assert.equal(ctx.upstream.last_request().signature.type, 'InvalidSignatureException');
    assert.ok(ctx.upstream.last_request().signature.canonical_request, 'the fake got as far as comparing signatures');
    await assert.rejects(
      client('/badsecret-normalized').chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.PermissionDeniedError && err.status === 403 && err.type === 'permission_error' &&
        err.message === `403 ${signature_mismatch_message}`);
  });

  it('ends a stream with an error the SDK raises when Bedrock sends a throttlingException frame', async () => {
    const stream = await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Go [throttle]' }], stream: true,
    });
    let text = '';
    let finish = null;
    await assert.rejects((async () => {
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? '';
        finish ??= c.choices[0]?.finish_reason ?? null;
      }
    })(), (err) => err instanceof OpenAI.APIError && /Too many requests, please wait before trying again\./.test(err.message) &&
      err.code === 'throttlingException');
    assert.equal(text, 'Hello from fake');
    assert.equal(finish, null, 'no finish chunk before the error');
  });

  // Events decoded in the same read as the corrupt frame still reach the client before the error.
  it('ends a stream with an error when a frame\'s CRC32 is wrong, keeping the text before it', async () => {
    const stream = await client().chat.completions.create({
      model, messages: [{ role: 'user', content: 'Go [bad-crc]' }], stream: true,
    });
    let text = '';
    await assert.rejects((async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })(), (err) => err instanceof OpenAI.APIError && /CRC/.test(err.message));
    assert.equal(text, 'Hello from');
  });

  it('serves Titan embeddings through a signed InvokeModel call', async () => {
    const r = await client().embeddings.create({ model: embed_model, input: 'one two three', dimensions: 256, encoding_format: 'float' });
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true);
    assert.equal(sent.url, '/model/amazon.titan-embed-text-v2%3A0/invoke');
    assert.deepEqual(sent.body, { inputText: 'one two three', dimensions: 256 });
    assert.equal(r.data.length, 1);
    assert.equal(r.data[0].embedding.length, 256);
    assert.equal(r.usage.prompt_tokens, 3);
  });
});
