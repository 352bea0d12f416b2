// A fake OpenAI upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 that speaks OpenAI's
// wire format (chat completions plain and SSE, legacy completions, embeddings incl. base64) and
// records every request it receives so tests can assert what the gateway sent.
// Touches nothing but its own socket. Used by the *.test.mjs files next to it.
//
// Scripted behaviour:
//   Authorization must be one of `keys` (default "Bearer sk-upstream"), else 401 invalid_api_key
//   (OpenAI's exact error body).
//   model "error-<status>"  -> that status with an OpenAI error body (429 also sets retry-after)
//   model "hang"            -> reads the request and never answers (for gateway timeouts)
//   model "garbage"         -> 200 with a body that is not JSON
//   header x-fake-status: N -> status N with an OpenAI error body (if the gateway forwards it)
//   chat with `tools` and the last message from the user -> a tool_calls reply
//   chat whose last message is a tool result          -> a final answer quoting the tool result
//   hold_stream()            -> the next stream pauses after its first content chunk until released

import { randomBytes } from 'node:crypto';
import { start_fake_server, send_json as write_json, sse_event } from './fake_common.mjs';

const created_at = 1730000000;  // fixed, so replies are deterministic

function openai_error(message, type, code, param = null) {
  return { error: { message, type, param, code } };
}

const status_errors = {
  400: ['Invalid request.', 'invalid_request_error', null],
  401: ['Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'],
  403: ['Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory'],
  404: ['The model `x` does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found'],
  429: ['Rate limit reached for requests', 'requests', 'rate_limit_exceeded'],
  500: ['The server had an error while processing your request. Sorry about that!', 'server_error', null],
  503: ['The engine is currently overloaded, please try again later.', 'server_error', null],
};

function error_body_for(status) {
  const [message, type, code] = status_errors[status] ?? [`Fake upstream error ${status}`, 'server_error', null];
  return openai_error(message, type, code);
}

function masked_key(auth) {
  const key = (auth ?? '').replace(/^Bearer\s+/i, '');
  return key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : key;
}

function words(text) {
  return String(text ?? '').split(/\s+/).filter(Boolean);
}

function message_text(message) {
  const c = message?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (p?.type === 'text' ? p.text : '')).join(' ');
  return '';
}

function count_prompt_tokens(body) {
  if (Array.isArray(body.messages)) {
    return body.messages.reduce((n, m) => n + 4 + words(message_text(m)).length, 3);
  }
  const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : body.prompt;
  return Math.max(1, words(prompt).length);
}

// Deterministic pseudo-embedding of a string: `dims` floats in [-1, 1).
function embed(text, dims) {
  let h = 2166136261;
  for (const ch of String(text)) h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0;
  const out = new Array(dims);
  for (let i = 0; i < dims; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 3266489909) >>> 0;
    out[i] = Math.fround((h / 4294967296) * 2 - 1);
  }
  return out;
}

function floats_to_base64(values) {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

// Fills the required parameters of a JSON-schema'd tool with deterministic values.
function tool_arguments(tool) {
  const params = tool?.function?.parameters ?? {};
  const props = params.properties ?? {};
  const names = params.required ?? Object.keys(props);
  const args = {};
  for (const name of names) {
    const type = props[name]?.type;
    if (Array.isArray(props[name]?.enum)) args[name] = props[name].enum[0];
    else if (type === 'number' || type === 'integer') args[name] = 1;
    else if (type === 'boolean') args[name] = true;
    else args[name] = 'Paris';
  }
  return JSON.stringify(args);
}

// What the fake "model" answers to a chat request: { content } or { tool_calls }.
function chat_answer(body) {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    return { content: `The tool returned: ${message_text(last)}`, finish_reason: 'stop' };
  }
  if (Array.isArray(body.tools) && body.tools.length > 0 && last?.role === 'user') {
    const tool = body.tools[0];
    return {
      tool_calls: [{
        id: 'call_fake0001',
        type: 'function',
        function: { name: tool.function.name, arguments: tool_arguments(tool) },
      }],
      finish_reason: 'tool_calls',
    };
  }
  const said = message_text([...messages].reverse().find((m) => m.role === 'user'));
  return { content: `Hello from the fake upstream. You said: ${said}`, finish_reason: 'stop' };
}

function usage_of(prompt_tokens, completion_tokens) {
  return {
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
    },
  };
}

// Splits text into stream pieces that keep their spaces: "a b c" -> ["a", " b", " c"].
function pieces(text) {
  return text.match(/\s*\S+/g) ?? [text];
}

export async function start_fake_upstream({ keys = ['Bearer sk-upstream'] } = {}) {
  let next_id = 0;
  let hold = null;  // { promise, release } for the next stream

  const request_id = () => `req_${(++next_id).toString(16).padStart(8, '0')}${randomBytes(4).toString('hex')}`;

  function send_json(res, status, obj, extra = {}) {
    write_json(res, status, obj, { 'x-request-id': request_id(), 'openai-processing-ms': '1', ...extra });
  }

  async function send_sse(res, events) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': request_id(),
    });
    const held = hold;
    hold = null;
    let content_events = 0;
    for (const ev of events) {
      res.write(sse_event(ev));
      if (held && ev?.choices?.[0]?.delta?.content && ++content_events === 1) {
        held.reached();
        await held.promise;
      }
    }
    res.end();
  }

  async function handle(req, res, rec) {
    if (req.method !== 'POST') {
      return send_json(res, 405, openai_error(`Invalid method for URL (${req.method} ${req.url})`, 'invalid_request_error', null));
    }
    const auth = req.headers.authorization;
    if (!keys.includes(auth)) {
      return send_json(res, 401, openai_error(
        `Incorrect API key provided: ${masked_key(auth)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error', 'invalid_api_key'));
    }
    const forced = Number(req.headers['x-fake-status']);
    if (forced >= 400) return send_json(res, forced, error_body_for(forced));
    if (rec.body === null || typeof rec.body !== 'object') {
      return send_json(res, 400, openai_error(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
        'invalid_request_error', null));
    }
    const body = rec.body;
    const model = String(body.model ?? '');
    const scripted = /^error-(\d{3})$/.exec(model);
    if (scripted) {
      const status = Number(scripted[1]);
      return send_json(res, status, error_body_for(status), status === 429 ? { 'retry-after': '1' } : {});
    }
    if (model === 'hang') return;  // never answer; the socket stays open until close()
    if (model === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('<html>this is not json</html>');
    }
    const path = req.url.split('?')[0];
    if (path === '/v1/chat/completions') return chat(res, body);
    if (path === '/v1/completions') return completions(res, body);
    if (path === '/v1/embeddings') return embeddings(res, body);
    return send_json(res, 404, openai_error(`Invalid URL (POST ${path})`, 'invalid_request_error', null));
  }

  function chat(res, body) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return send_json(res, 400, openai_error("Invalid 'messages': empty array.", 'invalid_request_error', 'empty_array', 'messages'));
    }
    const id = `chatcmpl-fake${String(next_id + 1).padStart(6, '0')}`;
    const model = `${body.model}-2024-08-06`;
    const answer = chat_answer(body);
    const prompt_tokens = count_prompt_tokens(body);
    const completion_tokens = answer.content ? words(answer.content).length : 12;
    const base = { id, object: 'chat.completion', created: created_at, model, service_tier: 'default', system_fingerprint: 'fp_fake0001' };
    if (!body.stream) {
      const message = answer.tool_calls
        ? { role: 'assistant', content: null, tool_calls: answer.tool_calls, refusal: null, annotations: [] }
        : { role: 'assistant', content: answer.content, refusal: null, annotations: [] };
      return send_json(res, 200, {
        ...base,
        choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finish_reason }],
        usage: usage_of(prompt_tokens, completion_tokens),
      });
    }
    const include_usage = body.stream_options?.include_usage === true;
    const chunk = (choices, extra = {}) => ({
      ...base, object: 'chat.completion.chunk', ...(include_usage ? { usage: null } : {}), choices, ...extra,
    });
    const events = [];
    if (answer.tool_calls) {
      const tc = answer.tool_calls[0];
      events.push(chunk([{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }], refusal: null }, logprobs: null, finish_reason: null }]));
      for (const p of tc.function.arguments.match(/.{1,8}/gs) ?? []) {
        events.push(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: p } }] }, logprobs: null, finish_reason: null }]));
      }
    } else {
      events.push(chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]));
      for (const p of pieces(answer.content)) {
        events.push(chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]));
      }
    }
    events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: answer.finish_reason }]));
    if (include_usage) events.push(chunk([], { usage: usage_of(prompt_tokens, completion_tokens) }));
    events.push('[DONE]');
    return send_sse(res, events);
  }

  function completions(res, body) {
    if (typeof body.prompt !== 'string' && !Array.isArray(body.prompt)) {
      return send_json(res, 400, openai_error("Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter', 'prompt'));
    }
    const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : body.prompt;
    const text = ` Fake completion of: ${prompt}`;
    const id = `cmpl-fake${String(next_id + 1).padStart(6, '0')}`;
    const base = { id, object: 'text_completion', created: created_at, model: body.model };
    const usage = { prompt_tokens: count_prompt_tokens(body), completion_tokens: words(text).length };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (!body.stream) {
      return send_json(res, 200, { ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }], usage });
    }
    const include_usage = body.stream_options?.include_usage === true;
    const events = pieces(text).map((p) => ({ ...base, choices: [{ text: p, index: 0, logprobs: null, finish_reason: null }], ...(include_usage ? { usage: null } : {}) }));
    events.push({ ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }], ...(include_usage ? { usage: null } : {}) });
    if (include_usage) events.push({ ...base, choices: [], usage });
    events.push('[DONE]');
    return send_sse(res, events);
  }

  function embeddings(res, body) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    if (body.input === undefined || inputs.length === 0) {
      return send_json(res, 400, openai_error("'input' is a required property", 'invalid_request_error', null));
    }
    const dims = Number.isInteger(body.dimensions) ? body.dimensions : 8;
    const base64 = body.encoding_format === 'base64';
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = Array.isArray(input) ? input.join(',') : String(input);
      tokens += Array.isArray(input) ? input.length : Math.max(1, words(text).length);
      const vec = embed(text, dims);
      return { object: 'embedding', index, embedding: base64 ? floats_to_base64(vec) : vec };
    });
    return send_json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  const server = await start_fake_server(handle, {
    on_error: (res, err) => send_json(res, 500, openai_error(String(err), 'server_error', null)),
  });
  const { requests } = server;

  return {
    ...server,
    /** Requests received on `path` (without query), oldest first. */
    requests_to(path) {
      return requests.filter((r) => r.path.split('?')[0] === path);
    },
    /** The next SSE stream pauses after its first content chunk. Returns
     *  { reached: Promise (the pause point was hit), release() }. */
    hold_stream() {
      let release, reached;
      const promise = new Promise((r) => { release = r; });
      const reached_promise = new Promise((r) => { reached = r; });
      hold = { promise, reached };
      return { reached: reached_promise, release };
    },
    async close() {
      if (hold) hold.reached(), (hold = null);
      await server.close();
    },
  };
}

export { embed as fake_embedding, floats_to_base64 };
