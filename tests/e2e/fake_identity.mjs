// Fake cloud identity providers and the upstreams that trust them, for the e2e tests: one HTTP/1.1
// server on 127.0.0.1:0 holding
//   POST /google/token                          Google's OAuth token endpoint for service accounts
//                                               (JWT bearer grant, RS256 assertion verified for real)
//   POST /entra/{tenant}/oauth2/v2.0/token      Microsoft Entra ID client credentials
//                                               (authority = `${url}/entra`)
//   GET  /msi/token                             App Service managed identity (IDENTITY_ENDPOINT)
//   POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
//        …:streamGenerateContent?alt=sse        Vertex AI, requires a bearer token issued above
//   POST /openai/deployments/{d}/chat/completions?api-version=…
//                                               Azure OpenAI, requires an Entra / MSI token
// It records every request and counts token grants, so tests can assert what the gateway sent and
// how often it fetched a token. Touches nothing but its own socket.

import crypto from 'node:crypto';
import { start_fake_server, send_json as write_json, send_sse, pieces as pieces_of } from './fake_common.mjs';

export const google_scope = 'https://www.googleapis.com/auth/cloud-platform';
export const azure_scope = 'https://cognitiveservices.azure.com/.default';
export const azure_resource = 'https://cognitiveservices.azure.com/';
export const msi_header_secret = 'msi-header-secret-e2e';

/** A fresh RSA key pair and the service-account key file (JSON object) Google would issue. */
export function make_service_account(token_uri, { client_email = 'aiproxy-e2e@proj-e2e.iam.gserviceaccount.com', key_id = 'kid-e2e-1' } = {}) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    public_key: publicKey,
    json: {
      type: 'service_account',
      project_id: 'proj-e2e',
      private_key_id: key_id,
      private_key: privateKey,
      client_email,
      client_id: '100000000000000000001',
      token_uri,
    },
  };
}

function oauth_error(error, error_description) {
  return { error, error_description };
}

/** Verifies a Google JWT-bearer assertion; returns { claims } or { error } (a reason string). */
function verify_google_assertion(assertion, accounts, token_uri) {
  const parts = String(assertion ?? '').split('.');
  if (parts.length !== 3) return { error: 'assertion is not a JWT' };
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { error: 'assertion header or claims are not JSON' };
  }
  if (header.alg !== 'RS256' || header.typ !== 'JWT') return { error: 'alg must be RS256' };
  const account = accounts.get(claims.iss);
  if (!account) return { error: 'unknown iss' };
  if (header.kid !== account.key_id) return { error: 'kid does not name the key' };
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`),
    account.public_key, Buffer.from(parts[2], 'base64url'));
  if (!ok) return { error: 'Invalid JWT Signature.' };
  if (claims.aud !== token_uri) return { error: 'aud must be the token_uri' };
  if (claims.scope !== google_scope) return { error: 'scope must be cloud-platform' };
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp) || claims.exp <= claims.iat
      || claims.exp - claims.iat > 3600 || Math.abs(claims.iat - now) > 300) {
    return { error: 'iat/exp are not a valid lifetime' };
  }
  return { claims };
}

const pieces = (text, size = 7) => pieces_of(text, size);

/**
 * Starts the fake. Register identities with the returned object:
 *   google_account(email, public_key, key_id)     a service account the token endpoint trusts
 *   entra_app(tenant, client_id, client_secret)   an app registration for client credentials
 *   msi_client(client_id | '')                    an identity the managed-identity endpoint serves
 * Resolves to { url, token_uri, authority, identity_endpoint, requests, last_request(), grants,
 * to(path_prefix), close() } where grants is a list of { kind, who, token } in the order they were
 * issued and requests are start_fake_server()'s records.
 */
export async function start_fake_identity() {
  const grants = [];
  const google_accounts = new Map();   // email -> { public_key, key_id }
  const entra_apps = new Map();        // `${tenant}/${client_id}` -> secret
  const msi_clients = new Set();       // client ids ('' = system-assigned)
  const google_tokens = new Set();
  const azure_tokens = new Set();
  let next = 0;
  let port = 0;

  function send_json(res, status, obj) {
    write_json(res, status, obj, { 'content-type': 'application/json; charset=utf-8' });
  }

  function bearer(req) {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return m ? m[1] : null;
  }

  function handle(req, res, record) {
    const { raw } = record;
    const url = new URL(req.url, 'http://fake');
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(raw) : null;

    if (url.pathname === '/google/token') return google_token(req, res, form);
    let m = url.pathname.match(/^\/entra\/([^/]+)\/oauth2\/v2\.0\/token$/);
    if (m) return entra_token(req, res, form, decodeURIComponent(m[1]));
    if (url.pathname === '/msi/token') return msi_token(req, res, url.searchParams);

    m = url.pathname.match(/^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(\w+)$/);
    if (m) {
      const token = bearer(req);
      if (!token || !google_tokens.has(token)) {
        return send_json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } });
      }
      if (m[4] === 'generateContent') return vertex_generate(res, record.body, decodeURIComponent(m[3]), false);
      if (m[4] === 'streamGenerateContent' && url.searchParams.get('alt') === 'sse') {
        return vertex_generate(res, record.body, decodeURIComponent(m[3]), true);
      }
      return send_json(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: `unknown action ${m[4]}` } });
    }
    m = url.pathname.match(/^\/openai\/deployments\/([^/]+)\/chat\/completions$/);
    if (m) {
      const token = bearer(req);
      if (!token || !azure_tokens.has(token)) {
        return send_json(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } });
      }
      if (!url.searchParams.get('api-version')) {
        return send_json(res, 404, { error: { code: '404', message: 'Resource not found' } });
      }
      return azure_chat(res, record.body, decodeURIComponent(m[1]));
    }
    return send_json(res, 404, { error: { message: `no route ${url.pathname}` } });
  }

  function google_token(req, res, form) {
    if (req.method !== 'POST' || !form) return send_json(res, 400, oauth_error('invalid_request', 'POST a form'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return send_json(res, 400, oauth_error('unsupported_grant_type', 'Invalid grant_type'));
    }
    const v = verify_google_assertion(form.get('assertion'), google_accounts, `http://127.0.0.1:${port}/google/token`);
    if (v.error) return send_json(res, 400, oauth_error('invalid_grant', v.error));
    const token = `ya29.fake-google-${++next}`;
    google_tokens.add(token);
    grants.push({ kind: 'google', who: v.claims.iss, token });
    return send_json(res, 200, { access_token: token, expires_in: 3600, token_type: 'Bearer' });
  }

  function entra_token(req, res, form, tenant) {
    if (req.method !== 'POST' || !form) return send_json(res, 400, oauth_error('invalid_request', 'AADSTS900144: POST a form'));
    if (form.get('grant_type') !== 'client_credentials') {
      return send_json(res, 400, oauth_error('unsupported_grant_type', 'AADSTS70003'));
    }
    if (form.get('scope') !== azure_scope) return send_json(res, 400, oauth_error('invalid_scope', 'AADSTS70011'));
    const secret = entra_apps.get(`${tenant}/${form.get('client_id')}`);
    if (secret === undefined) return send_json(res, 400, oauth_error('unauthorized_client', 'AADSTS700016'));
    if (form.get('client_secret') !== secret) return send_json(res, 401, oauth_error('invalid_client', 'AADSTS7000215'));
    const token = `eyFakeEntra.cc-${++next}`;
    azure_tokens.add(token);
    grants.push({ kind: 'entra', who: `${tenant}/${form.get('client_id')}`, token });
    return send_json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }

  function msi_token(req, res, q) {
    if (req.method !== 'GET' || req.headers['x-identity-header'] !== msi_header_secret) {
      return send_json(res, 400, { statusCode: 400, message: 'Unable to load the proper Managed Identity.' });
    }
    if (q.get('api-version') !== '2019-08-01' || q.get('resource') !== azure_resource) {
      return send_json(res, 400, { statusCode: 400, message: 'bad api-version or resource' });
    }
    const client_id = q.get('client_id') ?? '';
    if (!msi_clients.has(client_id)) {
      return send_json(res, 400, { statusCode: 400, message: 'Unable to load the proper Managed Identity.' });
    }
    const token = `eyFakeEntra.msi-${++next}`;
    azure_tokens.add(token);
    grants.push({ kind: 'msi', who: client_id, token });
    // App Service answers expires_on as a string of unix seconds.
    return send_json(res, 200, {
      access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource: azure_resource, token_type: 'Bearer', client_id: client_id || 'system-assigned',
    });
  }

  function vertex_generate(res, body, model, sse) {
    if (!body || !Array.isArray(body.contents) || body.contents.length === 0) {
      return send_json(res, 400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'contents is not specified' } });
    }
    const last = body.contents[body.contents.length - 1];
    const said = (last.parts ?? []).map((p) => p.text ?? '').join(' ');
    const text = `Hello from fake Vertex: ${said}`;
    const usage = { promptTokenCount: 9, candidatesTokenCount: 6, totalTokenCount: 15 };
    const modelVersion = `${model}-001`;
    const responseId = `vertex-fake-${++next}`;
    if (!sse) {
      return send_json(res, 200, {
        candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage, modelVersion, responseId,
      });
    }
    const events = pieces(text).map((t) => ({ candidates: [{ content: { role: 'model', parts: [{ text: t }] }, index: 0 }], modelVersion, responseId }));
    events.push({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: usage, modelVersion, responseId });
    send_sse(res, events.map((data) => ({ data })), { eol: '\r\n' });
  }

  function azure_chat(res, body, deployment) {
    const messages = body?.messages ?? [];
    const said = messages.length ? messages[messages.length - 1].content : '';
    const content = `Hello from fake Azure (${deployment}): ${said}`;
    const id = `chatcmpl-azure-fake-${++next}`;
    const created = 1700000000;
    if (!body?.stream) {
      return send_json(res, 200, {
        id, object: 'chat.completion', created, model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      });
    }
    const chunk = (delta, finish_reason = null) => ({ id, object: 'chat.completion.chunk', created, model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta, finish_reason }] });
    const events = [chunk({ role: 'assistant', content: '' }), ...pieces(content).map((t) => chunk({ content: t })), chunk({}, 'stop')];
    if (body.stream_options?.include_usage) {
      events.push({ id, object: 'chat.completion.chunk', created, model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
    }
    events.push('[DONE]');
    send_sse(res, events.map((data) => ({ data })));
  }

  const server = await start_fake_server(handle);
  port = server.port;
  const url = server.url;
  return {
    ...server,
    token_uri: `${url}/google/token`,
    authority: `${url}/entra`,
    identity_endpoint: `${url}/msi/token`,
    grants,
    google_account(email, public_key, key_id) { google_accounts.set(email, { public_key, key_id }); },
    entra_app(tenant, client_id, client_secret) { entra_apps.set(`${tenant}/${client_id}`, client_secret); },
    msi_client(client_id = '') { msi_clients.add(client_id); },
    /** The requests whose path starts with `prefix`, oldest first. */
    to(prefix) { return server.requests.filter((r) => r.path.startsWith(prefix)); },
  };
}
