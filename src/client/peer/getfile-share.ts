/**
 * The owner's side of Get File (docs/protocol.md §8.5, §15.2): one shared folder, read-only, answered over one pinned
 * peer stream. The owner sends the root listing, then answers the requester's 0x120E (list a directory) and 0x120C
 * (send a file) one at a time until the requester hangs up.
 *
 * Nothing outside the shared folder is reachable:
 * - every requested path is checked segment by segment first (getfile-paths.ts: no `..`, `.`, separators, control
 *   characters, device names);
 * - the joined path is resolved with realpath and must stay inside the folder's own realpath, so a symlink pointing
 *   outside is refused (symlinks that stay inside are followed);
 * - the file is opened with O_NOFOLLOW on that resolved path and checked with fstat to be a regular file with the
 *   same device and inode as the resolved path, so a symlink swapped in meanwhile, a FIFO or a device is refused;
 * - listings leave out what could not be fetched: entries resolving outside the folder, special files, names the
 *   path rules refuse.
 * A refused request gets certim's refusal header (type 0x7C0E) naming the path and a reason code, and the session
 * goes on; classic clients never trigger it for paths they were listed.
 */
import { constants as fsc, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { encodeGetFileList, GETFILE_MAX_ENTRIES, GetFileRefusal, GETFILE_REFUSED_TYPE, joinGetFilePath, splitGetFilePath, type GetFileEntry } from '../../wire/getfile.js';
import { OftFlag, OftType, encodeOftHeader, oftChecksum, oftHeader, type OftHeader } from '../../wire/oft.js';
import { ClientError } from '../errors.js';
import { pathProblem, segmentProblem, showPath } from './getfile-paths.js';
import { PeerReader, writeAll } from './getfile-reader.js';
import type { PinnedPeer } from './odc-session.js';

/** How long the owner waits for the requester's next request before hanging up. */
export const GETFILE_IDLE_MS = 120_000;
/** How long any single step of an exchange (an ack, a done) may take. */
export const GETFILE_STEP_MS = 60_000;
/** Files above this size are not offered (the OFT2 size field is a u32). */
export const GETFILE_MAX_FILE = 0xffffffff;

/** What the owner is told about each request. */
export type ShareEvent =
  | { kind: 'list'; from: string; path: string; entries: number }
  | { kind: 'fetch'; from: string; path: string; bytes: number }
  | { kind: 'refused'; from: string; path: string; reason: string }
  | { kind: 'failed'; from: string; path: string; reason: string };

/** Options of {@link serveShare}. */
export interface ShareSessionOptions {
  /** The shared folder (any form; it is resolved with realpath). */
  root: string;
  /** The connected, TLS-protected, peer-pinned stream. */
  stream: Duplex;
  /** The rendezvous cookie, written in every header. */
  cookie: Uint8Array;
  /** The requester, as pinned. */
  peer: PinnedPeer;
  /** Told about every listing, fetch and refusal. */
  onEvent: (e: ShareEvent) => void;
  /** Idle wait for the next request (default {@link GETFILE_IDLE_MS}). */
  idleMs?: number;
  /** Wait for each step (default {@link GETFILE_STEP_MS}). */
  stepMs?: number;
}

/** Why a path is refused: the code sent to the requester (docs/protocol.md §15.2) and words for the owner. */
class Refusal extends Error {
  constructor(readonly code: number, reason: string) {
    super(reason);
  }
}

/** Serves one Get File connection until the requester hangs up. Resolves on an orderly end, rejects on errors. */
export async function serveShare(o: ShareSessionOptions): Promise<void> {
  const rootReal = await realpath(o.root);
  if (!(await stat(rootReal)).isDirectory()) throw new ClientError('BAD_ARGUMENT', `${o.root} is not a folder`);
  const reader = new PeerReader(o.stream, `Get File from ${o.peer.screenName}`);
  const step = o.stepMs ?? GETFILE_STEP_MS;
  const who = o.peer.screenName;
  try {
    const n = await sendListing(o, reader, rootReal, [], step);
    o.onEvent({ kind: 'list', from: who, path: '/', entries: n });
    for (;;) {
      let req: OftHeader;
      try {
        req = await reader.header(o.idleMs ?? GETFILE_IDLE_MS);
      } catch (e) {
        if (ClientError.is(e, 'CONNECTION_CLOSED')) return; // the requester is done
        throw e;
      }
      const segments = splitGetFilePath(req.name);
      const shown = showPath(segments);
      try {
        if (req.type === OftType.GetFileRequestDirectory) {
          const n = await sendListing(o, reader, rootReal, segments, step);
          o.onEvent({ kind: 'list', from: who, path: shown, entries: n });
        } else if (req.type === OftType.GetFileRequestFile) {
          const bytes = await sendFile(o, reader, rootReal, segments, step);
          o.onEvent({ kind: 'fetch', from: who, path: shown, bytes });
        } else if (req.type === OftType.GetFileListReceived || req.type === OftType.GetFileListAck) {
          continue; // a repeated acknowledgement is harmless
        } else {
          throw new ClientError('PROTOCOL', `${who} sent an OFT2 header of type 0x${req.type.toString(16)} where a request belongs`);
        }
      } catch (e) {
        if (!(e instanceof Refusal)) {
          o.onEvent({ kind: 'failed', from: who, path: shown, reason: (e as Error).message });
          throw e;
        }
        o.onEvent({ kind: 'refused', from: who, path: shown, reason: e.message });
        await writeAll(o.stream, encodeOftHeader(oftHeader({
          type: GETFILE_REFUSED_TYPE, cookie: o.cookie, name: req.name, bytesReceived: e.code, totalFiles: 0, filesLeft: 0,
        })), step, `Get File to ${o.peer.screenName}`);
      }
    }
  } finally {
    o.stream.end();
  }
}

/**
 * Resolves a requested path inside the share, or throws a Refusal. The result is a real path (no symlinks) inside
 * `rootReal`, with its stat.
 */
async function resolveInside(rootReal: string, segments: string[]): Promise<{ path: string; st: Stats }> {
  const problem = pathProblem(segments);
  if (problem) throw new Refusal(GetFileRefusal.Refused, `refused: ${problem}`);
  let real: string;
  try {
    real = await realpath(join(rootReal, ...segments));
  } catch {
    throw new Refusal(GetFileRefusal.NotFound, 'no such file or folder');
  }
  if (real !== rootReal && !real.startsWith(rootReal + sep)) throw new Refusal(GetFileRefusal.Refused, 'refused: it leads outside the shared folder');
  const st = await stat(real);
  return { path: real, st };
}

async function listDirectory(rootReal: string, dir: string): Promise<GetFileEntry[]> {
  const out: GetFileEntry[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (out.length >= GETFILE_MAX_ENTRIES) break;
    if (segmentProblem(d.name)) continue; // could not be requested back
    const full = join(dir, d.name);
    let st;
    try {
      if (d.isSymbolicLink()) {
        const real = await realpath(full);
        if (real !== rootReal && !real.startsWith(rootReal + sep)) continue; // points outside: not offered
        st = await stat(real);
      } else {
        st = await lstat(full);
      }
    } catch {
      continue; // dangling link, vanished file
    }
    if (st.isDirectory()) out.push({ name: d.name, size: 0, modTime: Math.floor(st.mtimeMs / 1000), directory: true });
    else if (st.isFile() && st.size <= GETFILE_MAX_FILE) out.push({ name: d.name, size: st.size, modTime: Math.floor(st.mtimeMs / 1000), directory: false });
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** The listing exchange: 0x1108 -> [0x1209] -> listing bytes -> [0x120B]. Returns the number of entries. */
async function sendListing(o: ShareSessionOptions, reader: PeerReader, rootReal: string, segments: string[], step: number): Promise<number> {
  const { path, st } = await resolveInside(rootReal, segments);
  if (!st.isDirectory()) throw new Refusal(GetFileRefusal.NotFound, 'not a folder');
  const entries = await listDirectory(rootReal, path);
  const list = encodeGetFileList(entries);
  await writeAll(o.stream, encodeOftHeader(oftHeader({
    type: OftType.GetFileList, cookie: o.cookie, flags: OftFlag.Default | OftFlag.FileList, totalFiles: entries.length,
    filesLeft: 1, totalParts: 1, partsLeft: 1, size: list.length, totalSize: list.length, checksum: oftChecksum(list),
    modTime: Math.floor(st.mtimeMs / 1000), name: joinGetFilePath(segments),
  })), step, `Get File to ${o.peer.screenName}`);
  await expect(reader, step, OftType.GetFileListAck, o.peer.screenName);
  await writeAll(o.stream, list, step, `Get File to ${o.peer.screenName}`);
  await expect(reader, step, OftType.GetFileListReceived, o.peer.screenName);
  return entries.length;
}

/** One file: 0x0101 prompt -> [0x0202 ack] -> raw bytes -> [0x0204 done]. Returns the bytes sent. */
async function sendFile(o: ShareSessionOptions, reader: PeerReader, rootReal: string, segments: string[], step: number): Promise<number> {
  const { path, st } = await resolveInside(rootReal, segments);
  if (!st.isFile()) throw new Refusal(GetFileRefusal.NotFound, st.isDirectory() ? 'a folder, not a file' : 'not a regular file');
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | (fsc.O_NONBLOCK ?? 0));
  } catch {
    throw new Refusal(GetFileRefusal.NotReadable, 'cannot be read');
  }
  try {
    const fst = await fh.stat();
    if (!fst.isFile() || fst.ino !== st.ino || fst.dev !== st.dev) throw new Refusal(GetFileRefusal.Refused, 'refused: the file changed while it was being opened');
    if (fst.size > GETFILE_MAX_FILE) throw new Refusal(GetFileRefusal.Refused, 'refused: larger than 4 GiB');
    const size = fst.size;
    // The checksum goes in the prompt, before the bytes: one pass to compute it, one to send.
    let sum = undefined as number | undefined;
    const buf = Buffer.alloc(64 * 1024);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) throw new Refusal(GetFileRefusal.NotReadable, 'the file shrank while it was read');
      sum = oftChecksum(buf.subarray(0, bytesRead), sum, pos);
      pos += bytesRead;
    }
    const name = joinGetFilePath(segments);
    await writeAll(o.stream, encodeOftHeader(oftHeader({
      type: OftType.Prompt, cookie: o.cookie, size, totalSize: size, checksum: sum ?? oftChecksum(new Uint8Array(0)),
      modTime: Math.floor(fst.mtimeMs / 1000), name,
    })), step, `Get File to ${o.peer.screenName}`);
    const ack = await reader.header(step);
    if (ack.type !== OftType.Ack) throw new ClientError('PROTOCOL', `${o.peer.screenName} answered a file prompt with OFT2 type 0x${ack.type.toString(16)} (resuming is not supported)`);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) throw new ClientError('PROTOCOL', `${showPath(segments)} shrank while it was sent; connection closed`);
      await writeAll(o.stream, Buffer.from(buf.subarray(0, bytesRead)), step, `Get File to ${o.peer.screenName}`);
      pos += bytesRead;
    }
    const done = await expect(reader, step, OftType.Done, o.peer.screenName);
    if (done.bytesReceived !== size) throw new ClientError('PROTOCOL', `${o.peer.screenName} reports ${done.bytesReceived} of ${size} bytes of ${showPath(segments)}`);
    return size;
  } finally {
    await fh.close();
  }
}

async function expect(reader: PeerReader, step: number, type: number, who: string): Promise<OftHeader> {
  const h = await reader.header(step);
  if (h.type !== type) throw new ClientError('PROTOCOL', `${who} sent OFT2 type 0x${h.type.toString(16)}, expected 0x${type.toString(16)}`);
  return h;
}
