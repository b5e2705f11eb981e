// Checks the test OAuth server and the scripted user end to end, over plain HTTP, so that a
// failing Tokentray test is never a broken harness in disguise. Run: node --test selftest.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { signIn } from './flows.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
let server;
let issuer;

before(async () => {
  server = spawn(process.execPath, [join(here, 'server.mjs')], {
    env: { ...process.env, OIDC_ACCESS_TTL: '30' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [line] = await once(server.stdout, 'data');
  ({ issuer } = JSON.parse(line.toString()));
});

after(() => server.kill());

const post = (path, form) => fetch(issuer + path, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(form).toString(),
});
const control = (path, body, method = 'POST') => fetch(`${issuer}/__control/${path}`, {
  method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
}).then((r) => r.json());

async function tokensFor(user) {
  return signIn(issuer, { user });
}

test('discovery lists the endpoints', async () => {
  const d = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, issuer);
  assert.equal(d.token_endpoint, `${issuer}/token`);
  assert.equal(d.device_authorization_endpoint, `${issuer}/device/auth`);
  assert.equal(d.revocation_endpoint, `${issuer}/token/revocation`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
});

test('PKCE is required', async () => {
  const url = `${issuer}/auth?${new URLSearchParams({
    client_id: 'tokentray', response_type: 'code', scope: 'openid', redirect_uri: 'http://127.0.0.1:1/callback',
  })}`;
  const res = await fetch(url, { redirect: 'manual' });
  assert.match(res.headers.get('location') ?? '', /error=invalid_request/);
});

test('code flow, refresh rotation, reuse is invalid_grant, whoami, revoke', async () => {
  const t = await tokensFor('alice');
  assert.ok(t.access_token && t.refresh_token && t.id_token);
  assert.equal(t.expires_in, 30);

  const who = await fetch(`${issuer}/api/whoami`, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(who.status, 200);
  assert.equal((await who.json()).sub, 'alice');

  const r1 = await (await post('/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'tokentray' })).json();
  assert.ok(r1.refresh_token && r1.refresh_token !== t.refresh_token, 'rotated');
  const reuse = await post('/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'tokentray' });
  assert.equal(reuse.status, 400);
  assert.equal((await reuse.json()).error, 'invalid_grant');

  // Only the access tokens: whoami refuses, refresh still works.
  const t3 = await tokensFor('zoe');
  assert.ok((await control('revoke_access', { sub: 'zoe' })).revoked > 0);
  const who3 = await fetch(`${issuer}/api/whoami`, { headers: { authorization: `Bearer ${t3.access_token}` } });
  assert.equal(who3.status, 401);
  const r3 = await post('/token', { grant_type: 'refresh_token', refresh_token: t3.refresh_token, client_id: 'tokentray' });
  assert.equal(r3.status, 200);

  const t2 = await tokensFor('bob');
  const revoked = await control('revoke', { sub: 'bob' });
  assert.ok(revoked.revoked > 0);
  const dead = await post('/token', { grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: 'tokentray' });
  assert.equal((await dead.json()).error, 'invalid_grant');
  const who2 = await fetch(`${issuer}/api/whoami`, { headers: { authorization: `Bearer ${t2.access_token}` } });
  assert.equal(who2.status, 401);

  const stats = await control('stats', undefined, 'GET');
  assert.ok(stats.issued.refresh_tokens.includes(t.refresh_token));
  assert.ok(stats.issued.access_tokens.includes(r1.access_token));
  assert.ok(stats.token_requests_by_grant.refresh_token >= 3, JSON.stringify(stats.token_requests_by_grant));
});

test('faults: a 5xx window, a canned answer, then normal', async () => {
  await control('fault', { kind: '5xx', path: '/token', for_ms: 800 });
  const a = await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'tokentray' });
  assert.equal(a.status, 503);
  assert.match(await a.text(), /<html>/);
  await new Promise((r) => { setTimeout(r, 900); });
  await control('fault', { kind: 'status', path: '/token', status: 429, headers: { 'Retry-After': '7' }, body: { error: 'slow_down' }, count: 1 });
  const b = await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'tokentray' });
  assert.equal(b.status, 429);
  assert.equal(b.headers.get('retry-after'), '7');
  const c = await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'tokentray' });
  assert.equal(c.status, 400, 'back to the real endpoint');
  await control('fault', { kind: 'stall', path: '/token', ms: 300, count: 1 });
  const t0 = Date.now();
  await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'tokentray' });
  assert.ok(Date.now() - t0 >= 290);
  await control('fault', undefined, 'DELETE');
});

test('device flow completed by the scripted user', async () => {
  const d = await (await post('/device/auth', { client_id: 'tokentray', scope: 'openid offline_access' })).json();
  assert.ok(d.device_code && d.user_code && d.verification_uri_complete);
  const pending = await (await post('/token', {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.device_code, client_id: 'tokentray',
  })).json();
  assert.equal(pending.error, 'authorization_pending');
  await run(process.execPath, [join(here, 'user.mjs'), d.verification_uri_complete], { env: { ...process.env, TT_USER: 'carol' } });
  const res = await post('/token', {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.device_code, client_id: 'tokentray',
  });
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  assert.ok(t.access_token && t.refresh_token);
});

test('ttl can change mid-run', async () => {
  await control('ttl', { access: 5 });
  const t = await tokensFor('dave');
  assert.equal(t.expires_in, 5);
  await control('ttl', { access: 30 });
});
