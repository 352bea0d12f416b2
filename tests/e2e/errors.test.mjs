// Errors through the gateway: upstream errors pass through with their status and body; errors the
// gateway raises itself are JSON {"error":{"message","type","code"}} with the right status.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { use_gateway, skip_reason } from './harness.mjs';

const messages = [{ role: 'user', content: 'hello' }];

function assert_gateway_error(body, status) {
  assert.equal(typeof body, 'object', `JSON error body for ${status}`);
  assert.equal(typeof body.error, 'object', `"error" object in ${JSON.stringify(body)}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(typeof body.error.type, 'string', `"type" in ${JSON.stringify(body)}`);
  assert.ok('code' in body.error, `"code" in ${JSON.stringify(body)}`);
}

async function post(ctx, path, body, headers = {}) {
  const res = await fetch(`${ctx.gateway.base_url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, headers: res.headers, body: json };
}

describe('errors through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();

  it('surfaces an upstream 401 as AuthenticationError with the upstream\'s message', async () => {
    const before = ctx.upstream.requests.length;
    await assert.rejects(ctx.client('/badkey').chat.completions.create({ model: 'gpt-4o', messages }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      assert.equal(err.type, 'invalid_request_error');
      assert.match(err.message, /^401 Incorrect API key provided: sk-\*+oked\. You can find your API key at/);
      return true;
    });
    assert.equal(ctx.upstream.requests.length, before + 1);
    assert.equal(ctx.upstream.last_request().headers.authorization, 'Bearer sk-revoked');
  });

  it('passes an upstream 429 through as RateLimitError', async () => {
    await assert.rejects(ctx.client('/ratelimited').chat.completions.create({ messages }), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, 'rate_limit_exceeded');
      return true;
    });
  });

  it('rejects another model with 400 "cannot use own model" and never calls the upstream', async () => {
    const before = ctx.upstream.requests.length;
    await assert.rejects(ctx.client().chat.completions.create({ model: 'gpt-3.5-turbo', messages }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 400);
      assert.equal(err.error.message, 'cannot use own model - must be: gpt-4o');
      return true;
    });
    assert.equal(ctx.upstream.requests.length, before);
  });

  it('answers 400 with the error shape for a body that is not JSON', async () => {
    const r = await post(ctx, '/v1/chat/completions', '{"model": "gpt-4o", "messages": [');
    assert.equal(r.status, 400);
    assert_gateway_error(r.body, 400);
  });

  it('answers 404 with the error shape when no route matches', async () => {
    const r = await post(ctx, '/no/such/route', { model: 'gpt-4o', messages });
    assert.equal(r.status, 404);
    assert_gateway_error(r.body, 404);
  });

  it('answers 413 when the body is over max_request_body_size', async () => {
    const before = ctx.upstream.requests.length;
    const r = await post(ctx, '/small/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(4096) }] });
    assert.equal(r.status, 413);
    assert_gateway_error(r.body, 413);
    assert.equal(ctx.upstream.requests.length, before);
  });

  it('answers 502 when the upstream is unreachable', async () => {
    await assert.rejects(ctx.client('/down').chat.completions.create({ messages }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 502);
      assert_gateway_error({ error: err.error }, 502);
      return true;
    });
  });

  it('answers 504 when the upstream does not answer within the read timeout', { timeout: 8000 }, async () => {
    const r = await post(ctx, '/hang/v1/chat/completions', { messages });
    assert.equal(r.status, 504);
    assert_gateway_error(r.body, 504);
    assert.equal(ctx.upstream.last_request().body.model, 'hang');
  });

  it('keeps serving after errors', async () => {
    const data = await ctx.client().chat.completions.create({ model: 'gpt-4o', messages });
    assert.equal(data.choices[0].message.content, 'Hello from the fake upstream. You said: hello');
  });
});
