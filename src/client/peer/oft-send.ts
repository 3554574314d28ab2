/**
 * Sending files over a peer connection with OFT2 (docs/protocol.md §8.5). For each file: prompt 0x0101 (sizes,
 * checksum, name) -> the receiver's ack 0x0202, or resume request 0x0205 -> our resume prompt 0x0106 (the offset we
 * agree to, 0 when its checksum of the part it has does not match ours) -> its resume ack 0x0207 -> the raw bytes
 * from the offset -> its done 0x0204, whose size and checksum must match.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { OFT_CHECKSUM_EMPTY, OftFlag, OftType, oftChecksum, oftHeader, type OftHeader } from '../../wire/oft.js';
import { SendFileKind, encodeSendFileServiceData } from '../../wire/rendezvous.js';
import { PeerError } from './peer-error.js';
import { oftName } from './oft-names.js';
import { OFT_STALL_MS, OftStream, stallError } from './oft-stream.js';
import { drainedWithin } from './peer-wait.js';
import { ProgressMeter, type TransferProgress } from './oft-progress.js';
import type { PeerConnection, PlainPeerConnection } from './peer-connection.js';

/** One file to send. */
export interface OutgoingFile {
  /** Local path. */
  path: string;
  /** Name parts as the receiver will see them (the first is the file or the top directory). */
  parts: string[];
  /** Size in bytes. */
  size: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
}

/** What to send: the files and the offer that describes them. */
export interface OutgoingOffer {
  files: OutgoingFile[];
  /** One file, or a directory. */
  kind: 'file' | 'directory';
  /** The offered name (the file's or the directory's). */
  name: string;
  /** Sum of the sizes. */
  totalSize: number;
}

/** Most bytes OFT2 can describe (u32 sizes). */
export const OFT_MAX_SIZE = 0xffffffff;

/**
 * Lists what `path` offers: the file, or every regular file under the directory (symlinks and special files are
 * left out: a symlink could point anywhere on our disk). Refuses what OFT2 cannot carry (over 4 GiB, over 65,535 files).
 */
export async function collectOffer(path: string): Promise<OutgoingOffer> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new PeerError('FILE_ERROR', `cannot read ${path}: ${e.code ?? e.message}`, { cause: e });
  });
  const top = basename(path);
  const files: OutgoingFile[] = [];
  if (st.isFile()) {
    files.push({ path, parts: [top], size: st.size, mtime: Math.floor(st.mtimeMs / 1000) });
  } else if (st.isDirectory()) {
    const walk = async (dir: string, parts: string[]): Promise<void> => {
      for (const name of (await readdir(dir)).sort()) {
        const p = join(dir, name);
        const l = await lstat(p);
        if (l.isDirectory()) await walk(p, [...parts, name]);
        else if (l.isFile()) files.push({ path: p, parts: [...parts, name], size: l.size, mtime: Math.floor(l.mtimeMs / 1000) });
        if (files.length > 0xffff) throw new PeerError('FILE_ERROR', `${path} holds more than 65,535 files: too many for one transfer`);
      }
    };
    await walk(path, [top]);
    if (files.length === 0) throw new PeerError('FILE_ERROR', `${path} holds no regular files`);
  } else {
    throw new PeerError('FILE_ERROR', `${path} is neither a regular file nor a directory`);
  }
  const totalSize = files.reduce((n, f) => n + f.size, 0);
  if (totalSize > OFT_MAX_SIZE) throw new PeerError('FILE_ERROR', `${path} is ${totalSize} bytes: OFT2 transfers are limited to 4 GiB - 1`);
  return { files, kind: st.isFile() ? 'file' : 'directory', name: top, totalSize };
}

/** The send-file service data (TLV 0x2711) for an offer. */
export function offerServiceData(o: OutgoingOffer): Uint8Array {
  return encodeSendFileServiceData({ kind: o.kind === 'file' ? SendFileKind.OneFile : SendFileKind.Directory, fileCount: o.files.length, totalSize: o.totalSize, name: o.name });
}

/** OFT checksum of the first `length` bytes of a file (the whole file by default). */
export async function fileChecksum(path: string, length?: number): Promise<number> {
  if (length === 0) return OFT_CHECKSUM_EMPTY;
  let c = OFT_CHECKSUM_EMPTY;
  let at = 0;
  const rs = createReadStream(path, { highWaterMark: 1 << 20, ...(length !== undefined ? { end: length - 1 } : {}) });
  for await (const chunk of rs as AsyncIterable<Buffer>) {
    c = oftChecksum(chunk, c, at);
    at += chunk.length;
  }
  return c;
}

/**
 * Writes `chunk`, resolving when the socket can take more; rejects if the socket closes first, or with PEER_TIMEOUT
 * (and destroys the socket) when the peer reads nothing of it for `stallMs`.
 */
export function writeWithBackpressure(socket: Duplex, chunk: Uint8Array, peer: string, stallMs = OFT_STALL_MS): Promise<void> | undefined {
  if (socket.write(chunk)) return undefined;
  return drainedWithin(
    socket, stallMs,
    () => new PeerError('TRANSFER_CLOSED', 'the connection closed while sending'),
    () => stallError(peer, 'read nothing of what we sent', stallMs),
  );
}

/** Options of {@link sendFiles}. */
export interface SendFilesOptions {
  /** Progress reports (at most 4 a second, plus one at the end of each file). */
  onProgress?: (p: TransferProgress) => void;
  /** Clock for rates (tests). */
  now?: () => number;
  /** Longest wait for the receiver, to answer or to read on (default {@link OFT_STALL_MS}). */
  stallMs?: number;
}

/** What a finished send did. */
export interface SendResultSummary {
  files: number;
  /** Bytes actually sent (a resumed file counts only its rest). */
  bytesSent: number;
  totalSize: number;
  /** Per file: the offset it resumed from (0 when sent whole). */
  resumedFrom: number[];
}

/** Sends `offer` over `conn` (the proposer's side of a send-file rendezvous). Ends the stream when done. */
export async function sendFiles(conn: PeerConnection | PlainPeerConnection, offer: OutgoingOffer, opts: SendFilesOptions = {}): Promise<SendResultSummary> {
  const s = new OftStream(conn.socket, conn.peer, opts.stallMs);
  const meter = new ProgressMeter(opts.onProgress, opts.now);
  let done = 0;
  let bytesSent = 0;
  const resumedFrom: number[] = [];
  for (let i = 0; i < offer.files.length; i++) {
    const f = offer.files[i]!;
    const checksum = await fileChecksum(f.path);
    const prompt: OftHeader = oftHeader({
      type: OftType.Prompt, cookie: conn.cookie, totalFiles: offer.files.length, filesLeft: offer.files.length - i,
      totalSize: offer.totalSize, size: f.size, modTime: f.mtime, checksum, name: oftName(f.parts),
    });
    s.send(prompt);
    const reply = await s.header(`${conn.peer}'s answer to ${f.parts.join('/')}`);
    let offset = 0;
    if (reply.type === OftType.ResumeRequest) {
      const have = reply.bytesReceived;
      const ok = have > 0 && have <= f.size && (await fileChecksum(f.path, have)) === reply.receivedChecksum;
      offset = ok ? have : 0;
      s.send({ ...prompt, type: OftType.ResumePrompt, bytesReceived: offset, receivedChecksum: ok ? reply.receivedChecksum : OFT_CHECKSUM_EMPTY });
      const ack = await s.header(`${conn.peer}'s resume ack`);
      if (ack.type !== OftType.ResumeAck) throw new PeerError('PEER_PROTOCOL', `${conn.peer} answered the resume prompt with type 0x${ack.type.toString(16)}`);
      offset = Math.min(offset, ack.bytesReceived);
    } else if (reply.type !== OftType.Ack) {
      throw new PeerError('PEER_PROTOCOL', `${conn.peer} answered the file prompt with type 0x${reply.type.toString(16)}`);
    }
    resumedFrom.push(offset);
    let fileBytes = offset;
    const progress = (force = false): void => meter.update({
      file: f.parts.join('/'), fileIndex: i + 1, fileCount: offer.files.length, fileBytes, fileSize: f.size,
      bytes: done + fileBytes, totalSize: offer.totalSize,
    }, force);
    if (offset < f.size) {
      const rs = createReadStream(f.path, { start: offset, end: f.size - 1, highWaterMark: 256 * 1024 });
      try {
        for await (const chunk of rs as AsyncIterable<Buffer>) {
          const wait = writeWithBackpressure(conn.socket, chunk, conn.peer, s.stallMs);
          fileBytes += chunk.length;
          bytesSent += chunk.length;
          progress();
          if (wait) await wait;
        }
      } finally {
        rs.destroy();
      }
    }
    const fin = await s.header(`${conn.peer}'s receipt for ${f.parts.join('/')}`);
    if (fin.type !== OftType.Done) throw new PeerError('PEER_PROTOCOL', `${conn.peer} ended ${f.parts.join('/')} with type 0x${fin.type.toString(16)}`);
    if (fin.bytesReceived !== f.size || fin.receivedChecksum !== checksum || (fin.flags & OftFlag.Done) === 0) {
      throw new PeerError('CHECKSUM_MISMATCH', `${conn.peer} received ${fin.bytesReceived} of ${f.size} bytes of ${f.parts.join('/')} with checksum ${fin.receivedChecksum.toString(16)} (ours ${checksum.toString(16)})`);
    }
    progress(true);
    done += f.size;
  }
  conn.socket.end();
  return { files: offer.files.length, bytesSent, totalSize: offer.totalSize, resumedFrom };
}
