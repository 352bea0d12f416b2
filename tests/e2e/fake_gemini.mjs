// A fake Gemini upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 speaking Google's
// wire format for Google AI Studio (POST /v1beta/models/{model}:{action}) and Vertex AI
// (POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{action}):
// generateContent, streamGenerateContent (SSE with ?alt=sse, else a JSON array) and
// batchEmbedContents. It records every request so tests can assert what the gateway sent.
// Touches nothing but its own socket.
//
// Scripted behaviour:
//   the API key (x-goog-api-key header or ?key=) must be one of `keys` (default "AIza-upstream"),
//   else 400 INVALID_ARGUMENT "API key not valid" (Google's error body).
//   model "overloaded" -> 503 UNAVAILABLE; streamed: some text, then an {"error":{...}} event.
//   model "array-stream" -> streams answer as a JSON array even with alt=sse.
//   functionCallingConfig ANY with allowedFunctionNames -> one functionCall of that function.
//   a last user turn holding functionResponse parts -> "The tool returned: <name=response>…".
//   tools and mode != NONE -> a short text and two functionCalls (the first two functions).
//   responseMimeType application/json -> {"ok":true}.
//   otherwise -> "Hello from fake Gemini: <last user text>".

import { start_fake_server, send_json as write_json, send_sse, pieces as pieces_of, args_for } from './fake_common.mjs';

function google_error(code, status, message) {
  return { error: { code, message, status } };
}

function answer(body) {
  const contents = body.contents ?? [];
  const last = contents[contents.length - 1];
  const parts = Array.isArray(last?.parts) ? last.parts : [];
  const decls = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
  const fcc = body.toolConfig?.functionCallingConfig ?? {};
  if (fcc.mode === 'ANY' && Array.isArray(fcc.allowedFunctionNames)) {
    const d = decls.find((x) => x.name === fcc.allowedFunctionNames[0]);
    return [{ functionCall: { name: d.name, args: args_for(d.parametersJsonSchema) } }];
  }
  const responses = parts.filter((p) => p.functionResponse);
  if (responses.length > 0) {
    const text = responses.map((p) => `${p.functionResponse.name}=${JSON.stringify(p.functionResponse.response)}`).join(' | ');
    return [{ text: `The tool returned: ${text}` }];
  }
  if (decls.length > 0 && fcc.mode !== 'NONE') {
    return [{ text: 'Let me look that up.' },
      ...decls.slice(0, 2).map((d) => ({ functionCall: { name: d.name, args: args_for(d.parametersJsonSchema) } }))];
  }
  if (body.generationConfig?.responseMimeType === 'application/json') return [{ text: '{"ok":true}' }];
  const said = parts.map((p) => p.text ?? '').join(' ');
  return [{ text: `Hello from fake Gemini: ${said}` }];
}

const pieces = (text, size = 7) => pieces_of(text, size);

export async function start_fake_gemini({ keys = ['AIza-upstream'] } = {}) {
  let next_id = 0;

  function send_json(res, status, obj) {
    write_json(res, status, obj, { 'content-type': 'application/json; charset=UTF-8' });
  }

  function send_stream(res, events, sse) {
    if (sse) return send_sse(res, events.map((data) => ({ data })), { eol: '\r\n' });
    // Without alt=sse: one JSON array, written element by element.
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.write('[');
    events.forEach((e, i) => res.write(`${i ? ',\r\n' : ''}${JSON.stringify(e, null, 2)}`));
    res.write(']');
    res.end();
  }

  function handle(req, res, { body }) {
    const url = new URL(req.url, 'http://fake');
    const key = req.headers['x-goog-api-key'] ?? url.searchParams.get('key');
    if (!keys.includes(key)) {
      return send_json(res, 400, google_error(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.'));
    }
    const m = url.pathname.match(/^\/(?:v1beta\/models|v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models)\/([^/:]+):(\w+)$/);
    if (req.method !== 'POST' || !m) {
      return send_json(res, 404, google_error(404, 'NOT_FOUND', `no route ${url.pathname}`));
    }
    if (body === null || typeof body !== 'object') {
      return send_json(res, 400, google_error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    }
    const model = decodeURIComponent(m[1]);
    const action = m[2];
    if (action === 'batchEmbedContents') return embed(res, body);
    if (action === 'generateContent') return generate(res, body, model, null);
    if (action === 'streamGenerateContent') return generate(res, body, model, url.searchParams.get('alt') === 'sse');
    return send_json(res, 404, google_error(404, 'NOT_FOUND', `unknown action ${action}`));
  }

  function generate(res, body, model, sse) {
    if (!Array.isArray(body.contents) || body.contents.length === 0) {
      return send_json(res, 400, google_error(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified'));
    }
    const id = `resp-fake-${++next_id}`;
    const modelVersion = `${model}-001`;
    const prompt = JSON.stringify(body.contents).length >> 2;
    if (model === 'overloaded' && sse === null) {
      return send_json(res, 503, google_error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'));
    }
    const parts = answer(body);
    const candidates = JSON.stringify(parts).length >> 3;
    const usage = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates, cachedContentTokenCount: 2 };
    if (sse === null) {
      return send_json(res, 200, {
        candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage, modelVersion, responseId: id,
      });
    }
    const events = [];
    for (const p of parts) {
      if (p.text !== undefined) {
        for (const t of pieces(p.text)) {
          events.push({ candidates: [{ content: { role: 'model', parts: [{ text: t }] }, index: 0 }], usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt }, modelVersion, responseId: id });
        }
      } else {
        events.push({ candidates: [{ content: { role: 'model', parts: [p] }, index: 0 }], usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt }, modelVersion, responseId: id });
      }
    }
    if (model === 'overloaded') {
      events.splice(1);
      events.push(google_error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'));
      return send_stream(res, events, sse);
    }
    events.push({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: usage, modelVersion, responseId: id });
    return send_stream(res, events, sse && model !== 'array-stream');
  }

  function embed(res, body) {
    if (!Array.isArray(body.requests)) {
      return send_json(res, 400, google_error(400, 'INVALID_ARGUMENT', 'requests is required'));
    }
    const embeddings = body.requests.map((r) => {
      const text = (r.content?.parts ?? []).map((p) => p.text).join('');
      const n = r.outputDimensionality ?? 4;
      return { values: Array.from({ length: n }, (_, i) => (text.length + i) / 100) };
    });
    return send_json(res, 200, { embeddings });
  }

  return start_fake_server(handle);
}
