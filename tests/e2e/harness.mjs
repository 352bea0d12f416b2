// Shared per-file setup for the e2e tests: inside a describe(), use_gateway() starts a fake OpenAI
// upstream and the aiproxy binary with standard_config() before the tests and stops both after.
// Touches only what start_fake_upstream() and start_gateway() touch.

import { before, after } from 'node:test';
import OpenAI from 'openai';
import { start_fake_upstream } from './fake_upstream.mjs';
import { start_gateway, standard_config } from './gateway.mjs';

export { skip_reason } from './gateway.mjs';

/** Returns { upstream, gateway, client(prefix = '', options = {}) }, filled in by the before hook.
 *  client() is an OpenAI SDK client with baseURL http://127.0.0.1:<proxy><prefix>/v1, no retries. */
export function use_gateway() {
  const ctx = {};
  before(async () => {
    ctx.upstream = await start_fake_upstream();
    try {
      ctx.gateway = await start_gateway(standard_config(ctx.upstream.url));
    } catch (err) {
      await ctx.upstream.close();
      ctx.upstream = null;
      throw err;
    }
  });
  after(async () => {
    if (ctx.gateway) ctx.gateway.exit = await ctx.gateway.stop();
    if (ctx.upstream) await ctx.upstream.close();
  });
  ctx.client = (prefix = '', options = {}) => new OpenAI({
    baseURL: `${ctx.gateway.base_url}${prefix}/v1`,
    apiKey: 'sk-client-key-the-gateway-replaces',
    maxRetries: 0,
    timeout: 10_000,
    ...options,
  });
  return ctx;
}

/** Reads a whole SDK stream into an array of chunks. */
export async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}
