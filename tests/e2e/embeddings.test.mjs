// Embeddings through the gateway with the official SDK, in float and in base64 (the SDK default).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { use_gateway, skip_reason } from './harness.mjs';
import { fake_embedding } from './fake_upstream.mjs';

describe('embeddings through aiproxy', { skip: skip_reason() }, () => {
  const ctx = use_gateway();

  it('returns float vectors and sends the configured model upstream', async () => {
    const { data, response } = await ctx.client().embeddings
      .create({ model: 'text-embedding-3-small', input: 'The food was delicious', encoding_format: 'float' })
      .withResponse();
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/text-embedding-3-small');
    assert.equal(data.object, 'list');
    assert.equal(data.data.length, 1);
    assert.deepEqual(data.data[0].embedding, fake_embedding('The food was delicious', 8));
    assert.equal(data.usage.prompt_tokens, 4);
    const sent = ctx.upstream.last_request();
    assert.equal(sent.path, '/v1/embeddings');
    assert.equal(sent.headers.authorization, 'Bearer sk-upstream');
    assert.equal(sent.body.model, 'text-embedding-3-small');
  });

  it('passes base64 encoding and several inputs through intact', async () => {
    const data = await ctx.client().embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta gamma'], dimensions: 16 });
    assert.equal(ctx.upstream.last_request().body.encoding_format, 'base64');
    assert.equal(data.data.length, 2);
    assert.deepEqual(data.data.map((d) => d.index), [0, 1]);
    assert.deepEqual(data.data[1].embedding, fake_embedding('beta gamma', 16));
  });
});
