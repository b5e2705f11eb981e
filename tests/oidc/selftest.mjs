// Checks the test OAuth server and the scripted user end to end, over plain HTTP only, so that a
// failing Tokentray test is never a broken harness in disguise.
// Run: node --test tests/oidc/selftest.mjs   (or `node --test selftest.mjs` in this folder)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { authorize, runUser, signIn } from './flows.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'tt-oidc-selftest-'));
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
let server;
let issuer;
let stdout = '';

before(async () => {
  server = spawn(process.execPath, [join(here, 'server.mjs')], {
    env: { ...process.env, OIDC_ACCESS_TTL: '30' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  server.stdout.setEncoding('utf8');
  server.stdout.on('data', (d) => { stdout += d; });
  while (!stdout.includes('\n')) {
    await once(server.stdout, 'data');
  }
  ({ issuer } = JSON.parse(stdout.split('\n')[0]));
});

after(() => {
  if (server.exitCode === null) server.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const post = (path, form, headers = {}) => fetch(issuer + path, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(form).toString(),
});
const refresh = (rt) => post('/token', { grant_type: 'refresh_token', refresh_token: rt, client_id: 'tokentray' });
const whoami = (at) => fetch(`${issuer}/api/whoami`, { headers: { authorization: `Bearer ${at}` } });
const control = async (path, body, method = 'POST') => {
  const res = await fetch(`${issuer}/__control/${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${method} /__control/${path}`);
  return res.json();
};
const jwtPayload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('the ready line is the only stdout line and names the issuer', () => {
  assert.match(stdout, /^\{"issuer":"http:\/\/127\.0\.0\.1:(\d+)","port":(\d+)\}\n$/);
  const { port } = JSON.parse(stdout);
  assert.equal(issuer, `http://127.0.0.1:${port}`);
});

test('(a) discovery lists the endpoints', async () => {
  const d = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, issuer);
  assert.equal(d.authorization_endpoint, `${issuer}/auth`);
  assert.equal(d.token_endpoint, `${issuer}/token`);
  assert.equal(d.device_authorization_endpoint, `${issuer}/device/auth`);
  assert.equal(d.revocation_endpoint, `${issuer}/token/revocation`);
  assert.equal(d.introspection_endpoint, `${issuer}/token/introspection`);
  assert.equal(d.userinfo_endpoint, `${issuer}/me`);
  assert.equal(d.jwks_uri, `${issuer}/jwks`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  for (const g of ['authorization_code', 'refresh_token', DEVICE_GRANT]) assert.ok(d.grant_types_supported.includes(g), g);
  for (const s of ['openid', 'offline_access', 'profile', 'email', 'api']) assert.ok(d.scopes_supported.includes(s), s);
});

test('PKCE is required', async () => {
  const url = `${issuer}/auth?${new URLSearchParams({
    client_id: 'tokentray', response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:1/callback',
  })}`;
  const res = await fetch(url, { redirect: 'manual' });
  assert.match(res.headers.get('location') ?? '', /error=invalid_request/);
  assert.match(res.headers.get('location'), /PKCE/);
});

let alice; // alice's first token answer, shared by the tests that follow

test('(b) code + PKCE through the scripted user and a loopback listener', async () => {
  const log = join(tmp, 'user.jsonl');
  const a = await authorize(issuer, { user: 'alice', env: { TT_USER_LOG: log } });
  assert.equal(a.browser.code, 0, a.browser.stderr);
  assert.ok(a.code, 'the listener got a code');
  assert.equal(a.returnedState, a.state);
  assert.match(a.browser.stderr, /callback http:\/\/127\.0\.0\.1:\d+\/callback answered 200/);
  const line = JSON.parse(readFileSync(log, 'utf8').trim());
  assert.equal(line.ok, true);
  assert.equal(line.final_status, 200);
  assert.ok(!line.final_url.includes(a.code), 'no authorization code in the user log');

  const res = await post('/token', {
    grant_type: 'authorization_code', code: a.code, code_verifier: a.verifier, redirect_uri: a.redirect, client_id: 'tokentray',
  });
  alice = await res.json();
  assert.equal(res.status, 200, JSON.stringify(alice));
  assert.ok(alice.access_token && alice.refresh_token && alice.id_token);
  assert.equal(alice.expires_in, 30);
  assert.match(alice.scope, /\bapi\b/);
  const id = jwtPayload(alice.id_token);
  assert.equal(id.iss, issuer);
  assert.equal(id.sub, 'alice');

});

test('a wrong PKCE verifier is refused; a replayed code is refused and revokes its tokens', async () => {
  const b = await authorize(issuer, { user: 'gina' });
  const exchange = (verifier) => post('/token', {
    grant_type: 'authorization_code', code: b.code, code_verifier: verifier, redirect_uri: b.redirect, client_id: 'tokentray',
  });
  assert.equal((await (await exchange('x'.repeat(43))).json()).error, 'invalid_grant');
  const t = await (await exchange(b.verifier)).json();
  assert.ok(t.refresh_token, JSON.stringify(t));
  assert.equal((await (await exchange(b.verifier)).json()).error, 'invalid_grant');
  // oidc-provider revokes what a replayed code produced (RFC 6749 §4.1.2).
  assert.equal((await (await refresh(t.refresh_token)).json()).error, 'invalid_grant');
});

test('the scripted user denies when told to', async () => {
  const log = join(tmp, 'deny.jsonl');
  const a = await authorize(issuer, { user: 'alice', env: { TT_USER_MODE: 'deny', TT_USER_LOG: log } });
  assert.equal(a.browser.code, 0, a.browser.stderr);
  assert.equal(a.code, undefined);
  assert.equal(a.error, 'access_denied');
  assert.equal(JSON.parse(readFileSync(log, 'utf8')).callback_error, 'access_denied');
});

test('the scripted user fails loudly when the callback listener is gone', async () => {
  const url = `${issuer}/auth?${new URLSearchParams({
    client_id: 'tokentray', response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:9/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  })}`;
  const r = await runUser(url);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /user\.mjs: GET http:\/\/127\.0\.0\.1:9\/callback: /);
  assert.ok(!/code=/.test(r.stderr), 'no authorization code on stderr');
});

let rotated;

test('(c) refresh rotates, and reusing the old refresh token is invalid_grant', async () => {
  const res = await refresh(alice.refresh_token);
  rotated = await res.json();
  assert.equal(res.status, 200, JSON.stringify(rotated));
  assert.ok(rotated.access_token && rotated.refresh_token);
  assert.notEqual(rotated.refresh_token, alice.refresh_token, 'rotated');

  const reuse = await refresh(alice.refresh_token);
  assert.equal(reuse.status, 400);
  assert.equal((await reuse.json()).error, 'invalid_grant');
  // Reuse detection revokes the whole grant: the rotated token dies with it.
  assert.equal((await (await refresh(rotated.refresh_token)).json()).error, 'invalid_grant');
});

test('(d) /api/whoami accepts a live access token and refuses others', async () => {
  const t = await signIn(issuer, { user: 'frank' });
  const a = await whoami(t.access_token);
  assert.equal(a.status, 200);
  const body = await a.json();
  assert.equal(body.sub, 'frank');
  assert.match(body.scope, /\bapi\b/);
  assert.equal(body.hits, 1);
  assert.equal((await (await whoami(t.access_token)).json()).hits, 2);

  const bad = await whoami('not-a-token');
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  const none = await fetch(`${issuer}/api/whoami`);
  assert.equal(none.status, 401);
});

test('(e) revoking a user kills refresh and access tokens; revoke_access only the latter', async () => {
  const bob = await signIn(issuer, { user: 'bob' });
  assert.equal((await whoami(bob.access_token)).status, 200);
  const { revoked } = await control('revoke', { sub: 'bob' });
  assert.ok(revoked > 0);
  const dead = await refresh(bob.refresh_token);
  assert.equal(dead.status, 400);
  assert.equal((await dead.json()).error, 'invalid_grant');
  assert.equal((await whoami(bob.access_token)).status, 401);
  assert.deepEqual(await control('revoke', { sub: 'nobody' }), { revoked: 0 });

  const zoe = await signIn(issuer, { user: 'zoe' });
  assert.ok((await control('revoke_access', { sub: 'zoe' })).revoked > 0);
  assert.equal((await whoami(zoe.access_token)).status, 401);
  assert.equal((await refresh(zoe.refresh_token)).status, 200);
});

test('(f) faults: a 5xx window, canned answers, stalls, drops, then normal', async () => {
  await control('fault', { kind: '5xx', path: '/token', for_ms: 600 });
  const a = await refresh('x');
  assert.equal(a.status, 503);
  assert.match(a.headers.get('content-type'), /text\/html/);
  assert.match(await a.text(), /<html>/);
  assert.equal((await fetch(`${issuer}/jwks`)).status, 200, 'other paths are untouched');
  await sleep(700);
  assert.equal((await refresh('x')).status, 400, 'the window closed');

  const page = '<html><body>Bad Gateway</body></html>';
  await control('fault', {
    kind: 'status', path: '/token', status: 502, body: page, headers: { 'Retry-After': '5' }, count: 3,
  });
  for (let i = 0; i < 3; i += 1) {
    const r = await refresh('x');
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.equal(await r.text(), page);
  }
  const back = await refresh('x');
  assert.equal(back.status, 400, 'back to the real endpoint after count answers');
  assert.equal((await back.json()).error, 'invalid_grant');

  await control('fault', { kind: 'status', path: '/token', status: 400, body: { error: 'invalid_client' } });
  assert.equal((await (await refresh('x')).json()).error, 'invalid_client');
  assert.equal((await (await refresh('x')).json()).error, 'invalid_client', 'no count: until cleared');
  await control('fault', undefined, 'DELETE');
  assert.equal((await (await refresh('x')).json()).error, 'invalid_grant');

  await control('fault', { kind: 'stall', path: '/token', ms: 300, count: 1 });
  let t0 = Date.now();
  assert.equal((await refresh('x')).status, 400, 'a stall passes the request through');
  assert.ok(Date.now() - t0 >= 290);

  await control('fault', { kind: 'stall', path: '/token', ms: 200, then: 'drop', count: 1 });
  t0 = Date.now();
  await assert.rejects(refresh('x'), /fetch failed/);
  assert.ok(Date.now() - t0 >= 190);
  await control('fault', { kind: 'drop', path: '/token', count: 1 });
  await assert.rejects(refresh('x'), /fetch failed/);
  assert.equal((await refresh('x')).status, 400);

  const bad = await fetch(`${issuer}/__control/fault`, { method: 'POST', body: '{"kind":"nope"}' });
  assert.equal(bad.status, 400);
});

test('(g) device flow completed by the scripted user', async () => {
  const start = async () => (await post('/device/auth', { client_id: 'tokentray', scope: 'openid offline_access api' })).json();
  const poll = (dc) => post('/token', { grant_type: DEVICE_GRANT, device_code: dc, client_id: 'tokentray' });

  // With the code in the URL (verification_uri_complete).
  const d = await start();
  assert.ok(d.device_code && d.user_code);
  assert.equal(d.verification_uri, `${issuer}/device`);
  assert.equal((await (await poll(d.device_code)).json()).error, 'authorization_pending');
  const u = await runUser(d.verification_uri_complete, { TT_USER: 'carol' });
  assert.equal(u.code, 0, u.stderr);
  const res = await poll(d.device_code);
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  assert.ok(t.access_token && t.refresh_token && t.id_token);
  assert.equal(jwtPayload(t.id_token).sub, 'carol');
  assert.equal((await refresh(t.refresh_token)).status, 200);

  // Typing the code into the bare page.
  const d2 = await start();
  const u2 = await runUser(d2.verification_uri, { TT_USER: 'dan', TT_USER_CODE: d2.user_code });
  assert.equal(u2.code, 0, u2.stderr);
  const t2 = await (await poll(d2.device_code)).json();
  assert.equal((await (await whoami(t2.access_token)).json()).sub, 'dan');

  // Denied.
  const d3 = await start();
  const u3 = await runUser(d3.verification_uri_complete, { TT_USER_MODE: 'deny' });
  assert.equal(u3.code, 0, u3.stderr);
  assert.equal((await (await poll(d3.device_code)).json()).error, 'access_denied');

  // A wrong code is a failure, said plainly.
  const u4 = await runUser(`${issuer}/device`, { TT_USER_CODE: 'BCDF-GHJK' });
  assert.equal(u4.code, 1);
  assert.match(u4.stderr, /refused the code/);
});

test('a confidential client with a wrong secret is invalid_client', async () => {
  const basic = (secret) => `Basic ${Buffer.from(`tokentray-secret:${secret}`).toString('base64')}`;
  const bad = await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('wrong') });
  assert.equal(bad.status, 401);
  assert.equal((await bad.json()).error, 'invalid_client');
  const good = await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('s3cret') });
  assert.equal((await good.json()).error, 'invalid_grant', 'authenticated, then the token is refused');
});

test('(h) stats count requests and list every issued token', async () => {
  const stats = await control('stats', undefined, 'GET');
  const { access_tokens: at, refresh_tokens: rt, id_tokens: it } = stats.issued;
  for (const v of [alice.access_token, rotated.access_token]) assert.ok(at.includes(v));
  for (const v of [alice.refresh_token, rotated.refresh_token]) assert.ok(rt.includes(v));
  assert.ok(it.includes(alice.id_token));
  const byGrant = Object.values(stats.token_requests_by_grant).reduce((x, y) => x + y, 0);
  assert.equal(byGrant, stats.token_requests, 'every POST /token is counted under its grant type');
  // Requests answered by a fault count too: (f) alone sent 15 refresh_token requests.
  assert.ok(stats.token_requests_by_grant.refresh_token >= 20, JSON.stringify(stats.token_requests_by_grant));
  assert.ok(stats.token_requests_by_grant.authorization_code >= 5);
  assert.ok(stats.token_requests_by_grant[DEVICE_GRANT] >= 4);
  assert.ok(stats.whoami_hits.frank >= 2);
});

test('(i) lifetimes change for tokens issued from then on', async () => {
  assert.deepEqual(await control('ttl', { access: 5, refresh: 120 }), { access: 5, refresh: 120, id: 3600 });
  const t = await signIn(issuer, { user: 'dave' });
  assert.equal(t.expires_in, 5);
  const intro = await (await post('/token/introspection', { token: t.refresh_token, client_id: 'tokentray' })).json();
  assert.equal(intro.active, true);
  assert.equal(intro.exp - intro.iat, 120);
  const r = await (await refresh(t.refresh_token)).json();
  assert.equal(r.expires_in, 5);
  await control('ttl', { access: 30, refresh: 86400 });
});

test('SIGTERM stops the server cleanly, stdout still one line', async () => {
  // Hold one request in a stall: shutdown must not wait for it.
  await control('fault', { kind: 'stall', path: '/token', ms: 45000 });
  const held = refresh('x').catch(() => 'dropped');
  await sleep(100);
  const t0 = Date.now();
  server.kill('SIGTERM');
  const [code, signal] = await once(server, 'exit');
  assert.equal(code, 0, `exit ${code} ${signal}`);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(await held, 'dropped');
  assert.equal(stdout.split('\n').filter(Boolean).length, 1, stdout);
});
