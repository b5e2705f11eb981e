// OAuth flows driven from Node, for the selftest and for tests that need an account signed in
// before Tokentray's own login exists: authorization code + PKCE through the scripted user.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const b64url = (buf) => buf.toString('base64url');

// Runs the scripted user against a one-shot loopback listener; returns {code, verifier, redirect, state}.
export async function authorize(issuer, { user = 'alice', clientId = 'tokentray', scope = 'openid offline_access api' } = {}) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(12));
  let got;
  const cb = http.createServer((req, res) => {
    got = new URL(req.url, 'http://127.0.0.1').searchParams;
    res.end('Signed in. You may close this tab.');
  });
  cb.listen(0, '127.0.0.1');
  await once(cb, 'listening');
  const redirect = `http://127.0.0.1:${cb.address().port}/callback`;
  const url = `${issuer}/auth?${new URLSearchParams({
    client_id: clientId, response_type: 'code', scope,
    redirect_uri: redirect, state, code_challenge: challenge, code_challenge_method: 'S256',
  })}`;
  try {
    await run(process.execPath, [join(here, 'user.mjs'), url], { env: { ...process.env, TT_USER: user } });
  } finally {
    cb.close();
  }
  return { code: got?.get('code'), returnedState: got?.get('state'), state, verifier, redirect };
}

// The whole sign-in: returns the token endpoint's JSON answer.
export async function signIn(issuer, opts = {}) {
  const { code, verifier, redirect } = await authorize(issuer, opts);
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect,
      client_id: opts.clientId ?? 'tokentray',
    }).toString(),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
  return res.json();
}
