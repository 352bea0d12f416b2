// What the fake upstreams of the e2e tests share: an HTTP/1.1 server on 127.0.0.1:0 that records
// every request (with its body parsed as JSON) before handing it to the fake's handler, writers
// for JSON, SSE and NDJSON responses, and the small helpers the fake models use to build answers.
// Touches nothing but the server's own socket.

import http from 'node:http';

/**
 * Starts a server on 127.0.0.1:0. Each request is read whole and recorded as
 * { method, url, path, query, headers, raw, body } (path: the URL without its query; query:
 * URLSearchParams; raw: the body as UTF-8 text; body: raw parsed as JSON, or null if empty or not
 * JSON), pushed to `requests`, and passed on as handler(req, res, record, bytes) with bytes the
 * body's Buffer. If the handler throws or rejects, on_error(res, err) answers (default: a 500 with
 * {"error": message}), or the connection is cut when the response has already begun.
 * Resolves to { port, url, requests, last_request(), close() }; close() cuts open connections.
 */
export async function start_fake_server(handler, { on_error } = {}) {
  const requests = [];
  const sockets = new Set();
  const fail = on_error ?? ((res, err) => send_json(res, 500, { error: String(err) }));

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString('utf8');
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { /* recorded as null */ }
      const url = new URL(req.url, 'http://fake');
      const record = {
        method: req.method, url: req.url, path: url.pathname, query: url.searchParams,
        headers: { ...req.headers }, raw, body,
      };
      requests.push(record);
      Promise.resolve().then(() => handler(req, res, record, bytes)).catch((err) => {
        if (!res.headersSent) fail(res, err);
        else res.destroy(err);
      });
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    last_request: () => requests[requests.length - 1],
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Answers `status` with `obj` as JSON (content-type application/json unless `headers` sets it). */
export function send_json(res, status, obj, headers = {}) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** One server-sent event: `event: <event>` if given, then `data: <data>` (strings as they are,
 *  anything else as JSON), each line ended by `eol` and the event by an empty line. */
export function sse_event(data, { event, eol = '\n' } = {}) {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event === undefined ? '' : `event: ${event}${eol}`}data: ${text}${eol}${eol}`;
}

/**
 * Answers 200 with an SSE stream: `events` are { event?, data } (see sse_event()), written one
 * write each. `headers` replace the default content-type text/event-stream; `eol` is the line end.
 */
export function send_sse(res, events, { headers = {}, eol = '\n' } = {}) {
  res.writeHead(200, { 'content-type': 'text/event-stream', ...headers });
  for (const { event, data } of events) res.write(sse_event(data, { event, eol }));
  res.end();
}

/** Answers 200 with one JSON object a line, one write each (content-type from `content_type`). */
export function send_ndjson(res, objects, content_type = 'application/x-ndjson') {
  res.writeHead(200, { 'content-type': content_type });
  for (const o of objects) res.write(`${JSON.stringify(o)}\n`);
  res.end();
}

/** Splits `text` into stream pieces of at most `size` characters. */
export function pieces(text, size) {
  return text.match(new RegExp(`.{1,${size}}`, 'gs')) ?? [];
}

/** Arguments a fake model fills in for a JSON schema: each required property (or each property)
 *  gets its first enum value, 1 for numbers, true for booleans, else "Paris". */
export function args_for(schema) {
  const props = schema?.properties ?? {};
  const names = schema?.required ?? Object.keys(props);
  const args = {};
  for (const name of names) {
    const p = props[name] ?? {};
    if (Array.isArray(p.enum)) args[name] = p.enum[0];
    else if (p.type === 'number' || p.type === 'integer') args[name] = 1;
    else if (p.type === 'boolean') args[name] = true;
    else args[name] = 'Paris';
  }
  return args;
}
