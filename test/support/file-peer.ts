/**
 * A scripted file-transfer peer for tests (docs/protocol.md §8.5): a real library client that makes a send-file
 * offer with service data of the test's choosing, gets the real pinned-TLS peer connection, then speaks OFT2 by
 * hand — a hostile name, part of a file and a hang-up, or a cancel in the middle.
 */
import type { CertimClient } from '../../src/client/client.js';
import { openClient } from '../../src/client/node/account.js';
import { ProfileDir } from '../../src/client/node/profile.js';
import { SEND_FILE_CAPABILITY, openPeerConnection, type PeerConnection } from '../../src/client/peer/index.js';
import { OftType, encodeOftHeader, oftChecksum, oftHeader, type OftHeader } from '../../src/wire/oft.js';
import { RvCancelReason, RvType, encodeRendezvous, encodeSendFileServiceData, type RendezvousMessage } from '../../src/wire/rendezvous.js';
import { mkdirSync } from 'node:fs';
import type { RunningCli, TestServer, TestUser } from './cli-process.js';

/** `--proxy` at the test server's rendezvous proxy, for `certim file` commands. */
export function proxyArgs(server: TestServer): string[] {
  return ['--proxy', `127.0.0.1:${server.ready.proxy}`];
}

/**
 * Starts `certim file receive --json` as `user` into `dir` (created), accepting offers from `from` only, with
 * `args` added (proxy, flags); resolves once it reports ready.
 */
export async function startFileReceiver(user: TestUser, from: string, dir: string, args: readonly string[], timeoutMs = 60_000): Promise<RunningCli> {
  mkdirSync(dir, { recursive: true });
  const r = user.start(['file', 'receive', '--dir', dir, '--json', '--accept-from', from, ...args]);
  await r.waitFor((o) => o.includes('"event":"ready"'), 'receiver ready', timeoutMs);
  return r;
}

/** Signs `u` on with the library (no reconnect). */
export async function libraryClient(u: TestUser): Promise<CertimClient> {
  const { client } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, client: { reconnect: false } });
  await client.connect();
  return client;
}

/** Offers `name` (one file of `size` bytes, as the service data says) to `to`; resolves with the connection. */
export function offer(c: CertimClient, to: string, name: string, size: number, proxyPort: number, kind = 1, fileCount = 1): Promise<PeerConnection> {
  return openPeerConnection({
    client: c, role: 'propose', to, capability: SEND_FILE_CAPABILITY, proxy: { host: '127.0.0.1', port: proxyPort },
    serviceData: encodeSendFileServiceData({ kind, fileCount, totalSize: size, name }),
  });
}

/** Reads the next OFT header from the connection. */
export function nextHeader(conn: PeerConnection): Promise<OftHeader> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 6) return;
      const len = buf.readUInt16BE(4);
      if (buf.length < len) return;
      conn.socket.off('data', onData);
      conn.socket.pause();
      if (buf.length > len) conn.socket.unshift(buf.subarray(len));
      import('../../src/wire/oft.js').then((m) => resolve(m.decodeOftHeader(buf.subarray(0, len))), reject);
    };
    conn.socket.on('data', onData);
    conn.socket.resume();
    conn.socket.once('close', () => reject(new Error('peer closed')));
  });
}

/** Sends a file prompt for `data` under `name` and returns the receiver's answer. */
export async function prompt(conn: PeerConnection, name: string, data: Uint8Array): Promise<OftHeader> {
  const answer = nextHeader(conn);
  conn.socket.write(encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie: conn.cookie, totalSize: data.length, size: data.length, checksum: oftChecksum(data), name })));
  return answer;
}

/** A rendezvous cancel for the connection's cookie, as `cancel()` in the library sends it. */
export function cancelMessage(conn: PeerConnection): Uint8Array {
  return encodeRendezvous({ type: RvType.Cancel, cookie: conn.cookie, capability: conn.capability, cancelReason: RvCancelReason.Unknown });
}

/** Resolves with the next cancel `c` receives for `cookie`. */
export function nextCancel(c: CertimClient, cookie?: Uint8Array): Promise<RendezvousMessage> {
  return new Promise((resolve) => {
    const l = (e: { from: string; message: RendezvousMessage }): void => {
      if (e.message.type !== RvType.Cancel || (cookie && !Buffer.from(e.message.cookie).equals(Buffer.from(cookie)))) return;
      c.off('rendezvous', l);
      resolve(e.message);
    };
    c.on('rendezvous', l);
  });
}
