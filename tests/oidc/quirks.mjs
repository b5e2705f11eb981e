// Quirk modes: the test server as GitHub, Google, Microsoft Entra or GitLab answer, each from the
// provider's documentation, so that Tokentray's presets are proven against what the real one
// does. `OIDC_QUIRKS=github|google|microsoft|gitlab` picks one; without it the server is plain
// oidc-provider. Three hooks: `route` maps the provider's public paths onto oidc-provider's
// (before Koa sees the request), `answer` rewrites token answers the way the provider shapes
// them (a Koa middleware), `issueRefreshToken` says when a refresh token is handed out.
//
// Sources:
// - GitHub: "Authorizing OAuth apps" (errors with HTTP 200; form-encoded unless Accept asks for
//   JSON; device flow `authorization_pending`, `slow_down` adding 5 s), "Refreshing user access
//   tokens" (`refresh_token_expires_in`, `bad_refresh_token`), REST "Get the authenticated user".
// - Google: "OAuth 2.0 for Mobile & Desktop Apps" (installed apps send their client secret;
//   a refresh token only with access_type=offline, again only with prompt=consent; refresh
//   answers carry no refresh_token: refresh tokens do not rotate), invalid_grant
//   "Token has been expired or revoked."
// - Microsoft: identity platform v2.0 endpoints /{tenant}/oauth2/v2.0/…, `offline_access` for a
//   refresh token, errors with AADSTS codes in error_description and `error_codes`, AADSTS90002
//   for an unknown tenant, refresh tokens replaced on every refresh.
// - GitLab: "OAuth 2.0 identity provider API": /oauth/… paths on any instance's URL,
//   Doorkeeper's error texts, refresh tokens rotated on every refresh.

import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

export const MODES = ['github', 'google', 'microsoft', 'gitlab'];

// Tenants this fake Entra knows: the well-known names, one tenant id and one domain.
export const TENANT_ID = '8eaef023-2b34-4da1-9baa-8bc8c9d6a490';
const TENANTS = new Set(['common', 'organizations', 'consumers', TENANT_ID, 'tokentray-test.onmicrosoft.com']);

// GitHub advertises 5 s; 1 s keeps the tests short, the rule is the same.
const GITHUB_DEVICE_INTERVAL = 1;

const PATHS = {
  github: {
    '/login/oauth/authorize': '/auth',
    '/login/oauth/access_token': '/token',
    '/login/device/code': '/device/auth',
  },
  google: {
    '/o/oauth2/v2/auth': '/auth',
    '/token': '/token',
    '/device/code': '/device/auth',
    '/revoke': '/token/revocation',
    '/v1/userinfo': '/me',
  },
  microsoft: {
    authorize: '/auth',
    token: '/token',
    devicecode: '/device/auth',
  },
  gitlab: {
    '/oauth/authorize': '/auth',
    '/oauth/token': '/token',
    '/oauth/authorize_device': '/device/auth',
    '/oauth/revoke': '/token/revocation',
    '/oauth/userinfo': '/me',
  },
};

// What every mode counts, for tests to read in /__control/stats.
export const quirkStats = {
  slow_down: 0, too_fast: 0, device_polls: [], authorize_params: [], token_accept: [],
};

// What a test may ask for (POST /__control/quirk): `slow_down_next: N` answers the next N
// pending device polls with GitHub's slow_down, as GitHub does when it wants fewer polls.
export const controls = { slow_down_next: 0 };

const aad = (code, text, error = 'invalid_grant') => ({
  error,
  error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`,
  error_codes: [code],
  timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
  trace_id: randomUUID(),
  correlation_id: randomUUID(),
  error_uri: `https://login.microsoftonline.com/error?code=${code}`,
});

// Each provider's own words for oidc-provider's refusals.
const ERRORS = {
  github: {
    invalid_grant: (b) => (b.grant_type === 'refresh_token'
      ? { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors#bad-refresh-token' }
      : { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' }),
    invalid_client: () => ({ error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials' }),
    authorization_pending: () => ({ error: 'authorization_pending', error_description: 'The authorization request is still pending.', error_uri: 'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow' }),
    expired_token: () => ({ error: 'expired_token', error_description: 'The device_code has expired.' }),
    access_denied: () => ({ error: 'access_denied', error_description: 'The authorization request was denied.' }),
  },
  google: {
    invalid_grant: () => ({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }),
    invalid_client: () => ({ error: 'invalid_client', error_description: 'Unauthorized' }),
  },
  microsoft: {
    invalid_grant: (b) => (b.grant_type === 'refresh_token'
      ? aad(50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
      : aad(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.')),
    invalid_client: () => aad(7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.', 'invalid_client'),
    invalid_scope: () => aad(70011, "The provided request must include a 'scope' input parameter.", 'invalid_scope'),
  },
  gitlab: {
    invalid_grant: () => ({ error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.' }),
    invalid_client: () => ({ error: 'invalid_client', error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.' }),
  },
};

/** A request whose body was read, to hand on with a new body (same socket, headers, method). */
export function replayed(req, url, body) {
  const buf = Buffer.from(body);
  const fake = Readable.from([buf]);
  Object.assign(fake, {
    method: req.method,
    url,
    headers: { ...req.headers, 'content-length': String(buf.length) },
    rawHeaders: [],
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
  });
  return fake;
}

const sendJson = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

// A stable numeric id for a login name, like GitHub's user ids.
const numericId = (sub) => parseInt(createHash('sha256').update(sub).digest('hex').slice(0, 8), 16);

/**
 * Maps a request in the provider's paths onto oidc-provider's. Returns 'handled' when it
 * answered itself, `{replay, url}` when it read the body and a new one must be handed on, else
 * nothing (req.url may have been rewritten).
 */
export async function route(mode, req, res, findAccessToken, readBody) {
  const url = new URL(req.url, 'http://x');
  let inner;
  if (mode === 'microsoft') {
    const m = url.pathname.match(/^\/([^/]+)\/oauth2\/v2\.0\/(authorize|token|devicecode)$/);
    if (m) {
      if (!TENANTS.has(m[1])) {
        const body = aad(90002, `Tenant '${m[1]}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`, 'invalid_request');
        if (m[2] === 'authorize') {
          res.writeHead(400, { 'content-type': 'text/html' });
          res.end(`<html><body><h1>Sign in</h1><p>${body.error_description}</p></body></html>`);
        } else {
          sendJson(res, 400, body);
        }
        return 'handled';
      }
      inner = PATHS.microsoft[m[2]];
    }
  } else {
    inner = PATHS[mode]?.[url.pathname];
  }
  if (mode === 'github' && url.pathname === '/api/v3/user') {
    const auth = req.headers.authorization || '';
    const at = /^(Bearer|token) /i.test(auth) ? await findAccessToken(auth.replace(/^\S+ /, '').trim()) : undefined;
    if (!at) {
      sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    } else {
      sendJson(res, 200, { login: at.accountId, id: numericId(at.accountId), type: 'User' });
    }
    return 'handled';
  }
  if (!inner) return undefined;
  if (mode === 'github' && inner === '/device/auth' && req.method === 'POST') {
    // The scope is in the form body here: oidc-provider's device flow wants openid too.
    const form = new URLSearchParams(await readBody(req));
    form.set('scope', [...new Set(['openid', ...(form.get('scope') || '').split(' ').filter(Boolean)])].join(' '));
    return { replay: form.toString(), url: inner };
  }
  if (inner === '/auth') {
    quirkStats.authorize_params.push(Object.fromEntries(url.searchParams));
    const scopes = new Set((url.searchParams.get('scope') || '').split(' ').filter(Boolean));
    if (mode === 'google') {
      // Google's offline access is a parameter, not a scope; without prompt=consent
      // oidc-provider drops offline_access, as Google sends no new refresh token.
      if (url.searchParams.get('access_type') === 'offline') scopes.add('offline_access');
      url.searchParams.delete('access_type');
    }
    // GitHub has no OpenID scopes; oidc-provider wants openid (the ID token is dropped below).
    if (mode === 'github') scopes.add('openid');
    if (mode === 'microsoft' && scopes.has('offline_access') && !url.searchParams.has('prompt')) {
      // Entra honours offline_access without a consent prompt; oidc-provider wants one.
      url.searchParams.set('prompt', 'consent');
    }
    if (scopes.size) url.searchParams.set('scope', [...scopes].join(' '));
  }
  req.url = `${inner}${url.search}`;
  return undefined;
}

/** When a refresh token is handed out: only with offline access for Google and Microsoft. */
export function issuesRefreshToken(mode, client, source) {
  if (!client.grantTypeAllowed('refresh_token')) return false;
  if (mode === 'google' || mode === 'microsoft') return source.scopes.has('offline_access');
  return true;
}

/** Google's refresh tokens do not rotate; everyone else's here do. */
export const rotates = (mode) => mode !== 'google';

const lastPoll = new Map(); // device_code -> {at, interval}

/** A Koa middleware that shapes /token and /device/auth answers as the provider does. */
export function answer(mode, refreshTtl) {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST') return;
    if (ctx.path === '/device/auth' && mode === 'github' && ctx.body?.device_code) {
      ctx.body.interval = GITHUB_DEVICE_INTERVAL;
      lastPoll.set(ctx.body.device_code, { at: Date.now(), interval: GITHUB_DEVICE_INTERVAL });
    }
    if (ctx.path !== '/token' || !ctx.body || typeof ctx.body !== 'object') return;
    const params = ctx.oidc?.params || {};
    let body = ctx.body;
    if (params.grant_type === 'urn:ietf:params:oauth:grant-type:device_code' && mode === 'github') {
      const seen = lastPoll.get(params.device_code);
      const now = Date.now();
      quirkStats.device_polls.push({ at: now, answer: body.error || 'token' });
      const tooFast = seen && now - seen.at < seen.interval * 1000;
      if (tooFast) quirkStats.too_fast += 1;
      const asked = controls.slow_down_next > 0;
      if (seen && body.error === 'authorization_pending' && (tooFast || asked)) {
        // Too soon: GitHub adds 5 s to the interval and says so.
        if (asked) controls.slow_down_next -= 1;
        seen.interval += 5;
        quirkStats.slow_down += 1;
        quirkStats.device_polls[quirkStats.device_polls.length - 1].answer = 'slow_down';
        body = { error: 'slow_down', error_description: 'Too many requests have been made in the same timeframe.', error_uri: 'https://docs.github.com', interval: seen.interval };
      }
      if (seen) seen.at = now;
    }
    if (mode === 'github') quirkStats.token_accept.push(ctx.get('accept') || '');
    if (body.error && ERRORS[mode]?.[body.error]) body = ERRORS[mode][body.error](params);
    if (!body.error) {
      if (mode === 'google' && params.grant_type === 'refresh_token') delete body.refresh_token;
      if (mode === 'github') {
        delete body.id_token;
        if (body.refresh_token) body.refresh_token_expires_in = refreshTtl();
      }
      if (mode === 'microsoft' && body.expires_in) body.ext_expires_in = body.expires_in;
    }
    ctx.body = body;
    if (mode === 'github') {
      if (ctx.status >= 400 && ctx.status < 500) ctx.status = 200;
      const accept = ctx.get('accept') || '';
      if (!/application\/json/i.test(accept)) {
        ctx.body = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
        ctx.type = 'application/x-www-form-urlencoded; charset=utf-8';
      }
    }
  };
}
