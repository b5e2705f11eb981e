// The real OAuth/OIDC server Tokentray's tests run against: panva's oidc-provider on 127.0.0.1
// with an ephemeral port. Refresh token rotation is on, PKCE is required, the device flow is on.
// A control API under /__control/ lets a test revoke a user's grants, inject faults, change token
// lifetimes and read what was issued. See README.md beside this file.
//
// stdout carries exactly one line, once listening: {"issuer":"http://127.0.0.1:PORT","port":PORT}
// Everything else goes to stderr. SIGTERM / SIGINT stop it with exit code 0.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { MemoryStore, StoreAdapter } from './store.mjs';
import {
  MODES, answer as quirkAnswer, controls as quirkControls, replayed, issuesRefreshToken, quirkStats, rotates, route as quirkRoute,
} from './quirks.mjs';

const verbose = process.env.OIDC_VERBOSE === '1';

// ---------------------------------------------------------------------------------------------
// stdout is the start-up handshake and nothing else. oidc-provider prints its NOTICEs with
// console.info (stdout), e.g. the first time the device page renders; a reader that parses
// stdout, or has closed its end of the pipe after the first line, must never see them.
// The notices and warnings that are expected in a test harness (dev login pages, Node 20, the
// default HTML of the device pages) are dropped unless OIDC_VERBOSE=1; anything else is kept.
const EXPECTED = [
  /^oidc-provider NOTICE: /,
  /^oidc-provider WARNING: Unsupported runtime/,
  /^oidc-provider WARNING: a quick start development-only feature devInteractions/,
];
const toStderr = (...args) => {
  if (!verbose && typeof args[0] === 'string' && EXPECTED.some((re) => re.test(args[0]))) return;
  console.error(...args);
};
console.log = toStderr;
console.info = toStderr;
console.warn = toStderr;
console.debug = toStderr;
// If the reader closed the pipe after the handshake line, a stray write must not kill us.
process.stdout.on('error', () => {});

// Imported only now, so that its import-time runtime warning goes through the filter above.
const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------------
// Configuration from the environment.

const seconds = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

// Mutable so that a test can change lifetimes mid-run (POST /__control/ttl); oidc-provider calls
// the ttl functions below for every token it mints.
const ttl = {
  access: seconds('OIDC_ACCESS_TTL', 60),
  refresh: seconds('OIDC_REFRESH_TTL', 86400),
  id: seconds('OIDC_ID_TTL', 3600),
};

// Resource servers (RFC 8707), from OIDC_RESOURCES: {"https://one.test":"api read", ...}, each
// with the scopes it knows. A sign-in is granted all of them (its authorization request needs no
// `resource`), and a refresh may then ask for a token for one of them; any other resource is
// `invalid_target`. Without the variable resource indicators stay as oidc-provider ships them:
// every resource is refused.
let resources = {};
try {
  resources = JSON.parse(process.env.OIDC_RESOURCES || '{}');
  if (resources === null || typeof resources !== 'object' || Array.isArray(resources)) throw new Error('not a JSON object');
} catch (e) {
  console.error(`server.mjs: OIDC_RESOURCES: ${e.message}`);
  process.exit(2);
}
const resourceNames = Object.keys(resources);

const GRANTS = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

const defaultClients = [
  {
    // Tokentray as a native app: public client, PKCE. oidc-provider lets a native client's
    // http loopback redirect URI use any port (RFC 8252 §7.3), so this one entry covers the
    // ephemeral port of the app's listener (lib/models/client.js, stripLoopbackPort).
    client_id: 'tokentray',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: GRANTS,
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  {
    // A confidential client, for tests of client authentication failures (invalid_client).
    client_id: 'tokentray-secret',
    client_secret: 's3cret',
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'native',
    grant_types: GRANTS,
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
];

// A provider's documented behaviour, or plain oidc-provider (see quirks.mjs).
const quirk = process.env.OIDC_QUIRKS || '';
if (quirk && !MODES.includes(quirk)) {
  console.error(`server.mjs: OIDC_QUIRKS must be one of ${MODES.join(', ')}`);
  process.exit(2);
}
if (quirk === 'google') {
  // Google's installed-app clients have a secret (not a secret in a desktop app, but sent).
  Object.assign(defaultClients[0], { client_secret: 'GOCSPX-tokentray-test', token_endpoint_auth_method: 'client_secret_basic' });
}

let extraClients = [];
try {
  extraClients = JSON.parse(process.env.OIDC_CLIENTS_JSON || '[]');
  if (!Array.isArray(extraClients)) throw new Error('not a JSON array');
} catch (e) {
  console.error(`server.mjs: OIDC_CLIENTS_JSON: ${e.message}`);
  process.exit(2);
}
// An extra client with a default client's id replaces it (duplicate ids are a start-up error).
const extraIds = new Set(extraClients.map((c) => c.client_id));
const clients = [...defaultClients.filter((c) => !extraIds.has(c.client_id)), ...extraClients];

// Our own signing key, so oidc-provider does not warn about its quick-start keys. RS256 is the
// default ID token algorithm, hence RSA. A fixed test-only key from signing-key.json, not one
// generated per run: Node 20 can deadlock at start-up when a garbage collection lands inside
// `generateKeyPairSync(...).privateKey.export({ format: 'jwk' })` (the key-generation job's
// destructor waits for a lock the export holds; seen in CI on 2026-12-02: a server that never
// printed its ready line, its main thread in KeyGenJob::~KeyGenJob under ExportJWK). It signs
// ID tokens of a throw-away server on 127.0.0.1 and protects nothing.
const signingKey = JSON.parse(readFileSync(new URL('./signing-key.json', import.meta.url), 'utf8'));

// ---------------------------------------------------------------------------------------------
// What tests look at: counters, and every token value issued (to grep logs and files for leaks).

const stats = {
  token_requests: 0, // every POST /token, including those a fault answered
  token_requests_by_grant: {}, // the same requests, by grant_type
  whoami_hits: {},
  issued: { access_tokens: [], refresh_tokens: [], id_tokens: [] },
};

const countGrant = (grantType) => {
  const gt = grantType || 'unknown';
  stats.token_requests_by_grant[gt] = (stats.token_requests_by_grant[gt] || 0) + 1;
};

// ---------------------------------------------------------------------------------------------
// The server first, then the provider: the issuer must carry the port, which is known only once
// listening. Nothing can reach the port before the handshake line announces it.

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  adapter: StoreAdapter,
  clients,
  jwks: { keys: [signingKey] },
  // Fixed keys (they only sign the scripted user's throw-away browser cookies), so nothing about
  // a run depends on random cookie keys.
  cookies: { keys: ['tt-test-cookie-9f3a61c2d8e04b7a', 'tt-test-cookie-27b5e0c94f1d4a36'] },
  // Always required, whatever the client. oidc-provider v9 only implements S256 (helpers/pkce.js).
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  routes: {
    authorization: '/auth',
    token: '/token',
    device_authorization: '/device/auth',
    code_verification: '/device',
    revocation: '/token/revocation',
    introspection: '/token/introspection',
    userinfo: '/me',
    jwks: '/jwks',
  },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // At the authorization endpoint (no `oneOf`): every configured resource, so the grant
      // covers them all. At the token endpoint, when a refresh without `openid` falls back to
      // the granted resources (`oneOf`): the first.
      async defaultResource(_ctx, _client, oneOf) {
        if (oneOf) return Array.isArray(oneOf) ? oneOf[0] : oneOf;
        return resourceNames.length ? resourceNames : undefined;
      },
      async getResourceServerInfo(_ctx, resource) {
        if (!Object.hasOwn(resources, resource)) throw new errors.InvalidTarget();
        return { scope: resources[resource], audience: resource, accessTokenFormat: 'opaque' };
      },
    },
  },
  // Any login name is a user; its sub is the name.
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub, name: sub, preferred_username: sub, email: `${sub}@example.test`, email_verified: true,
        };
      },
    };
  },
  // A refresh token whenever the client may refresh, in the code flow and the device flow alike:
  // tests need not depend on offline_access / prompt=consent rules.
  async issueRefreshToken(_ctx, client, source) {
    return quirk ? issuesRefreshToken(quirk, client, source) : client.grantTypeAllowed('refresh_token');
  },
  // Tokens do not die with the (throw-away) browser session of the scripted user.
  expiresWithSession: async () => false,
  // Every refresh rotates; replaying an old refresh token fails with invalid_grant and revokes
  // the whole grant (lib/actions/grants/refresh_token.js), like the providers whose reuse
  // detection Tokentray must survive.
  rotateRefreshToken: quirk ? rotates(quirk) : true,
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

provider.on('server_error', (ctx, err) => {
  console.error(`server.mjs: server_error on ${ctx.method} ${ctx.path}:`, err);
});

// The provider's shape of token answers (outermost, so that the record below sees the tokens
// before a GitHub answer becomes a form).
if (quirk) provider.use(quirkAnswer(quirk, () => ttl.refresh));

// Record what the token endpoint hands out. Registered before provider.callback(), which
// composes the middleware stack; runs around every provider route.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.method !== 'POST') return;
  countGrant(ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type);
  const b = ctx.body;
  if (b && typeof b === 'object' && !Buffer.isBuffer(b)) {
    if (b.access_token) stats.issued.access_tokens.push(b.access_token);
    if (b.refresh_token) stats.issued.refresh_tokens.push(b.refresh_token);
    if (b.id_token) stats.issued.id_tokens.push(b.id_token);
  }
});

const providerCallback = provider.callback();

// ---------------------------------------------------------------------------------------------
// Plain HTTP helpers (the control API and /api/whoami live outside Koa, in front of it).

const readBody = (req) => new Promise((resolve, reject) => {
  let data = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { data += c; });
  req.on('end', () => resolve(data));
  req.on('error', reject);
});

const readJson = async (req) => {
  const data = await readBody(req);
  return data ? JSON.parse(data) : {};
};

const sendJson = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
};

// ---------------------------------------------------------------------------------------------
// Faults. Each: {kind, path, status, body, headers, ms, then, count, until}. The first live
// fault whose path matches the request path (or that has no path) applies.

let faults = [];
const stalls = new Set(); // pending stall timers, cleared on shutdown

const html503 = '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n'
  + '<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n'
  + '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

function takeFault(path, inner = path) {
  const now = Date.now();
  faults = faults.filter((f) => (f.until === undefined || f.until > now) && (f.count === undefined || f.count > 0));
  const f = faults.find((x) => x.path === undefined || x.path === path || x.path === inner);
  if (f && f.count !== undefined) f.count -= 1;
  return f;
}

// A canned answer. A string body goes out as is (HTML if it looks like HTML); anything else as
// JSON. Headers given by the test win.
function cannedAnswer(f, res) {
  const status = f.status ?? 503;
  let body = f.body;
  if (body === undefined) body = f.kind === '5xx' ? html503 : '';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body !== 'string' ? 'application/json'
    : /^\s*</.test(body) ? 'text/html' : 'text/plain';
  res.writeHead(status, { 'content-type': type, ...(f.headers || {}) });
  res.end(text);
}

const sleep = (ms) => new Promise((resolve) => {
  const t = setTimeout(() => { stalls.delete(t); resolve(); }, ms);
  stalls.add(t);
});

// Returns true when the fault dealt with the request itself, false to pass it on.
async function applyFault(f, req, res, path) {
  if (f.kind === 'stall') {
    await sleep(f.ms ?? 45000);
    if (f.then !== 'drop') return false;
  }
  // The provider will not see this request, so count its grant type here.
  if (path === '/token' && req.method === 'POST') {
    countGrant(new URLSearchParams(await readBody(req).catch(() => '')).get('grant_type'));
  }
  if (f.kind === 'stall' || f.kind === 'drop') {
    req.socket.destroy();
  } else {
    cannedAnswer(f, res);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The control API.

async function control(req, res, what) {
  try {
    const route = `${req.method} ${what}`;
    if (route === 'POST revoke') {
      const { sub } = await readJson(req);
      sendJson(res, 200, { revoked: MemoryStore.revokeAccount(sub) });
    } else if (route === 'POST revoke_access') {
      const { sub } = await readJson(req);
      sendJson(res, 200, { revoked: MemoryStore.revokeAccessTokens(sub) });
    } else if (route === 'POST fault') {
      const f = await readJson(req);
      if (!['status', 'stall', '5xx', 'drop'].includes(f.kind)) {
        sendJson(res, 400, { error: `unknown fault kind ${JSON.stringify(f.kind)}` });
        return;
      }
      if (f.kind === '5xx' && f.status === undefined) f.status = 503;
      if (f.for_ms !== undefined) f.until = Date.now() + Number(f.for_ms);
      faults.push(f);
      sendJson(res, 200, { faults: faults.length });
    } else if (route === 'DELETE fault') {
      faults = [];
      sendJson(res, 200, { faults: 0 });
    } else if (route === 'POST quirk') {
      Object.assign(quirkControls, await readJson(req));
      sendJson(res, 200, quirkControls);
    } else if (route === 'GET stats') {
      sendJson(res, 200, { ...stats, quirks: quirkStats });
    } else if (route === 'POST ttl') {
      const body = await readJson(req);
      for (const k of ['access', 'refresh', 'id']) {
        const v = Number(body[k]);
        if (body[k] !== undefined && Number.isFinite(v) && v > 0) ttl[k] = v;
      }
      sendJson(res, 200, ttl);
    } else {
      sendJson(res, 404, { error: `no control endpoint ${route}` });
    }
  } catch (e) {
    sendJson(res, 400, { error: String(e) });
  }
}

// A protected resource, what warm-up jobs call. AccessToken.find returns nothing for unknown,
// expired or revoked tokens.
async function whoami(req, res) {
  const auth = req.headers.authorization || '';
  const token = /^Bearer /i.test(auth) ? auth.slice(7).trim() : '';
  const at = token ? await provider.AccessToken.find(token) : undefined;
  if (!at) {
    sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  stats.whoami_hits[at.accountId] = (stats.whoami_hits[at.accountId] || 0) + 1;
  sendJson(res, 200, {
    sub: at.accountId, scope: at.scope, aud: at.aud ?? null, hits: stats.whoami_hits[at.accountId],
  });
}

// ---------------------------------------------------------------------------------------------

server.on('request', async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (verbose) {
    // Path only: queries carry codes and states.
    res.on('finish', () => console.error(`server.mjs: ${req.method} ${path} -> ${res.statusCode}`));
  }
  try {
    if (path.startsWith('/__control/')) {
      await control(req, res, path.slice('/__control/'.length));
      return;
    }
    // The provider's own paths (a quirk mode) onto oidc-provider's; faults match either.
    let routed = quirk ? await quirkRoute(quirk, req, res, (t) => provider.AccessToken.find(t), readBody) : undefined;
    if (routed === 'handled') return;
    if (routed?.replay !== undefined) {
      providerCallback(replayed(req, routed.url, routed.replay), res);
      return;
    }
    const inner = new URL(req.url, issuer).pathname;
    if (inner === '/token' && req.method === 'POST') stats.token_requests += 1;
    const f = takeFault(path, inner);
    if (f && await applyFault(f, req, res, inner)) return;
    if (path === '/api/whoami') {
      await whoami(req, res);
      return;
    }
    providerCallback(req, res);
  } catch (e) {
    console.error(`server.mjs: ${req.method} ${path}:`, e);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  }
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);

// Exit promptly even with keep-alive connections open or a stall fault holding a request.
const stop = () => {
  for (const t of stalls) clearTimeout(t);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
