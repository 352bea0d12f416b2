// A fake Ollama upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 speaking Ollama's
// native API — POST /api/chat and /api/generate (one JSON object, or NDJSON lines ending with a
// done:true line carrying done_reason and token counts) and POST /api/embed — and recording
// every request so tests can assert what the gateway sent. Touches nothing but its own socket.
//
// Scripted behaviour:
//   model "missing"   -> 404 {"error": "model \"missing\" not found, try pulling it first"}
//   model "crash"     -> streamed: one content line, then {"error": "..."}
//   tools and a last message from the user -> two tool calls (arguments as objects)
//   last messages with role tool -> "The tool returned: <name=result joined with ' | '>"
//   format "json" -> '{"city": "Paris"}'
//   otherwise -> "Hello from fake Ollama: <last user text>" (+ " [N images]" when images came)

import http from 'node:http';

const created_at = '2024-07-22T20:33:28.123648Z';

function args_for(schema) {
  const out = {};
  for (const name of schema?.required ?? Object.keys(schema?.properties ?? {})) out[name] = 'Paris';
  return out;
}

function answer(body) {
  const messages = body.messages ?? [];
  const results = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; --i) {
    results.unshift(`${messages[i].tool_name}=${messages[i].content}`);
  }
  if (results.length > 0) return { content: `The tool returned: ${results.join(' | ')}`, calls: [] };
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    return { content: '', calls: body.tools.slice(0, 2).map((t) => ({ function: { name: t.function.name, arguments: args_for(t.function.parameters) } })) };
  }
  if (body.format === 'json') return { content: '{"city": "Paris"}', calls: [] };
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const images = last?.images?.length ? ` [${last.images.length} images]` : '';
  return { content: `Hello from fake Ollama: ${last?.content ?? ''}${images}`, calls: [] };
}

function pieces(text, size = 6) {
  return text.match(new RegExp(`.{1,${size}}`, 'gs')) ?? [];
}

export async function start_fake_ollama() {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { raw += d; });
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  function send_json(res, status, obj) {
    const text = JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function send_ndjson(res, lines) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const l of lines) res.write(`${JSON.stringify(l)}\n`);
    res.end();
  }

  const counts = { total_duration: 885095291, load_duration: 3753500, prompt_eval_count: 26, prompt_eval_duration: 328493000, eval_count: 12, eval_duration: 552222000 };

  function handle(req, res, raw) {
    let body = null;
    try { body = raw ? JSON.parse(raw) : null; } catch { /* recorded as null */ }
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (body === null || typeof body !== 'object' || !body.model) return send_json(res, 400, { error: 'invalid request' });
    if (body.model === 'missing') return send_json(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    if (req.url === '/api/chat') return chat(res, body);
    if (req.url === '/api/generate') return generate(res, body);
    if (req.url === '/api/embed') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return send_json(res, 200, { model: body.model, embeddings: inputs.map((t) => [t.length / 8, 0.5, -0.25]), prompt_eval_count: inputs.length * 3 });
    }
    return send_json(res, 404, { error: `no route ${req.url}` });
  }

  function chat(res, body) {
    const a = answer(body);
    if (!body.stream) {
      const message = { role: 'assistant', content: a.content };
      if (a.calls.length) message.tool_calls = a.calls;
      return send_json(res, 200, { model: body.model, created_at, message, done_reason: 'stop', done: true, ...counts });
    }
    const line = (message) => ({ model: body.model, created_at, message: { role: 'assistant', ...message }, done: false });
    if (body.model === 'crash') return send_ndjson(res, [line({ content: 'Partial' }), { error: 'an error was encountered while running the model: unexpected EOF' }]);
    const lines = pieces(a.content).map((p) => line({ content: p }));
    for (const c of a.calls) lines.push(line({ content: '', tool_calls: [c] }));
    lines.push({ model: body.model, created_at, message: { role: 'assistant', content: '' }, done_reason: 'stop', done: true, ...counts });
    send_ndjson(res, lines);
  }

  function generate(res, body) {
    const text = ` Fake Ollama completes: ${body.prompt}`;
    if (!body.stream) return send_json(res, 200, { model: body.model, created_at, response: text, done: true, done_reason: 'length', context: [1, 2, 3], ...counts });
    send_ndjson(res, [...pieces(text).map((p) => ({ model: body.model, created_at, response: p, done: false })),
      { model: body.model, created_at, response: '', done: true, done_reason: 'length', ...counts }]);
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    last_request: () => requests[requests.length - 1],
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
