// The official OpenAI SDK's images.generate through aiproxy to providers without an OpenAI images
// endpoint (fake_images.mjs): Imagen :predict on the Gemini API, a Gemini image model's
// :generateContent, Imagen on Vertex AI with a service-account token fetched from
// fake_identity.mjs, and Bedrock InvokeModel for Nova Canvas and Stability with SigV4 checked by
// the fake. Checks what the provider got (path, auth, translated body), what the SDK parsed
// (data[].b64_json), the 400s the gateway makes (no prompt, response_format url, an aspect ratio
// the model lacks, a filtered prompt, a body over max_request_body_size), provider errors passing
// through, and the file-log record.
// Touches only its fakes, a temporary log file and the gateway.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { start_fake_images, png_signature } from './fake_images.mjs';
import { start_fake_identity, make_service_account } from './fake_identity.mjs';
import { use_provider_gateway, ai_plugin, ai_route, routes_config, skip_reason } from './harness.mjs';

const imagen = 'imagen-4.0-generate-001';
const gemini_image = 'gemini-2.5-flash-image';
const nova = 'amazon.nova-canvas-v1:0';
const stability = 'stability.sd3-5-large-v1:0';

/** A temporary file-log path, and next(): the next unread log record (waits for it, 5 s). */
function file_log() {
  const dir = mkdtempSync(join(tmpdir(), 'aiproxy-images-log-'));
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

/** The fake images upstream plus a fake Google token endpoint whose tokens it accepts. */
async function start_fakes() {
  const identity = await start_fake_identity();
  const images = await start_fake_images({
    vertex_token_ok: (t) => identity.grants.some((g) => g.kind === 'google' && g.token === t),
  });
  return {
    ...images,
    identity,
    async close() { await images.close(); await identity.close(); },
  };
}

function images_config(fake, log) {
  const account = make_service_account(fake.identity.token_uri);
  fake.identity.google_account(account.json.client_email, account.public_key, account.json.private_key_id);
  const route = (name, config) => ai_route(name, `/${name}`, config);
  const gemini = (model, auth, options = {}) => ai_plugin({
    route_type: 'image/v1/images/generations', auth, provider: 'gemini', model,
    options: { upstream_url: fake.url, ...options },
  });
  const bedrock = (model, secret = fake.secret_access_key) => ai_plugin({
    route_type: 'image/v1/images/generations',
    auth: { aws_access_key_id: fake.access_key_id, aws_secret_access_key: secret },
    provider: 'bedrock', model, options: { upstream_url: fake.url, bedrock: { aws_region: fake.region } },
  });
  const key_header = { header_name: 'x-goog-api-key', header_value: fake.gemini_key };
  const routes = [
    route('imagen', gemini(imagen, key_header)),
    route('gemini', gemini(undefined, { param_name: 'key', param_value: fake.gemini_key, param_location: 'query' })),
    route('badkey', gemini(imagen, { header_name: 'x-goog-api-key', header_value: 'AIza-revoked' })),
    route('vertex', gemini(imagen, { gcp_use_service_account: true, gcp_service_account_json: JSON.stringify(account.json) }, {
      gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'proj-e2e', location_id: 'us-central1' },
    })),
    route('small', { ...gemini(imagen, key_header), max_request_body_size: 256 }),
    route('nova', bedrock(nova)),
    route('stability', bedrock(stability)),
    route('badsecret', bedrock(nova, 'fake/images+secret/not-the-right-one000')),
  ];
  return routes_config(routes, { plugins: [{ name: 'file-log', config: { path: log.path } }] });
}

function decoded(b64) {
  const bytes = Buffer.from(b64, 'base64');
  assert.deepEqual(bytes.subarray(0, 8), png_signature);
  return bytes.subarray(8).toString('utf8');
}

describe('image generation translated for gemini and bedrock: openai SDK through aiproxy', { skip: skip_reason() }, () => {
  const log = file_log();
  const ctx = use_provider_gateway(start_fakes, (fake) => images_config(fake, log));
  after(() => log.remove());
  const client = (route) => new OpenAI({
    baseURL: `${ctx.gateway.base_url}/${route}/v1`, apiKey: 'sk-client-key-the-gateway-replaces', maxRetries: 0, timeout: 10_000,
  });

  it('Imagen on the Gemini API: n and size become sampleCount and aspectRatio', async () => {
    const r = await client('imagen').images.generate({ model: imagen, prompt: 'A red fox in snow', n: 2, size: '1792x1024' });
    assert.equal(r.data.length, 2);
    assert.equal(decoded(r.data[0].b64_json), `${imagen}|A red fox in snow|0`);
    assert.equal(decoded(r.data[1].b64_json), `${imagen}|A red fox in snow|1`);
    assert.equal(r.data[0].url, undefined);
    assert.ok(Math.abs(r.created - Date.now() / 1000) < 60);
    assert.equal(r.output_format, 'png');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.url, `/v1beta/models/${imagen}:predict`);
    assert.equal(sent.headers['x-goog-api-key'], ctx.upstream.gemini_key);
    assert.equal(sent.headers.authorization, undefined, 'the client key does not travel');
    assert.deepEqual(sent.body, { instances: [{ prompt: 'A red fox in snow' }], parameters: { sampleCount: 2, aspectRatio: '16:9' } });
    const rec = await log.next();
    assert.equal(rec.response.status, 200);
    assert.equal(rec.ai.proxy.meta.provider_name, 'gemini');
    assert.equal(rec.ai.proxy.meta.request_model, imagen);
    assert.equal(rec.ai.proxy.meta.response_model, imagen);
    assert.equal(rec.ai.proxy.meta.request_mode, 'oneshot');
    assert.ok(rec.ai.proxy.meta.llm_latency >= 0);
    assert.equal(rec.ai.proxy.usage.total_tokens, 0, 'Imagen reports no usage');
    assert.equal(rec.ai.proxy.meta.images, 2, 'the log counts the images');
  });

  it('a Gemini image model picked by the client: generateContent, inline data back, usage logged', async () => {
    const r = await client('gemini').images.generate({ model: gemini_image, prompt: 'A lighthouse', size: '1024x1536' });
    assert.equal(r.data.length, 1);
    assert.equal(decoded(r.data[0].b64_json), `${gemini_image}|A lighthouse|0`);
    assert.deepEqual(r.usage, { input_tokens: 12, output_tokens: 1290, total_tokens: 1302 });
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1beta/models/${gemini_image}:generateContent`);
    assert.equal(sent.query.get('key'), ctx.upstream.gemini_key);
    assert.deepEqual(sent.body.generationConfig, { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '2:3' } });
    assert.deepEqual(sent.body.contents, [{ role: 'user', parts: [{ text: 'A lighthouse' }] }]);
    const rec = await log.next();
    assert.equal(rec.ai.proxy.meta.request_model, gemini_image);
    assert.equal(rec.ai.proxy.meta.response_model, `${gemini_image}-fake-001`);
    assert.equal(rec.ai.proxy.usage.prompt_tokens, 12);
    assert.equal(rec.ai.proxy.usage.completion_tokens, 1290);
  });

  it('Imagen on Vertex AI with the service account token as bearer', async () => {
    const r = await client('vertex').images.generate({ prompt: 'A bridge at dusk', size: '1024x1024' });
    assert.equal(decoded(r.data[0].b64_json), `${imagen}|A bridge at dusk|0`);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, `/v1/projects/proj-e2e/locations/us-central1/publishers/google/models/${imagen}:predict`);
    const grant = ctx.upstream.identity.grants.at(-1);
    assert.equal(grant.kind, 'google');
    assert.equal(sent.headers.authorization, `Bearer ${grant.token}`);
    assert.equal(sent.body.parameters.aspectRatio, '1:1');
    await log.next();
  });

  it('Nova Canvas on Bedrock: SigV4-signed InvokeModel, width/height/quality, images back', async () => {
    const r = await client('nova').images.generate({ model: nova, prompt: 'A robot', n: 3, size: '1280x720', quality: 'hd' });
    assert.deepEqual(r.data.map((d) => decoded(d.b64_json)), [0, 1, 2].map((i) => `${nova}|A robot|${i}`));
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true, JSON.stringify(sent.signature));
    assert.equal(sent.path, '/model/amazon.nova-canvas-v1%3A0/invoke');
    assert.deepEqual(sent.body, {
      taskType: 'TEXT_IMAGE', textToImageParams: { text: 'A robot' },
      imageGenerationConfig: { numberOfImages: 3, width: 1280, height: 720, quality: 'premium' },
    });
    const rec = await log.next();
    assert.equal(rec.ai.proxy.meta.provider_name, 'bedrock');
    assert.equal(rec.ai.proxy.meta.request_model, nova);
  });

  it('Stability on Bedrock: aspect_ratio and output_format', async () => {
    const r = await client('stability').images.generate({ prompt: 'A castle', size: '1536x1024', output_format: 'jpeg', model: stability });
    assert.equal(decoded(r.data[0].b64_json), `${stability}|A castle|0`);
    assert.equal(r.output_format, 'jpeg');
    const sent = ctx.upstream.last_request();
    assert.equal(sent.signature.ok, true);
    assert.deepEqual(sent.body, { prompt: 'A castle', aspect_ratio: '3:2', output_format: 'jpeg' });
    await log.next();
  });

  it('answers 400 naming the field before calling the provider', async () => {
    const before = ctx.upstream.requests.length;
    const cases = [
      ['imagen', { model: imagen }, /'prompt' is required/],
      ['imagen', { model: imagen, prompt: 'x', response_format: 'url' }, /'response_format' value 'url' is not offered/],
      ['imagen', { model: imagen, prompt: 'x', size: '1536x1024' }, /'size' value '1536x1024'.*3:2/],
      ['stability', { prompt: 'x', n: 2 }, /'n' must be 1 for Stability models/],
      ['imagen', { model: 'imagen-3.0-generate-002', prompt: 'x' }, /cannot use own model/],
    ];
    for (const [route, body, message] of cases) {
      await assert.rejects(client(route).images.generate(body), (err) => {
        assert.equal(err.status, 400, JSON.stringify(body));
        assert.match(err.message, message);
        return true;
      });
      await log.next();
    }
    assert.equal(ctx.upstream.requests.length, before, 'nothing reached the provider');
  });

  it('a body over max_request_body_size is a 413 and never reaches the provider', async () => {
    const before = ctx.upstream.requests.length;
    await assert.rejects(client('small').images.generate({ model: imagen, prompt: 'x'.repeat(300) }), (err) => {
      assert.equal(err.status, 413);
      return true;
    });
    const ok = await client('small').images.generate({ model: imagen, prompt: 'small enough' });
    assert.equal(decoded(ok.data[0].b64_json), `${imagen}|small enough|0`);
    assert.equal(ctx.upstream.requests.length, before + 1);
    assert.equal((await log.next()).response.status, 413);
    await log.next();
  });

  it('a filtered prompt is a 400 content_policy_violation with the provider\'s reason', async () => {
    for (const [route, reason] of [['imagen', /safety filters/], ['gemini', /SAFETY/], ['nova', /content filters/], ['stability', /Filter reason: prompt/]]) {
      const model = { imagen, gemini: gemini_image, nova, stability }[route];
      await assert.rejects(client(route).images.generate({ model, prompt: 'Something [blocked]' }), (err) => {
        assert.equal(err.status, 400, route);
        assert.equal(err.code, 'content_policy_violation', route);
        assert.match(err.message, reason);
        return true;
      });
      await log.next();
    }
  });

  it('provider errors pass through: quota 429, a wrong key, a wrong AWS secret', async () => {
    await assert.rejects(client('imagen').images.generate({ model: imagen, prompt: 'x [quota]' }), (err) => {
      assert.equal(err.status, 429);
      assert.match(err.message, /Quota exceeded/);
      return true;
    });
    await assert.rejects(client('badkey').images.generate({ prompt: 'x' }), (err) => {
      assert.equal(err.status, 403);
      assert.match(err.message, /API key not valid/);
      return true;
    });
    await assert.rejects(client('badsecret').images.generate({ prompt: 'x' }), (err) => {
      assert.equal(err.status, 403);
      return true;
    });
    assert.equal(ctx.upstream.last_request().signature.type, 'InvalidSignatureException');
    // Bedrock's {"message"} body and error type header reach the client unchanged.
    const res = await fetch(`${ctx.gateway.base_url}/badsecret/v1/images/generations`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x' }),
    });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('x-amzn-errortype'), /^InvalidSignatureException:/);
    assert.match((await res.json()).message, /signature we calculated does not match/);
    for (let i = 0; i < 4; i += 1) assert.equal((await log.next()).response.status >= 400, true);
  });
});
