// OAuth flows driven from Node, for the selftest and for tests that need an account signed in
// before Tokentray's own login runs: authorization code + PKCE through the scripted user, with a
// one-shot loopback listener as the redirect URI (as a native app does, RFC 8252).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const b64url = (buf) => buf.toString('base64url');

// Runs user.mjs URL; resolves {code, stderr}, never rejects (the caller decides what failed).
export function runUser(url, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(here, 'user.mjs'), url], { env: { ...process.env, ...env } },
      (err, _stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stderr }));
  });
}

// The authorization request, played through the scripted user against a loopback listener.
// Returns {code, error, state, returnedState, verifier, redirect, browser} (code undefined when
// the flow did not reach the callback with one).
export async function authorize(issuer, {
  user = 'alice', clientId = 'tokentray', scope = 'openid offline_access api', env = {},
} = {}) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(12));
  let got;
  const cb = http.createServer((req, res) => {
    got = new URL(req.url, 'http://127.0.0.1').searchParams;
    res.end(got.has('code') ? 'Signed in. You may close this tab.' : 'Sign-in failed.');
  });
  cb.listen(0, '127.0.0.1');
  await once(cb, 'listening');
  const redirect = `http://127.0.0.1:${cb.address().port}/callback`;
  const url = `${issuer}/auth?${new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope,
    redirect_uri: redirect,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  let browser;
  try {
    browser = await runUser(url, { TT_USER: user, ...env });
  } finally {
    cb.close();
  }
  return {
    code: got?.get('code') ?? undefined,
    error: got?.get('error') ?? undefined,
    returnedState: got?.get('state') ?? undefined,
    state,
    verifier,
    redirect,
    browser,
  };
}

// The whole sign-in: returns the token endpoint's JSON answer.
export async function signIn(issuer, opts = {}) {
  const a = await authorize(issuer, opts);
  if (!a.code) {
    throw new Error(`no authorization code (error=${a.error}); user.mjs exited ${a.browser.code}: ${a.browser.stderr.trim()}`);
  }
  if (a.returnedState !== a.state) throw new Error('the callback came back with another state');
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: a.code,
      code_verifier: a.verifier,
      redirect_uri: a.redirect,
      client_id: opts.clientId ?? 'tokentray',
    }).toString(),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return res.json();
}
