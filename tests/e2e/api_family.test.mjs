// The OpenAI API family beyond chat through aiproxy, with the official OpenAI SDK as the client
// and fake_openai_api.mjs as the upstream: responses (plain, streamed, retrieve, delete,
// input_items), files (multipart upload, list, retrieve, content, delete), batches, an
// assistants call with its beta header, audio speech (binary) and transcription (multipart),
// image generation and edit, video generation, Azure routes for files and responses, uploads
// around max_request_body_size, and a several-MiB upload streamed through intact (compared by
// hash). Usage is checked in the gateway's file-log records.
// Touches only its fake upstream, its gateway and a temporary log directory.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import http from 'node:http';
import { toFile } from 'openai';
import { start_fake_openai_api, openai_key, azure_key, speech_bytes } from './fake_openai_api.mjs';
import { use_provider_gateway, routes_config, collect, skip_reason } from './harness.mjs';

const log_dir = mkdtempSync(join(tmpdir(), 'aiproxy-api-family-'));
const log_path = join(log_dir, 'records.log');
after(() => rmSync(log_dir, { recursive: true, force: true }));

const upload_limit = 1_048_576;
const big_upload_limit = 16 * 1_048_576;

function api_config(upstream) {
  const ai = (route_type, model, extra = {}) => ({
    route_type,
    auth: extra.auth ?? { header_name: 'Authorization', header_value: `Bearer ${openai_key}` },
    logging: { log_statistics: true, log_payloads: extra.log_payloads ?? false },
    max_request_body_size: upload_limit,
    model: {
      provider: extra.provider ?? 'openai',
      ...(model ? { name: model } : {}),
      options: { upstream_url: upstream.url, input_cost: 2, output_cost: 8, ...(extra.options ?? {}) },
    },
  });
  const route = (name, paths, config) => ({ name, paths, plugins: [{ name: 'ai-proxy', config }] });
  const azure = (route_type, version) => ai(route_type, route_type === 'llm/v1/responses' ? 'gpt-4.1' : undefined, {
    provider: 'azure',
    auth: { header_name: 'api-key', header_value: azure_key },
    options: { azure_instance: 'res1', azure_api_version: version, azure_deployment_id: 'dep1' },
  });
  return routes_config([
    route('responses', ['/v1/responses'], ai('llm/v1/responses', 'gpt-4.1', { log_payloads: true })),
    route('files', ['/v1/files'], ai('llm/v1/files')),
    route('batches', ['/v1/batches'], ai('llm/v1/batches')),
    route('assistants', ['/v1/assistants', '/v1/threads', '/v1/vector_stores'], ai('llm/v1/assistants')),
    route('speech', ['/v1/audio/speech'], ai('audio/v1/audio/speech', 'gpt-4o-mini-tts')),
    route('transcriptions', ['/v1/audio/transcriptions'], ai('audio/v1/audio/transcriptions', 'whisper-1')),
    route('generations', ['/v1/images/generations'], ai('image/v1/images/generations', 'gpt-image-1')),
    route('edits', ['/v1/images/edits'], ai('image/v1/images/edits', 'gpt-image-1')),
    route('videos', ['/v1/videos'], ai('video/v1/videos/generations', 'sora-2')),
    // A files route whose clients also call other resources: those are 404s.
    route('wrong', ['/wrong'], ai('llm/v1/files')),
    // Uploads of several MiB, relayed to the upstream as they arrive.
    route('big-files', ['/big/v1/files'], { ...ai('llm/v1/files'), max_request_body_size: big_upload_limit }),
    route('azure-files', ['/azure/v1/files'], azure('llm/v1/files', '2024-10-21')),
    route('azure-responses', ['/azure/v1/responses'], azure('llm/v1/responses', 'preview')),
  ], { plugins: [{ name: 'file-log', config: { path: log_path } }] });
}

/** The file-log record of the last request whose URI starts with `uri` and that `pred` accepts
 *  (polls the log file, which the gateway writes from its own thread, for up to 5 s). */
async function record_for(uri, pred = () => true) {
  const deadline = Date.now() + 5000;
  for (;;) {
    if (existsSync(log_path)) {
      const records = readFileSync(log_path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
        .filter((r) => r.request.uri.startsWith(uri) && pred(r));
      if (records.length > 0) return records[records.length - 1];
    }
    if (Date.now() > deadline) throw new Error(`no log record for ${uri}`);
    await delay(20);  // polling for a file, not waiting for a timing
  }
}

describe('the OpenAI API family through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_openai_api, api_config);
  const { client } = ctx;

  it('creates a response and logs its usage and cost', async () => {
    const r = await client().responses.create({ model: 'gpt-4.1', input: 'Hello there' });
    assert.equal(r.object, 'response');
    assert.equal(r.output_text, 'Echo: Hello there');
    assert.equal(r.usage.total_tokens, 18);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/responses');
    assert.equal(sent.headers.authorization, `Bearer ${openai_key}`);
    const rec = await record_for('/v1/responses', (x) => x.request.method === 'POST' && x.ai.proxy.meta.request_mode === 'oneshot');
    assert.deepEqual(
      [rec.ai.proxy.usage.prompt_tokens, rec.ai.proxy.usage.completion_tokens, rec.ai.proxy.usage.total_tokens],
      [11, 7, 18]);
    assert.equal(rec.ai.proxy.usage.prompt_tokens_details.cached_tokens, 3);
    assert.equal(rec.ai.proxy.usage.completion_tokens_details.reasoning_tokens, 2);
    assert.equal(rec.ai.proxy.usage.cost, (11 * 2 + 7 * 8) / 1e6);
    assert.equal(rec.ai.proxy.meta.request_model, 'gpt-4.1');
    assert.equal(rec.ai.proxy.meta.response_model, 'gpt-4.1-2025-04-14');
    assert.match(rec.ai.proxy.payload.request, /Hello there/);
  });

  it('fills a missing model from the config and refuses another one', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/v1/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'No model' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-kong-llm-model'), 'openai/gpt-4.1');
    assert.equal(ctx.upstream.last_request().body.model, 'gpt-4.1');
    await assert.rejects(client().responses.create({ model: 'gpt-3.5-turbo', input: 'x' }),
      (err) => err.status === 400 && /cannot use own model - must be: gpt-4.1/.test(err.message));
  });

  it('streams a response byte for byte and logs the usage of response.completed', async () => {
    const events = await collect(await client().responses.create({ model: 'gpt-4.1', input: 'Stream it', stream: true }));
    assert.equal(events[0].type, 'response.created');
    assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), 'Echo: Stream it');
    assert.equal(events.at(-1).type, 'response.completed');
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const rec = await record_for('/v1/responses', (x) => x.ai.proxy.meta.request_mode === 'stream');
    assert.equal(rec.ai.proxy.usage.total_tokens, 18);
    assert.equal(rec.ai.proxy.usage.completion_tokens_details.reasoning_tokens, 2);
    assert.equal(rec.ai.proxy.meta.response_model, 'gpt-4.1-2025-04-14');
    assert.equal(rec.ai.proxy.meta.incomplete, undefined);
    assert.ok(rec.ai.proxy.usage.time_to_first_token >= 0);
  });

  it('retrieves, lists input items of, and deletes a stored response', async () => {
    const got = await client().responses.retrieve('resp_42');
    assert.equal(got.id, 'resp_42');
    assert.equal(ctx.upstream.last_request().path, '/v1/responses/resp_42');
    const items = await client().responses.inputItems.list('resp_42');
    assert.equal(items.data[0].content[0].text, 'Hello');
    assert.equal(ctx.upstream.last_request().path, '/v1/responses/resp_42/input_items');
    await client().responses.delete('resp_42');
    assert.equal(ctx.upstream.last_request().method, 'DELETE');
    assert.equal(ctx.upstream.last_request().path, '/v1/responses/resp_42');
  });

  it('uploads, lists, retrieves, downloads and deletes a file', async () => {
    const content = Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/chat/completions"}\n');
    const file = await client().files.create({ file: await toFile(content, 'batch.jsonl'), purpose: 'batch' });
    assert.equal(file.bytes, content.length);
    assert.equal(file.filename, 'batch.jsonl');
    assert.match(ctx.upstream.last_request().headers['content-type'], /^multipart\/form-data; boundary=/);
    const list = await client().files.list();
    assert.ok(list.data.some((f) => f.id === file.id));
    assert.equal((await client().files.retrieve(file.id)).purpose, 'batch');
    const downloaded = Buffer.from(await (await client().files.content(file.id)).arrayBuffer());
    assert.deepEqual(downloaded, content);
    assert.equal(ctx.upstream.last_request().path, `/v1/files/${file.id}/content`);
    assert.equal((await client().files.delete(file.id)).deleted, true);
  });

  it('creates, retrieves, cancels and lists batches', async () => {
    const b = await client().batches.create({ input_file_id: 'file-9', endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.equal(b.status, 'validating');
    assert.equal(ctx.upstream.last_request().body.input_file_id, 'file-9');
    assert.equal((await client().batches.retrieve(b.id)).status, 'in_progress');
    assert.equal((await client().batches.cancel(b.id)).status, 'cancelling');
    assert.equal(ctx.upstream.last_request().path, `/v1/batches/${b.id}/cancel`);
    const page = await client().batches.list();
    assert.equal(page.data[0].id, 'batch_abc');
  });

  it('forwards the OpenAI-Beta header of the assistants API', async () => {
    const a = await client().beta.assistants.create({ model: 'gpt-4o', name: 'Helper' });
    assert.equal(a.object, 'assistant');
    assert.equal(ctx.upstream.last_request().headers['openai-beta'], 'assistants=v2');
    const messages = await client().beta.threads.messages.list('thread_1');
    assert.equal(messages.data[0].thread_id, 'thread_1');
    assert.equal(ctx.upstream.last_request().path, '/v1/threads/thread_1/messages');
  });

  it('streams speech audio through unchanged', async () => {
    const res = await client().audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello' });
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.length, speech_bytes.length);
    assert.ok(bytes.equals(speech_bytes));
    const rec = await record_for('/v1/audio/speech');
    assert.equal(rec.ai.proxy.meta.request_model, 'gpt-4o-mini-tts');
    assert.equal(rec.ai.proxy.payload, undefined);
  });

  it('transcribes a multipart upload and logs its usage', async () => {
    const audio = Buffer.alloc(50_000, 7);
    const t = await client().audio.transcriptions.create({ file: await toFile(audio, 'hello.wav'), model: 'whisper-1' });
    assert.equal(t.text, 'Heard 50000 bytes of hello.wav with whisper-1');
    const rec = await record_for('/v1/audio/transcriptions');
    assert.equal(rec.ai.proxy.usage.total_tokens, 59);
    assert.equal(rec.ai.proxy.meta.request_model, 'whisper-1');
    await assert.rejects(client().audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'gpt-4o-transcribe' }),
      (err) => err.status === 400 && /must be: whisper-1/.test(err.message));
  });

  it('generates and edits images', async () => {
    const g = await client().images.generate({ model: 'gpt-image-1', prompt: 'a cat' });
    assert.equal(Buffer.from(g.data[0].b64_json, 'base64').toString(), 'image for a cat by gpt-image-1 from 0');
    assert.equal((await record_for('/v1/images/generations')).ai.proxy.usage.total_tokens, 100);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(3000, 1)]);
    const e = await client().images.edit({ model: 'gpt-image-1', image: await toFile(png, 'cat.png', { type: 'image/png' }), prompt: 'add a hat' });
    assert.equal(Buffer.from(e.data[0].b64_json, 'base64').toString(), `image for add a hat by gpt-image-1 from ${png.length}`);
    assert.equal((await record_for('/v1/images/edits')).ai.proxy.usage.prompt_tokens, 50);
  });

  it('starts a video generation', async () => {
    const v = await client().videos.create({ model: 'sora-2', prompt: 'a wave' });
    assert.equal(v.object, 'video');
    assert.equal(v.model, 'sora-2');
    assert.equal(ctx.upstream.last_request().path, '/v1/videos');
  });

  it('maps Azure files and responses paths and uses the api-key header', async () => {
    const azure = client('/azure');
    const file = await azure.files.create({ file: await toFile(Buffer.from('x\n'), 'a.jsonl'), purpose: 'batch' });
    let sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/openai/files');
    assert.equal(sent.query.get('api-version'), '2024-10-21');
    assert.equal(sent.headers['api-key'], azure_key);
    assert.equal(sent.headers.authorization, undefined, 'the client key does not travel upstream');
    await azure.files.retrieve(file.id);
    assert.equal(ctx.upstream.last_request().path, `/openai/files/${file.id}`);
    const r = await azure.responses.create({ model: 'gpt-4.1', input: 'Azure hi' });
    assert.equal(r.output_text, 'Echo: Azure hi');
    sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/openai/v1/responses');
    assert.equal(sent.query.get('api-version'), 'preview');
    const rec = await record_for('/azure/v1/responses');
    assert.equal(rec.ai.proxy.meta.azure_api_version, 'preview');
    assert.equal(rec.ai.proxy.usage.total_tokens, 18);
  });

  it('passes an upload just under max_request_body_size and refuses one over it with 413', async () => {
    const near = Buffer.alloc(upload_limit - 2048, 0x61);
    const ok = await client().files.create({ file: await toFile(near, 'near.jsonl'), purpose: 'batch' });
    assert.equal(ok.bytes, near.length);
    assert.ok(ctx.upstream.files.get(ok.id).content.equals(near));
    const seen = ctx.upstream.requests.length;
    // A client that waits for 100 Continue gets the 413 before it sends the body.
    const status = await new Promise((resolve, reject) => {
      const req = http.request(`${ctx.gateway.base_url}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': upload_limit + 1, expect: '100-continue' },
      });
      req.on('continue', () => req.end(Buffer.alloc(upload_limit + 1, 0x61)));
      req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
    });
    assert.equal(status, 413);
    // The SDK sends the body at once, without waiting: the gateway answers 413 and keeps reading
    // (and dropping) the upload before it closes, so the SDK reads the 413, not a reset.
    const over = Buffer.alloc(upload_limit + 1, 0x61);
    await assert.rejects(client().files.create({ file: await toFile(over, 'over.jsonl'), purpose: 'batch' }),
      (err) => err.status === 413);
    assert.equal(ctx.upstream.requests.length, seen, 'nothing over the limit reached the upstream');
  });

  it('streams a several-MiB upload through intact', async () => {
    const content = randomBytes(6 * 1_048_576 + 12345);
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    const file = await client('/big').files.create({ file: await toFile(content, 'big.jsonl'), purpose: 'batch' });
    assert.equal(file.bytes, content.length);
    const received = ctx.upstream.files.get(file.id).content;
    assert.equal(received.length, content.length);
    assert.equal(sha(received), sha(content));
    const rec = await record_for('/big/v1/files');
    assert.equal(rec.response.status, 200);
    assert.ok(rec.request.size > content.length, `request size ${rec.request.size}`);
  });

  it('answers paths of another resource with 404 and upstream errors pass through', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/wrong/v1/batches/b1`);
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /not a llm\/v1\/files endpoint/);
    await assert.rejects(client().files.retrieve('file-missing'),
      (err) => err.status === 404 && /No such File object/.test(err.message));
  });
});
