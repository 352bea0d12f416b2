// The official OpenAI SDK through aiproxy to upstreams that need a fetched cloud identity token
// (fake_identity.mjs): Gemini on Vertex AI with a Google service account (key in the config and in
// GCP_SERVICE_ACCOUNT), and Azure OpenAI with Entra ID client credentials and an App Service
// managed identity. Checks the bearer token upstream, token caching, streaming, and that a token
// failure reaches the client as a 5xx without key material. Touches only its fake and its gateway
// (whose environment has none of this process's identity variables).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import OpenAI from 'openai';
import { start_fake_identity, make_service_account, msi_header_secret } from './fake_identity.mjs';
import { use_provider_gateway, ai_plugin, ai_route, routes_config, collect, skip_reason } from './harness.mjs';

const vertex_model = 'gemini-2.0-flash';
const vertex_path = `/v1/projects/proj-e2e/locations/us-central1/publishers/google/models/${vertex_model}`;
const tenant = 'tenant-e2e-0000';
const app = { client_id: 'app-client-e2e', client_secret: 'app-secret-e2e~Zq' };
const uami_client_id = 'uami-client-e2e';

function identity_config(fake, accounts) {
  const vertex = (auth) => ai_plugin({
    route_type: 'llm/v1/chat',
    auth,
    provider: 'gemini',
    model: vertex_model,
    options: {
      upstream_url: fake.url,
      gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'proj-e2e', location_id: 'us-central1' },
    },
  });
  const azure = (auth) => ai_plugin({
    route_type: 'llm/v1/chat',
    auth: { azure_use_managed_identity: true, ...auth },
    provider: 'azure',
    model: 'gpt-4o',
    options: { azure_instance: 'e2e-instance', azure_deployment_id: 'gpt4o-deploy', azure_api_version: '2024-06-01', upstream_url: fake.url },
  });
  const sa = (json) => ({ gcp_use_service_account: true, gcp_service_account_json: JSON.stringify(json) });
  return routes_config([
    ai_route('vertex', '/vertex/v1/chat/completions', vertex(sa(accounts.good.json))),
    ai_route('vertex-env', '/vertex-env/v1/chat/completions', vertex({ gcp_use_service_account: true })),
    ai_route('vertex-badkey', '/vertex-badkey/v1/chat/completions', vertex(sa(accounts.mismatched))),
    ai_route('azure', '/azure/v1/chat/completions',
      azure({ azure_client_id: app.client_id, azure_client_secret: app.client_secret, azure_tenant_id: tenant })),
    ai_route('azure-badsecret', '/azure-badsecret/v1/chat/completions',
      azure({ azure_client_id: app.client_id, azure_client_secret: 'not-the-secret', azure_tenant_id: tenant })),
    ai_route('azure-mi', '/azure-mi/v1/chat/completions', azure({})),
    ai_route('azure-uami', '/azure-uami/v1/chat/completions', azure({ azure_client_id: uami_client_id })),
  ]);
}

// The variables cloud_identity.cpp reads: the gateway sees only those the test sets.
const identity_vars = ['GCP_SERVICE_ACCOUNT', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID',
  'AZURE_AUTHORITY_HOST', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER'];

describe('cloud identities through aiproxy', { skip: skip_reason() }, () => {
  const accounts = {};
  const ctx = use_provider_gateway(start_fake_identity, (fake) => {
    accounts.good = make_service_account(fake.token_uri);
    accounts.env = make_service_account(fake.token_uri, { client_email: 'env-sa@proj-e2e.iam.gserviceaccount.com', key_id: 'kid-env' });
    // Names the registered account and key id, but holds another key: the signature fails.
    const other = make_service_account(fake.token_uri);
    accounts.mismatched = { ...accounts.good.json, private_key: other.json.private_key };
    fake.google_account(accounts.good.json.client_email, accounts.good.public_key, accounts.good.json.private_key_id);
    fake.google_account(accounts.env.json.client_email, accounts.env.public_key, accounts.env.json.private_key_id);
    fake.entra_app(tenant, app.client_id, app.client_secret);
    fake.msi_client('');
    fake.msi_client(uami_client_id);
    return {
      config: identity_config(fake, accounts),
      env: {
        ...Object.fromEntries(identity_vars.map((k) => [k, undefined])),
        GCP_SERVICE_ACCOUNT: JSON.stringify(accounts.env.json),
        AZURE_AUTHORITY_HOST: fake.authority,
        IDENTITY_ENDPOINT: fake.identity_endpoint,
        IDENTITY_HEADER: msi_header_secret,
      },
    };
  });
  const { client } = ctx;
  const grants_for = (kind, who) => ctx.upstream.grants.filter((g) => g.kind === kind && g.who === who);

  it('answers a Vertex AI chat with the service account token as bearer', async () => {
    const r = await client('/vertex').chat.completions.create({ model: vertex_model, messages: [{ role: 'user', content: 'Hi Vertex' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Vertex: Hi Vertex');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.total_tokens, 15);
    const grants = grants_for('google', accounts.good.json.client_email);
    assert.equal(grants.length, 1);
    const sent = ctx.upstream.to('/v1/projects').at(-1);
    assert.equal(sent.path, `${vertex_path}:generateContent`);
    assert.equal(sent.headers.authorization, `Bearer ${grants[0].token}`);
    assert.equal(sent.headers['x-goog-api-key'], undefined);
    assert.equal(sent.query.get('key'), null);
  });

  it('reuses the cached Google token for later requests', async () => {
    for (const content of ['one', 'two', 'three']) {
      const r = await client('/vertex').chat.completions.create({ model: vertex_model, messages: [{ role: 'user', content }] });
      assert.equal(r.choices[0].message.content, `Hello from fake Vertex: ${content}`);
    }
    const grants = grants_for('google', accounts.good.json.client_email);
    assert.equal(grants.length, 1, 'the token endpoint was asked once');
    const tokens = new Set(ctx.upstream.to('/v1/projects').slice(-3).map((r) => r.headers.authorization));
    assert.deepEqual([...tokens], [`Bearer ${grants[0].token}`]);
  });

  it('sent a JWT assertion signed by the service account for the cloud-platform scope', async () => {
    await client('/vertex').chat.completions.create({ model: vertex_model, messages: [{ role: 'user', content: 'x' }] });
    const token_calls = ctx.upstream.to('/google/token');
    assert.ok(token_calls.length >= 1);
    const form = new URLSearchParams(token_calls[0].raw);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [h, c, s] = form.get('assertion').split('.');
    assert.ok(crypto.verify('RSA-SHA256', Buffer.from(`${h}.${c}`), accounts.good.public_key, Buffer.from(s, 'base64url')));
    const claims = JSON.parse(Buffer.from(c, 'base64url'));
    assert.equal(claims.aud, ctx.upstream.token_uri);
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/cloud-platform');
    assert.ok(claims.exp > claims.iat);
  });

  it('streams a Vertex AI chat with the bearer token', async () => {
    const chunks = await collect(await client('/vertex').chat.completions.create({
      model: vertex_model, messages: [{ role: 'user', content: 'Stream it' }], stream: true, stream_options: { include_usage: true },
    }));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from fake Vertex: Stream it');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
    assert.equal(chunks.at(-1).usage.total_tokens, 15);
    const sent = ctx.upstream.to('/v1/projects').at(-1);
    assert.equal(sent.path, `${vertex_path}:streamGenerateContent`);
    assert.equal(sent.query.get('alt'), 'sse');
    const grants = grants_for('google', accounts.good.json.client_email);
    assert.equal(grants.length, 1);
    assert.equal(sent.headers.authorization, `Bearer ${grants[0].token}`);
  });

  it('takes the service account from GCP_SERVICE_ACCOUNT when the config has none', async () => {
    const r = await client('/vertex-env').chat.completions.create({ model: vertex_model, messages: [{ role: 'user', content: 'env' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Vertex: env');
    const grants = grants_for('google', accounts.env.json.client_email);
    assert.equal(grants.length, 1);
    assert.equal(ctx.upstream.to('/v1/projects').at(-1).headers.authorization, `Bearer ${grants[0].token}`);
  });

  it('fails with a 5xx naming the token failure, without key material, when the key does not match', async () => {
    const upstream_calls = ctx.upstream.to('/v1/projects').length;
    const token_calls = ctx.upstream.to('/google/token').length;
    await assert.rejects(
      client('/vertex-badkey').chat.completions.create({ model: vertex_model, messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.APIError && err.status >= 500 && err.status < 600);
    const res = await fetch(`${ctx.gateway.base_url}/vertex-badkey/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' },
      body: JSON.stringify({ model: vertex_model, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = await res.text();
    assert.ok(res.status >= 500 && res.status < 600, `status ${res.status}`);
    assert.match(body, /Google access token/);
    assert.match(body, /invalid_grant/);
    const pem_line = accounts.mismatched.private_key.split('\n')[1];
    for (const text of [body, ctx.gateway.output()]) {
      assert.ok(!text.includes('PRIVATE KEY'), 'no PEM armour');
      assert.ok(!text.includes(pem_line), 'no PEM body');
      assert.ok(!text.includes('eyJ'), 'no JWT assertion');
    }
    assert.equal(ctx.upstream.to('/v1/projects').length, upstream_calls, 'the upstream was never called');
    assert.ok(ctx.upstream.to('/google/token').length > token_calls, 'the gateway asked the token endpoint');
  });

  it('answers an Azure OpenAI chat with an Entra ID client-credentials token', async () => {
    for (const content of ['first', 'second']) {
      const r = await client('/azure').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] });
      assert.equal(r.choices[0].message.content, `Hello from fake Azure (gpt4o-deploy): ${content}`);
      assert.equal(r.usage.total_tokens, 18);
    }
    const grants = grants_for('entra', `${tenant}/${app.client_id}`);
    assert.equal(grants.length, 1, 'the token was fetched once and cached');
    const form = new URLSearchParams(ctx.upstream.to(`/entra/${tenant}/oauth2/v2.0/token`)[0].raw);
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(form.get('scope'), 'https://cognitiveservices.azure.com/.default');
    const sent = ctx.upstream.to('/openai/deployments').at(-1);
    assert.equal(sent.path, '/openai/deployments/gpt4o-deploy/chat/completions');
    assert.equal(sent.query.get('api-version'), '2024-06-01');
    assert.equal(sent.headers.authorization, `Bearer ${grants[0].token}`);
    assert.equal(sent.headers['api-key'], undefined);
  });

  it('streams an Azure OpenAI chat with the Entra ID token', async () => {
    const chunks = await collect(await client('/azure').chat.completions.create({
      model: 'gpt-4o', messages: [{ role: 'user', content: 'flow' }], stream: true, stream_options: { include_usage: true },
    }));
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello from fake Azure (gpt4o-deploy): flow');
    assert.equal(chunks.at(-1).usage.total_tokens, 18);
    assert.equal(grants_for('entra', `${tenant}/${app.client_id}`).length, 1);
  });

  it('fails with a 5xx naming the Entra ID failure, without the secret, for a wrong client secret', async () => {
    const res = await fetch(`${ctx.gateway.base_url}/azure-badsecret/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = await res.text();
    assert.ok(res.status >= 500 && res.status < 600, `status ${res.status}`);
    assert.match(body, /Azure access token/);
    assert.match(body, /invalid_client/);
    assert.ok(!body.includes('not-the-secret'));
    assert.ok(!ctx.gateway.output().includes('not-the-secret'));
  });

  it('answers an Azure chat with an App Service managed identity (system-assigned)', async () => {
    const r = await client('/azure-mi').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'mi' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Azure (gpt4o-deploy): mi');
    const grants = grants_for('msi', '');
    assert.equal(grants.length, 1);
    const asked = ctx.upstream.to('/msi/token').at(-1);
    assert.equal(asked.method, 'GET');
    assert.equal(asked.headers['x-identity-header'], msi_header_secret);
    assert.equal(asked.query.get('resource'), 'https://cognitiveservices.azure.com/');
    assert.equal(asked.query.get('client_id'), null);
    assert.equal(ctx.upstream.to('/openai/deployments').at(-1).headers.authorization, `Bearer ${grants[0].token}`);
    await client('/azure-mi').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] });
    assert.equal(grants_for('msi', '').length, 1, 'expires_on (string) keeps the token cached');
  });

  it('asks the managed-identity endpoint for a user-assigned identity by client id', async () => {
    const r = await client('/azure-uami').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'uami' }] });
    assert.equal(r.choices[0].message.content, 'Hello from fake Azure (gpt4o-deploy): uami');
    const grants = grants_for('msi', uami_client_id);
    assert.equal(grants.length, 1);
    assert.equal(ctx.upstream.to('/msi/token').at(-1).query.get('client_id'), uami_client_id);
    assert.equal(ctx.upstream.to('/openai/deployments').at(-1).headers.authorization, `Bearer ${grants[0].token}`);
  });
});
