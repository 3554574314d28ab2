/**
 * Get File (docs/protocol.md §8.5, §15.2): the rendezvous service data and the directory listing the file owner
 * sends (`Lst1`, then one TLV group per entry). The OFT2 headers around them (types 0x1108 ... 0x120E) and the transfer
 * of a file itself are ordinary OFT2 (oft.ts). Pure functions; decoders fail only with `WireError`.
 */
import { ByteReader, ByteWriter, WireError, decodeText, encodeText } from './bytes.js';
import { readTlv, tlv, tlvU16, tlvU32, writeTlv, type Tlv } from './tlv.js';

/** The tag at the start of a listing. */
export const GETFILE_LIST_TAG = 'Lst1';
/** Listing entry TLVs (docs/protocol.md §8.5). */
export const GetFileEntryTlv = {
  ModTime: 0x0101,
  Size: 0x0303,
  Reserved: 0x0505,
  Name: 0x0404,
  Flags: 0x0900,
  /** Empty: ends an entry. */
  End: 0x0909,
} as const;
/** Entry flag: the entry is a directory. */
export const GETFILE_ENTRY_DIRECTORY = 0x0001;

/** Most entries a listing may carry (a hostile owner gets a WireError, not an unbounded list). */
export const GETFILE_MAX_ENTRIES = 10_000;
/** Longest entry name, in bytes. */
export const GETFILE_MAX_NAME_BYTES = 1024;

/** One entry of a listing: a file or a directory inside the listed directory. */
export interface GetFileEntry {
  /** Name within the listed directory (one path segment). */
  name: string;
  /** Size in bytes (0 for directories). */
  size: number;
  /** Modification time, Unix seconds. */
  modTime: number;
  /** A directory. */
  directory: boolean;
}

/** Encodes a listing: `Lst1`, then per entry 0x0101, 0x0303, 0x0505, 0x0404, 0x0900 (directories), 0x0909. */
export function encodeGetFileList(entries: readonly GetFileEntry[]): Uint8Array {
  const w = new ByteWriter(16 + entries.length * 48).bytes(encodeText(GETFILE_LIST_TAG));
  for (const e of entries) {
    const name = encodeText(e.name);
    if (name.length === 0 || name.length > GETFILE_MAX_NAME_BYTES) throw new RangeError(`entry name of ${name.length} bytes`);
    const tlvs: Tlv[] = [
      tlvU32(GetFileEntryTlv.ModTime, e.modTime >>> 0),
      tlvU32(GetFileEntryTlv.Size, e.directory ? 0 : e.size),
      tlvU16(GetFileEntryTlv.Reserved, 0),
      tlv(GetFileEntryTlv.Name, name),
    ];
    if (e.directory) tlvs.push(tlvU32(GetFileEntryTlv.Flags, GETFILE_ENTRY_DIRECTORY));
    tlvs.push(tlv(GetFileEntryTlv.End));
    for (const t of tlvs) writeTlv(w, t);
  }
  return w.finish();
}

/**
 * Decodes a listing. An entry ends at 0x0909 or where the next entry's 0x0101 starts (joscar's reading); an entry
 * needs a non-empty name, and numeric TLVs must have their exact width. Unknown TLVs are skipped.
 */
export function decodeGetFileList(b: Uint8Array): GetFileEntry[] {
  const r = new ByteReader(b);
  const tag = r.bytes(4, 'listing tag');
  if (decodeText(tag) !== GETFILE_LIST_TAG) throw new WireError('BAD_VALUE', 0, 'not a Get File listing (no Lst1 tag)');
  const out: GetFileEntry[] = [];
  let cur: Partial<GetFileEntry> & { seenTime?: boolean } | undefined;
  let at = r.offset;
  const flush = (): void => {
    if (!cur) return;
    if (cur.name === undefined) throw new WireError('BAD_VALUE', at, 'listing entry without a name');
    if (out.length >= GETFILE_MAX_ENTRIES) throw new WireError('TOO_MANY', at, `listing over ${GETFILE_MAX_ENTRIES} entries`);
    out.push({ name: cur.name, size: cur.directory ? 0 : cur.size ?? 0, modTime: cur.modTime ?? 0, directory: cur.directory ?? false });
    cur = undefined;
  };
  while (!r.done) {
    at = r.offset;
    const t = readTlv(r);
    const u32 = (): number => {
      if (t.value.length !== 4) throw new WireError('BAD_LENGTH', t.offset, `listing TLV 0x${t.type.toString(16)} of ${t.value.length} bytes (want 4)`);
      return ((t.value[0]! << 24) >>> 0) + (t.value[1]! << 16) + (t.value[2]! << 8) + t.value[3]!;
    };
    if (t.type === GetFileEntryTlv.End) {
      cur ??= {};
      flush();
      continue;
    }
    if (t.type === GetFileEntryTlv.ModTime && cur?.seenTime) flush();
    cur ??= {};
    switch (t.type) {
      case GetFileEntryTlv.ModTime: cur.modTime = u32(); cur.seenTime = true; break;
      case GetFileEntryTlv.Size: cur.size = u32(); break;
      case GetFileEntryTlv.Flags: cur.directory = (u32() & GETFILE_ENTRY_DIRECTORY) !== 0; break;
      case GetFileEntryTlv.Name:
        if (t.value.length === 0 || t.value.length > GETFILE_MAX_NAME_BYTES) throw new WireError('BAD_LENGTH', t.offset, `entry name of ${t.value.length} bytes`);
        cur.name = decodeText(t.value);
        break;
      default: break;
    }
  }
  flush();
  return out;
}

/**
 * [certim] The OFT2 header type with which a certim owner refuses a request (docs/protocol.md §15.2): name = the
 * requested path, bytes-received field = a {@link GetFileRefusal} code. Classic owners have no refusal and simply
 * hang up; classic requesters never ask for paths they were not listed.
 */
export const GETFILE_REFUSED_TYPE = 0x7c0e;

/** Reason codes of {@link GETFILE_REFUSED_TYPE}. */
export const GetFileRefusal = {
  /** Nothing of that name (or not of the requested kind) in the shared folder. */
  NotFound: 1,
  /** The path breaks the path rules or leads outside the shared folder. */
  Refused: 2,
  /** It exists but cannot be read. */
  NotReadable: 3,
} as const;

/** Words for a refusal code. */
export function getFileRefusalText(code: number): string {
  switch (code) {
    case GetFileRefusal.NotFound: return 'no such file or folder';
    case GetFileRefusal.Refused: return 'refused (outside the shared folder or not an allowed name)';
    case GetFileRefusal.NotReadable: return 'cannot be read';
    default: return `refused (code ${code})`;
  }
}

/** Get File service data (rendezvous TLV 0x2711 with the Get File capability; docs/protocol.md §8.1). */
export interface GetFileServiceData {
  /** Protocol version (2; AIM 5.1 used 1). */
  version: number;
  /** Flags (0x01 dynamic listing). */
  flags: number;
}

/** The first u16 of Get File service data. */
export const GETFILE_SERVICE_TAG = 0x0012;

/** Encodes Get File service data: u16 0x0012, u16 version, u32 flags, one 0x00 byte. */
export function encodeGetFileServiceData(d: GetFileServiceData = { version: 2, flags: 0x01 }): Uint8Array {
  return new ByteWriter(9).u16(GETFILE_SERVICE_TAG).u16(d.version).u32(d.flags).u8(0).finish();
}

/** Decodes Get File service data (the trailing byte is optional; more bytes are ignored). */
export function decodeGetFileServiceData(b: Uint8Array): GetFileServiceData {
  const r = new ByteReader(b);
  const tag = r.u16('service tag');
  if (tag !== GETFILE_SERVICE_TAG) throw new WireError('BAD_VALUE', 0, `Get File service data starts with 0x${tag.toString(16)}`);
  return { version: r.u16('version'), flags: r.u32('flags') };
}

/** Path segments as the OFT2 name field carries them: joined by 0x01 (docs/protocol.md §8.5). */
export function joinGetFilePath(segments: readonly string[]): string {
  return segments.join('\x01');
}

/** Splits an OFT2 name into path segments (empty segments dropped: the root is the empty name). */
export function splitGetFilePath(name: string): string[] {
  return name.split('\x01').filter((s) => s.length > 0);
}
