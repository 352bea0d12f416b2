// A fake of the OpenAI API family beyond chat for the e2e tests (responses, files, batches,
// assistants, audio, images, videos), speaking OpenAI's wire shapes, on the OpenAI paths
// (/v1/...) and on Azure's (/openai/..., /openai/deployments/{d}/..., /openai/v1/...). It answers
// 401 unless the request carries the gateway's key (Authorization: Bearer sk-upstream, or
// api-key: azure-key on Azure paths), keeps uploaded files in memory, and records every request
// (see fake_common.mjs). Touches nothing but its own socket.

import { start_fake_server, send_json, send_sse } from './fake_common.mjs';

export const openai_key = 'sk-upstream';
export const azure_key = 'azure-key';

/** The bytes the fake answers audio/speech with: not UTF-8, so any re-encoding shows. */
export const speech_bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 37 + 11) % 256));

const usage = { input_tokens: 11, input_tokens_details: { cached_tokens: 3 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 18 };

function response_object(id, model, text, status = 'completed') {
  return {
    id, object: 'response', created_at: 1741476542, status, model: `${model}-2025-04-14`,
    output: [{ type: 'message', id: `msg_${id}`, status: 'completed', role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [] }] }],
    parallel_tool_calls: true, tool_choice: 'auto', tools: [], text: { format: { type: 'text' } },
    usage: status === 'in_progress' ? null : usage,
  };
}

/** The multipart fields (text values) and files ({filename, bytes}) of a form body. */
function parse_form(req_headers, bytes) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req_headers['content-type'] ?? '');
  if (!m) return null;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const fields = {};
  const files = {};
  let pos = bytes.indexOf(delim);
  while (pos >= 0) {
    pos += delim.length;
    if (bytes.subarray(pos, pos + 2).toString() === '--') break;
    const head_end = bytes.indexOf('\r\n\r\n', pos);
    const head = bytes.subarray(pos + 2, head_end).toString();
    const next = bytes.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), head_end);
    const content = bytes.subarray(head_end + 4, next);
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) files[name] = { filename, bytes: content };
    else fields[name] = content.toString();
    pos = next + 2;
  }
  return { fields, files };
}

/** Starts the fake; resolves to the server of start_fake_server() plus `files` (id -> file). */
export async function start_fake_openai_api() {
  const files = new Map();
  let next_id = 1;
  const id = (prefix) => `${prefix}${next_id++}`;

  const server = await start_fake_server(async (req, res, rec, bytes) => {
    const azure = rec.path.startsWith('/openai/');
    const authorized = azure ? rec.headers['api-key'] === azure_key
      : rec.headers.authorization === `Bearer ${openai_key}`;
    if (!authorized) {
      return send_json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
    // The resource path whatever surface it came on.
    const path = rec.path.replace(/^\/v1\//, '/').replace(/^\/openai\/v1\//, '/')
      .replace(/^\/openai\/deployments\/[^/]+\//, '/').replace(/^\/openai\//, '/');
    const seg = path.split('/').filter(Boolean);
    const method = req.method;

    // ---- responses
    if (seg[0] === 'responses') {
      if (seg.length === 1 && method === 'POST') {
        const body = rec.body;
        const model = body.model;
        const text = `Echo: ${typeof body.input === 'string' ? body.input : 'items'}`;
        const rid = id('resp_');
        if (!body.stream) return send_json(res, 200, response_object(rid, model, text));
        const events = [];
        let seq = 0;
        const ev = (type, data) => events.push({ event: type, data: { type, sequence_number: seq++, ...data } });
        ev('response.created', { response: response_object(rid, model, '', 'in_progress') });
        for (const piece of text.match(/.{1,4}/gs)) {
          ev('response.output_text.delta', { item_id: `msg_${rid}`, output_index: 0, content_index: 0, delta: piece });
        }
        ev('response.completed', { response: response_object(rid, model, text) });
        return send_sse(res, events);
      }
      const rid = seg[1];
      if (seg.length === 2 && method === 'GET') return send_json(res, 200, response_object(rid, 'gpt-4.1', 'Stored answer'));
      if (seg.length === 2 && method === 'DELETE') return send_json(res, 200, { id: rid, object: 'response', deleted: true });
      if (seg[2] === 'input_items' && method === 'GET') {
        return send_json(res, 200, { object: 'list', data: [{ id: 'msg_in1', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Hello' }] }], first_id: 'msg_in1', last_id: 'msg_in1', has_more: false });
      }
      if (seg[2] === 'cancel' && method === 'POST') return send_json(res, 200, response_object(rid, 'gpt-4.1', '', 'cancelled'));
    }

    // ---- files
    if (seg[0] === 'files') {
      if (seg.length === 1 && method === 'POST') {
        const form = parse_form(rec.headers, bytes);
        const f = form?.files.file;
        if (!f || !form.fields.purpose) return send_json(res, 400, { error: { message: 'file and purpose are required', type: 'invalid_request_error' } });
        const file = { id: id('file-'), object: 'file', bytes: f.bytes.length, created_at: 1700000000, filename: f.filename, purpose: form.fields.purpose, status: 'processed', content: f.bytes };
        files.set(file.id, file);
        const { content, ...meta } = file;
        return send_json(res, 200, meta);
      }
      if (seg.length === 1 && method === 'GET') {
        return send_json(res, 200, { object: 'list', data: [...files.values()].map(({ content, ...meta }) => meta), has_more: false });
      }
      const file = files.get(seg[1]);
      if (!file) return send_json(res, 404, { error: { message: `No such File object: ${seg[1]}`, type: 'invalid_request_error', code: null } });
      const { content, ...meta } = file;
      if (seg.length === 2 && method === 'GET') return send_json(res, 200, meta);
      if (seg.length === 2 && method === 'DELETE') {
        files.delete(file.id);
        return send_json(res, 200, { id: file.id, object: 'file', deleted: true });
      }
      if (seg[2] === 'content' && method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': content.length });
        return res.end(content);
      }
    }

    // ---- batches
    if (seg[0] === 'batches') {
      const batch = (bid, status, body = {}) => ({
        id: bid, object: 'batch', endpoint: body.endpoint ?? '/v1/chat/completions', errors: null,
        input_file_id: body.input_file_id ?? 'file-1', completion_window: '24h', status,
        output_file_id: null, error_file_id: null, created_at: 1711471533,
        request_counts: { total: 0, completed: 0, failed: 0 }, metadata: body.metadata ?? null,
      });
      if (seg.length === 1 && method === 'POST') return send_json(res, 200, batch(id('batch_'), 'validating', rec.body));
      if (seg.length === 1 && method === 'GET') return send_json(res, 200, { object: 'list', data: [batch('batch_abc', 'completed')], first_id: 'batch_abc', last_id: 'batch_abc', has_more: false });
      if (seg.length === 2 && method === 'GET') return send_json(res, 200, batch(seg[1], 'in_progress'));
      if (seg[2] === 'cancel' && method === 'POST') return send_json(res, 200, batch(seg[1], 'cancelling'));
    }

    // ---- assistants
    if (seg[0] === 'assistants' || seg[0] === 'threads' || seg[0] === 'vector_stores') {
      if (rec.headers['openai-beta'] !== 'assistants=v2') {
        return send_json(res, 400, { error: { message: "You must provide the 'OpenAI-Beta' header to access the Assistants API.", type: 'invalid_request_error' } });
      }
      if (seg[0] === 'assistants' && seg.length === 1 && method === 'POST') {
        return send_json(res, 200, { id: id('asst_'), object: 'assistant', created_at: 1698984975, name: rec.body.name ?? null, description: null, model: rec.body.model, instructions: rec.body.instructions ?? null, tools: [], metadata: {}, top_p: 1, temperature: 1, response_format: 'auto' });
      }
      if (seg[0] === 'threads' && seg[2] === 'messages' && method === 'GET') {
        return send_json(res, 200, { object: 'list', data: [{ id: 'msg_1', object: 'thread.message', created_at: 1, thread_id: seg[1], role: 'user', content: [{ type: 'text', text: { value: 'Hi', annotations: [] } }], attachments: [], metadata: {} }], first_id: 'msg_1', last_id: 'msg_1', has_more: false });
      }
    }

    // ---- audio
    if (seg[0] === 'audio' && seg[1] === 'speech' && method === 'POST') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      // Several writes, so the gateway relays it in pieces.
      for (let i = 0; i < speech_bytes.length; i += 16384) res.write(speech_bytes.subarray(i, i + 16384));
      return res.end();
    }
    if (seg[0] === 'audio' && (seg[1] === 'transcriptions' || seg[1] === 'translations') && method === 'POST') {
      const form = parse_form(rec.headers, bytes);
      const f = form?.files.file;
      if (!f) return send_json(res, 400, { error: { message: 'file is required', type: 'invalid_request_error' } });
      return send_json(res, 200, {
        text: `Heard ${f.bytes.length} bytes of ${f.filename} with ${form.fields.model}`,
        usage: { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 },
      });
    }

    // ---- images
    if (seg[0] === 'images' && (seg[1] === 'generations' || seg[1] === 'edits') && method === 'POST') {
      let prompt;
      let model;
      let image_bytes = 0;
      if (seg[1] === 'edits') {
        const form = parse_form(rec.headers, bytes);
        prompt = form?.fields.prompt;
        model = form?.fields.model;
        image_bytes = Object.values(form?.files ?? {}).reduce((n, f) => n + f.bytes.length, 0);
      } else {
        prompt = rec.body?.prompt;
        model = rec.body?.model;
      }
      return send_json(res, 200, {
        created: 1713833628,
        data: [{ b64_json: Buffer.from(`image for ${prompt} by ${model} from ${image_bytes}`).toString('base64') }],
        usage: { total_tokens: 100, input_tokens: 50, output_tokens: 50, input_tokens_details: { text_tokens: 10, image_tokens: 40 } },
      });
    }

    // ---- videos
    if (seg[0] === 'videos') {
      if (seg.length === 1 && method === 'POST') {
        const form = parse_form(rec.headers, bytes);
        const fields = form?.fields ?? rec.body ?? {};
        return send_json(res, 200, { id: id('video_'), object: 'video', created_at: 1712697600, status: 'queued', model: fields.model, progress: 0, prompt: fields.prompt, seconds: fields.seconds ?? '4', size: fields.size ?? '720x1280' });
      }
    }

    return send_json(res, 404, { error: { message: `Invalid URL (${method} ${rec.path})`, type: 'invalid_request_error', param: null, code: null } });
  });
  return { ...server, files };
}
