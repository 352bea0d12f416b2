// realtime/v1/realtime through aiproxy: the official OpenAI SDK's Node realtime client
// (OpenAIRealtimeWS) and plain `ws` clients against fake_realtime.mjs. Covers the relay of
// session.update / response.create and the ordered answer, the upstream key injected and the
// client's key kept back, usage and request_mode in the file-log record, closes passed on both
// ways (client close, client drop, upstream close), a binary frame unchanged, Azure's endpoint
// and api-key, and the HTTP answers before an upgrade (426 without one, 502 when the upstream is
// down, the upstream's 401 passed through). Touches its fake, its gateway and a temporary dir.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import { start_fake_realtime, realtime_key, azure_realtime_key, realtime_usage, deltas } from './fake_realtime.mjs';
import { use_provider_gateway, routes_config, ai_route, skip_reason } from './harness.mjs';
import { start_gateway } from './gateway.mjs';

const log_dir = mkdtempSync(join(tmpdir(), 'aiproxy-realtime-'));
const log_path = join(log_dir, 'records.log');
after(() => rmSync(log_dir, { recursive: true, force: true }));

const client_key = 'sk-client-key-the-gateway-replaces';

function realtime_config(upstream) {
  const plugin = (extra) => ({
    route_type: 'realtime/v1/realtime',
    auth: extra.auth ?? { header_name: 'Authorization', header_value: `Bearer ${realtime_key}` },
    logging: { log_statistics: true, log_payloads: false },
    model: {
      provider: extra.provider ?? 'openai',
      ...(extra.model ? { name: extra.model } : {}),
      options: { upstream_url: extra.upstream_url ?? upstream.url, input_cost: 5, output_cost: 20, ...(extra.options ?? {}) },
    },
  });
  return routes_config([
    ai_route('realtime', '/v1/realtime', plugin({ model: 'gpt-realtime' })),
    ai_route('open-model', '/open/v1/realtime', plugin({})),
    ai_route('azure', '/azure/v1/realtime', plugin({
      provider: 'azure',
      auth: { header_name: 'api-key', header_value: azure_realtime_key },
      options: { azure_instance: 'res1', azure_deployment_id: 'rt-dep', azure_api_version: '2025-04-01-preview' },
    })),
    ai_route('badkey', '/badkey/v1/realtime', plugin({ model: 'gpt-realtime', auth: { header_name: 'Authorization', header_value: 'Bearer sk-revoked' } })),
    ai_route('down', '/down/v1/realtime', plugin({ model: 'gpt-realtime', upstream_url: 'http://127.0.0.1:1' })),
  ], { plugins: [{ name: 'file-log', config: { path: log_path } }] });
}

/** All file-log records whose URI starts with `uri` and that `pred` accepts; waits up to 5 s for
 *  at least one (the gateway writes the log from its own thread). */
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

/** The SDK always dials wss://; the test gateway listens in plain text, so the socket is TCP. */
const plain_tcp = (opts) => net.connect({ host: opts.host, port: opts.port });

/** Resolves with the next event named `name` of `emitter`. */
const next = (emitter, name) => new Promise((resolve) => emitter.once(name, (...args) => resolve(args)));

/** A plain `ws` client on `path` of the gateway; resolves once open, with its received messages. */
async function ws_client(gateway, path, headers = {}) {
  const ws = new WebSocket(`ws://${gateway.proxy}${path}`, { headers });
  const messages = [];
  ws.on('message', (data, binary) => messages.push({ data: binary ? Buffer.from(data) : data.toString('utf8'), binary }));
  await next(ws, 'open');
  return { ws, messages };
}

/** What the gateway answered to a handshake it did not accept: { status, body }. */
async function refused(gateway, path) {
  const ws = new WebSocket(`ws://${gateway.proxy}${path}`);
  ws.on('error', () => {});
  const [, res] = await next(ws, 'unexpected-response');
  const chunks = [];
  for await (const c of res) chunks.push(c);
  return { status: res.statusCode, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
}

describe('realtime/v1/realtime through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_provider_gateway(start_fake_realtime, realtime_config);

  it('relays an SDK conversation in order, injects the key and logs usage', async () => {
    const client = new OpenAI({ baseURL: `${ctx.gateway.base_url}/v1`, apiKey: client_key, maxRetries: 0 });
    const rt = new OpenAIRealtimeWS({
      model: 'gpt-4o-realtime-preview',
      options: { createConnection: plain_tcp, headers: { 'OpenAI-Beta': 'realtime=v1' } },
    }, client);
    const errors = [];
    rt.on('error', (e) => errors.push(e));
    const events = [];
    rt.on('event', (e) => events.push(e));
    const greeted = next(rt, 'session.created');
    await next(rt.socket, 'open');
    const [created] = await greeted;
    // The route's model replaced the client's.
    assert.equal(created.session.model, 'gpt-realtime');

    const updated = next(rt, 'session.updated');
    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    const [u] = await updated;
    assert.equal(u.session.instructions, 'Be brief.');

    const done = next(rt, 'response.done');
    rt.send({ type: 'response.create' });
    const [d] = await done;
    assert.deepEqual(d.response.usage, realtime_usage);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(types.indexOf('response.created')),
      ['response.created', ...deltas.map(() => 'response.output_text.delta'), 'response.done']);
    assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), 'Hello!');

    const session = ctx.upstream.sessions.at(-1);
    assert.equal(session.path, '/v1/realtime');
    assert.equal(session.query.get('model'), 'gpt-realtime');
    assert.equal(session.headers.authorization, `Bearer ${realtime_key}`);
    assert.equal(session.headers['openai-beta'], 'realtime=v1');
    for (const [name, value] of Object.entries(session.headers)) {
      assert.ok(!String(value).includes(client_key), `client key leaked upstream in ${name}`);
    }
    assert.deepEqual(session.received.map((m) => JSON.parse(m.data).type), ['session.update', 'response.create']);

    rt.close({ code: 1000, reason: 'done' });
    await ctx.upstream.wait_for(() => session.closed !== null);
    assert.deepEqual(session.closed, { code: 1000, reason: 'done' });
    assert.deepEqual(errors, []);

    const rec = await record_for('/v1/realtime');
    assert.equal(rec.response.status, 101);
    assert.equal(rec.ai.proxy.meta.request_mode, 'realtime');
    assert.equal(rec.ai.proxy.meta.request_model, 'gpt-realtime');
    assert.equal(rec.ai.proxy.meta.response_model, 'gpt-realtime-2025-08-28');
    assert.deepEqual(
      [rec.ai.proxy.usage.prompt_tokens, rec.ai.proxy.usage.completion_tokens, rec.ai.proxy.usage.total_tokens],
      [12, 18, 30]);
    assert.equal(rec.ai.proxy.usage.prompt_tokens_details.cached_tokens, 4);
    assert.equal(rec.ai.proxy.usage.cost, (12 * 5 + 18 * 20) / 1e6);
    assert.match(rec.upstream_uri ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?model=gpt-realtime$/);
  });

  it('passes a binary frame unchanged and an upstream close on to the client', async () => {
    const { ws, messages } = await ws_client(ctx.gateway, '/open/v1/realtime?model=client-model');
    const session = ctx.upstream.sessions.at(-1);
    assert.equal(session.query.get('model'), 'client-model');  // no configured name: the client's
    const bytes = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]);
    ws.send(bytes, { binary: true });
    await ctx.upstream.wait_for(() => session.received.length === 1);
    assert.equal(session.received[0].binary, true);
    assert.deepEqual(session.received[0].data, bytes);
    const closed = next(ws, 'close');
    ws.send(JSON.stringify({ type: 'test.close_me' }));
    const [code, reason] = await closed;
    assert.equal(code, 4000);
    assert.equal(reason.toString('utf8'), 'bye from upstream');
    // The echo came back as binary, after the greeting, before the close.
    assert.equal(messages[0].binary, false);
    assert.deepEqual(messages.slice(1), [{ data: bytes, binary: true }]);
    const rec = await record_for('/open/v1/realtime');
    assert.equal(rec.ai.proxy.meta.request_model, 'client-model');
  });

  it('closes the upstream with 1001 when the client drops its connection', async () => {
    const { ws } = await ws_client(ctx.gateway, '/v1/realtime');
    const session = ctx.upstream.sessions.at(-1);
    ws.terminate();  // TCP gone, no close frame
    await ctx.upstream.wait_for(() => session.closed !== null);
    assert.equal(session.closed.code, 1001);
  });

  it('uses the Azure realtime endpoint and api-key', async () => {
    const { ws, messages } = await ws_client(ctx.gateway, '/azure/v1/realtime', { 'api-key': 'client-azure-key' });
    const session = ctx.upstream.sessions.at(-1);
    assert.equal(session.path, '/openai/realtime');
    assert.equal(session.query.get('api-version'), '2025-04-01-preview');
    assert.equal(session.query.get('deployment'), 'rt-dep');
    assert.equal(session.headers['api-key'], azure_realtime_key);
    const closed = next(ws, 'close');
    ws.close(1000, 'bye');
    await closed;
    await ctx.upstream.wait_for(() => session.closed !== null);
    assert.equal(session.closed.code, 1000);
    assert.equal(JSON.parse(messages[0].data).session.model, 'rt-dep');
  });

  it('answers a request without an upgrade with 426 and an OpenAI error', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/v1/realtime?model=x`);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    const body = await res.json();
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.code, 'websocket_upgrade_required');
  });

  it('answers over HTTP when the upstream is down or refuses the key', async () => {
    const down = await refused(ctx.gateway, '/down/v1/realtime');
    assert.equal(down.status, 502);
    assert.match(down.body.error.message, /connect/);
    const bad = await refused(ctx.gateway, '/badkey/v1/realtime');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, 'invalid_api_key');
  });
});

describe('realtime sessions and shutdown', { skip: skip_reason() }, () => {
  it('closes an open session when the drain deadline passes', async () => {
    const upstream = await start_fake_realtime();
    const gateway = await start_gateway(realtime_config(upstream), { extra_args: ['--drain-timeout', '200'] });
    try {
      const { ws } = await ws_client(gateway, '/v1/realtime');
      const session = upstream.sessions.at(-1);
      const client_closed = next(ws, 'close');
      const exit = await gateway.stop();
      assert.equal(exit.code, 0);
      await client_closed;
      await upstream.wait_for(() => session.closed !== null);
      assert.equal(session.closed.code, 1001);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });
});
