#!/usr/bin/env node
// The scripted user at the browser. An app opens a login page with `$BROWSER URL`; this script is
// that browser and the person in front of it: it follows redirects with a cookie jar, signs in on
// the provider's login page as $TT_USER, consents, and follows the final redirect to the app's
// loopback callback. Given a device verification URL it completes the device page instead.
//
// Environment:
//   TT_USER       the login name to sign in as (default alice); it becomes the token's `sub`
//   TT_USER_MODE  "consent" (default) or "deny" (abort at the consent / device confirm step)
//   TT_USER_CODE  the device user code, when the URL does not carry it
//   TT_USER_LOG   a file to append one JSON line per run to: {url, ok, final_status, final_url}
// Exits 0 when the flow reached its end (the callback answered, or the device page said done).

import { appendFileSync } from 'node:fs';

const start = process.argv[2];
const user = process.env.TT_USER || 'alice';
const mode = process.env.TT_USER_MODE || 'consent';
const jar = new Map(); // host -> Map(name -> value)

function log(entry) {
  if (process.env.TT_USER_LOG) {
    appendFileSync(process.env.TT_USER_LOG, `${JSON.stringify({ url: start, user, ...entry })}\n`);
  }
}

function fail(message) {
  process.stderr.write(`user.mjs: ${message}\n`);
  log({ ok: false, error: message });
  process.exit(1);
}

function cookieHeader(url) {
  const c = jar.get(new URL(url).host);
  return c ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : '';
}

function remember(url, res) {
  const host = new URL(url).host;
  const c = jar.get(host) ?? new Map();
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const i = pair.indexOf('=');
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
    if (expired) c.delete(name); else c.set(name, value);
  }
  jar.set(host, c);
}

// One request, redirects followed by hand so that every hop's cookies are kept.
async function go(url, init = {}) {
  let method = init.method ?? 'GET';
  let body = init.body;
  for (let hops = 0; hops < 20; hops += 1) {
    const headers = { cookie: cookieHeader(url), accept: 'text/html' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    let res;
    try {
      res = await fetch(url, { method, body, headers, redirect: 'manual' });
    } catch (e) {
      fail(`${method} ${url}: ${e.cause?.code ?? e.message}`);
    }
    remember(url, res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    return { url, status: res.status, html: await res.text() };
  }
  return fail('too many redirects');
}

const decode = (s) => s.replace(/&amp;/g, '&').replace(/&#x2F;/g, '/').replace(/&quot;/g, '"');

function form(html, id) {
  const re = id
    ? new RegExp(`<form[^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`)
    : /<form[^>]*>([\s\S]*?)<\/form>/;
  const m = html.match(re);
  if (!m) return undefined;
  const action = decode((m[0].match(/action="([^"]*)"/) || [])[1] ?? '');
  const fields = {};
  for (const input of m[1].matchAll(/<input[^>]*>/g)) {
    const name = (input[0].match(/name="([^"]*)"/) || [])[1];
    const value = (input[0].match(/value="([^"]*)"/) || [])[1] ?? '';
    if (name) fields[name] = decode(value);
  }
  return { action, fields };
}

async function submit(page, f, extra) {
  const body = new URLSearchParams({ ...f.fields, ...extra }).toString();
  return go(new URL(f.action || page.url, page.url).href, { method: 'POST', body });
}

if (!start) fail('usage: user.mjs URL');
const startUrl = new URL(start);
let page = await go(start);

for (let step = 0; step < 12; step += 1) {
  const here = new URL(page.url);
  // Left the provider: this is the app's loopback callback answering.
  if (here.host !== startUrl.host) {
    const ok = page.status >= 200 && page.status < 300;
    process.stderr.write(`user.mjs: callback answered ${page.status}: ${page.html.slice(0, 200)}\n`);
    log({ ok, final_status: page.status, final_url: page.url });
    process.exit(ok ? 0 : 1);
  }
  const login = form(page.html);
  if (page.html.includes('op.deviceInputForm')) {
    const f = form(page.html, 'op.deviceInputForm');
    const code = f.fields.user_code || process.env.TT_USER_CODE || here.searchParams.get('user_code');
    if (!code) fail('the device page asks for a user code and none was given (TT_USER_CODE)');
    page = await submit(page, f, { user_code: code });
  } else if (page.html.includes('op.deviceConfirmForm')) {
    const f = form(page.html, 'op.deviceConfirmForm');
    page = await submit(page, f, mode === 'deny' ? { abort: 'yes' } : {});
  } else if (login && login.fields.prompt === 'login') {
    page = await submit(page, login, { login: user, password: 'any password' });
  } else if (login && login.fields.prompt === 'consent') {
    if (mode === 'deny') {
      page = await go(new URL(`${here.pathname}/abort`, page.url).href);
    } else {
      page = await submit(page, login, {});
    }
  } else if (login && /document\.forms\[0\]\.submit\(\)/.test(page.html)) {
    // A self-submitting page (a browser would run its script): submit it as it is.
    page = await submit(page, login, {});
  } else if (/Sign-in Success|successfully|Your sign-in/i.test(page.html)) {
    process.stderr.write('user.mjs: the device page says the sign-in is done\n');
    log({ ok: true, final_status: page.status, final_url: page.url });
    process.exit(0);
  } else {
    const text = page.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300);
    log({ ok: false, final_status: page.status, final_url: page.url });
    fail(`stuck at ${page.url} (HTTP ${page.status}): ${text}`);
  }
}
fail('the flow did not finish in 12 steps');
