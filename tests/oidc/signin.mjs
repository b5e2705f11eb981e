#!/usr/bin/env node
// Signs USER in at ISSUER (code + PKCE through the scripted user) and prints the token answer as
// one line of JSON. For tests that need a signed-in account.   signin.mjs ISSUER USER
import { signIn } from './flows.mjs';

const [issuer, user = 'alice'] = process.argv.slice(2);
try {
  process.stdout.write(`${JSON.stringify(await signIn(issuer, { user }))}\n`);
} catch (e) {
  process.stderr.write(`signin.mjs: ${e.message}\n`);
  process.exit(1);
}
