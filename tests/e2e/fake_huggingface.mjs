// A fake Hugging Face upstream for the e2e tests, which also plays a Llama 2 text-generation
// server (llama2_format raw): an HTTP/1.1 server on 127.0.0.1:0 speaking
//   POST /v1/chat/completions                      the router's OpenAI-shaped chat, plain and SSE
//   POST /hf-inference/models/{org/name}           text-generation, [{generated_text, details}]
//                                                  or TGI's token SSE stream when "stream": true
//   POST /hf-inference/models/{org/name}/pipeline/feature-extraction   one float vector per input
//   POST /llama/generate                           TGI generate for Llama 2 prompts (see below)
// and recording every request so tests can assert what the gateway sent. Touches nothing but its
// own socket.
//
// Scripted behaviour (Hugging Face paths):
//   Authorization must be "Bearer <one of keys>" (default hf-upstream), else 401 {"error"}.
//   chat model "error-200" -> 200 {"error": "..."} (the way hf-inference reports some failures);
//   chat model "loading" -> 503 {"error": "Model loading is currently loading", "estimated_time"}.
//   chat model "tgi-2" with tools -> TGI 2.x's tool call (arguments as an object, finish
//   reason "eos_token", empty id).
//   chat with tools -> one call of the first tool, finish_reason tool_calls.
//   chat otherwise -> "Hello from fake HF: <last user text>"; streamed TGI-style (empty ids,
//   finish_reason "eos_token"), with a usage chunk only when stream_options.include_usage.
//   text-generation -> " and fake HF continues: <inputs>"; the stream ends with the special
//   token "</s>" and details { finish_reason "length", generated_tokens, input_length }.
//   feature-extraction -> vector i of input s is [(s.length + k) / 7 for k in 0..3] (not exactly
//   representable as float32, so the test sees float32 rounding after base64).
// /llama/generate: the request body must hold exactly LLAMA2_PROMPT as "inputs", else 400
//   {"error"}; it answers [{generated_text: LLAMA2_ANSWER}] or, with "stream": true, a TGI token
//   stream of LLAMA2_ANSWER ending with "</s>" (special) and finish_reason "eos_token".

import { start_fake_server, send_json, send_sse, pieces } from './fake_common.mjs';

/** The Llama 2 prompt the gateway must build for LLAMA2_MESSAGES. */
export const LLAMA2_MESSAGES = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Name a camelid.' },
  { role: 'assistant', content: 'Llama.' },
  { role: 'user', content: 'Another one?' },
];
export const LLAMA2_PROMPT =
  '<s>[INST] <<SYS>>\nYou are a terse assistant.\n<</SYS>>\n\nName a camelid. [/INST] Llama. </s>'
  + '<s>[INST] Another one? [/INST]';
export const LLAMA2_ANSWER = ' Alpaca, from the Andes.';

/** The fake's feature-extraction vector for one input text. */
export function fake_vector(text) {
  return Array.from({ length: 4 }, (_, k) => (text.length + k) / 7);
}

function text_of(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((p) => p?.type === 'text').map((p) => p.text).join(' ');
}

// TGI's token events: one per piece, then the special end token with the final details.
function token_stream(text, { finish_reason, input_length }) {
  const parts = pieces(text, 4);
  const events = parts.map((t, i) => ({
    data: { index: i, token: { id: 100 + i, text: t, logprob: -0.5, special: false }, generated_text: null, details: null },
  }));
  events.push({
    data: {
      index: parts.length, token: { id: 2, text: '</s>', logprob: -0.1, special: true }, generated_text: text,
      details: { finish_reason, generated_tokens: parts.length + 1, input_length, seed: null },
    },
  });
  return events;
}

export async function start_fake_huggingface({ keys = ['hf-upstream'] } = {}) {
  let next_id = 0;

  function handle(req, res, record) {
    const { body, path } = record;
    if (req.method !== 'POST') return send_json(res, 404, { error: `no route ${req.url}` });
    if (path === '/llama/generate') return llama(res, body);
    const auth = req.headers.authorization ?? '';
    if (!keys.some((k) => auth === `Bearer ${k}`)) return send_json(res, 401, { error: 'Invalid credentials in Authorization header' });
    if (body === null || typeof body !== 'object') return send_json(res, 400, { error: 'body is not JSON' });
    if (path === '/v1/chat/completions') return chat(res, body);
    const m = path.match(/^\/hf-inference\/models\/(.+?)(\/pipeline\/feature-extraction)?$/);
    if (m && m[2]) return embed(res, body);
    if (m) return generate(res, body, decodeURIComponent(m[1]));
    return send_json(res, 404, { error: `no route ${req.url}` });
  }

  function chat(res, body) {
    if (!Array.isArray(body.messages) || typeof body.model !== 'string') {
      return send_json(res, 422, { error: 'Input validation error: messages and model are required', error_type: 'validation' });
    }
    if (body.model === 'error-200') return send_json(res, 200, { error: 'CUDA out of memory on the fake GPU' });
    if (body.model === 'loading') {
      return send_json(res, 503, { error: 'Model loading is currently loading', estimated_time: 20.5 });
    }
    const id = `chatcmpl-fakehf${++next_id}`;
    const usage = { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 };
    const tools = Array.isArray(body.tools) ? body.tools : [];
    if (tools.length > 0 && body.model === 'tgi-2') {
      // TGI 2.x's Messages API: id "0", arguments as a JSON object, its own finish reason.
      const call = { id: '0', type: 'function', function: { description: null, name: tools[0].function.name, arguments: { city: 'Paris' } } };
      return send_json(res, 200, {
        id: '', object: 'chat.completion', created: 1_700_000_123, model: body.model, system_fingerprint: '2.0.4-fake',
        choices: [{ index: 0, message: { role: 'assistant', tool_calls: [call] }, logprobs: null, finish_reason: 'eos_token' }],
        usage,
      });
    }
    if (tools.length > 0) {
      const fn = tools[0].function;
      const call = { id: `call_fakehf${next_id}`, type: 'function', function: { name: fn.name, arguments: JSON.stringify({ city: 'Paris' }) } };
      return send_json(res, 200, {
        id, object: 'chat.completion', created: 1_700_000_123, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'tool_calls' }],
        usage,
      });
    }
    const last = [...body.messages].reverse().find((m) => m.role === 'user');
    const text = `Hello from fake HF: ${text_of(last?.content)}`;
    if (!body.stream) {
      return send_json(res, 200, {
        id, object: 'chat.completion', created: 1_700_000_123, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
        usage,
      });
    }
    // TGI's Messages API: empty ids and its own finish reason names.
    const chunk = (choices, extra = {}) => ({ id: '', object: 'chat.completion.chunk', created: 1_700_000_123, model: body.model, system_fingerprint: '3.0.0-fake', choices, ...extra });
    const events = pieces(text, 5).map((p, i) => ({ data: chunk([{ index: 0, delta: { role: 'assistant', content: p }, logprobs: null, finish_reason: null }]) }));
    events.push({ data: chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: 'eos_token' }]) });
    if (body.stream_options?.include_usage) events.push({ data: chunk([], { usage }) });
    events.push({ data: '[DONE]' });
    send_sse(res, events);
  }

  function generate(res, body, model) {
    if (typeof body.inputs !== 'string') return send_json(res, 422, { error: 'Input validation error: `inputs` must be a string', error_type: 'validation' });
    const text = ` and fake HF continues: ${body.inputs}`;
    if (body.stream) return send_sse(res, token_stream(text, { finish_reason: 'length', input_length: 3 }));
    send_json(res, 200, [{ generated_text: text, details: { finish_reason: 'length', generated_tokens: 9, seed: null, prefill: [], tokens: [] }, model }]);
  }

  function embed(res, body) {
    const inputs = typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
    if (!Array.isArray(inputs)) return send_json(res, 400, { error: 'inputs must be a string or a list of strings' });
    const vectors = inputs.map(fake_vector);
    send_json(res, 200, typeof body.inputs === 'string' ? vectors[0] : vectors);
  }

  function llama(res, body) {
    if (body?.inputs !== LLAMA2_PROMPT) {
      return send_json(res, 400, { error: `unexpected prompt ${JSON.stringify(body?.inputs)}`, error_type: 'validation' });
    }
    if (body.stream) return send_sse(res, token_stream(LLAMA2_ANSWER, { finish_reason: 'eos_token', input_length: 42 }));
    send_json(res, 200, [{ generated_text: LLAMA2_ANSWER }]);
  }

  return start_fake_server(handle);
}
