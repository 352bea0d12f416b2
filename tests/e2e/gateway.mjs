// Starts the real aiproxy binary (env AIPROXY_BIN) for the e2e tests: writes a temporary config,
// spawns `aiproxy run` on port 0 with a ready file, waits for that file (10 s) and stops the
// process with SIGTERM at the end. Also holds the standard test config used by every test file.
// Touches only a fresh temporary directory and the child process it started.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const ready_timeout_ms = 10_000;
const stop_timeout_ms = 5_000;

/** The test-suite skip reason when AIPROXY_BIN is unset, or false when the tests should run.
 *  When AIPROXY_BIN is set but the file is missing, start_gateway() fails (never a silent skip). */
export function skip_reason() {
  return process.env.AIPROXY_BIN
    ? false
    : 'AIPROXY_BIN is unset: set it to the aiproxy binary (e.g. `make e2e`) to run the e2e tests';
}

function check_binary(bin) {
  if (!existsSync(bin)) throw new Error(`AIPROXY_BIN=${bin} does not exist (build it first: make build)`);
  accessSync(bin, constants.X_OK);
}

/**
 * Starts aiproxy with `config_yaml`. Resolves to
 * { proxy, admin, status, base_url, output(), stop() } where proxy/admin/status are "127.0.0.1:PORT",
 * base_url is "http://127.0.0.1:PORT" of the proxy listener, output() is what the process printed so
 * far, and stop() sends SIGTERM and resolves to { code, signal } once it exited (SIGKILL after 5 s).
 * `env` adds environment variables for the gateway process (on top of this process's).
 */
export async function start_gateway(config_yaml, { bin = process.env.AIPROXY_BIN, extra_args = [], env = {} } = {}) {
  if (!bin) throw new Error('AIPROXY_BIN is unset');
  check_binary(bin);
  const dir = mkdtempSync(join(tmpdir(), 'aiproxy-e2e-'));
  const config_path = join(dir, 'config.yaml');
  const ready_path = join(dir, 'ready.json');
  writeFileSync(config_path, config_yaml);
  const args = ['run', '-c', config_path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
    '--status-listen', '127.0.0.1:0', '--workers', '1', '--ready-file', ready_path, ...extra_args];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  const exit_promise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
    child.on('error', (err) => { output += `spawn error: ${err}\n`; exited = { code: -1, signal: null }; resolve(exited); });
  });

  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const deadline = Date.now() + ready_timeout_ms;
  let ready = null;
  while (!ready) {
    if (exited) {
      cleanup();
      throw new Error(`aiproxy exited before it was ready (${JSON.stringify(exited)}):\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit_promise;
      cleanup();
      throw new Error(`aiproxy did not write ${ready_path} within ${ready_timeout_ms} ms:\n${output}`);
    }
    if (existsSync(ready_path)) {
      try { ready = JSON.parse(readFileSync(ready_path, 'utf8')); } catch { /* not complete yet */ }
    }
    if (!ready) await delay(20);  // polling for a file, not waiting for a timing
  }
  for (const key of ['proxy', 'admin', 'status']) {
    if (typeof ready[key] !== 'string' || !/^127\.0\.0\.1:\d+$/.test(ready[key])) {
      child.kill('SIGKILL');
      await exit_promise;
      cleanup();
      throw new Error(`ready file has no valid "${key}": ${JSON.stringify(ready)}`);
    }
  }

  return {
    ...ready,
    base_url: `http://${ready.proxy}`,
    output: () => output,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stop_timeout_ms);
        await exit_promise;
        clearTimeout(timer);
      }
      cleanup();
      return exited;
    },
  };
}

/** The config every test file uses: one route per scenario, all pointing at the fake upstream. */
export function standard_config(upstream_url) {
  const ai = (route_type, name, extra = {}) => ({
    route_type,
    auth: { header_name: 'Authorization', header_value: extra.key ?? 'Bearer sk-upstream' },
    logging: { log_statistics: true, log_payloads: false },
    ...(extra.max_request_body_size ? { max_request_body_size: extra.max_request_body_size } : {}),
    model: {
      provider: extra.provider ?? 'openai',
      name,
      options: extra.options ?? { upstream_url: extra.upstream_url ?? upstream_url },
    },
  });
  const route = (name, path, config) => ({ name, paths: [path], plugins: [{ name: 'ai-proxy', config }] });
  const doc = {
    _format_version: '3.0',
    routes: [
      route('chat', '/v1/chat/completions', ai('llm/v1/chat', 'gpt-4o')),
      route('completions', '/v1/completions', ai('llm/v1/completions', 'gpt-3.5-turbo-instruct')),
      route('embeddings', '/v1/embeddings', ai('llm/v1/embeddings', 'text-embedding-3-small')),
      // The gateway holds a key the upstream rejects: the upstream's 401 must pass through.
      route('badkey', '/badkey/v1/chat/completions', ai('llm/v1/chat', 'gpt-4o', { key: 'Bearer sk-revoked' })),
      // The fake upstream answers this model with a 429.
      route('ratelimited', '/ratelimited/v1/chat/completions', ai('llm/v1/chat', 'error-429')),
      // Nothing listens on port 1: connect is refused.
      route('down', '/down/v1/chat/completions', ai('llm/v1/chat', 'gpt-4o', { upstream_url: 'http://127.0.0.1:1' })),
      route('small', '/small/v1/chat/completions', ai('llm/v1/chat', 'gpt-4o', { max_request_body_size: 1024 })),
      route('mock', '/mock/v1/chat/completions', ai('llm/v1/chat', 'mock-model', { provider: 'mock', options: {} })),
      route('mockfixed', '/mockfixed/v1/chat/completions',
        ai('llm/v1/chat', 'mock-model', { provider: 'mock', options: { mock: { reply: 'Fixed mock reply.' } } })),
    ],
    services: [{
      // The fake upstream never answers model "hang"; read_timeout makes the gateway give up.
      name: 'slow',
      url: upstream_url,
      read_timeout: 500,
      routes: [route('hang', '/hang/v1/chat/completions', ai('llm/v1/chat', 'hang'))],
    }],
  };
  // JSON is valid YAML 1.2; yaml-cpp reads it as a YAML flow mapping.
  return JSON.stringify(doc, null, 2);
}

