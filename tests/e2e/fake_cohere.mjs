// A fake Cohere upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 speaking Cohere's
// wire format — v2 chat (POST /v2/chat, plain and SSE with named events), v1 chat (POST /v1/chat,
// plain and NDJSON), generate (POST /v1/generate, plain and NDJSON) and embed (POST /v2/embed) —
// and recording every request so tests can assert what the gateway sent. Touches nothing but its
// own socket.
//
// Scripted behaviour:
//   Authorization must be "Bearer <one of keys>" (default co-upstream), else 401 {"message"}.
//   model "overloaded" -> 429 {"id","message"}; streamed: some text, then message-end with
//   finish_reason ERROR and an error message.
//   tools and a last message that is not a tool result -> a tool plan and two parallel tool
//   calls (first two tools), finish_reason TOOL_CALL.
//   last messages with role tool -> "The tool returned: <results joined with ' | '>".
//   response_format json_object -> '{"city": "Paris"}'.
//   otherwise -> "Hello from fake Cohere: <last user text>".

import { start_fake_server, send_json, send_sse as write_sse, send_ndjson as write_ndjson, pieces as pieces_of, args_for } from './fake_common.mjs';

function text_of(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((p) => p?.type === 'text').map((p) => p.text).join(' ');
}

// What the fake model answers for a v2 request: { text, plan, calls, finish }.
function answer(body) {
  const messages = body.messages ?? [];
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const results = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; --i) results.unshift(text_of(messages[i].content));
  if (results.length > 0) return { text: `The tool returned: ${results.join(' | ')}`, calls: [], finish: 'COMPLETE' };
  if (tools.length > 0 && body.tool_choice !== 'NONE') {
    const calls = tools.slice(0, 2).map((t, i) => ({
      id: `${t.function.name}_fake${i + 1}`, type: 'function',
      function: { name: t.function.name, arguments: JSON.stringify(args_for(t.function.parameters)) },
    }));
    return { text: '', plan: 'I will call the tools.', calls, finish: 'TOOL_CALL' };
  }
  if (body.response_format?.type === 'json_object') return { text: '{"city": "Paris"}', calls: [], finish: 'COMPLETE' };
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return { text: `Hello from fake Cohere: ${text_of(last?.content)}`, calls: [], finish: 'COMPLETE' };
}

const pieces = (text, size = 5) => pieces_of(text, size);

function usage(input, output) {
  return { billed_units: { input_tokens: input, output_tokens: output }, tokens: { input_tokens: input + 10, output_tokens: output }, cached_tokens: 2 };
}

export async function start_fake_cohere({ keys = ['co-upstream'] } = {}) {
  let next_id = 0;

  function send_sse(res, events) {
    write_sse(res, events.map((data) => ({ event: data.type, data })), { headers: { 'cache-control': 'no-cache' } });
  }

  function send_ndjson(res, events) {
    write_ndjson(res, events, 'application/stream+json');
  }

  function handle(req, res, { body }) {
    const auth = req.headers.authorization ?? '';
    if (!keys.some((k) => auth === `Bearer ${k}`)) return send_json(res, 401, { message: 'invalid api token' });
    if (body === null || typeof body !== 'object') return send_json(res, 400, { message: 'invalid request: body is not JSON' });
    const id = `fake-${String(++next_id).padStart(6, '0')}`;
    if (req.method !== 'POST') return send_json(res, 404, { message: `no route ${req.url}` });
    if (req.url.startsWith('/v2/chat')) return chat_v2(res, body, id);
    if (req.url.startsWith('/v1/chat')) return chat_v1(res, body, id);
    if (req.url.startsWith('/v1/generate')) return generate(res, body, id);
    if (req.url.startsWith('/v2/embed')) return embed(res, body, id);
    return send_json(res, 404, { message: `no route ${req.url}` });
  }

  function chat_v2(res, body, id) {
    if (!Array.isArray(body.messages) || !body.model) return send_json(res, 400, { id, message: 'invalid request: messages and model are required' });
    const input = JSON.stringify(body.messages).length >> 2;
    if (body.model === 'overloaded' && !body.stream) return send_json(res, 429, { id, message: 'too many requests, slow down' });
    const a = answer(body);
    if (!body.stream) {
      const message = { role: 'assistant' };
      if (a.text) message.content = [{ type: 'text', text: a.text }];
      if (a.plan) message.tool_plan = a.plan;
      if (a.calls.length) message.tool_calls = a.calls;
      return send_json(res, 200, { id, finish_reason: a.finish, message, usage: usage(input, 7) });
    }
    const events = [{ type: 'message-start', id, delta: { message: { role: 'assistant' } } }];
    if (body.model === 'overloaded') {
      events.push({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
        { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Partial answer' } } } },
        { type: 'message-end', delta: { error: 'model overloaded', finish_reason: 'ERROR' } });
      return send_sse(res, events);
    }
    if (a.plan) for (const p of pieces(a.plan)) events.push({ type: 'tool-plan-delta', delta: { message: { tool_plan: p } } });
    a.calls.forEach((c, index) => {
      events.push({ type: 'tool-call-start', index, delta: { message: { tool_calls: { id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } } } } });
      for (const p of pieces(c.function.arguments, 4)) events.push({ type: 'tool-call-delta', index, delta: { message: { tool_calls: { function: { arguments: p } } } } });
      events.push({ type: 'tool-call-end', index });
    });
    if (a.text) {
      events.push({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } });
      for (const p of pieces(a.text)) events.push({ type: 'content-delta', index: 0, delta: { message: { content: { text: p } } } });
      events.push({ type: 'content-end', index: 0 });
    }
    events.push({ type: 'message-end', delta: { finish_reason: a.finish, usage: usage(input, 7) } });
    send_sse(res, events);
  }

  function chat_v1(res, body, id) {
    if (typeof body.message !== 'string') return send_json(res, 400, { message: 'invalid request: message must be a string' });
    const text = `Hello from fake Cohere v1: ${body.message}`;
    const meta = { api_version: { version: '1' }, billed_units: { input_tokens: 3, output_tokens: 9 }, tokens: { input_tokens: 30, output_tokens: 9 } };
    const response = { text, generation_id: id, finish_reason: 'COMPLETE', meta };
    if (!body.stream) return send_json(res, 200, response);
    send_ndjson(res, [{ event_type: 'stream-start', generation_id: id, is_finished: false },
      ...pieces(text).map((t) => ({ event_type: 'text-generation', text: t, is_finished: false })),
      { event_type: 'stream-end', finish_reason: 'COMPLETE', is_finished: true, response }]);
  }

  function generate(res, body, id) {
    if (typeof body.prompt !== 'string') return send_json(res, 400, { message: 'invalid request: prompt must be a string' });
    const text = ` Fake Cohere completes: ${body.prompt}`;
    const meta = { api_version: { version: '1' }, billed_units: { input_tokens: 4, output_tokens: 6 } };
    const generation = { id: `${id}-gen`, text, finish_reason: 'COMPLETE' };
    if (!body.stream) return send_json(res, 200, { id, generations: [generation], prompt: body.prompt, meta });
    send_ndjson(res, [...pieces(text).map((t) => ({ event_type: 'text-generation', text: t, is_finished: false })),
      { event_type: 'stream-end', is_finished: true, finish_reason: 'COMPLETE', response: { id, generations: [generation], meta } }]);
  }

  function embed(res, body, id) {
    if (!Array.isArray(body.texts) || !body.input_type || !Array.isArray(body.embedding_types)) {
      return send_json(res, 400, { id, message: 'invalid request: texts, input_type and embedding_types are required' });
    }
    const dims = body.output_dimension ?? 3;
    const vectors = body.texts.map((t) => Array.from({ length: dims }, (_, k) => (t.length + k) / 8));
    send_json(res, 200, { id, texts: body.texts, embeddings: { float: vectors }, meta: { api_version: { version: '2' }, billed_units: { input_tokens: body.texts.length * 2 } } });
  }

  return start_fake_server(handle);
}
