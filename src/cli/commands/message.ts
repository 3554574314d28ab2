/**
 * `certim message encode|decode`: the Secure IM codec (src/pki/cms) on stdin/stdout, for interop and debugging.
 * encode writes the exact bytes that travel after the four zero charset bytes of ICBM fragment 01 01; decode prints
 * one JSON object and exits 1 when the verdict is `failed` (0 for verified and untrusted, 2 for usage errors).
 * A failed key unwrap and a failed content decryption print the same object (no padding oracle, docs/protocol.md
 * §6.3); decode only ever decrypts with encryption (or common) keys, never with a signing key (§6.2).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { encodeSecureIm } from '../../pki/cms/secure-im-encode.js';
import { decodeSecureIm } from '../../pki/cms/secure-im-decode.js';
import { nodeCmsCrypto } from '../../pki/cms/node-crypto.js';
import type { RecipientKey, SecureImProfile, TrustCallback } from '../../pki/cms/secure-im-types.js';
import { readPrivateKey } from '../../pki/pkcs8.js';
import { importIdentityPkcs12 } from '../../pki/pkcs12.js';
import { verifyCertificate } from '../../pki/verifier.js';
import { fromPem } from '../../pki/asn1/der.js';

const USAGE = `usage:
  certim message encode --profile aim-legacy|modern --sender NAME (--sender-key KEY.pem --sender-cert CERT.pem | --sender-p12 FILE)
                        --recipient NAME --recipient-cert CERT.pem [--recipient-signing-cert CERT.pem]
                        [--passphrase-file FILE] < text > message.bin
      --recipient-signing-cert (aim-legacy): the buddy's signing certificate; a classic client (joscar/joustsim)
      decrypts with its signing key, so it gets the first RecipientInfo and --recipient-cert the second
  certim message decode --recipient NAME (--recipient-key KEY.pem --recipient-cert CERT.pem | --recipient-p12 FILE)
                        --sender NAME [--sender-cert CERT.pem ...] --ca CA.pem [--ca ...] [--passphrase-file FILE]
                        [--require-modern] < message.bin`;

class UsageError extends Error {}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`missing ${flag}\n${USAGE}`);
  return v;
}

function passphrase(file: string | undefined): string | undefined {
  // The passphrase comes from a file, never argv (visible to other users); a trailing newline is not part of it.
  return file === undefined ? undefined : readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

async function loadKey(path: string, pass: string | undefined): Promise<KeyObject> {
  const bytes = readFileSync(path);
  return readPrivateKey(bytes.includes('-----BEGIN') ? bytes.toString('latin1') : bytes, pass);
}

/** All certificates in a PEM or DER file. */
function loadCerts(path: string): X509Certificate[] {
  const bytes = readFileSync(path);
  if (!bytes.includes('-----BEGIN')) return [new X509Certificate(bytes)];
  return fromPem(bytes.toString('latin1')).filter((b) => b.label === 'CERTIFICATE').map((b) => new X509Certificate(b.der));
}

async function encode(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      profile: { type: 'string' }, sender: { type: 'string' }, 'sender-key': { type: 'string' }, 'sender-cert': { type: 'string' },
      'sender-p12': { type: 'string' }, recipient: { type: 'string' }, 'recipient-cert': { type: 'string' },
      'recipient-signing-cert': { type: 'string' }, 'passphrase-file': { type: 'string' },
    },
  });
  const profile = need(values.profile, '--profile');
  if (profile !== 'aim-legacy' && profile !== 'modern') throw new UsageError(`--profile must be aim-legacy or modern\n${USAGE}`);
  const pass = passphrase(values['passphrase-file']);
  let signingKey: KeyObject;
  let signingCert: Uint8Array;
  if (values['sender-p12']) {
    const id = await importIdentityPkcs12(readFileSync(values['sender-p12']), pass ?? '');
    signingKey = id.signing.privateKey;
    signingCert = id.signing.certificate.der;
  } else {
    signingKey = await loadKey(need(values['sender-key'], '--sender-key or --sender-p12'), pass);
    signingCert = loadCerts(need(values['sender-cert'], '--sender-cert'))[0]!.raw;
  }
  const recipientCert = loadCerts(need(values['recipient-cert'], '--recipient-cert'))[0]!.raw;
  const recipientSigningCert = values['recipient-signing-cert'] ? loadCerts(values['recipient-signing-cert'])[0]!.raw : undefined;
  const text = (await readStdin()).toString('utf8');
  const out = await encodeSecureIm({
    profile: profile as SecureImProfile, text, crypto: nodeCmsCrypto,
    sender: { screenName: need(values.sender, '--sender'), signingKey, signingCert },
    recipient: { screenName: need(values.recipient, '--recipient'), cert: recipientCert, ...(recipientSigningCert ? { signingCert: recipientSigningCert } : {}) },
  });
  process.stdout.write(out);
  return 0;
}

async function decode(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipient: { type: 'string' }, 'recipient-key': { type: 'string', multiple: true }, 'recipient-cert': { type: 'string', multiple: true },
      'recipient-p12': { type: 'string' }, sender: { type: 'string' }, 'sender-cert': { type: 'string', multiple: true },
      ca: { type: 'string', multiple: true }, 'passphrase-file': { type: 'string' }, 'require-modern': { type: 'boolean' },
    },
  });
  const pass = passphrase(values['passphrase-file']);
  const recipientKeys: RecipientKey[] = [];
  if (values['recipient-p12']) {
    const id = await importIdentityPkcs12(readFileSync(values['recipient-p12']), pass ?? '');
    // The encryption (or common) key only: certim never decrypts with a signing key (docs/protocol.md §6.2).
    recipientKeys.push({ cert: id.encryption.certificate.der, key: id.encryption.privateKey });
  }
  const keys = values['recipient-key'] ?? [];
  const certs = values['recipient-cert'] ?? [];
  if (keys.length !== certs.length) throw new UsageError(`give one --recipient-cert per --recipient-key\n${USAGE}`);
  for (let i = 0; i < keys.length; i++) recipientKeys.push({ cert: loadCerts(certs[i]!)[0]!.raw, key: await loadKey(keys[i]!, pass) });
  if (recipientKeys.length === 0) throw new UsageError(`missing --recipient-key/--recipient-cert or --recipient-p12\n${USAGE}`);
  const cas = (values.ca ?? []).flatMap(loadCerts);
  if (cas.length === 0) throw new UsageError(`missing --ca\n${USAGE}`);
  // Trust: the PKI verifier (chain to --ca, validity, name binding, key usage for signing).
  const trust: TrustCallback = async (certDer, screenName) =>
    verifyCertificate(certDer, { purpose: 'sign', screenName, trustAnchors: cas.map((c) => new Uint8Array(c.raw)) });
  const r = await decodeSecureIm(await readStdin(), {
    crypto: nodeCmsCrypto, recipientKeys, senderScreenName: need(values.sender, '--sender'),
    senderCerts: (values['sender-cert'] ?? []).flatMap(loadCerts).map((c) => c.raw),
    recipientScreenName: need(values.recipient, '--recipient'), trust, requireModern: values['require-modern'] === true,
  });
  console.log(JSON.stringify({
    text: r.text ?? null, profile: r.profile ?? null, verdict: r.verdict, reason: r.reason, code: r.code,
    charset: r.charset ?? null, signer: r.signer ?? null, weak: r.weak ?? false, bound: r.bound ?? false,
    // `step` is coarse on purpose: 'decrypt' for every unwrap/decryption failure (see secure-im-decode.ts).
    messageId: r.messageId ?? null, signingTime: r.signingTime?.toISOString() ?? null, step: r.step ?? null,
  }));
  return r.verdict === 'failed' ? 1 : 0;
}

/** `certim message encode|decode`. */
export const messageCommand: Command = {
  summary: 'encode/decode a Secure IM (CMS) payload on stdin/stdout',
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      if (sub === 'encode') return await encode(rest);
      if (sub === 'decode') return await decode(rest);
      console.error(USAGE);
      return 2;
    } catch (e) {
      if (e instanceof UsageError || (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
        console.error(`certim message: ${e.message}`);
        return 2;
      }
      console.error(`certim message: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  },
};
