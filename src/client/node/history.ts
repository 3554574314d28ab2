/**
 * Local chat history, encrypted at rest with the profile's key (`certim chat --history`; off by default). One
 * line per message in `history.jsonl` (mode 0600): `{"v":1,"k":KEY-ID,"n":NONCE,"c":CIPHERTEXT}`, where the
 * ciphertext is AES-256-GCM over the JSON of the entry (who, with whom, when, text, marker). The key is derived with
 * HKDF-SHA256 from our encryption private key, which itself is stored encrypted under the passphrase, so reading
 * the history needs the passphrase; KEY-ID (the first 8 bytes of the SHA-256 of that key's certificate) says which
 * key, so entries written before a key rotation stay readable with the previous keys. The buddy's name is inside
 * the ciphertext; what the file shows is only how many entries there are and their sizes.
 */
import { appendFileSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { IdentityPart } from '../identity.js';

/** One remembered message. */
export interface HistoryEntry {
  /** When (ISO 8601). */
  time: string;
  /** The buddy of the conversation. */
  with: string;
  /** Who wrote it: 'me', the buddy, or '*' for notes. */
  who: string;
  /** The text. */
  text: string;
  /** The security marker shown with it. */
  marker: string;
  /** For our own IMs, where it went. */
  status?: string;
}

interface HistoryKey {
  id: string;
  key: Buffer;
}

function deriveKey(part: IdentityPart<KeyObject>): HistoryKey {
  const id = createHash('sha256').update(part.certDer).digest('hex').slice(0, 16);
  const ikm = part.privateKey.export({ format: 'der', type: 'pkcs8' });
  const key = Buffer.from(hkdfSync('sha256', ikm, 'certim history', `certim history v1 ${id}`, 32));
  return { id, key };
}

/** The encrypted history file of one profile. */
export class ChatHistory {
  private readonly keys: HistoryKey[];

  /**
   * @param path the history file
   * @param parts our encryption key first (used to write), then earlier ones (read only)
   */
  constructor(private readonly path: string, parts: readonly IdentityPart<KeyObject>[]) {
    if (parts.length === 0) throw new Error('history needs a key');
    this.keys = parts.map(deriveKey);
  }

  /** Appends one entry, encrypted with the current key. */
  append(e: HistoryEntry): void {
    const k = this.keys[0]!;
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', k.key, nonce);
    c.setAAD(Buffer.from(k.id));
    const body = Buffer.concat([c.update(JSON.stringify(e), 'utf8'), c.final(), c.getAuthTag()]);
    const fresh = !existsSync(this.path);
    appendFileSync(this.path, `${JSON.stringify({ v: 1, k: k.id, n: nonce.toString('base64'), c: body.toString('base64') })}\n`, { mode: 0o600 });
    if (fresh) chmodSync(this.path, 0o600);
  }

  /**
   * Reads the history: the newest `perConversation` entries of each conversation, oldest first, and how many
   * lines could not be read (another key, or damaged).
   */
  load(perConversation = 500): { entries: HistoryEntry[]; unreadable: number } {
    if (!existsSync(this.path)) return { entries: [], unreadable: 0 };
    const all: HistoryEntry[] = [];
    let unreadable = 0;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const e = this.decrypt(line);
      if (e) all.push(e);
      else unreadable++;
    }
    const count = new Map<string, number>();
    const kept: HistoryEntry[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      const k = normalizeScreenName(all[i]!.with);
      const n = count.get(k) ?? 0;
      if (n >= perConversation) continue;
      count.set(k, n + 1);
      kept.push(all[i]!);
    }
    return { entries: kept.reverse(), unreadable };
  }

  private decrypt(line: string): HistoryEntry | undefined {
    try {
      const rec = JSON.parse(line) as { v: number; k: string; n: string; c: string };
      const k = this.keys.find((x) => x.id === rec.k);
      if (rec.v !== 1 || !k) return undefined;
      const body = Buffer.from(rec.c, 'base64');
      const d = createDecipheriv('aes-256-gcm', k.key, Buffer.from(rec.n, 'base64'));
      d.setAAD(Buffer.from(k.id));
      d.setAuthTag(body.subarray(body.length - 16));
      const plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8');
      return JSON.parse(plain) as HistoryEntry;
    } catch {
      return undefined;
    }
  }
}
