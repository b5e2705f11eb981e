// The real OAuth/OIDC server Tokentray's tests run against: panva's oidc-provider on 127.0.0.1
// with an ephemeral port. Refresh token rotation is on, PKCE is required, the device flow is on.
// A control API under /__control/ lets a test revoke a user's grants, inject faults and read
// what was issued. See README.md beside this file.
//
// Prints one line of JSON to stdout when listening: {"issuer":"http://127.0.0.1:PORT","port":PORT}
// Everything else goes to stderr.

import http from 'node:http';
import Provider from 'oidc-provider';
import { MemoryStore, StoreAdapter } from './store.mjs';

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

// Mutable so that a test can change lifetimes mid-run (POST /__control/ttl).
const ttl = {
  access: num('OIDC_ACCESS_TTL', 60),
  refresh: num('OIDC_REFRESH_TTL', 86400),
  id: num('OIDC_ID_TTL', 3600),
};

const clients = [
  {
    // Tokentray as a native app: public client, PKCE, loopback redirect on any port (RFC 8252).
    client_id: 'tokentray',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  {
    // A confidential client, for tests of client authentication failures (invalid_client).
    client_id: 'tokentray-secret',
    client_secret: 's3cret',
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  ...JSON.parse(process.env.OIDC_CLIENTS_JSON || '[]'),
];

// What tests look at: counters, and every token value issued (to grep logs and files for leaks).
const stats = {
  token_requests: 0,
  token_requests_by_grant: {},
  whoami_hits: {},
  issued: { access_tokens: [], refresh_tokens: [], id_tokens: [] },
};

// Faults: each {kind, path, status, body, headers, ms, count, until}.
let faults = [];

const provider = new Provider('http://127.0.0.1', {
  adapter: StoreAdapter,
  clients,
  cookies: { keys: ['tokentray-test-cookie-key-1', 'tokentray-test-cookie-key-2'] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  // Any login name is a user; its sub is the name.
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: sub, preferred_username: sub, email: `${sub}@example.test` };
      },
    };
  },
  // A refresh token whenever the client may refresh: tests need not depend on offline_access
  // consent rules, and tokens do not die with the browser session.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  expiresWithSession: async () => false,
  // Every refresh rotates; replaying an old refresh token fails with invalid_grant (and revokes
  // the grant), like the providers whose reuse detection Tokentray must survive.
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: () => ttl.access,
    RefreshToken: () => ttl.refresh,
    IdToken: () => ttl.id,
    AuthorizationCode: 300,
    DeviceCode: 600,
    Grant: 14 * 86400,
    Interaction: 3600,
    Session: 14 * 86400,
  },
});
provider.proxy = false;

const readJson = (req) =>
  new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      try { resolve(data ? JSON.parse(data) : {}); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });

const sendJson = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

function activeFault(path) {
  const now = Date.now();
  faults = faults.filter((f) => (f.until === undefined || f.until > now) && (f.count === undefined || f.count > 0));
  const f = faults.find((x) => x.path === undefined || x.path === path);
  if (f && f.count !== undefined) f.count -= 1;
  return f;
}

const html503 = '<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>'
  + '<body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>';

// Returns true when the fault answered the request itself.
async function applyFault(f, req, res) {
  if (f.kind === 'stall') {
    await new Promise((r) => { setTimeout(r, f.ms ?? 45000); });
    if (f.then === 'drop') {
      req.socket.destroy();
      return true;
    }
    return false;
  }
  if (f.kind === 'drop') {
    req.socket.destroy();
    return true;
  }
  const status = f.status ?? 503;
  const body = f.kind === '5xx' ? (f.body ?? html503) : (f.body ?? '');
  const headers = { 'content-type': f.kind === '5xx' ? 'text/html' : 'application/json', ...(f.headers || {}) };
  res.writeHead(status, headers);
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
  return true;
}

async function control(req, res, path) {
  try {
    if (path === 'revoke' && req.method === 'POST') {
      const { sub } = await readJson(req);
      sendJson(res, 200, { revoked: MemoryStore.revokeAccount(sub) });
    } else if (path === 'revoke_access' && req.method === 'POST') {
      const { sub } = await readJson(req);
      sendJson(res, 200, { revoked: MemoryStore.revokeAccessTokens(sub) });
    } else if (path === 'fault' && req.method === 'POST') {
      const f = await readJson(req);
      if (!['status', 'stall', '5xx', 'drop'].includes(f.kind)) {
        sendJson(res, 400, { error: `unknown fault kind ${f.kind}` });
        return;
      }
      if (f.for_ms !== undefined) f.until = Date.now() + f.for_ms;
      faults.push(f);
      sendJson(res, 200, { faults: faults.length });
    } else if (path === 'fault' && req.method === 'DELETE') {
      faults = [];
      sendJson(res, 200, { faults: 0 });
    } else if (path === 'stats' && req.method === 'GET') {
      sendJson(res, 200, stats);
    } else if (path === 'ttl' && req.method === 'POST') {
      const body = await readJson(req);
      if (body.access) ttl.access = body.access;
      if (body.refresh) ttl.refresh = body.refresh;
      if (body.id) ttl.id = body.id;
      sendJson(res, 200, ttl);
    } else {
      sendJson(res, 404, { error: 'no such control endpoint' });
    }
  } catch (e) {
    sendJson(res, 400, { error: String(e) });
  }
}

// A protected resource: what warm-up jobs call.
async function whoami(req, res) {
  const auth = req.headers.authorization || '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const at = token ? await provider.AccessToken.find(token) : undefined;
  if (!at) {
    sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  stats.whoami_hits[at.accountId] = (stats.whoami_hits[at.accountId] || 0) + 1;
  sendJson(res, 200, { sub: at.accountId, scope: at.scope, hits: stats.whoami_hits[at.accountId] });
}

// Count token requests by grant type and record every token the token endpoint hands out.
// (Registered before provider.callback(), which composes the middleware stack once.)
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.method !== 'POST') return;
  const gt = ctx.oidc?.params?.grant_type ?? 'unknown';
  stats.token_requests_by_grant[gt] = (stats.token_requests_by_grant[gt] || 0) + 1;
  if (ctx.body && typeof ctx.body === 'object') {
    const b = ctx.body;
    if (b.access_token) stats.issued.access_tokens.push(b.access_token);
    if (b.refresh_token) stats.issued.refresh_tokens.push(b.refresh_token);
    if (b.id_token) stats.issued.id_tokens.push(b.id_token);
  }
});

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/__control/')) {
    await control(req, res, path.slice('/__control/'.length));
    return;
  }
  if (path === '/token' && req.method === 'POST') {
    stats.token_requests += 1;
  }
  const f = activeFault(path);
  if (f && await applyFault(f, req, res)) return;
  if (path === '/api/whoami') {
    await whoami(req, res);
    return;
  }
  callback(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  // The issuer must match the address clients use; oidc-provider reads it at construction, so
  // set it now that the port is known.
  provider.issuer = issuer;
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
