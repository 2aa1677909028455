// Cloud Buffer end-to-end encryption in WebCrypto, no dependencies: the
// format of docs/encryption.md, the same bytes as the Rust crate
// cloudbuffer-crypto (checked by selfTest against crypto/tests/vectors.json).
// Keys are given as {account: Uint8Array | CryptoKey} (the owner's devices;
// a CryptoKey is a non-extractable HKDF key, as the web app keeps it) or
// {item: Uint8Array} (a share link's fragment); all functions are async
// because WebCrypto is.

const subtle = crypto.subtle;
const te = new TextEncoder();
export const HEADER_LEN = 28, RECORD_SIZE = 65536, TAG_LEN = 16;
const MAGIC = [0x43, 0x42, 0x45, 0x45], VERSION = 1, SALT_LEN = 16, PREFIX_LEN = 7;
const FULL = RECORD_SIZE + TAG_LEN;

/** Errors carry a code: not-encrypted, version, auth, truncated, trailing, malformed, field-auth, mismatch. */
export class E2eError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

export function b64urlEncode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*=*$/.test(text)) throw new E2eError('malformed', 'not base64url');
  const bin = atob(text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function hkdf(ikm, salt, info) {
  const k = ikm instanceof CryptoKey ? ikm : await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: te.encode(info) }, k, 256);
  return new Uint8Array(bits);
}

const aesKey = (raw) => subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
const none = new Uint8Array(0);

/** The item key (= share key) of the item with this salt. */
export const itemKeyFromAccount = (accountKey, salt) => hkdf(accountKey, salt, 'cloudbuffer item v1');
const itemKeyOf = async (key, salt) => key.item ?? (await itemKeyFromAccount(key.account, salt));
const contentKey = async (itemKey) => aesKey(await hkdf(itemKey, none, 'cloudbuffer content v1'));
const fieldKey = async (itemKey) => aesKey(await hkdf(itemKey, none, 'cloudbuffer field v1'));

/** The item key from a share link, `#k=…` or `k=…`; throws E2eError('malformed') when absent or bad. */
export function parseShareFragment(link) {
  const fragment = link.includes('#') ? link.slice(link.lastIndexOf('#') + 1) : link;
  const param = fragment.split('&').find((p) => p.startsWith('k='));
  const key = param ? b64urlDecode(param.slice(2)) : none;
  if (key.length !== 32) throw new E2eError('malformed', 'this link is incomplete: its key is missing or damaged');
  return key;
}

export const shareFragment = (itemKey) => 'k=' + b64urlEncode(itemKey);

/** Exact encrypted size of n plaintext bytes (numbers are exact below 2^53). */
export const ciphertextLength = (n) => HEADER_LEN + n + TAG_LEN * Math.max(1, Math.ceil(n / RECORD_SIZE));

/** Plaintext size for a ciphertext size (e.g. a Content-Length), or null. */
export function plaintextLength(c) {
  const body = c - HEADER_LEN, records = Math.max(1, Math.ceil(body / FULL)), n = body - records * TAG_LEN;
  return n >= 0 && ciphertextLength(n) === c ? n : null;
}

function nonce(header, counter, last) {
  if (counter > 0xffffffff) throw new E2eError('malformed', 'more than 2^32 records');
  const n = new Uint8Array(12);
  n.set(header.subarray(HEADER_LEN - PREFIX_LEN));
  new DataView(n.buffer).setUint32(PREFIX_LEN, counter);
  n[11] = last ? 1 : 0;
  return n;
}

const concat = (a, b) => { const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; };

/** The item salt a field was made under (compare it with a Decryptor's salt: a name must belong to its content). */
export function fieldSalt(text) {
  const bytes = b64urlDecode(text);
  if (bytes.length < FIELD_PREFIX + TAG_LEN) throw new E2eError('malformed', 'malformed encrypted field');
  return bytes.slice(1, 1 + SALT_LEN);
}

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Incremental decryption: push() any chunks, then finish(); each returns
 * verified plaintext chunks. With `expectSalt` (the fieldSalt of the item's
 * name), content whose header has another salt fails with code 'mismatch'
 * before anything is decrypted.
 */
export class Decryptor {
  constructor(key, expectSalt = null) { this.key = key; this.expectSalt = expectSalt; this.header = none; this.buf = new Uint8Array(FULL); this.fill = 0; this.counter = 0; this.done = false; }

  /** The item salt from the header, once 28 bytes have arrived (else null). */
  get salt() { return this.header.length < HEADER_LEN ? null : this.header.slice(5, 5 + SALT_LEN); }

  async #open(record, last) {
    try {
      const iv = nonce(this.header, this.counter, last);
      const plain = await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: this.header }, this.cipher, record);
      this.counter++; this.done = last;
      return new Uint8Array(plain);
    } catch {
      return null;
    }
  }

  async #fail(record, last) {
    // Name the cause when we can; never release the record's plaintext.
    if (!last && await this.#open(record, true)) throw new E2eError('trailing', 'data follows the final record');
    if (last && record.length === FULL && await this.#open(record, false)) throw new E2eError('truncated', 'the data ends without its final record: it was truncated');
    throw new E2eError('auth', `record ${this.counter} failed authentication: wrong key, or the data was modified or cut`);
  }

  async push(chunk) {
    const out = [];
    if (this.header.length < HEADER_LEN) {
      const take = Math.min(HEADER_LEN - this.header.length, chunk.length);
      this.header = concat(this.header, chunk.subarray(0, take));
      chunk = chunk.subarray(take);
      const seen = Math.min(this.header.length, 4);
      if (MAGIC.slice(0, seen).some((b, i) => this.header[i] !== b)) throw new E2eError('not-encrypted', 'not Cloud Buffer encrypted data');
      if (this.header.length > 4 && this.header[4] !== VERSION) throw new E2eError('version', `unsupported format version ${this.header[4]}`);
      if (this.header.length < HEADER_LEN) return out;
      if (this.expectSalt && !sameBytes(this.salt, this.expectSalt)) throw new E2eError('mismatch', 'the name and the content belong to different items');
      this.cipher = await contentKey(await itemKeyOf(this.key, this.header.slice(5, 5 + SALT_LEN)));
    }
    if (this.done && chunk.length) throw new E2eError('trailing', 'data follows the final record');
    // A full record is opened only once a byte follows it: only then is it not the last.
    const open = async (record) => out.push((await this.#open(record, false)) || (await this.#fail(record, false)));
    while (chunk.length) {
      if (this.fill === FULL) { await open(this.buf); this.fill = 0; }
      if (this.fill === 0 && chunk.length > FULL) { await open(chunk.subarray(0, FULL)); chunk = chunk.subarray(FULL); continue; }
      const take = Math.min(FULL - this.fill, chunk.length);
      this.buf.set(chunk.subarray(0, take), this.fill);
      this.fill += take; chunk = chunk.subarray(take);
    }
    return out;
  }

  async finish() {
    if (this.done) return [];
    if (this.header.length < HEADER_LEN || this.fill < TAG_LEN) throw new E2eError('truncated', 'the data ends without its final record: it was truncated');
    const record = this.buf.subarray(0, this.fill);
    return [(await this.#open(record, true)) || (await this.#fail(record, true))];
  }
}

/** Decrypts an (async) iterable of Uint8Array chunks, yielding verified plaintext chunks. */
export async function* decryptChunks(key, chunks) {
  const d = new Decryptor(key);
  for await (const chunk of chunks) yield* await d.push(chunk);
  yield* await d.finish();
}

/** The same as a TransformStream, for fetch bodies and service workers (expectSalt: as for Decryptor). */
export function decryptTransform(key, expectSalt = null) {
  const d = new Decryptor(key, expectSalt);
  const emit = (ctl, chunks) => chunks.forEach((c) => ctl.enqueue(c));
  return new TransformStream({ transform: async (c, ctl) => emit(ctl, await d.push(c)), flush: async (ctl) => emit(ctl, await d.finish()) });
}

/** Incremental encryption under the account key: await create(), then push() and finish(). */
export class Encryptor {
  static async create(accountKey, salt = crypto.getRandomValues(new Uint8Array(SALT_LEN)), prefix = crypto.getRandomValues(new Uint8Array(PREFIX_LEN))) {
    const e = new Encryptor();
    e.salt = salt;
    e.header = new Uint8Array([...MAGIC, VERSION, ...salt, ...prefix]);
    e.itemKey = await itemKeyFromAccount(accountKey, salt);
    e.cipher = await contentKey(e.itemKey);
    e.counter = 0; e.buf = new Uint8Array(RECORD_SIZE); e.fill = 0; e.started = false;
    return e;
  }

  async #seal(plain, last) {
    const iv = nonce(this.header, this.counter++, last);
    return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: this.header }, this.cipher, plain));
  }

  #start(out) { if (!this.started) { this.started = true; out.push(this.header); } }

  async push(chunk) {
    const out = [];
    this.#start(out);
    while (chunk.length) {
      if (this.fill === RECORD_SIZE) { out.push(await this.#seal(this.buf, false)); this.fill = 0; }
      const take = Math.min(RECORD_SIZE - this.fill, chunk.length);
      this.buf.set(chunk.subarray(0, take), this.fill);
      this.fill += take; chunk = chunk.subarray(take);
    }
    return out;
  }

  async finish() { const out = []; this.#start(out); out.push(await this.#seal(this.buf.subarray(0, this.fill), true)); return out; }
}

const FIELD_PREFIX = 1 + SALT_LEN + 12;
const fieldAad = (bytes, kind) => concat(bytes.subarray(0, 1 + SALT_LEN), te.encode(kind));

/** Encrypts a small field (kind: name, content-type, preview, text) to base64url text. */
export async function encryptField(itemKey, salt, kind, plaintext, iv = crypto.getRandomValues(new Uint8Array(12))) {
  const head = new Uint8Array([VERSION, ...salt, ...iv]);
  const sealed = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: fieldAad(head, kind) }, await fieldKey(itemKey), plaintext);
  return b64urlEncode(concat(head, new Uint8Array(sealed)));
}

/** Decrypts a small field to bytes (use TextDecoder for names and text). */
export async function decryptField(key, kind, text) {
  const bytes = b64urlDecode(text);
  if (bytes.length && bytes[0] !== VERSION) throw new E2eError('version', `unsupported field version ${bytes[0]}`);
  if (bytes.length < FIELD_PREFIX + TAG_LEN) throw new E2eError('malformed', 'malformed encrypted field');
  const k = await fieldKey(await itemKeyOf(key, bytes.slice(1, 1 + SALT_LEN)));
  try {
    const iv = bytes.slice(1 + SALT_LEN, FIELD_PREFIX);
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: fieldAad(bytes, kind) }, k, bytes.subarray(FIELD_PREFIX)));
  } catch {
    throw new E2eError('field-auth', 'encrypted field failed authentication: wrong key, or it was modified');
  }
}
