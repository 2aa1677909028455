// Checks e2e.js against the Rust crate's vectors (crypto/tests/vectors.json):
// `(await import('/app/e2e-selftest.js')).selfTest(vectors)` resolves to
// {passed, failed: [messages]}. Used by tests/tests/web_app_e2e.rs, never by the app.

import * as e2e from './e2e.js';

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
const sha256 = async (b) => hex(new Uint8Array(await crypto.subtle.digest('SHA-256', b)));
const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => i % 251);
const join = (parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0; for (const p of parts) { out.set(p, at); at += p.length; } return out; };

async function decrypt(key, bytes, step) {
  const chunks = [];
  for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
  const out = [];
  for await (const p of e2e.decryptChunks(key, chunks)) out.push(p);
  return join(out);
}

async function encrypt(accountKey, salt, prefix, plain, step) {
  const enc = await e2e.Encryptor.create(accountKey, salt, prefix);
  const out = [];
  for (let i = 0; i < plain.length; i += step) out.push(...(await enc.push(plain.subarray(i, i + step))));
  out.push(...(await enc.finish()));
  return join(out);
}

async function failsWith(code, promise) {
  try { await promise; } catch (e) { if (code.split('|').includes(e.code)) return; throw new Error(`expected ${code}, got ${e.code || e}`); }
  throw new Error(`expected ${code}, got success`);
}

export async function selfTest(vectors) {
  const failed = [];
  let passed = 0;
  const check = async (name, fn) => { try { await fn(); passed++; } catch (e) { failed.push(`${name}: ${e.message || e}`); } };
  const eq = (a, b, what) => { if (a !== b) throw new Error(`${what}: ${a} != ${b}`); };
  const account = e2e.b64urlDecode(vectors.account_key);

  for (const v of vectors.items) {
    const plain = v.plaintext_hex !== undefined ? unhex(v.plaintext_hex) : pattern(v.plaintext_pattern_len);
    const salt = unhex(v.salt), prefix = unhex(v.nonce_prefix);
    await check(`${v.name}: keys and fragment`, async () => {
      const itemKey = await e2e.itemKeyFromAccount(account, salt);
      eq(e2e.b64urlEncode(itemKey), v.item_key, 'item key');
      eq(e2e.shareFragment(itemKey), v.share_fragment, 'fragment');
      eq(e2e.b64urlEncode(e2e.parseShareFragment(`https://x/s/T#${v.share_fragment}`)), v.item_key, 'parsed');
    });
    await check(`${v.name}: sizes`, async () => {
      eq(e2e.ciphertextLength(plain.length), v.ciphertext_len, 'ciphertext length');
      eq(e2e.plaintextLength(v.ciphertext_len), plain.length, 'plaintext length');
    });
    let cipher;
    await check(`${v.name}: encrypt`, async () => {
      cipher = await encrypt(account, salt, prefix, plain, plain.length < 1000 ? 1 : 10000);
      eq(await sha256(cipher), v.ciphertext_sha256, 'ciphertext sha256');
      if (v.ciphertext_hex !== undefined) eq(hex(cipher), v.ciphertext_hex, 'ciphertext');
    });
    if (!cipher) continue;
    await check(`${v.name}: decrypt`, async () => {
      for (const step of cipher.length < 1000 ? [1, 3, 1000] : [1000, 65552, 65553, 1 << 20]) eq(hex(await decrypt({ account }, cipher, step)), hex(plain), `account key, step ${step}`);
      const item = e2e.parseShareFragment(v.share_fragment);
      eq(hex(await decrypt({ item }, cipher, 7777)), hex(plain), 'share key');
    });
    await check(`${v.name}: tampering`, async () => {
      const bad = cipher.slice(); bad[bad.length - 1] ^= 1;
      await failsWith('auth', decrypt({ account }, bad, 4096));
      await failsWith('auth', decrypt({ item: new Uint8Array(32) }, cipher, 4096));
      // After a full final record the flag names it; after a short one it is a failed longer record.
      await failsWith(plain.length && plain.length % 65536 === 0 ? 'trailing' : 'auth', decrypt({ account }, join([cipher, new Uint8Array(1)]), 4096));
      await failsWith('truncated', decrypt({ account }, cipher.subarray(0, 20), 4096));
      const flippedMagic = cipher.slice(); flippedMagic[0] ^= 1;
      await failsWith('not-encrypted', decrypt({ account }, flippedMagic, 4096));
      const records = Math.ceil((cipher.length - e2e.HEADER_LEN) / 65552);
      if (records >= 2) {
        const r = (i) => cipher.subarray(e2e.HEADER_LEN + i * 65552, e2e.HEADER_LEN + (i + 1) * 65552);
        const head = cipher.subarray(0, e2e.HEADER_LEN);
        await failsWith('truncated', decrypt({ account }, cipher.subarray(0, e2e.HEADER_LEN + (records - 1) * 65552), 65552));
        await failsWith('auth', decrypt({ account }, join([head, r(1), r(0), ...Array.from({ length: records - 2 }, (_, i) => r(i + 2))]), 4096));
        await failsWith('auth', decrypt({ account }, join([head, r(0), r(0), cipher.subarray(e2e.HEADER_LEN + 65552)]), 4096));
      }
    });
  }

  for (const f of vectors.fields) {
    await check(`field ${f.kind}`, async () => {
      const plain = new TextEncoder().encode(f.plaintext);
      const itemKey = e2e.b64urlDecode(f.item_key);
      eq(await e2e.encryptField(itemKey, unhex(f.salt), f.kind, plain, unhex(f.nonce)), f.text, 'encrypted field');
      eq(new TextDecoder().decode(await e2e.decryptField({ account }, f.kind, f.text)), f.plaintext, 'account key');
      eq(new TextDecoder().decode(await e2e.decryptField({ item: itemKey }, f.kind, f.text)), f.plaintext, 'item key');
      await failsWith('field-auth', e2e.decryptField({ account }, f.kind === 'name' ? 'preview' : 'name', f.text));
    });
  }
  await check('incomplete links', async () => {
    for (const link of ['https://x/s/T', 'https://x/s/T#k=abc', 'https://x/s/T#k=!!']) await failsWith('malformed', (async () => e2e.parseShareFragment(link))());
  });
  return { passed, failed };
}
