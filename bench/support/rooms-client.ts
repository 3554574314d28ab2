/**
 * Rooms bench, client half (docs/protocol.md §7.3, §16.4): the cost of one secure room message on the client. Send =
 * SignedData (one RSA signature) + AES-256-CBC; receive = AES-256-CBC decrypt + SignedData parse + one signature
 * check + room/epoch/sender binding + replay cache + a cached trust decision. Both profiles, RSA-2048.
 *
 * Baseline, measured in the same run: `openssl speed` for rsa2048 sign/verify and AES-256-CBC (encrypt and
 * -decrypt) at the plaintext size of our messages. The OpenSSL limit per message is 1 / (1/sign + size/aes) for
 * sending and 1 / (1/verify + size/aes-decrypt) for receiving. Rates are per main-thread CPU-second (openssl speed
 * reports per CPU-second too). Goal: >= 0.8x.
 *
 * A second reference line, the node:crypto floor: the same primitives alone (one `crypto.sign` / `crypto.verify`
 * on a cached KeyObject plus one AES-256-CBC of the message size) in this process, with no CMS around them. It shows
 * how much of the gap to openssl speed is Node's own per-call cost rather than certim's code. A third line gives the
 * receive floor with the verification the Node provider uses (rsa-pkcs1-verify.ts: raw `publicDecrypt` + SHA-256 +
 * constant-time compare of the encoded message), the best Node primitive for it: what receive can reach at most.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { verifyRsaPkcs1 } from '../../src/pki/cms/rsa-pkcs1-verify.js';
import { decryptRoomMessage, encryptRoomMessage, parseRoomMessage, type RoomProfile } from '../../src/pki/cms/secure-room.js';
import { MemoryReplayCache } from '../../src/pki/cms/replay-cache.js';
import { fixtures } from '../../src/pki/cms/fixtures.test-support.js';
import type { TrustCallback } from '../../src/pki/cms/secure-im-types.js';

const SECONDS = Number(process.env.CERTIM_BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.CERTIM_BENCH_ROUNDS ?? 2);
const TEXT = '<HTML><BODY BGCOLOR="#ffffff"><FONT LANG="0">are we still meeting in the usual room at noon?</FONT></BODY></HTML>';

function speed(args: string[]): string {
  return execFileSync('openssl', ['speed', '-seconds', String(SECONDS), ...args], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

/** openssl speed: RSA-2048 sign/verify per second, AES-256-CBC encrypt/decrypt bytes per second at `bytes`. */
function opensslBaseline(bytes: number): { sign: number; verify: number; aesEnc: number; aesDec: number } {
  const rsa = /^rsa\s+2048\s+bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(speed(['rsa2048']));
  const aes = (extra: string[]): number => {
    const m = /^AES-256-CBC\s+([\d.]+)k/m.exec(speed(['-bytes', String(bytes), ...extra, '-evp', 'aes-256-cbc']));
    if (!m) throw new Error('could not parse openssl speed aes-256-cbc');
    return Number(m[1]) * 1000;
  };
  if (!rsa) throw new Error('could not parse openssl speed rsa2048');
  return { sign: Number(rsa[1]), verify: Number(rsa[2]), aesEnc: aes([]), aesDec: aes(['-decrypt']) };
}

/** CPU seconds of the main (JS) thread, from /proc (as in bench/cms.bench.ts). */
function mainThreadSeconds(): number {
  try {
    const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}

async function measure(profile: RoomProfile): Promise<{ send: number; receive: number; plainBytes: number }> {
  const f = fixtures();
  const alice = f.ids.alice!;
  const caKey = createPublicKey(f.caCert.publicKey.export({ type: 'spki', format: 'pem' }));
  const trusted = new WeakMap<Uint8Array, boolean>();
  const trust: TrustCallback = async (der, screenName) => {
    let ok = trusted.get(der);
    if (ok === undefined) {
      const cert = new X509Certificate(der);
      trusted.set(der, (ok = cert.verify(caKey) && cert.subject.includes(`CN=${screenName}`)));
    }
    return ok ? { ok: true } : { ok: false, code: 'untrusted', reason: 'not from the test CA' };
  };
  const key = randomBytes(32);
  const signer = { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer };
  const binding = { roomName: '!aol://2719:10-4-bench', epoch: 1 };
  const enc = () => encryptRoomMessage({ profile, key, signer, text: TEXT, binding });
  for (let i = 0; i < 50; i++) await enc(); // warm-up
  const bodies: Uint8Array[] = [];
  let t0 = mainThreadSeconds();
  const wall0 = performance.now();
  while (performance.now() - wall0 < SECONDS * 1000) bodies.push(await enc());
  const send = bodies.length / (mainThreadSeconds() - t0);
  const replayCache = new MemoryReplayCache({ windowMs: 8 * 24 * 3600_000 });
  const opts = {
    keyFor: () => key, senderScreenName: 'alice', senderCerts: [alice.certDer], trust, roomName: binding.roomName,
    requireCertim: profile === 'certim', replayCache,
  };
  for (let i = 0; i < 50; i++) await decryptRoomMessage(bodies[i]!, { ...opts, replayCache: new MemoryReplayCache() });
  t0 = mainThreadSeconds();
  let ok = 0;
  for (const b of bodies) if ((await decryptRoomMessage(b, opts)).verdict === 'verified') ok++;
  const receive = bodies.length / (mainThreadSeconds() - t0);
  if (ok !== bodies.length) throw new Error(`only ${ok} of ${bodies.length} messages verified`);
  // AES works on the ciphertext length (plaintext + padding).
  return { send, receive, plainBytes: parseRoomMessage(bodies[0]!).encrypted.length };
}

/** The node:crypto floor: bare RSA-2048 sign/verify on a cached KeyObject + one AES-256-CBC of `bytes`, per CPU-second. */
function nodeFloor(bytes: number): { send: number; receive: number; receiveRaw: number } {
  const alice = fixtures().ids.alice!;
  const priv = alice.key;
  const pub = createPublicKey(new X509Certificate(alice.certDer).publicKey.export({ type: 'spki', format: 'pem' }));
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const data = randomBytes(bytes);
  const sig = sign('sha256', data, priv);
  const enc = createCipheriv('aes-256-cbc', key, iv);
  const ct = Buffer.concat([enc.update(data), enc.final()]);
  const rate = (op: () => void): number => {
    for (let i = 0; i < 50; i++) op();
    const t0 = mainThreadSeconds();
    const wall0 = performance.now();
    let n = 0;
    while (performance.now() - wall0 < SECONDS * 1000) { op(); n++; }
    return n / Math.max(mainThreadSeconds() - t0, 1e-3);
  };
  const send = rate(() => {
    sign('sha256', data, priv);
    const c = createCipheriv('aes-256-cbc', key, iv);
    c.update(data); c.final();
  });
  const receive = rate(() => {
    const d = createDecipheriv('aes-256-cbc', key, iv);
    d.update(ct);
    d.final();
    verify('sha256', data, pub, sig);
  });
  const receiveRaw = rate(() => {
    const d = createDecipheriv('aes-256-cbc', key, iv);
    d.update(ct);
    d.final();
    if (!verifyRsaPkcs1('sha256', pub, data, sig)) throw new Error('floor: signature does not verify');
  });
  return { send, receive, receiveRaw };
}

/** Runs the client half and prints figures and ratios. */
export async function benchRoomsClient(): Promise<void> {
  console.log(`rooms client: cost per secure room message (RSA-2048 signer, ${SECONDS} s per figure, ${ROUNDS} rounds, best of rounds)`);
  const best: Record<string, { send: number; receive: number; plainBytes: number }> = {};
  let base = { sign: 0, verify: 0, aesEnc: 0, aesDec: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const profile of ['aim', 'certim'] as const) {
      const r = await measure(profile);
      const b = best[profile];
      best[profile] = { send: Math.max(b?.send ?? 0, r.send), receive: Math.max(b?.receive ?? 0, r.receive), plainBytes: r.plainBytes };
    }
    const o = opensslBaseline(best.certim!.plainBytes);
    base = { sign: Math.max(base.sign, o.sign), verify: Math.max(base.verify, o.verify), aesEnc: Math.max(base.aesEnc, o.aesEnc), aesDec: Math.max(base.aesDec, o.aesDec) };
    console.log(`round ${round + 1}: openssl speed rsa2048 sign ${o.sign.toFixed(0)}/s verify ${o.verify.toFixed(0)}/s; aes-256-cbc at ${best.certim!.plainBytes} B: encrypt ${(o.aesEnc / 1e6).toFixed(0)} MB/s decrypt ${(o.aesDec / 1e6).toFixed(0)} MB/s`);
  }
  let worst = Infinity;
  for (const profile of ['aim', 'certim'] as const) {
    const r = best[profile]!;
    const sendLimit = 1 / (1 / base.sign + r.plainBytes / base.aesEnc);
    const recvLimit = 1 / (1 / base.verify + r.plainBytes / base.aesDec);
    const rs = r.send / sendLimit;
    const rr = r.receive / recvLimit;
    worst = Math.min(worst, rs, rr);
    console.log(`  ${profile.padEnd(6)} send ${r.send.toFixed(0).padStart(6)}/s (openssl limit ${sendLimit.toFixed(0)}/s, ratio ${rs.toFixed(2)})  receive ${r.receive.toFixed(0).padStart(6)}/s (openssl limit ${recvLimit.toFixed(0)}/s, ratio ${rr.toFixed(2)})  ~${r.plainBytes} B plaintext`);
  }
  const fl = nodeFloor(best.certim!.plainBytes);
  const sendLimit = 1 / (1 / base.sign + best.certim!.plainBytes / base.aesEnc);
  const recvLimit = 1 / (1 / base.verify + best.certim!.plainBytes / base.aesDec);
  console.log(`  node:crypto floor (bare sign/verify + AES, no CMS) send ${fl.send.toFixed(0).padStart(6)}/s (ratio to openssl ${(fl.send / sendLimit).toFixed(2)})  receive ${fl.receive.toFixed(0).padStart(6)}/s (ratio to openssl ${(fl.receive / recvLimit).toFixed(2)})`);
  console.log(`  node:crypto floor, receive with publicDecrypt + EM compare (the provider's verify, no CMS) ${fl.receiveRaw.toFixed(0).padStart(6)}/s (ratio to openssl ${(fl.receiveRaw / recvLimit).toFixed(2)}): receive cannot pass this in Node`);
  console.log(`rooms client: worst ratio ${worst.toFixed(2)} (goal >= 0.80)`);
}
