// A fake OpenAI / Azure Realtime upstream for the e2e tests: a `ws` WebSocketServer on
// 127.0.0.1:0 behind a plain HTTP server. It refuses handshakes without the key it expects (401
// with an OpenAI error body, as the provider does), records every session (path, query, headers,
// messages received, how it closed), greets with session.created, answers session.update with
// session.updated and response.create with response.created, three text deltas and a
// response.done carrying usage; echoes binary messages; closes on request (4000) when it receives
// {"type":"test.close_me"}. Touches nothing but its own sockets.

import http from 'node:http';
import { WebSocketServer } from 'ws';

export const realtime_key = 'sk-upstream-realtime';
export const azure_realtime_key = 'azure-realtime-key';
export const realtime_usage = {
  total_tokens: 30,
  input_tokens: 12,
  output_tokens: 18,
  input_token_details: { cached_tokens: 4, text_tokens: 8, audio_tokens: 4 },
  output_token_details: { text_tokens: 18, audio_tokens: 0 },
};
export const deltas = ['Hel', 'lo', '!'];

/**
 * Starts the fake. Resolves to { port, url, sessions, wait_for(pred), close() }: sessions is the
 * list of { path, query, headers, received: [{ data, binary }], closed: null | { code, reason } };
 * wait_for(pred) resolves once pred() is true (checked on every event of the fake).
 */
export async function start_fake_realtime() {
  const sessions = [];
  const waiters = new Set();
  const changed = () => { for (const w of waiters) w(); };
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const server = http.createServer((req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'WebSocket only', type: 'invalid_request_error' } }));
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://fake');
    const azure = url.pathname.startsWith('/openai/');
    const ok = azure ? req.headers['api-key'] === azure_realtime_key
      : req.headers.authorization === `Bearer ${realtime_key}`;
    const session = { path: url.pathname, query: url.searchParams, headers: { ...req.headers }, received: [], closed: null };
    sessions.push(session);
    if (!ok) {
      const body = JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      changed();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, session, url));
  });

  function serve(ws, session, url) {
    let n = 0;
    const send = (event) => ws.send(JSON.stringify({ event_id: `event_${++n}`, ...event }));
    send({ type: 'session.created', session: { id: 'sess_1', object: 'realtime.session', model: url.searchParams.get('model') ?? url.searchParams.get('deployment') } });
    ws.on('message', (data, binary) => {
      session.received.push({ data: binary ? Buffer.from(data) : data.toString('utf8'), binary });
      changed();
      if (binary) {
        ws.send(data, { binary: true });
        return;
      }
      const event = JSON.parse(data.toString('utf8'));
      if (event.type === 'session.update') {
        send({ type: 'session.updated', session: { id: 'sess_1', model: 'gpt-realtime-2025-08-28', ...event.session } });
      } else if (event.type === 'response.create') {
        const response = { id: 'resp_1', object: 'realtime.response', status: 'in_progress', output: [] };
        send({ type: 'response.created', response });
        for (const delta of deltas) {
          send({ type: 'response.output_text.delta', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0, delta });
        }
        send({ type: 'response.done', response: { ...response, status: 'completed', usage: realtime_usage } });
      } else if (event.type === 'test.close_me') {
        ws.close(4000, 'bye from upstream');
      }
    });
    ws.on('close', (code, reason) => {
      session.closed = { code, reason: reason.toString('utf8') };
      changed();
    });
    ws.on('error', () => {});
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    sessions,
    /** Resolves once pred() holds; rejects after 5 s (a bound for a broken test, not a timing). */
    wait_for(pred) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred()) { waiters.delete(check); clearTimeout(timer); resolve(); }
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error('fake realtime: condition not met within 5 s')); }, 5000);
        waiters.add(check);
      });
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
