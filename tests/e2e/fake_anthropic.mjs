// A fake Anthropic upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 speaking
// Anthropic's wire format — the Messages API (POST /v1/messages, plain and SSE with named events)
// and the legacy Text Completions API (POST /v1/complete, plain and SSE) — and recording every
// request so tests can assert what the gateway sent. Touches nothing but its own socket.
//
// Scripted behaviour:
//   x-api-key must be one of `keys` (default "sk-ant-upstream") and anthropic-version must be set,
//   else 401 authentication_error (Anthropic's error body).
//   model "overloaded" -> 529 overloaded_error; streamed: some text, then `event: error`.
//   a tool_choice of type "tool" -> a tool_use of that tool (arguments from its input_schema).
//   tools and a last user turn without tool_result -> two parallel tool_use blocks (first two
//   tools) after a short text, stop_reason tool_use.
//   a last user turn holding tool_result blocks -> "The tool returned: <results joined>".
//   otherwise -> "Hello from fake Claude: <last user text>".

import { start_fake_server, send_json as write_json, send_sse, pieces as pieces_of, args_for as input_for } from './fake_common.mjs';

function anthropic_error(type, message) {
  return { type: 'error', error: { type, message } };
}

function block_text(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (b?.type === 'text' ? b.text : b?.type === 'tool_result' ? block_text(b.content) : ''))
    .filter(Boolean).join(' ');
}

// What the fake model answers: { blocks: [...], stop_reason }.
function answer(body) {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (body.tool_choice?.type === 'tool') {
    const tool = tools.find((t) => t.name === body.tool_choice.name);
    return {
      blocks: [{ type: 'tool_use', id: 'toolu_fake_forced', name: tool.name, input: input_for(tool.input_schema) }],
      stop_reason: 'tool_use',
    };
  }
  const results = Array.isArray(last?.content) ? last.content.filter((b) => b?.type === 'tool_result') : [];
  if (results.length > 0) {
    return { blocks: [{ type: 'text', text: `The tool returned: ${results.map((r) => block_text(r.content)).join(' | ')}` }], stop_reason: 'end_turn' };
  }
  if (tools.length > 0 && body.tool_choice?.type !== 'none') {
    const blocks = [{ type: 'text', text: 'Let me look that up.' }];
    tools.slice(0, 2).forEach((t, i) => {
      blocks.push({ type: 'tool_use', id: `toolu_fake${i + 1}`, name: t.name, input: input_for(t.input_schema) });
    });
    return { blocks, stop_reason: 'tool_use' };
  }
  return { blocks: [{ type: 'text', text: `Hello from fake Claude: ${block_text(last?.content)}` }], stop_reason: 'end_turn' };
}

const pieces = (text, size = 6) => pieces_of(text, size);

export async function start_fake_anthropic({ keys = ['sk-ant-upstream'] } = {}) {
  let next_id = 0;

  function send_json(res, status, obj) {
    write_json(res, status, obj, { 'request-id': `req_fake${next_id}` });
  }

  function send_events(res, events) {
    send_sse(res, events.map(([event, data]) => ({ event, data })),
      { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
  }

  function handle(req, res, { body }) {
    if (!keys.includes(req.headers['x-api-key']) || !req.headers['anthropic-version']) {
      return send_json(res, 401, anthropic_error('authentication_error', 'invalid x-api-key'));
    }
    if (body === null || typeof body !== 'object') {
      return send_json(res, 400, anthropic_error('invalid_request_error', 'body is not JSON'));
    }
    if (req.method === 'POST' && req.url.startsWith('/v1/messages')) return messages(res, body);
    if (req.method === 'POST' && req.url.startsWith('/v1/complete')) return complete(res, body);
    return send_json(res, 404, anthropic_error('not_found_error', `no route ${req.url}`));
  }

  function messages(res, body) {
    if (!Number.isInteger(body.max_tokens) || !Array.isArray(body.messages)) {
      return send_json(res, 400, anthropic_error('invalid_request_error', 'max_tokens: Field required'));
    }
    const id = `msg_fake${String(++next_id).padStart(6, '0')}`;
    const input_tokens = JSON.stringify(body.messages).length >> 2;
    if (body.model === 'overloaded' && !body.stream) {
      return send_json(res, 529, anthropic_error('overloaded_error', 'Overloaded'));
    }
    const { blocks, stop_reason } = body.model === 'overloaded'
      ? { blocks: [{ type: 'text', text: 'Partial answer' }], stop_reason: null }
      : answer(body);
    const output_tokens = JSON.stringify(blocks).length >> 3;
    const message = { id, type: 'message', role: 'assistant', model: `${body.model}-fake`, stop_sequence: null };
    if (!body.stream) {
      return send_json(res, 200, {
        ...message, content: blocks, stop_reason,
        usage: { input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 3, output_tokens },
      });
    }
    const events = [['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens, cache_read_input_tokens: 3, output_tokens: 1 } } }]];
    blocks.forEach((b, index) => {
      if (b.type === 'text') {
        events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
        events.push(['ping', { type: 'ping' }]);
        for (const p of pieces(b.text)) {
          events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } }]);
        }
      } else {
        events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }]);
        for (const p of ['', ...pieces(JSON.stringify(b.input), 5)]) {
          events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } }]);
        }
      }
      events.push(['content_block_stop', { type: 'content_block_stop', index }]);
    });
    if (body.model === 'overloaded') {
      events.push(['error', anthropic_error('overloaded_error', 'Overloaded')]);
      return send_events(res, events);
    }
    events.push(['message_delta', { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens } }]);
    events.push(['message_stop', { type: 'message_stop' }]);
    return send_events(res, events);
  }

  function complete(res, body) {
    if (typeof body.prompt !== 'string' || !Number.isInteger(body.max_tokens_to_sample)) {
      return send_json(res, 400, anthropic_error('invalid_request_error', 'prompt and max_tokens_to_sample are required'));
    }
    if (!body.prompt.startsWith('\n\nHuman:') || !body.prompt.endsWith('\n\nAssistant:')) {
      return send_json(res, 400, anthropic_error('invalid_request_error', 'prompt must start with "\\n\\nHuman:" and end with "\\n\\nAssistant:"'));
    }
    const asked = body.prompt.slice('\n\nHuman:'.length, -'\n\nAssistant:'.length).trim();
    const text = ` Fake Claude completes: ${asked}`;
    const id = `compl_fake${String(++next_id).padStart(6, '0')}`;
    if (!body.stream) {
      return send_json(res, 200, { type: 'completion', id, completion: text, stop_reason: 'stop_sequence', model: body.model, stop: '\n\nHuman:' });
    }
    const events = pieces(text).map((p) => ['completion', { type: 'completion', completion: p, stop_reason: null, model: body.model }]);
    events.splice(1, 0, ['ping', { type: 'ping' }]);
    events.push(['completion', { type: 'completion', completion: '', stop_reason: 'stop_sequence', model: body.model }]);
    return send_events(res, events);
  }

  return start_fake_server(handle);
}
