/**
 * Test-only hostile relay: a TLS-terminating OSCAR proxy between a certim client and the server that flips one
 * byte inside the Secure IM ciphertext of every ICBM it forwards (04/06, client -> server) when tampering is on
 * (option `tamper`, or CERTIM_TEST_TAMPER=1 in its environment).
 *
 * Other hostile behaviours, each off unless asked for: `plain` (a network attacker on the plain OSCAR port, no
 * TLS), `stripModern` (overwrite certim's modern-profile capability in everything the server sends, so buddies
 * look like classic clients: a downgrade), `zeroCookies` (ICBM cookie 0 on every IM, as joustsim sends them),
 * `stripCertificates` (no certificate-info block in Locate replies), and `replayIncomingIm()` (deliver the last 04/07 again: a replaying server). It counts connections, so tests can
 * see how often a client signs on.
 *
 * Its TLS certificate is issued with the server CA's own issuing key (the test reads it from the data directory),
 * so the client's pinned-CA check passes: this models the worst case, a relay or server that holds the CA and
 * turns malicious. End-to-end signatures must still turn its edit into a `failed` verdict, never a wrong text.
 * The proxy rewrites the BOS address in the login reply (17/03) to itself so the BOS connection passes through too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { ByteReader, ByteWriter } from '../../src/wire/bytes.js';
import { FlapChannel, FlapDeframer, encodeFlap } from '../../src/wire/flap.js';
import { decodeSnac, encodeSnac } from '../../src/wire/snac.js';
import { readTlvRestList, tlv, writeTlvRestList } from '../../src/wire/tlv.js';
import { decodeIcbmChannelMsgToHost, decodeImMessage, IcbmTlv, isEncryptedIm } from '../../src/wire/icbm-message.js';
import { capabilityBytes } from '../../src/wire/capabilities.js';
import { encodeUserInfoReply } from '../../src/wire/families/locate.js';
import { readUserInfo } from '../../src/wire/user-info.js';

/** Options of {@link startTamperProxy}. */
export interface TamperProxyOptions {
  /** The real server's OSCAR-over-TLS address. */
  upstream: { host: string; port: number };
  /** PEM key and certificate chain (leaf first) the proxy presents. */
  key: string;
  cert: string;
  /** Flip a ciphertext byte in forwarded ICBMs (default: CERTIM_TEST_TAMPER === '1'). */
  tamper?: boolean;
  /** Plain TCP on both sides (upstream is then the server's plain OSCAR port); key/cert are ignored. */
  plain?: boolean;
  /** Start with the modern capability stripped (see {@link TamperProxy.stripModern}). */
  stripModern?: boolean;
  /** Rewrite the ICBM cookie of every client IM (04/06) to zero. */
  zeroCookies?: boolean;
}

/** The TLV of a Locate 02/06 reply that carries the certificate-info block (docs/protocol.md §3.2). */
const LOCATE_CERT_INFO_TLV = 0x0006;

/** A running proxy. */
export interface TamperProxy {
  /** Port it listens on (127.0.0.1). */
  port: number;
  /** How many ICBMs it altered. */
  readonly tampered: number;
  /** Connections accepted so far (a sign-on is two: login and BOS). */
  readonly connections: number;
  /** Overwrite certim's modern capability in server -> client data (switchable at run time). */
  stripModern: boolean;
  /** Drop the certificate-info block from Locate replies (02/06), as a server hiding a buddy's keys would. */
  stripCertificates: boolean;
  /** Sends the last IM delivery (04/07) it forwarded to a client again, to the newest client connection. */
  replayIncomingIm(): boolean;
  /** Cuts every connection passing through (a network failure), keeping the listener. */
  dropAll(): void;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Issues the proxy's TLS certificate with `openssl`, signed by the server CA's issuing key from `dataDir/ca`
 * (test rigs only). Returns the key and the chain (leaf, issuing CA).
 */
export function proxyCredentials(dataDir: string, workDir: string): { key: string; cert: string } {
  const ca = join(dataDir, 'ca');
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(workDir, 'proxy.key'), '-subj', '/CN=127.0.0.1', '-out', join(workDir, 'proxy.csr')], { stdio: 'ignore' });
  writeFileSync(join(workDir, 'proxy.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  execFileSync('openssl', ['x509', '-req', '-in', join(workDir, 'proxy.csr'), '-CA', join(ca, 'issuing.crt'), '-CAkey', join(ca, 'issuing.key'), '-passin', `file:${join(ca, 'issuing.pass')}`, '-set_serial', String(Date.now()), '-days', '1', '-extfile', join(workDir, 'proxy.ext'), '-out', join(workDir, 'proxy.crt')], { stdio: 'ignore' });
  return { key: readFileSync(join(workDir, 'proxy.key'), 'utf8'), cert: readFileSync(join(workDir, 'proxy.crt'), 'utf8') + readFileSync(join(ca, 'issuing.crt'), 'utf8') };
}

/** Starts the proxy. */
export async function startTamperProxy(opts: TamperProxyOptions): Promise<TamperProxy> {
  const tamper = opts.tamper ?? process.env.CERTIM_TEST_TAMPER === '1';
  let tampered = 0;
  let connections = 0;
  let port = 0;
  const sockets = new Set<net.Socket>();
  const state = { stripModern: opts.stripModern ?? false, stripCertificates: false };
  let lastIm: Uint8Array | undefined;
  let newestClient: net.Socket | undefined;
  let replaySeq = 0x7000;

  const onClient = (client: net.Socket): void => {
    connections++;
    newestClient = client;
    sockets.add(client);
    const upstream = opts.plain
      ? net.connect({ host: opts.upstream.host, port: opts.upstream.port })
      : tls.connect({ host: opts.upstream.host, port: opts.upstream.port, rejectUnauthorized: false });
    sockets.add(upstream);
    const fromClient = new FlapDeframer();
    const fromServer = new FlapDeframer();
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      for (const f of fromClient.push(chunk)) {
        let payload = f.payload;
        if (tamper && f.channel === FlapChannel.Data) {
          const altered = flipCiphertextByte(payload);
          if (altered) {
            payload = altered;
            tampered++;
          }
        }
        if (opts.zeroCookies && f.channel === FlapChannel.Data) payload = zeroIcbmCookie(payload) ?? payload;
        upstream.write(encodeFlap({ channel: f.channel, sequence: f.sequence, payload }));
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const f of fromServer.push(chunk)) {
        let payload = f.payload;
        if (f.channel === FlapChannel.Data) {
          payload = rewriteBosAddress(payload, `127.0.0.1:${port}`) ?? payload;
          if (state.stripModern) payload = stripCapability(payload, MODERN_CAP);
          if (state.stripCertificates) payload = stripCertInfo(payload) ?? payload;
          const snac = decodeSnac(payload);
          if (snac.family === 0x0004 && snac.subtype === 0x0007) lastIm = payload.slice();
        }
        client.write(encodeFlap({ channel: f.channel, sequence: f.sequence, payload }));
      }
    });
  };
  const server = opts.plain ? net.createServer(onClient) : tls.createServer({ key: opts.key, cert: opts.cert }, onClient);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get tampered() {
      return tampered;
    },
    get connections() {
      return connections;
    },
    get stripModern() {
      return state.stripModern;
    },
    set stripModern(v: boolean) {
      state.stripModern = v;
    },
    get stripCertificates() {
      return state.stripCertificates;
    },
    set stripCertificates(v: boolean) {
      state.stripCertificates = v;
    },
    replayIncomingIm() {
      if (!lastIm || !newestClient || newestClient.destroyed) return false;
      newestClient.write(encodeFlap({ channel: FlapChannel.Data, sequence: replaySeq++ & 0xffff, payload: lastIm }));
      return true;
    },
    dropAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    }),
  };
}

/** certim's modern secure-IM capability (src/wire/capabilities.ts `CertimModernSecureIm`), as wire bytes. */
const MODERN_CAP = capabilityBytes('CertimModernSecureIm');
/** What the proxy writes instead: an unassigned UUID of the same length, so no length field changes. */
const STRIPPED_CAP = new Uint8Array(16).fill(0xee);

/** A copy of `payload` with every occurrence of `cap` overwritten (same length: TLV lengths stay valid). */
function stripCapability(payload: Uint8Array, cap: Uint8Array): Uint8Array {
  const buf = Buffer.from(payload);
  let at = buf.indexOf(cap);
  if (at < 0) return payload;
  const copy = new Uint8Array(payload);
  while (at >= 0) {
    copy.set(STRIPPED_CAP, at);
    at = buf.indexOf(cap, at + cap.length);
  }
  return copy;
}

/** 02/06 without its certificate-info TLV (the user-info block before it is copied as is). */
function stripCertInfo(payload: Uint8Array): Uint8Array | undefined {
  const snac = decodeSnac(payload);
  if (snac.family !== 0x0002 || snac.subtype !== 0x0006) return undefined;
  const r = new ByteReader(snac.body);
  readUserInfo(r);
  const userInfo = snac.body.subarray(0, r.offset);
  const tlvs = readTlvRestList(r);
  if (!tlvs.has(LOCATE_CERT_INFO_TLV)) return undefined;
  return encodeSnac(snac, encodeUserInfoReply(userInfo, tlvs.items.filter((t) => t.type !== LOCATE_CERT_INFO_TLV)));
}

/** 04/06 from the client with its 8-byte ICBM cookie set to zero (joustsim's habit). */
function zeroIcbmCookie(payload: Uint8Array): Uint8Array | undefined {
  const snac = decodeSnac(payload);
  if (snac.family !== 0x0004 || snac.subtype !== 0x0006) return undefined;
  const copy = new Uint8Array(payload);
  const bodyAt = snac.body.byteOffset - payload.byteOffset;
  copy.fill(0, bodyAt, bodyAt + 8);
  return copy;
}

/** 17/03 with a BOS address: point it at the proxy. */
function rewriteBosAddress(payload: Uint8Array, address: string): Uint8Array | undefined {
  const snac = decodeSnac(payload);
  if (snac.family !== 0x0017 || snac.subtype !== 0x0003) return undefined;
  const tlvs = readTlvRestList(new ByteReader(snac.body));
  if (!tlvs.has(0x0005)) return undefined;
  const items = tlvs.items.map((t) => (t.type === 0x0005 ? tlv(0x0005, new TextEncoder().encode(address)) : t));
  return encodeSnac(snac, writeTlvRestList(new ByteWriter(), items).finish());
}

/** 04/06 carrying an encrypted channel-1 IM: a copy with one byte of the CMS ciphertext flipped. */
function flipCiphertextByte(payload: Uint8Array): Uint8Array | undefined {
  const snac = decodeSnac(payload);
  if (snac.family !== 0x0004 || snac.subtype !== 0x0006) return undefined;
  const m = decodeIcbmChannelMsgToHost(snac.body);
  const data = m.tlvs.bytes(IcbmTlv.IM_DATA);
  if (m.channel !== 1 || !data) return undefined;
  const im = decodeImMessage(data);
  const cms = im.parts[0]?.text;
  if (!isEncryptedIm(im) || !cms || cms.length < 64) return undefined;
  // Views share the payload's buffer, so the CMS offset inside the payload is a byteOffset difference.
  const at = cms.byteOffset - payload.byteOffset + Math.floor(cms.length * 0.8);
  const copy = new Uint8Array(payload);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
