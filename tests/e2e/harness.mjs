// Shared per-file setup for the e2e tests. Inside a describe(), use_provider_gateway() starts a
// fake upstream and the aiproxy binary with a config built for it before the tests and stops both
// after; use_gateway() is that for the fake OpenAI upstream and standard_config(). ai_plugin(),
// ai_route() and routes_config() build the declarative config the provider tests hand the gateway.
// Touches only what the fakes and start_gateway() touch.

import { before, after } from 'node:test';
import OpenAI from 'openai';
import { start_fake_upstream } from './fake_upstream.mjs';
import { start_gateway, standard_config } from './gateway.mjs';

export { skip_reason } from './gateway.mjs';

/**
 * Inside a describe(): before the tests, `upstream = await start_fake()` and then the gateway with
 * `await config_for(upstream)`, which is the config text or { config, env } (env: extra environment
 * for the gateway process, as start_gateway() takes it; a variable set to undefined is left out).
 * After the tests, stops the gateway (its exit goes to gateway.exit) and closes the fake.
 * Returns { upstream, gateway, client(prefix = '', options = {}) }, filled in by the before hook;
 * client() is an OpenAI SDK client with baseURL http://127.0.0.1:<proxy><prefix>/v1, no retries.
 */
export function use_provider_gateway(start_fake, config_for) {
  const ctx = {};
  before(async () => {
    ctx.upstream = await start_fake();
    try {
      const built = await config_for(ctx.upstream);
      const { config, env } = typeof built === 'string' ? { config: built, env: {} } : built;
      ctx.gateway = await start_gateway(config, { env });
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

/** use_provider_gateway() with the fake OpenAI upstream and standard_config(). */
export function use_gateway() {
  return use_provider_gateway(start_fake_upstream, (upstream) => standard_config(upstream.url));
}

/**
 * The config of one ai-proxy plugin: `provider`'s `model` behind `route_type`, with `auth` and
 * model `options` as given, statistics logged unless log_statistics is false, payloads never, and
 * normalize_errors / max_request_body_size only when set.
 */
export function ai_plugin({ route_type, auth, provider, model, options, log_statistics = true,
  normalize_errors = false, max_request_body_size }) {
  return {
    route_type,
    auth,
    logging: { log_statistics, log_payloads: false },
    ...(max_request_body_size ? { max_request_body_size } : {}),
    ...(normalize_errors ? { normalize_errors: true } : {}),
    model: { provider, name: model, options },
  };
}

/** A route `name` on `path` that runs the ai-proxy plugin with `config` (see ai_plugin()). */
export function ai_route(name, path, config) {
  return { name, paths: [path], plugins: [{ name: 'ai-proxy', config }] };
}

/**
 * The error routes the provider tests share, built with their own `ai(route_type, name, extra)`:
 * /badkey (the gateway holds `revoked_key`, which the fake rejects), /overloaded (model
 * "overloaded", which the fake fails) and /normalized (the same with normalize_errors).
 */
export function error_routes(ai, model, revoked_key) {
  return [
    ai_route('badkey', '/badkey/v1/chat/completions', ai('llm/v1/chat', model, { key: revoked_key })),
    ai_route('overloaded', '/overloaded/v1/chat/completions', ai('llm/v1/chat', 'overloaded')),
    ai_route('normalized', '/normalized/v1/chat/completions', ai('llm/v1/chat', 'overloaded', { normalize_errors: true })),
  ];
}

/** The gateway config text holding `routes` (and any other top-level keys in `extra`). */
export function routes_config(routes, extra = {}) {
  // JSON is valid YAML 1.2; yaml-cpp reads it as a YAML flow mapping.
  return JSON.stringify({ _format_version: '3.0', routes, ...extra }, null, 2);
}

/** Reads a whole SDK stream into an array of chunks. */
export async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}
