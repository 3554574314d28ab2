/**
 * Receiving files over a peer connection with OFT2 (docs/protocol.md §8.5) into a directory the user chose, never
 * outside it (docs/protocol.md §8.6):
 * - every offered name goes through `safeNameParts` (no traversal, absolute paths, device names, control chars);
 * - directories are created one part at a time, and an existing part that is a symlink or not a directory is
 *   refused; the file is written to `NAME.from-SENDER.certim-part` opened with O_NOFOLLOW, then renamed to a free name (an
 *   existing file is never overwritten: "name (2).ext");
 * - the sender cannot send more than it offered: files beyond the offered count, bytes beyond the offered total,
 *   or (for a one-file offer) a name other than the offered one are refused;
 * - a `.certim-part` left by an interrupted transfer from the same sender is resumed (0x0205 with its length and checksum; the sender
 *   decides the offset), and the OFT checksum of the whole file must match the sender's at the end.
 */
import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { OFT_CHECKSUM_EMPTY, OftFlag, OftType, oftChecksum, type OftHeader } from '../../wire/oft.js';
import { SendFileKind, type SendFileServiceData } from '../../wire/rendezvous.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { PeerError } from './peer-error.js';
import { safeNameParts, UnsafeNameError } from './oft-names.js';
import { OftStream } from './oft-stream.js';
import { BatchedFileWriter } from './batched-file-writer.js';
import { ProgressMeter, type TransferProgress } from './oft-progress.js';
import type { PeerConnection, PlainPeerConnection } from './peer-connection.js';

/** The suffix of a partly received file. */
export const PARTIAL_SUFFIX = '.certim-part';

/**
 * Checks an offer's service data before accepting it: the offered name must be a safe single name (the top-level
 * file or directory). Throws OFFER_REFUSED with the reason.
 */
export function checkOffer(d: SendFileServiceData): void {
  try {
    const parts = safeNameParts(d.name);
    if (parts.length !== 1) throw new UnsafeNameError(d.name, 'an offer names one file or directory, not a path');
  } catch (e) {
    if (e instanceof UnsafeNameError) throw new PeerError('OFFER_REFUSED', e.message, { cause: e });
    throw e;
  }
  if (d.kind !== SendFileKind.OneFile && d.kind !== SendFileKind.Directory) throw new PeerError('OFFER_REFUSED', `refused an offer of unknown kind ${d.kind}`);
  if (d.kind === SendFileKind.OneFile && d.fileCount !== 1) throw new PeerError('OFFER_REFUSED', `refused a one-file offer that announces ${d.fileCount} files`);
}

/** One received file. */
export interface ReceivedFile {
  /** The offered name, parts joined by "/". */
  name: string;
  /** Where it was saved. */
  path: string;
  size: number;
  /** The offset the transfer resumed from (0 when received whole). */
  resumedFrom: number;
}

/** Options of {@link receiveFiles}. */
export interface ReceiveFilesOptions {
  /** The directory to save into (must exist). */
  dir: string;
  /** The offer as accepted (its limits bind the sender). */
  offer: SendFileServiceData;
  /** Progress reports. */
  onProgress?: (p: TransferProgress) => void;
  /** Clock for rates (tests). */
  now?: () => number;
  /** Longest wait for the sender's next bytes (default OFT_STALL_MS, oft-stream.ts). */
  stallMs?: number;
}

async function safeDirectory(root: string, parts: string[]): Promise<string> {
  let cur = root;
  for (const p of parts) {
    const next = join(cur, p);
    const st = await lstat(next).catch(() => undefined);
    if (!st) await mkdir(next, { mode: 0o755 });
    else if (st.isSymbolicLink()) throw new PeerError('OFFER_REFUSED', `refused to write through ${next}: it is a symbolic link`);
    else if (!st.isDirectory()) throw new PeerError('OFFER_REFUSED', `refused to write into ${next}: it exists and is not a directory`);
    cur = next;
  }
  return cur;
}

/**
 * What a partial file's name says about its sender (`NAME.from-alice.certim-part`): only the same buddy resumes it.
 * A partial of one name shared by every sender let anyone who offered that name learn the length and checksum of
 * another buddy's unfinished download, append to it and have the result pass as "checksum verified", or truncate it.
 */
export function partialTag(sender: string): string {
  return `.from-${normalizeScreenName(sender).replace(/[^a-z0-9@_-]/g, '_')}`;
}

async function freeName(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = ext.length > 0 && ext.length < name.length ? name.slice(0, -ext.length) : name;
  for (let n = 1; n < 10_000; n++) {
    const candidate = join(dir, n === 1 ? name : `${stem} (${n})${ext}`);
    if (!(await lstat(candidate).catch(() => undefined))) return candidate;
  }
  throw new PeerError('FILE_ERROR', `no free file name for ${name} in ${dir}`);
}

async function partialChecksum(path: string, length: number): Promise<number> {
  let c = OFT_CHECKSUM_EMPTY;
  let at = 0;
  for await (const chunk of createReadStream(path, { end: length - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    c = oftChecksum(chunk, c, at);
    at += chunk.length;
  }
  return c;
}

/** Receives the files of an accepted offer over `conn`. Leaves a `.certim-part` behind if interrupted. */
export async function receiveFiles(conn: PeerConnection | PlainPeerConnection, o: ReceiveFilesOptions): Promise<ReceivedFile[]> {
  const root = await realpath(o.dir);
  const s = new OftStream(conn.socket, conn.peer, o.stallMs);
  const meter = new ProgressMeter(o.onProgress, o.now);
  const out: ReceivedFile[] = [];
  let doneBytes = 0;
  // Names this offer already sent: one name twice is refused, not given "name (2)", "name (3)"... (each a search
  // for a free name that grew with the duplicates: 800 copies of one name cost 5 s).
  const sent = new Set<string>();
  for (let i = 0; ; i++) {
    // Our answers carry the rendezvous cookie whatever the prompt had: joustsim sends its prompts with cookie 0
    // and then refuses an ack that does not carry the cookie (docs/protocol.md §8.5, §8.7).
    const h = { ...(await s.header(i === 0 ? 'the first file' : 'the next file')), cookie: conn.cookie };
    if (h.type !== OftType.Prompt) throw new PeerError('PEER_PROTOCOL', `${conn.peer} sent OFT type 0x${h.type.toString(16)} where a file prompt belongs`);
    let parts: string[];
    try {
      parts = safeNameParts(h.name);
    } catch (e) {
      throw new PeerError('OFFER_REFUSED', (e as Error).message, { cause: e });
    }
    const name = parts.join('/');
    if (sent.has(name)) throw new PeerError('OFFER_REFUSED', `refused ${name}: ${conn.peer} sends it twice in one offer`);
    sent.add(name);
    if (i >= o.offer.fileCount) throw new PeerError('OFFER_REFUSED', `refused ${name}: ${conn.peer} offered ${o.offer.fileCount} file(s) and sends more`);
    if (doneBytes + h.size > o.offer.totalSize) throw new PeerError('OFFER_REFUSED', `refused ${name}: more bytes than the ${o.offer.totalSize} offered`);
    if (o.offer.kind === SendFileKind.OneFile ? parts.length !== 1 || parts[0] !== o.offer.name : parts[0] !== o.offer.name || parts.length < 2) {
      throw new PeerError('OFFER_REFUSED', `refused ${name}: it is not part of the offered ${o.offer.kind === SendFileKind.OneFile ? 'file' : 'directory'} ${o.offer.name}`);
    }
    const dir = await safeDirectory(root, parts.slice(0, -1));
    const leaf = parts[parts.length - 1]!;
    const partial = join(dir, `${leaf}${partialTag(conn.peer)}${PARTIAL_SUFFIX}`);
    if (!partial.startsWith(root + sep)) throw new PeerError('OFFER_REFUSED', `refused ${name}: it resolves outside ${root}`);
    // Resume when an earlier attempt left a partial file no longer than this one.
    const pst = await lstat(partial).catch(() => undefined);
    if (pst?.isSymbolicLink() || (pst && !pst.isFile())) throw new PeerError('OFFER_REFUSED', `refused to write ${partial}: it is not a regular file`);
    let offset = 0;
    let checksum = OFT_CHECKSUM_EMPTY;
    if (pst && pst.size > 0 && pst.size <= h.size) {
      const have = pst.size;
      const haveSum = await partialChecksum(partial, have);
      s.send({ ...h, type: OftType.ResumeRequest, bytesReceived: have, receivedChecksum: haveSum });
      const rp = await s.header(`${conn.peer}'s resume prompt`);
      if (rp.type !== OftType.ResumePrompt) throw new PeerError('PEER_PROTOCOL', `${conn.peer} answered our resume request with type 0x${rp.type.toString(16)}`);
      offset = rp.bytesReceived === have ? have : 0;
      checksum = offset > 0 ? haveSum : OFT_CHECKSUM_EMPTY;
      s.send({ ...h, type: OftType.ResumeAck, bytesReceived: offset, receivedChecksum: checksum });
    } else {
      s.send({ ...h, type: OftType.Ack, bytesReceived: 0, receivedChecksum: OFT_CHECKSUM_EMPTY });
    }
    // O_NOFOLLOW: a symlink planted at the partial name is refused by the kernel, not followed.
    const fh = await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (offset === 0 ? constants.O_TRUNC : 0), 0o600).catch((e: NodeJS.ErrnoException) => {
      throw new PeerError(e.code === 'ELOOP' ? 'OFFER_REFUSED' : 'FILE_ERROR', `cannot write ${partial}: ${e.code ?? e.message}`, { cause: e });
    });
    let fileBytes = offset;
    const progress = (force = false): void => meter.update({
      file: name, fileIndex: i + 1, fileCount: h.totalFiles, fileBytes, fileSize: h.size, bytes: doneBytes + fileBytes, totalSize: o.offer.totalSize,
    }, force);
    try {
      if (offset > 0) await fh.truncate(offset);
      const writer = new BatchedFileWriter(fh, offset, h.size - offset);
      await s.raw(h.size - offset, (chunk) => {
        checksum = oftChecksum(chunk, checksum, fileBytes);
        fileBytes += chunk.length;
        progress();
        return writer.add(chunk);
      }).catch(async (e: unknown) => {
        // Interrupted (the sender stalled or left): what arrived is written out, so a resume starts from it (its
        // checksum is taken from the disk then). A write failing here changes nothing: the transfer failed already.
        await writer.close().catch(() => undefined);
        throw e;
      });
      await writer.close();
    } finally {
      await fh.close();
    }
    const fin: OftHeader = { ...h, type: OftType.Done, flags: h.flags | OftFlag.Done, filesLeft: Math.max(0, h.filesLeft - 1), bytesReceived: fileBytes, receivedChecksum: checksum };
    s.send(fin);
    if (checksum !== h.checksum) {
      await unlink(partial).catch(() => undefined);
      throw new PeerError('CHECKSUM_MISMATCH', `${name}: the OFT checksum of what arrived (${checksum.toString(16)}) is not the sender's (${h.checksum.toString(16)}); the file was discarded`);
    }
    const final = await freeName(dir, leaf);
    await rename(partial, final);
    out.push({ name, path: final, size: h.size, resumedFrom: offset });
    progress(true);
    doneBytes += h.size;
    if (h.filesLeft <= 1) break;
  }
  conn.socket.end();
  return out;
}
