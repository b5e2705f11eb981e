// An in-memory adapter for oidc-provider. Unlike the bundled one (an LRU of 1000 entries keyed
// for lookups only), it can walk every record, so a test can revoke all grants and tokens of one
// user in one call, and nothing is evicted behind a long test's back.
//
// The adapter contract is oidc-provider's (lib/adapters/memory_adapter.js is the reference):
// payloads are plain objects, expiresIn is in seconds, find returns undefined when gone.

const records = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const userCodes = new Map(); // device user code -> key
const uids = new Map(); // session uid -> key

const now = () => Date.now();

function remove(key) {
  const r = records.get(key);
  if (!r) return false;
  records.delete(key);
  if (r.payload.userCode && userCodes.get(r.payload.userCode) === key) userCodes.delete(r.payload.userCode);
  if (r.payload.uid && uids.get(r.payload.uid) === key) uids.delete(r.payload.uid);
  return true;
}

function live(key) {
  const r = records.get(key);
  if (!r) return undefined;
  if (r.expiresAt !== undefined && r.expiresAt <= now()) {
    remove(key);
    return undefined;
  }
  return r.payload;
}

export const MemoryStore = {
  // Deletes only the access tokens of `sub`: the provider stops accepting them while the refresh
  // token still works (what a server-side access token reset looks like to a client).
  revokeAccessTokens(sub) {
    let n = 0;
    for (const [key, { payload }] of [...records]) {
      if (key.startsWith('AccessToken:') && payload.accountId === sub && remove(key)) n += 1;
    }
    return n;
  },

  // Deletes every grant, token, code and session of `sub`; returns how many records went.
  // Records that carry no accountId of their own (none today) still go with their grant.
  revokeAccount(sub) {
    const grantIds = new Set();
    for (const [key, { payload }] of records) {
      if (payload.accountId !== sub) continue;
      if (payload.grantId) grantIds.add(payload.grantId);
      if (key.startsWith('Grant:')) grantIds.add(key.slice('Grant:'.length));
    }
    let n = 0;
    for (const [key, { payload }] of [...records]) {
      const mine = payload.accountId === sub || (payload.grantId && grantIds.has(payload.grantId));
      if (mine && remove(key)) n += 1;
    }
    return n;
  },
};

export class StoreAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    records.set(key, {
      payload: { ...payload },
      expiresAt: expiresIn ? now() + expiresIn * 1000 : undefined,
    });
    if (payload.userCode) userCodes.set(payload.userCode, key);
    if (payload.uid) uids.set(payload.uid, key);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUserCode(userCode) {
    const key = userCodes.get(userCode);
    return key ? live(key) : undefined;
  }

  async findByUid(uid) {
    const key = uids.get(uid);
    return key ? live(key) : undefined;
  }

  async consume(id) {
    const p = live(this.key(id));
    if (p) p.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) {
    remove(this.key(id));
  }

  // Called once per token model when a grant is revoked (e.g. on refresh token reuse).
  async revokeByGrantId(grantId) {
    const prefix = `${this.name}:`;
    for (const [key, { payload }] of [...records]) {
      if (key.startsWith(prefix) && payload.grantId === grantId) remove(key);
    }
  }
}
