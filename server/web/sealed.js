// End-to-end encrypted clips and files in the lists: their names, content
// types and previews are encrypted fields (docs/encryption.md). This opens
// them with this browser's account key (keys.js), once per field (a cache),
// and says what to show: the decrypted name or text, or "Encrypted" (locked)
// when there is no key or the field does not open with it. Sizes are the
// plaintext's, computed from the ciphertext's (which the server knows).
import { decryptField, fieldSalt, itemKeyFromAccount, encryptField, b64urlEncode, plaintextLength } from "./e2e.js";
import * as keys from "./keys.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const opened = new Map(); // "kind:field" → string, or null when it failed

/** Forget every decrypted field (the key changed or went). */
export const reset = () => opened.clear();

async function openOne(kind, field) {
  const id = `${kind}:${field}`;
  if (opened.has(id)) return;
  const key = keys.key();
  if (!key) return;
  try {
    opened.set(id, utf8.decode(await decryptField(key, kind, field)));
  } catch {
    opened.set(id, null);
  }
}

/** A decrypted field: a string, null (failed), or undefined (not tried: no key yet). */
const got = (kind, field) => opened.get(`${kind}:${field}`);

const fileFields = (file) => [["name", file.name], ...(file.content_type ? [["content-type", file.content_type]] : [])];

/** Decrypts every field of these clips and files that is not decrypted yet. */
export async function open(clips, files) {
  if (!keys.has()) return;
  const jobs = [];
  for (const clip of clips) {
    if (!clip.encrypted) continue;
    if (clip.kind === "file" && clip.file) for (const [k, f] of fileFields(clip.file)) jobs.push(openOne(k, f));
    else if (clip.preview) jobs.push(openOne("preview", clip.preview));
  }
  for (const file of files) if (file.encrypted) for (const [k, f] of fileFields(file)) jobs.push(openOne(k, f));
  await Promise.all(jobs);
}

const sameSalt = (a, b) => {
  try { const x = fieldSalt(a), y = fieldSalt(b); return x.every((v, i) => v === y[i]); } catch { return false; }
};

/**
 * What a list shows of a file: { encrypted, locked, name, type, size }.
 * Locked: no key here, or the name does not open with it. A content type
 * that is not the same item's (another salt) is ignored.
 */
export function fileLook(file) {
  if (!file.encrypted) return { encrypted: false, locked: false, name: file.name, type: file.content_type, size: file.size };
  const size = plaintextLength(file.size) ?? file.size;
  const name = got("name", file.name);
  if (typeof name !== "string") return { encrypted: true, locked: true, failed: name === null, name: "", type: "", size };
  const type = file.content_type && sameSalt(file.name, file.content_type) ? got("content-type", file.content_type) || "" : "";
  return { encrypted: true, locked: false, name, type, size };
}

/** Plaintext bytes of an encrypted text clip whose `text` field is `size` characters. */
export const textSize = (size) => Math.max(0, Math.floor((size * 3) / 4) - 45);

/**
 * What a list shows of a clip: { encrypted, locked, title, size, whole }.
 * whole: the preview is the entire text (no fetch needed to copy it).
 */
export function clipLook(clip) {
  if (clip.kind === "file" && clip.file) {
    const f = fileLook(clip.file);
    return { encrypted: f.encrypted, locked: f.locked, failed: f.failed, title: f.name, size: f.size, file: f };
  }
  if (clip.kind === "file") return { encrypted: !!clip.encrypted, locked: false, title: "(file gone)", size: clip.encrypted ? plaintextLength(clip.size) ?? clip.size : clip.size, file: {} };
  if (!clip.encrypted) {
    return { encrypted: false, locked: false, title: clip.preview || "", size: clip.size, whole: clip.preview != null && new TextEncoder().encode(clip.preview).length === clip.size };
  }
  const size = textSize(clip.size);
  if (!keys.has()) return { encrypted: true, locked: true, title: "", size };
  if (!clip.preview) return { encrypted: true, locked: false, title: "", size, noPreview: true };
  const preview = got("preview", clip.preview);
  if (typeof preview !== "string") return { encrypted: true, locked: true, failed: preview === null, title: "", size };
  // The field's exact length says whether the preview is all of the text.
  const whole = Math.ceil((4 * (45 + new TextEncoder().encode(preview).length)) / 3) === clip.size;
  return { encrypted: true, locked: false, title: preview, size, whole };
}

/** The whole text of an encrypted text clip from its `text` field (checked against the preview's item). */
export async function openText(clip, field) {
  field = field.trim();
  if (clip.preview && !sameSalt(field, clip.preview)) throw new Error("This clip's text belongs to another item: it was changed on the server.");
  try {
    return utf8.decode(await decryptField(keys.key(), "text", field));
  } catch {
    throw new Error("This clip could not be decrypted with this browser's key.");
  }
}

/** The share key (item key, base64url) of an item whose field `field` is known to open. */
export async function shareKey(field) {
  const key = keys.key();
  return b64urlEncode(await itemKeyFromAccount(key.account, fieldSalt(field)));
}

/** Fields for a new item under a fresh salt: { salt, itemKey, seal(kind, text) }. */
export async function newItem(salt = crypto.getRandomValues(new Uint8Array(16))) {
  const itemKey = await itemKeyFromAccount(keys.key().account, salt);
  return { salt, itemKey, seal: (kind, text) => encryptField(itemKey, salt, kind, new TextEncoder().encode(text)) };
}
