/**
 * The requester's side of Get File (docs/protocol.md §8.5, §15.2) over one pinned peer stream: receive the root
 * listing the owner sends first, then list folders (0x120E) and fetch files (0x120C) one request at a time.
 *
 * The requester trusts the owner no more than the owner trusts it: every name in a listing is checked with the
 * path rules before anything is created, files are written to a temporary name in the target folder and renamed
 * only after the OFT2 checksum matched, existing files are never overwritten, and a file may not be larger than the
 * owner's prompt announced.
 */
import { constants as fsc } from 'node:fs';
import { link, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  GETFILE_MAX_ENTRIES, GETFILE_REFUSED_TYPE, decodeGetFileList, getFileRefusalText, joinGetFilePath, splitGetFilePath, type GetFileEntry,
} from '../../wire/getfile.js';
import { OftFlag, OftType, encodeOftHeader, oftChecksum, oftHeader, type OftHeader } from '../../wire/oft.js';
import { ClientError } from '../errors.js';
import { pathProblem, segmentProblem, showPath } from './getfile-paths.js';
import { PeerReader, writeAll } from './getfile-reader.js';
import { GETFILE_STEP_MS } from './getfile-share.js';
import type { PinnedPeer } from './odc-session.js';

/** Largest listing accepted, in bytes (10,000 entries of long names). */
export const GETFILE_MAX_LIST_BYTES = 4 * 1024 * 1024;
/** Most files one folder fetch creates. */
export const GETFILE_MAX_FETCH_FILES = 10_000;

/** One fetched file. */
export interface FetchedFile {
  /** Path in the share. */
  path: string;
  /** Where it was written. */
  file: string;
  /** Size in bytes. */
  bytes: number;
}

/** Options of {@link GetFileClient}. */
export interface GetFileClientOptions {
  stream: Duplex;
  cookie: Uint8Array;
  peer: PinnedPeer;
  /** Wait for each step (default {@link GETFILE_STEP_MS}). */
  stepMs?: number;
}

/** A Get File session from the requester's side. Requests run one at a time, in call order. */
export class GetFileClient {
  private readonly reader: PeerReader;
  private readonly step: number;
  private chain: Promise<unknown> = Promise.resolve();
  private rootListing: Promise<GetFileEntry[]> | undefined;

  constructor(private readonly o: GetFileClientOptions) {
    this.reader = new PeerReader(o.stream, `Get File from ${o.peer.screenName}`);
    this.step = o.stepMs ?? GETFILE_STEP_MS;
  }

  /** The pinned owner. */
  get peer(): PinnedPeer {
    return this.o.peer;
  }

  private run<T>(f: () => Promise<T>): Promise<T> {
    const r = this.chain.then(f, f);
    this.chain = r.catch(() => undefined);
    return r;
  }

  /** The listing of the shared folder's root (the owner sends it unasked when the connection opens). */
  root(): Promise<GetFileEntry[]> {
    this.rootListing ??= this.run(() => this.receiveListing([]));
    return this.rootListing;
  }

  /** Lists a folder of the share (`[]` = the root). */
  async list(segments: string[]): Promise<GetFileEntry[]> {
    await this.root();
    if (segments.length === 0) return this.root();
    const problem = pathProblem(segments);
    if (problem) throw new ClientError('BAD_ARGUMENT', `cannot ask for ${showPath(segments)}: ${problem}`);
    return this.run(async () => {
      await this.send(oftHeader({ type: OftType.GetFileRequestDirectory, cookie: this.o.cookie, name: joinGetFilePath(segments), totalFiles: 0, filesLeft: 0 }));
      return this.receiveListing(segments);
    });
  }

  /** Fetches one file of the share into `destDir` (created if missing), under its own name. */
  async fetchFile(segments: string[], destDir: string): Promise<FetchedFile> {
    await this.root();
    const problem = pathProblem(segments);
    if (problem || segments.length === 0) throw new ClientError('BAD_ARGUMENT', `cannot ask for ${showPath(segments)}: ${problem ?? 'the root is a folder'}`);
    return this.run(() => this.receiveFile(segments, destDir));
  }

  /**
   * Fetches a path: a file into `destDir`, or a folder as `destDir/NAME/...` (recursively, through listings).
   * Refuses to overwrite anything that exists.
   */
  async fetch(segments: string[], destDir: string, onFile?: (f: FetchedFile) => void): Promise<FetchedFile[]> {
    const parent = segments.slice(0, -1);
    const name = segments.at(-1);
    if (name === undefined) throw new ClientError('BAD_ARGUMENT', 'name a file or folder of the share to fetch (the root is listed, not fetched)');
    const entry = (await this.list(parent)).find((e) => e.name === name);
    if (!entry) throw new ClientError('BAD_ARGUMENT', `${this.o.peer.screenName} shares no ${showPath(segments)}`);
    const out: FetchedFile[] = [];
    const walk = async (segs: string[], e: GetFileEntry, into: string): Promise<void> => {
      if (!e.directory) {
        if (out.length >= GETFILE_MAX_FETCH_FILES) throw new ClientError('BAD_ARGUMENT', `more than ${GETFILE_MAX_FETCH_FILES} files: fetch smaller folders`);
        const f = await this.fetchFile(segs, into);
        out.push(f);
        onFile?.(f);
        return;
      }
      const dir = join(into, e.name);
      await mkdir(dir, { recursive: false }).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST' || !(await lstat(dir)).isDirectory()) throw new ClientError('BAD_ARGUMENT', `cannot create ${dir}: ${err.message}`);
      });
      for (const child of await this.list(segs)) await walk([...segs, child.name], child, dir);
    };
    await mkdir(destDir, { recursive: true });
    await walk(segments, entry, destDir);
    return out;
  }

  /** Hangs up. */
  close(): void {
    this.o.stream.end();
    this.o.stream.destroy();
  }

  private send(h: OftHeader): Promise<void> {
    return writeAll(this.o.stream, encodeOftHeader(h), this.step, `Get File from ${this.o.peer.screenName}`);
  }

  private refusedOrUnexpected(h: OftHeader, segments: string[], wanted: string): ClientError {
    if (h.type === GETFILE_REFUSED_TYPE) {
      return new ClientError('BAD_ARGUMENT', `${this.o.peer.screenName} refused ${showPath(segments)}: ${getFileRefusalText(h.bytesReceived)}`);
    }
    this.o.stream.destroy();
    return new ClientError('PROTOCOL', `${this.o.peer.screenName} sent OFT2 type 0x${h.type.toString(16)} where ${wanted} belongs`);
  }

  private async receiveListing(segments: string[]): Promise<GetFileEntry[]> {
    const h = await this.reader.header(this.step);
    if (h.type !== OftType.GetFileList) throw this.refusedOrUnexpected(h, segments, 'a listing');
    if (h.size > GETFILE_MAX_LIST_BYTES) {
      this.o.stream.destroy();
      throw new ClientError('PROTOCOL', `${this.o.peer.screenName} announced a listing of ${h.size} bytes (limit ${GETFILE_MAX_LIST_BYTES})`);
    }
    await this.send({ ...h, type: OftType.GetFileListAck, flags: OftFlag.Default, cookie: this.o.cookie });
    const bytes = await this.reader.exactly(h.size, this.step);
    await this.send({ ...h, type: OftType.GetFileListReceived, flags: OftFlag.Default | OftFlag.Done, cookie: this.o.cookie, bytesReceived: h.size });
    if (oftChecksum(bytes) !== h.checksum) throw new ClientError('PROTOCOL', `the listing of ${showPath(segments)} from ${this.o.peer.screenName} failed its checksum`);
    const entries = decodeGetFileList(bytes).slice(0, GETFILE_MAX_ENTRIES);
    // Names that could not be asked for (or would be unsafe to create here) are left out.
    return entries.filter((e) => segmentProblem(e.name) === undefined);
  }

  private async receiveFile(segments: string[], destDir: string): Promise<FetchedFile> {
    const name = segments.at(-1)!;
    await mkdir(destDir, { recursive: true });
    const final = join(destDir, name);
    // Checked before asking, so the session goes on; link() below refuses a file that appears meanwhile.
    if (await lstat(final).then(() => true, () => false)) throw new ClientError('BAD_ARGUMENT', `${final} already exists; not overwritten`);
    await this.send(oftHeader({ type: OftType.GetFileRequestFile, cookie: this.o.cookie, name: joinGetFilePath(segments), totalFiles: 0, filesLeft: 0 }));
    const prompt = await this.reader.header(this.step);
    if (prompt.type !== OftType.Prompt) throw this.refusedOrUnexpected(prompt, segments, 'a file prompt');
    const named = splitGetFilePath(prompt.name);
    if (named.join('/') !== segments.join('/')) {
      this.o.stream.destroy();
      throw new ClientError('PROTOCOL', `${this.o.peer.screenName} offered ${showPath(named)} when asked for ${showPath(segments)}`);
    }
    const tmp = join(destDir, `.${name}.${randomBytes(6).toString('hex')}.part`);
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    let ok = false;
    try {
      await this.send({ ...prompt, type: OftType.Ack, cookie: this.o.cookie, bytesReceived: 0, receivedChecksum: oftChecksum(new Uint8Array(0)) });
      let sum: number | undefined;
      let pos = 0;
      await this.reader.bytes(prompt.size, this.step, async (c) => {
        sum = oftChecksum(c, sum, pos);
        pos += c.length;
        await fh.write(c);
      });
      const received = sum ?? oftChecksum(new Uint8Array(0));
      await this.send({
        ...prompt, type: OftType.Done, cookie: this.o.cookie, flags: prompt.flags | OftFlag.Done, filesLeft: Math.max(0, prompt.filesLeft - 1),
        bytesReceived: pos, receivedChecksum: received,
      });
      if (received !== prompt.checksum) throw new ClientError('PROTOCOL', `${showPath(segments)} from ${this.o.peer.screenName} failed its checksum; discarded`);
      await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await unlink(tmp).catch(() => undefined);
    }
    // link() fails if the name exists: a file that appeared meanwhile is not overwritten either.
    try {
      await link(tmp, final);
    } catch (e) {
      throw new ClientError('BAD_ARGUMENT', `${final} could not be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the download stays in ${tmp}`);
    }
    await unlink(tmp);
    return { path: showPath(segments), file: final, bytes: prompt.size };
  }
}
