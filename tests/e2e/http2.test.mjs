// HTTP/2 with prior knowledge (h2c) through the gateway, with node:http2 as the client: a chat
// completion and an SSE stream to the fake OpenAI upstream on one HTTP/2 connection, several
// concurrent streams, a 413 on one stream while the connection goes on, and HTTP/1.1 on the same
// port. Touches only the fake upstream and the gateway it starts.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { use_gateway, skip_reason } from './harness.mjs';

const messages = [{ role: 'user', content: 'Tell me a joke' }];
const expected = 'Hello from the fake upstream. You said: Tell me a joke';

/** One request on `session`: resolves { status, headers, body, chunks } once the stream ended. */
function request(session, path, body, extra = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST', ':path': path, 'content-type': 'application/json',
      authorization: 'Bearer sk-client-key', ...extra,
    });
    let status = 0;
    let headers = {};
    const chunks = [];
    req.on('response', (h) => { status = h[':status']; headers = h; });
    req.on('data', (c) => chunks.push(c.toString()));
    req.on('end', () => resolve({ status, headers, body: chunks.join(''), chunks }));
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP/2 (h2c) through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();
  let session;
  before(() => {
    session = http2.connect(ctx.gateway.base_url);
    session.on('error', () => {});
  });
  after(() => session?.close());

  it('answers a chat completion over HTTP/2', async () => {
    const r = await request(session, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages }));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-kong-llm-model'], 'openai/gpt-4o');
    assert.equal(r.headers.connection, undefined);
    const data = JSON.parse(r.body);
    assert.equal(data.choices[0].message.content, expected);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.headers.authorization, 'Bearer sk-upstream');
    assert.deepEqual(sent.body.messages, messages);
  });

  it('streams SSE over the same connection', async () => {
    const r = await request(session, '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-4o', messages, stream: true }));
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'], /text\/event-stream/);
    assert.equal(r.headers['content-length'], undefined);
    const events = r.body.split('\n\n').filter((e) => e.trim());
    assert.equal(events[events.length - 1].trim(), 'data: [DONE]');
    const text = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)))
      .map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, expected);
  });

  it('serves concurrent streams on one connection, and a 413 does not end it', async () => {
    const big = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] });
    const results = await Promise.all([
      request(session, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages })),
      request(session, '/small/v1/chat/completions', big),
      request(session, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages, stream: true })),
      request(session, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages })),
    ]);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200].with(1, 413));
    assert.equal(JSON.parse(results[1].body).error.type, 'invalid_request_error');
    const after413 = await request(session, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages }));
    assert.equal(after413.status, 200);
    assert.equal(session.closed, false);
  });

  it('still serves HTTP/1.1 on the same port', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, expected);
  });
});
