// An in-memory adapter for oidc-provider that, unlike the bundled one, can find every record of
// one user, so a test can revoke a user's grants and tokens in one call.

const records = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const userCodes = new Map(); // userCode -> key
const uids = new Map(); // session uid -> key

const now = () => Date.now();

function live(key) {
  const r = records.get(key);
  if (!r) return undefined;
  if (r.expiresAt !== undefined && r.expiresAt <= now()) {
    records.delete(key);
    return undefined;
  }
  return r.payload;
}

export const MemoryStore = {
  // Deletes only the access tokens of `sub`: the provider stops accepting them while the
  // refresh token still works (what a server-side session reset looks like to a client).
  revokeAccessTokens(sub) {
    let n = 0;
    for (const [key, { payload }] of records) {
      if (key.startsWith('AccessToken:') && payload.accountId === sub) {
        records.delete(key);
        n += 1;
      }
    }
    return n;
  },

  // Deletes every grant, token, code and session of `sub`; returns how many records went.
  revokeAccount(sub) {
    const grantIds = new Set();
    for (const { payload } of records.values()) {
      if (payload.accountId === sub && payload.grantId) grantIds.add(payload.grantId);
      if (payload.accountId === sub && payload.kind === 'Grant') grantIds.add(payload.jti);
    }
    let n = 0;
    for (const [key, { payload }] of records) {
      const mine = payload.accountId === sub || (payload.grantId && grantIds.has(payload.grantId));
      if (mine) {
        records.delete(key);
        n += 1;
      }
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
    records.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, { payload }] of records) {
      if (payload.grantId === grantId) records.delete(key);
    }
  }
}
