#!/usr/bin/env node
// The scripted user at the browser. An app opens a login page with `$BROWSER URL`; this script is
// that browser and the person in front of it, over plain HTTP (fetch, redirects followed by hand,
// a cookie jar; no JavaScript except what a real browser would do with a self-submitting form):
//   - an authorization URL: sign in on oidc-provider's dev login page as $TT_USER (any
//     password), consent, and follow the redirects to the app's loopback callback, which is
//     fetched like a browser would (that is the request the app's listener is waiting for);
//   - a device verification URL (/device, maybe with ?user_code=): enter the code (from the URL
//     or $TT_USER_CODE), confirm, sign in, consent, until the "Sign-in Success" page.
// The form fields come from oidc-provider v9: lib/views/login.js and interaction.js (fields
// `prompt`, `login`, `password`; the Cancel link is the interaction's abort URL) and
// lib/helpers/user_code_form.js (`xsrf`, `user_code`, `confirm`, and `abort` on the button).
//
// Environment:
//   TT_USER        the login name to sign in as (default alice); it becomes the token's `sub`
//   TT_USER_MODE   "consent" (default) or "deny": Cancel at the consent page, or Abort on the
//                  device confirmation page
//   TT_USER_CODE   the device user code, when the URL does not carry it
//   TT_USER_LOG    a file to append one JSON line per run to:
//                  {url, user, mode, ok, final_status, final_url, error?, callback_error?}
//                  (final_url without its query: no authorization code in the log)
//   TT_USER_DETACH ignored: the script always runs to the end synchronously (the app that
//                  spawned it need not wait for it)
// Exit 0 when the flow reached its end: consent mode, the callback answered 2xx or the device
// page said done; deny mode, the callback answered at all or the device page said aborted.
// Exit 1 otherwise, with the reason on stderr.

import { appendFileSync } from 'node:fs';

const start = process.argv[2];
const user = process.env.TT_USER || 'alice';
const mode = process.env.TT_USER_MODE === 'deny' ? 'deny' : 'consent';
const jar = new Map(); // host:port -> Map(cookie name -> value)
let last = {}; // the last page seen, for the log line

// A URL without its query: callback URLs carry authorization codes, which belong in no log.
const bare = (url) => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return String(url);
  }
};

function finish(ok, message, extra = {}) {
  process.stderr.write(`user.mjs: ${message}\n`);
  if (process.env.TT_USER_LOG) {
    const entry = {
      url: start, user, mode, ok, final_status: last.status ?? null, final_url: last.url ? bare(last.url) : null, ...extra,
    };
    try {
      appendFileSync(process.env.TT_USER_LOG, `${JSON.stringify(entry)}\n`);
    } catch (e) {
      process.stderr.write(`user.mjs: cannot write TT_USER_LOG: ${e.message}\n`);
    }
  }
  process.exit(ok ? 0 : 1);
}

const fail = (message) => finish(false, message, { error: message });

// --- the browser -------------------------------------------------------------------------------

function cookieHeader(url) {
  const c = jar.get(new URL(url).host);
  return c ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : '';
}

// Paths and domains are ignored: one flow talks to one provider host, and sending a cookie to
// more paths than its own is harmless here.
function remember(url, res) {
  const host = new URL(url).host;
  const c = jar.get(host) ?? new Map();
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const i = pair.indexOf('=');
    if (i < 0) continue;
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    const expired = value === ''
      || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
    if (expired) c.delete(name); else c.set(name, value);
  }
  jar.set(host, c);
}

// One navigation: redirects are followed by hand so that every hop's cookies are kept.
async function go(url, init = {}) {
  let method = init.method ?? 'GET';
  let body = init.body;
  for (let hops = 0; hops < 20; hops += 1) {
    const headers = { cookie: cookieHeader(url), accept: 'text/html', 'user-agent': 'tokentray-scripted-user' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    let res;
    try {
      res = await fetch(url, { method, body, headers, redirect: 'manual' });
    } catch (e) {
      last = { url };
      return fail(`${method} ${bare(url)}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    remember(url, res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    last = { url, status: res.status, html: await res.text() };
    return last;
  }
  return fail(`too many redirects, last at ${bare(url)}`);
}

// --- reading the pages ------------------------------------------------------------------------

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return ENTITIES[e.toLowerCase()] ?? m;
});
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`, 'i'));
  return m ? decode(m[1]) : undefined;
};
const text = (html) => html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ')
  .replace(/\s+/g, ' ').trim();

// The form (the first, or the one with this id): its action and its inputs' values.
function form(html, id) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const m = id ? forms.find((f) => attr(f[1], 'id') === id) : forms[0];
  if (!m) return undefined;
  const fields = {};
  for (const [input] of m[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input, 'name');
    if (name) fields[name] = attr(input, 'value') ?? '';
  }
  return { action: attr(m[1], 'action') ?? '', fields };
}

// The first red message on a device page (wrong code, expired, interrupted...).
const redMessage = (html) => {
  const m = html.match(/<p class="red">([\s\S]*?)<\/p>/);
  return m ? text(m[1]) : undefined;
};

async function submit(page, f, extra = {}) {
  const body = new URLSearchParams({ ...f.fields, ...extra }).toString();
  return go(new URL(f.action || page.url, page.url).href, { method: 'POST', body });
}

// --- the person ---------------------------------------------------------------------------------

if (!start) fail('usage: user.mjs URL');
let startUrl;
try {
  startUrl = new URL(start);
} catch {
  fail(`not a URL: ${start}`);
}

let page = await go(startUrl.href);
let codeEntered = false;

for (let step = 0; step < 15; step += 1) {
  const here = new URL(page.url);

  // Left the provider: this is the app's loopback callback answering.
  if (here.host !== startUrl.host) {
    const excerpt = text(page.html).slice(0, 200);
    const error = here.searchParams.get('error');
    const ok = mode === 'deny' || (page.status >= 200 && page.status < 300 && !error);
    const why = error && mode === 'consent' ? ` (the provider sent error=${error})` : '';
    finish(ok, `callback ${bare(here)} answered ${page.status}${why}: ${excerpt}`, error ? { callback_error: error } : {});
  }

  const h = page.html;
  if (h.includes('id="op.deviceInputForm"')) {
    const red = redMessage(h);
    if (red && /interrupted/i.test(red) && mode === 'deny') finish(true, `device sign-in aborted: ${red}`);
    if (red && codeEntered) fail(`the device page refused the code: ${red}`);
    const f = form(h, 'op.deviceInputForm');
    const code = f.fields.user_code || here.searchParams.get('user_code') || process.env.TT_USER_CODE;
    if (!code) fail('the device page asks for a user code and none was given (URL ?user_code= or TT_USER_CODE)');
    codeEntered = true;
    page = await submit(page, f, { user_code: code });
  } else if (h.includes('id="op.deviceConfirmForm"')) {
    const f = form(h, 'op.deviceConfirmForm');
    // "Continue" submits the form as it is (confirm=yes); "[ Abort ]" adds abort=yes.
    page = await submit(page, f, mode === 'deny' ? { abort: 'yes' } : {});
  } else if (form(h)?.fields.prompt === 'login') {
    page = await submit(page, form(h), { login: user, password: 'any password' });
  } else if (form(h)?.fields.prompt === 'consent') {
    if (mode === 'deny') {
      const cancel = h.match(/<a\b[^>]*href="([^"]*)"[^>]*>\s*\[ Cancel \]/);
      if (!cancel) fail(`no Cancel link on the consent page ${bare(page.url)}`);
      page = await go(new URL(decode(cancel[1]), page.url).href);
    } else {
      page = await submit(page, form(h));
    }
  } else if (form(h) && /document\.forms\[0\]\.submit\(\)/.test(h)) {
    // A self-submitting page (form_post, or /device?user_code=...): a browser runs its script.
    page = await submit(page, form(h));
  } else if (/<title>Sign-in Success<\/title>/.test(h)) {
    finish(mode === 'consent', `the device page says: ${text(h.match(/<h1>[\s\S]*<\/p>/)?.[0] ?? 'Sign-in Success')}`);
  } else {
    fail(`stuck at ${bare(page.url)} (HTTP ${page.status}): ${text(h).slice(0, 300)}`);
  }
}
fail('the flow did not finish in 15 steps');
