// A fake image generation upstream for the e2e tests: one HTTP/1.1 server on 127.0.0.1:0 that
// speaks the Gemini API and Vertex AI (Imagen `:predict`, Gemini image models `:generateContent`)
// and Bedrock Runtime's InvokeModel for Nova Canvas / Titan Image and Stability models, checking
// every request as the provider would and recording it so tests can assert what the gateway sent.
// Touches nothing but its own socket.
//
// Scripted behaviour:
//   Gemini API paths (/v1beta/models/{model}:{action}) need the key `gemini_key` in x-goog-api-key
//   or ?key=; Vertex paths (/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:{action})
//   need `Authorization: Bearer <token>` with a token `vertex_token_ok(token)` accepts (e.g. one
//   fake_identity.mjs issued); otherwise 403 PERMISSION_DENIED in Google's shape.
//   Bedrock paths (/model/{modelId}/invoke) need a valid SigV4 signature (verify_sigv4 from
//   fake_bedrock.mjs) for `region`, service bedrock; otherwise 403 with Bedrock's {"message"}.
//   Bodies that break the API's rules (no prompt, a sampleCount or numberOfImages out of range,
//   an aspect ratio or dimensions the API does not take) give 400 (INVALID_ARGUMENT /
//   ValidationException).
//   A prompt containing "[blocked]" is filtered: Imagen answers {}, Gemini a promptFeedback with
//   blockReason SAFETY, Nova {"images":[],"error":...}, Stability finish_reasons ["Filter reason:
//   prompt"]. A prompt containing "[quota]" gives 429 (RESOURCE_EXHAUSTED / ThrottlingException).
//   Otherwise each image is base64 of the PNG signature followed by "<model>|<prompt>|<index>"
//   (not a whole PNG: enough for a test to see which request made it).

import { randomUUID } from 'node:crypto';
import { start_fake_server, send_json } from './fake_common.mjs';
import { verify_sigv4 } from './fake_bedrock.mjs';

export const png_signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The fake image bytes, base64-encoded, for `model`, `prompt` and image number `i`. */
export function fake_image_b64(model, prompt, i) {
  return Buffer.concat([png_signature, Buffer.from(`${model}|${prompt}|${i}`, 'utf8')]).toString('base64');
}

const imagen_ratios = ['1:1', '3:4', '4:3', '9:16', '16:9'];
const gemini_ratios = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'];
const stability_ratios = ['16:9', '1:1', '21:9', '2:3', '3:2', '4:5', '5:4', '9:16', '9:21'];

function google_error(res, code, status, message) {
  send_json(res, code, { error: { code, message, status } });
}

function bedrock_error(res, code, type, message) {
  send_json(res, code, { message }, {
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
}

/**
 * Starts the fake. Resolves to start_fake_server()'s { url, requests, last_request(), close() };
 * each recorded request also gets `api` (imagen | gemini | nova | stability), `model`, and for
 * Bedrock `signature` (verify_sigv4()'s answer).
 */
export async function start_fake_images({
  gemini_key = 'AIza-images-upstream',
  vertex_token_ok = (token) => token === 'ya29.fake-vertex-token',
  access_key_id = 'AKIDFAKEIMAGES00001',
  secret_access_key = 'fake/images+secret/KEY0123456789abcdefgh',
  region = 'us-east-1',
} = {}) {
  const fake = await start_fake_server((req, res, record, raw) => {
    if (req.method !== 'POST') return send_json(res, 405, { error: 'POST only' });
    if (record.path.startsWith('/model/')) return bedrock(req, res, record, raw);
    return google(req, res, record);
  });
  return { ...fake, gemini_key, access_key_id, secret_access_key, region };

  // ---------------------------------------------------------------- Gemini / Vertex AI

  function google(req, res, record) {
    const pub = /^\/v1beta\/models\/([^/:]+):(predict|generateContent)$/.exec(record.path);
    const vertex = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/:]+):(predict|generateContent)$/.exec(record.path);
    const m = pub ?? vertex;
    if (!m) return google_error(res, 404, 'NOT_FOUND', `no method for ${record.path}`);
    if (pub) {
      const key = record.headers['x-goog-api-key'] ?? record.query.get('key');
      if (key !== gemini_key) return google_error(res, 403, 'PERMISSION_DENIED', 'API key not valid. Please pass a valid API key.');
    } else if (!vertex_token_ok(/^Bearer (\S+)$/.exec(record.headers.authorization ?? '')?.[1])) {
      return google_error(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    record.model = decodeURIComponent(m[1]);
    const body = record.body;
    if (!body || typeof body !== 'object') return google_error(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    return m[2] === 'predict' ? imagen(res, record, body) : gemini_image(res, record, body);
  }

  function imagen(res, record, body) {
    record.api = 'imagen';
    const prompt = body.instances?.[0]?.prompt;
    if (typeof prompt !== 'string' || prompt === '') return google_error(res, 400, 'INVALID_ARGUMENT', 'instances[0].prompt is required');
    const params = body.parameters ?? {};
    const count = params.sampleCount ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 4) {
      return google_error(res, 400, 'INVALID_ARGUMENT', `sampleCount must be between 1 and 4, got ${count}`);
    }
    if (params.aspectRatio !== undefined && !imagen_ratios.includes(params.aspectRatio)) {
      return google_error(res, 400, 'INVALID_ARGUMENT', `unsupported aspectRatio ${params.aspectRatio}`);
    }
    if (prompt.includes('[quota]')) return google_error(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for imagen requests.');
    if (prompt.includes('[blocked]')) return send_json(res, 200, {});
    const mime = params.outputOptions?.mimeType ?? 'image/png';
    const predictions = Array.from({ length: count }, (_, i) => ({ bytesBase64Encoded: fake_image_b64(record.model, prompt, i), mimeType: mime }));
    return send_json(res, 200, { predictions });
  }

  function gemini_image(res, record, body) {
    record.api = 'gemini';
    const prompt = body.contents?.[0]?.parts?.[0]?.text;
    if (typeof prompt !== 'string' || prompt === '') return google_error(res, 400, 'INVALID_ARGUMENT', 'contents[0].parts[0].text is required');
    const modalities = body.generationConfig?.responseModalities ?? [];
    if (!modalities.includes('IMAGE')) return send_json(res, 200, { candidates: [{ content: { role: 'model', parts: [{ text: 'text only' }] }, finishReason: 'STOP' }] });
    const ratio = body.generationConfig?.imageConfig?.aspectRatio;
    if (ratio !== undefined && !gemini_ratios.includes(ratio)) return google_error(res, 400, 'INVALID_ARGUMENT', `unsupported aspect ratio ${ratio}`);
    if (prompt.includes('[quota]')) return google_error(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.');
    const usageMetadata = { promptTokenCount: prompt.length, candidatesTokenCount: 1290, totalTokenCount: prompt.length + 1290 };
    if (prompt.includes('[blocked]')) return send_json(res, 200, { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata });
    return send_json(res, 200, {
      candidates: [{
        content: { role: 'model', parts: [{ text: 'Here is your image.' }, { inlineData: { mimeType: 'image/png', data: fake_image_b64(record.model, prompt, 0) } }] },
        finishReason: 'STOP', index: 0,
      }],
      usageMetadata,
      modelVersion: `${record.model}-fake-001`,
    });
  }

  // ---------------------------------------------------------------- Bedrock InvokeModel

  function bedrock(req, res, record, raw) {
    record.signature = verify_sigv4({ method: req.method, url: req.url, raw_headers: req.rawHeaders, body: raw },
      { access_key_id, secret_access_key, region, service: 'bedrock' });
    if (!record.signature.ok) return bedrock_error(res, record.signature.status, record.signature.type, record.signature.message);
    const m = /^\/model\/([^/]+)\/invoke$/.exec(record.path);
    if (!m) return bedrock_error(res, 404, 'UnknownOperationException', `no operation for ${record.path}`);
    record.model = decodeURIComponent(m[1]);
    if (!record.body || typeof record.body !== 'object') return bedrock_error(res, 400, 'SerializationException', 'The request body is not valid JSON.');
    if (/nova-canvas|titan-image/.test(record.model)) return nova(res, record, record.body);
    if (record.model.includes('stability.')) return stability(res, record, record.body);
    return bedrock_error(res, 400, 'ValidationException', `The provided model identifier is invalid: ${record.model}`);
  }

  function nova(res, record, body) {
    record.api = 'nova';
    const invalid = (message) => bedrock_error(res, 400, 'ValidationException', message);
    if (body.taskType !== 'TEXT_IMAGE') return invalid(`unsupported taskType ${body.taskType}`);
    const prompt = body.textToImageParams?.text;
    if (typeof prompt !== 'string' || prompt === '') return invalid('textToImageParams.text is required');
    const cfg = body.imageGenerationConfig ?? {};
    const count = cfg.numberOfImages ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 5) return invalid(`numberOfImages must be 1 to 5, got ${count}`);
    for (const dim of ['width', 'height']) {
      const v = cfg[dim];
      if (v !== undefined && (!Number.isInteger(v) || v < 320 || v > 4096 || v % 16 !== 0)) {
        return invalid(`${dim} must be a multiple of 16 from 320 to 4096, got ${v}`);
      }
    }
    if (cfg.quality !== undefined && !['standard', 'premium'].includes(cfg.quality)) return invalid(`unsupported quality ${cfg.quality}`);
    if (prompt.includes('[quota]')) return bedrock_error(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
    if (prompt.includes('[blocked]')) {
      return send_json(res, 200, { images: [], error: 'This request has been blocked by our content filters.' });
    }
    return send_json(res, 200, { images: Array.from({ length: count }, (_, i) => fake_image_b64(record.model, prompt, i)) });
  }

  function stability(res, record, body) {
    record.api = 'stability';
    const invalid = (message) => bedrock_error(res, 400, 'ValidationException', message);
    if (typeof body.prompt !== 'string' || body.prompt === '') return invalid('prompt is required');
    if (body.aspect_ratio !== undefined && !stability_ratios.includes(body.aspect_ratio)) return invalid(`unsupported aspect_ratio ${body.aspect_ratio}`);
    if (body.output_format !== undefined && !['png', 'jpeg'].includes(body.output_format)) return invalid(`unsupported output_format ${body.output_format}`);
    if (body.prompt.includes('[blocked]')) return send_json(res, 200, { seeds: [7], finish_reasons: ['Filter reason: prompt'], images: [] });
    return send_json(res, 200, { seeds: [7], finish_reasons: [null], images: [fake_image_b64(record.model, body.prompt, 0)] });
  }
}
