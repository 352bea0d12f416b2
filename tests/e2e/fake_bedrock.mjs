// A fake AWS Bedrock Runtime upstream for the e2e tests: an HTTP/1.1 server on 127.0.0.1:0 that
// checks every request's SigV4 signature as AWS does and speaks Bedrock's wire format — Converse
// (POST /model/{modelId}/converse), ConverseStream (POST /model/{modelId}/converse-stream, binary
// application/vnd.amazon.eventstream frames) and InvokeModel for Titan embeddings
// (POST /model/{modelId}/invoke) — recording every request so tests can assert what the gateway
// sent. Touches nothing but its own socket.
//
// Scripted behaviour:
//   The Authorization header must be a valid AWS4-HMAC-SHA256 signature by `access_key_id` /
//   `secret_access_key` for `region` and service "bedrock": an unknown key gives 403
//   UnrecognizedClientException, a signature that does not match gives 403
//   InvalidSignatureException, each with Bedrock's {"message": ...} body.
//   A Converse body that breaks Bedrock's rules (turns not alternating, no user turn first, a
//   toolResult for a toolUseId the assistant never used, ...) gives 400 ValidationException.
//   toolConfig and a last user turn without toolResult -> "Let me check." plus a toolUse of the
//   first tool (arguments from its input schema), stopReason tool_use.
//   a last user turn holding toolResult blocks -> "The tool returned: <results joined>".
//   a last user text containing "[throttle]" -> streamed: some text, then a throttlingException
//   frame; plain: 429 ThrottlingException.
//   a last user text containing "[bad-crc]" -> streamed in one write: the fourth frame's message
//   CRC32 is wrong.
//   otherwise -> "Hello from fake Bedrock: <last user text>", stopReason end_turn.
//   Streams go out in many small socket writes cut in the middle of frames.

import zlib from 'node:zlib';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { start_fake_server, send_json as write_json, pieces as pieces_of, args_for as input_for } from './fake_common.mjs';

export const signature_mismatch_message =
  'The request signature we calculated does not match the signature you provided. Check your AWS ' +
  'Secret Access Key and signing method. Consult the service documentation for details.';

// ---------------------------------------------------------------- SigV4, recomputed

const sha256_hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data, 'utf8').digest();

function unreserved(byte) {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e;
}

// SigV4's UriEncode over the UTF-8 bytes of `s`: all but A-Z a-z 0-9 - . _ ~ (and '/' when asked).
function uri_encode(s, keep_slash) {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (unreserved(byte) || (keep_slash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function uri_decode(s) {
  try { return decodeURIComponent(s.replace(/\+/g, '%2B')); } catch { return s; }
}

// Non-S3 services: the canonical URI is the path as received (already encoded once) encoded again.
function canonical_uri(path) {
  return path === '' ? '/' : uri_encode(path, true);
}

function canonical_query(query) {
  const params = query.split('&').filter(Boolean).map((p) => {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? '' : p.slice(eq + 1);
    return [uri_encode(uri_decode(key), false), uri_encode(uri_decode(value), false)];
  });
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return params.map(([k, v]) => `${k}=${v}`).join('&');
}

// Every value of header `name` (lower case) as received, trimmed, inner runs of spaces collapsed,
// repeated headers joined with ','.
function canonical_header_value(raw_headers, name) {
  const values = [];
  for (let i = 0; i < raw_headers.length; i += 2) {
    if (raw_headers[i].toLowerCase() === name) values.push(raw_headers[i + 1].trim().replace(/\s+/g, ' '));
  }
  return values.length > 0 ? values.join(',') : null;
}

const auth_pattern =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** Checks a request's SigV4 signature. Returns { ok: true, canonical_request } or
 *  { ok: false, status, type, message, canonical_request? }. */
export function verify_sigv4({ method, url, raw_headers, body }, { access_key_id, secret_access_key, region, service, now = Date.now() }) {
  const deny = (type, message, extra = {}) => ({ ok: false, status: 403, type, message, ...extra });
  const authorization = canonical_header_value(raw_headers, 'authorization');
  const m = authorization ? auth_pattern.exec(authorization) : null;
  if (!m) return deny('IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${authorization ?? ''}`);
  const [, key_id, scope_date, scope_region, scope_service, signed_list, signature] = m;
  if (key_id !== access_key_id) return deny('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const signed = signed_list.split(';');
  if (!signed.includes('host') || [...signed].sort().join(';') !== signed_list) {
    return deny('InvalidSignatureException', `'Host' must be a signed header and SignedHeaders must be sorted: ${signed_list}`);
  }
  const amz_date = canonical_header_value(raw_headers, 'x-amz-date');
  if (!amz_date || !/^\d{8}T\d{6}Z$/.test(amz_date) || !signed.includes('x-amz-date')) {
    return deny('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  }
  const when = Date.UTC(+amz_date.slice(0, 4), +amz_date.slice(4, 6) - 1, +amz_date.slice(6, 8),
    +amz_date.slice(9, 11), +amz_date.slice(11, 13), +amz_date.slice(13, 15));
  if (Math.abs(now - when) > 5 * 60 * 1000) {
    return deny('InvalidSignatureException', `Signature expired: ${amz_date} is now earlier or later than the allowed 5 minutes.`);
  }
  if (scope_date !== amz_date.slice(0, 8) || scope_region !== region || scope_service !== service) {
    return deny('InvalidSignatureException', `Credential should be scoped to a valid region and service: ${scope_date}/${scope_region}/${scope_service}`);
  }
  const payload_hash = sha256_hex(body);
  const claimed_hash = canonical_header_value(raw_headers, 'x-amz-content-sha256');
  if (claimed_hash !== null && claimed_hash !== payload_hash) {
    return deny('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match the computed hash of the body.');
  }
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  let headers_block = '';
  for (const name of signed) {
    const value = canonical_header_value(raw_headers, name);
    if (value === null) return deny('InvalidSignatureException', `signed header ${name} is missing from the request`);
    headers_block += `${name}:${value}\n`;
  }
  const canonical_request = [method, canonical_uri(path), canonical_query(query), headers_block, signed_list, payload_hash].join('\n');
  const scope = `${scope_date}/${region}/${service}/aws4_request`;
  const string_to_sign = ['AWS4-HMAC-SHA256', amz_date, scope, sha256_hex(canonical_request)].join('\n');
  const k_date = hmac(`AWS4${secret_access_key}`, scope_date);
  const k_signing = hmac(hmac(hmac(k_date, region), service), 'aws4_request');
  const expected = createHmac('sha256', k_signing).update(string_to_sign, 'utf8').digest('hex');
  if (expected !== signature) return deny('InvalidSignatureException', signature_mismatch_message, { canonical_request });
  return { ok: true, canonical_request };
}

// ---------------------------------------------------------------- AWS eventstream frames

function string_header(name, value) {
  const n = Buffer.from(name, 'utf8');
  const v = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
  out.writeUInt8(n.length, 0);
  n.copy(out, 1);
  out.writeUInt8(7, 1 + n.length);  // header value type 7: string
  out.writeUInt16BE(v.length, 2 + n.length);
  v.copy(out, 4 + n.length);
  return out;
}

/** One eventstream message: prelude (total length, headers length, prelude CRC32), headers,
 *  payload, message CRC32. `headers` is [[name, string value], ...]. */
export function eventstream_frame(headers, payload) {
  const h = Buffer.concat(headers.map(([n, v]) => string_header(n, v)));
  const p = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  const total = 12 + h.length + p.length + 4;
  const frame = Buffer.alloc(total);
  frame.writeUInt32BE(total, 0);
  frame.writeUInt32BE(h.length, 4);
  frame.writeUInt32BE(zlib.crc32(frame.subarray(0, 8)), 8);
  h.copy(frame, 12);
  p.copy(frame, 12 + h.length);
  frame.writeUInt32BE(zlib.crc32(frame.subarray(0, total - 4)), total - 4);
  return frame;
}

// Bedrock pads every event payload with a "p" field of random length against size side channels.
function padded(payload) {
  return { ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'.slice(0, 1 + (JSON.stringify(payload).length % 30)) };
}

const event_frame = (type, payload) => eventstream_frame(
  [[':event-type', type], [':content-type', 'application/json'], [':message-type', 'event']], padded(payload));

const exception_frame = (type, message) => eventstream_frame(
  [[':exception-type', type], [':content-type', 'application/json'], [':message-type', 'exception']], { message });

// ---------------------------------------------------------------- the fake model

function block_texts(content) {
  if (!Array.isArray(content)) return [];
  return content.flatMap((b) => {
    if (typeof b?.text === 'string') return [b.text];
    if (b?.json !== undefined) return [JSON.stringify(b.json)];
    return [];
  });
}

const content_kinds = ['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'reasoningContent', 'cachePoint'];

// Bedrock's own checks on a Converse body; returns a ValidationException message or null.
function validate_converse(body) {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  const used_ids = new Set();
  for (const [i, m] of body.messages.entries()) {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m?.role !== want) {
      return i === 0
        ? 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
        : 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    }
    if (!Array.isArray(m.content) || m.content.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const b of m.content) {
      const kinds = Object.keys(b ?? {}).filter((k) => content_kinds.includes(k));
      if (kinds.length !== 1 || Object.keys(b).length !== 1) return `messages.${i}.content: a ContentBlock must have exactly one member, got ${JSON.stringify(b)}`;
      if (b.toolUse) {
        if (m.role !== 'assistant') return `messages.${i}: toolUse blocks belong to assistant turns`;
        used_ids.add(b.toolUse.toolUseId);
      }
      if (b.toolResult) {
        if (m.role !== 'user') return `messages.${i}: toolResult blocks belong to user turns`;
        if (!used_ids.has(b.toolResult.toolUseId)) return `The toolUseId ${b.toolResult.toolUseId} in messages.${i} does not match any toolUse in the previous turn.`;
        if (!Array.isArray(b.toolResult.content)) return `messages.${i}: toolResult.content must be a list`;
      }
    }
  }
  if (body.toolConfig && !(Array.isArray(body.toolConfig.tools) && body.toolConfig.tools.every((t) => t?.toolSpec?.name && t.toolSpec.inputSchema?.json))) {
    return 'toolConfig.tools must be a list of toolSpec with name and inputSchema.json';
  }
  if (body.messages.some((m) => m.content.some((b) => b.toolUse || b.toolResult)) && !body.toolConfig) {
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  }
  return null;
}

// What the fake model answers: { blocks: [...], stop_reason, throttle }.
function answer(body) {
  const last = body.messages[body.messages.length - 1];
  const results = last.content.filter((b) => b.toolResult);
  if (results.length > 0) {
    const joined = results.map((r) => block_texts(r.toolResult.content).join(' ')).join(' | ');
    return { blocks: [{ text: `The tool returned: ${joined}` }], stop_reason: 'end_turn' };
  }
  const tools = body.toolConfig?.tools ?? [];
  if (tools.length > 0) {
    const spec = tools[0].toolSpec;
    return {
      blocks: [{ text: 'Let me check.' }, { toolUse: { toolUseId: 'tooluse_fakeA1b2C3', name: spec.name, input: input_for(spec.inputSchema.json) } }],
      stop_reason: 'tool_use',
    };
  }
  const text = block_texts(last.content).join(' ');
  return {
    blocks: [{ text: `Hello from fake Bedrock: ${text}` }], stop_reason: 'end_turn',
    throttle: text.includes('[throttle]'), bad_crc: text.includes('[bad-crc]'),
  };
}

const pieces = (text, size = 5) => pieces_of(text, size);

// ---------------------------------------------------------------- the server

/**
 * Starts the fake. Resolves to { url, requests, last_request(), close() }; each recorded request
 * is start_fake_server()'s record with model_id, action, signature: verify_sigv4()'s answer, usage
 * (what the fake reported), frames and writes (streams: eventstream messages, socket writes).
 */
export async function start_fake_bedrock({
  access_key_id = 'AKIDFAKEBEDROCK0001',
  secret_access_key = 'fake/bedrock+secret/KEY0123456789abcdefgh',
  region = 'us-east-1',
} = {}) {
  function send_json(res, status, obj, extra_headers = {}) {
    write_json(res, status, obj, { 'x-amzn-requestid': randomUUID(), ...extra_headers });
  }

  function send_error(res, status, type, message) {
    send_json(res, status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  }

  async function handle(req, res, record, raw) {
    record.signature = verify_sigv4({ method: req.method, url: req.url, raw_headers: req.rawHeaders, body: raw },
      { access_key_id, secret_access_key, region, service: 'bedrock' });
    if (!record.signature.ok) return send_error(res, record.signature.status, record.signature.type, record.signature.message);

    // /model/{modelId}/{action}: the model id is one path segment, percent-encoded.
    const path = req.url.split('?')[0];
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(path);
    if (req.method !== 'POST' || !m) return send_error(res, 404, 'UnknownOperationException', `no operation for ${req.method} ${path}`);
    record.model_id = decodeURIComponent(m[1]);
    record.action = m[2];
    if (record.body === null || typeof record.body !== 'object') return send_error(res, 400, 'SerializationException', 'The request body is not valid JSON.');

    if (record.action === 'invoke') return invoke(res, record);
    const problem = validate_converse(record.body);
    if (problem) return send_error(res, 400, 'ValidationException', problem);
    const reply = answer(record.body);
    const input_tokens = JSON.stringify(record.body.messages).length >> 2;
    const output_tokens = JSON.stringify(reply.blocks).length >> 3;
    const usage = { inputTokens: input_tokens, outputTokens: output_tokens, totalTokens: input_tokens + output_tokens };
    record.usage = usage;
    if (record.action === 'converse') {
      if (reply.throttle) return send_error(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
      return send_json(res, 200, {
        output: { message: { role: 'assistant', content: reply.blocks } },
        stopReason: reply.stop_reason, usage, metrics: { latencyMs: 321 },
      });
    }
    return converse_stream(req, res, record, reply, usage);
  }

  function invoke(res, record) {
    if (!record.model_id.startsWith('amazon.titan-embed')) return send_error(res, 400, 'ValidationException', `The provided model identifier is invalid: ${record.model_id}`);
    if (typeof record.body.inputText !== 'string') return send_error(res, 400, 'ValidationException', 'Malformed input request: required key [inputText] not found');
    const dims = record.body.dimensions ?? 1024;
    const embedding = Array.from({ length: dims }, (_, i) => Math.round(Math.sin(i + record.body.inputText.length) * 1e6) / 1e6);
    return send_json(res, 200, { embedding, embeddingsByType: { float: embedding }, inputTextTokenCount: record.body.inputText.split(/\s+/).length });
  }

  async function converse_stream(req, res, record, reply, usage) {
    const frames = [event_frame('messageStart', { role: 'assistant' })];
    reply.blocks.forEach((b, index) => {
      if (b.text !== undefined) {
        for (const p of pieces(b.text)) frames.push(event_frame('contentBlockDelta', { contentBlockIndex: index, delta: { text: p } }));
      } else {
        frames.push(event_frame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: b.toolUse.toolUseId, name: b.toolUse.name } } }));
        for (const p of pieces(JSON.stringify(b.toolUse.input), 4)) {
          frames.push(event_frame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: p } } }));
        }
      }
      frames.push(event_frame('contentBlockStop', { contentBlockIndex: index }));
    });
    if (reply.throttle) {
      frames.splice(4);
      frames.push(exception_frame('throttlingException', 'Too many requests, please wait before trying again.'));
    } else {
      frames.push(event_frame('messageStop', { stopReason: reply.stop_reason }));
      frames.push(event_frame('metadata', { usage, metrics: { latencyMs: 321 } }));
    }
    if (reply.bad_crc) frames[3][frames[3].length - 1] ^= 0x01;  // the fourth message's CRC32 is off
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
    req.socket.setNoDelay(true);
    // Cut the byte stream at offsets that fall inside preludes, headers and payloads, and hand each
    // piece to the socket on its own.
    const all = Buffer.concat(frames);
    // (A stream with a bad CRC goes out in one write, so that the good frames before the bad one
    // reach the gateway in the same read as it.)
    const cuts = reply.bad_crc ? [all.length] : [3, 17, 40, 41, 97];
    record.frames = frames.length;
    record.writes = 0;
    let at = 0;
    for (let i = 0; at < all.length; i++, record.writes++) {
      const next = Math.min(all.length, at + cuts[i % cuts.length]);
      await new Promise((resolve, reject) => res.write(all.subarray(at, next), (err) => (err ? reject(err) : resolve())));
      at = next;
    }
    res.end();
  }

  const server = await start_fake_server(handle, {
    on_error: (res, err) => send_error(res, 500, 'InternalServerException', String(err)),
  });
  return { ...server, access_key_id, secret_access_key };
}
