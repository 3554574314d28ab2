/**
 * OFT2, the file-transfer protocol spoken over a peer connection (docs/protocol.md §8.5): a 256-byte header (longer
 * when the file name needs more than its 64-byte field), exchanged before and after each file's raw bytes, and the
 * 32-bit OFT checksum both sides compute over the file.
 *
 * Pure functions over Uint8Array; decoders throw only `WireError` and check every length before allocating.
 */
import { ByteReader, ByteWriter, WireError, decodeText, encodeText } from './bytes.js';

/** The magic at offset 0. */
export const OFT_MAGIC = 'OFT2';
/** The fixed header size (the name field is 64 bytes long at this size). */
export const OFT_HEADER_SIZE = 256;
/** Largest header a decoder accepts (a long UTF-16 name); a hostile length fails before allocation. */
export const OFT_MAX_HEADER_SIZE = 2048;
/** Offset of the file-name field. */
const NAME_OFFSET = 192;

/** Header types (docs/protocol.md §8.5). */
export const OftType = {
  /** Sender: here comes a file (sizes, checksum, name). */
  Prompt: 0x0101,
  /** Receiver: send it from the start. */
  Ack: 0x0202,
  /** Receiver: got it all (done flag, bytes received, checksum). */
  Done: 0x0204,
  /** Receiver: I already have `bytesReceived` bytes with checksum `receivedChecksum`. */
  ResumeRequest: 0x0205,
  /** Sender: agrees to resume; echoes the offset it will send from. */
  ResumePrompt: 0x0106,
  /** Receiver: resume acknowledged; raw bytes follow from the offset. */
  ResumeAck: 0x0207,
  /** Get File: the listing follows. */
  GetFileList: 0x1108,
  /** Get File: listing acknowledged. */
  GetFileListAck: 0x1209,
  /** Get File: listing received. */
  GetFileListReceived: 0x120b,
  /** Get File: send this file. */
  GetFileRequestFile: 0x120c,
  /** Get File: send this directory. */
  GetFileRequestDirectory: 0x120e,
} as const;

/** Flags at offset 100. */
export const OftFlag = {
  Done: 0x01,
  FileList: 0x10,
  Default: 0x20,
} as const;

/** File-name charsets at offset 188 (the same codes as IM text, docs/protocol.md §1.4). */
export const OftCharset = {
  Ascii: 0x0000,
  Utf16be: 0x0002,
  Latin1: 0x0003,
} as const;

/** The client id certim writes at offset 68. */
export const OFT_CLIENT_ID = 'Cool FileXfer';

/** One OFT2 header. Path parts of `name` are separated by U+0001 (0x01 on the wire). */
export interface OftHeader {
  type: number;
  cookie: Uint8Array;
  encryption: number;
  compression: number;
  totalFiles: number;
  filesLeft: number;
  totalParts: number;
  partsLeft: number;
  totalSize: number;
  size: number;
  modTime: number;
  checksum: number;
  resForkReceivedChecksum: number;
  resForkSize: number;
  creationTime: number;
  resForkChecksum: number;
  bytesReceived: number;
  receivedChecksum: number;
  clientId: string;
  flags: number;
  listNameOffset: number;
  listSizeOffset: number;
  charset: number;
  charsetSubset: number;
  name: string;
}

/** A header with the usual defaults, overridden by `h`. */
export function oftHeader(h: Partial<OftHeader> & { type: number; cookie: Uint8Array }): OftHeader {
  return {
    encryption: 0, compression: 0, totalFiles: 1, filesLeft: 1, totalParts: 1, partsLeft: 1, totalSize: 0, size: 0, modTime: 0,
    checksum: OFT_CHECKSUM_EMPTY, resForkReceivedChecksum: OFT_CHECKSUM_EMPTY, resForkSize: 0, creationTime: 0,
    resForkChecksum: OFT_CHECKSUM_EMPTY, bytesReceived: 0, receivedChecksum: OFT_CHECKSUM_EMPTY, clientId: OFT_CLIENT_ID,
    flags: OftFlag.Default, listNameOffset: 0x1c, listSizeOffset: 0x11, charset: OftCharset.Ascii, charsetSubset: 0, name: '',
    ...h,
  };
}

/** Reads the u16 header length at offset 4 of a (partial) header: how many bytes to wait for. Checks the magic. */
export function oftHeaderLength(prefix: Uint8Array): number {
  const r = new ByteReader(prefix);
  const magic = decodeText(r.bytes(4, 'OFT magic'));
  if (magic !== OFT_MAGIC) throw new WireError('BAD_VALUE', 0, `not an OFT2 header (magic ${JSON.stringify(magic)})`);
  const len = r.u16('OFT header length');
  if (len < OFT_HEADER_SIZE) throw new WireError('BAD_LENGTH', 4, `OFT header length ${len} < ${OFT_HEADER_SIZE}`);
  if (len > OFT_MAX_HEADER_SIZE) throw new WireError('FRAME_TOO_LARGE', 4, `OFT header length ${len} > ${OFT_MAX_HEADER_SIZE}`);
  return len;
}

function decodeName(raw: Uint8Array, charset: number): string {
  if (charset === OftCharset.Utf16be) {
    let end = raw.length & ~1;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i] === 0 && raw[i + 1] === 0) {
        end = i;
        break;
      }
    }
    let s = '';
    for (let i = 0; i < end; i += 2) s += String.fromCharCode((raw[i]! << 8) | raw[i + 1]!);
    return s;
  }
  const nul = raw.indexOf(0);
  const bytes = nul >= 0 ? raw.subarray(0, nul) : raw;
  if (charset === OftCharset.Latin1) return String.fromCharCode(...bytes);
  return decodeText(bytes);
}

/** Decodes one header (exactly its length; `buf` may hold more). */
export function decodeOftHeader(buf: Uint8Array): OftHeader {
  const len = oftHeaderLength(buf);
  if (buf.length < len) throw new WireError('TRUNCATED', buf.length, `OFT header needs ${len} bytes, have ${buf.length}`);
  const r = new ByteReader(buf, 0, len);
  r.skip(6, 'OFT magic and length');
  const type = r.u16('OFT type');
  const cookie = r.bytes(8, 'OFT cookie');
  const h = {
    type, cookie,
    encryption: r.u16(), compression: r.u16(), totalFiles: r.u16(), filesLeft: r.u16(), totalParts: r.u16(), partsLeft: r.u16(),
    totalSize: r.u32(), size: r.u32(), modTime: r.u32(), checksum: r.u32(), resForkReceivedChecksum: r.u32(), resForkSize: r.u32(),
    creationTime: r.u32(), resForkChecksum: r.u32(), bytesReceived: r.u32(), receivedChecksum: r.u32(),
  };
  const idRaw = r.bytes(32, 'OFT client id');
  const idEnd = idRaw.indexOf(0);
  const clientId = decodeText(idEnd >= 0 ? idRaw.subarray(0, idEnd) : idRaw);
  const flags = r.u8();
  const listNameOffset = r.u8();
  const listSizeOffset = r.u8();
  r.skip(69, 'OFT dummy block');
  r.skip(16, 'OFT Mac file info');
  const charset = r.u16('OFT charset');
  const charsetSubset = r.u16('OFT charset subset');
  const name = decodeName(r.rest(), charset);
  return { ...h, clientId, flags, listNameOffset, listSizeOffset, charset, charsetSubset, name };
}

function encodeName(name: string): { bytes: Uint8Array; charset: number } {
  // Plain ASCII stays ASCII; anything else goes as UTF-16BE, the Unicode charset classic clients read.
  let ascii = true;
  for (let i = 0; i < name.length && ascii; i++) ascii = name.charCodeAt(i) < 0x80;
  if (ascii) return { bytes: encodeText(name), charset: OftCharset.Ascii };
  const out = new Uint8Array(name.length * 2);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out[2 * i] = c >> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return { bytes: out, charset: OftCharset.Utf16be };
}

/** Encodes one header; a name longer than the 64-byte field (NUL included) lengthens the header. */
export function encodeOftHeader(h: OftHeader): Uint8Array {
  if (h.cookie.length !== 8) throw new RangeError('OFT cookie must be 8 bytes');
  const { bytes: name, charset } = encodeName(h.name);
  const nameField = Math.max(64, name.length + 2);
  const len = NAME_OFFSET + nameField;
  if (len > OFT_MAX_HEADER_SIZE) throw new RangeError(`file name too long for an OFT header (${name.length} bytes)`);
  const id = encodeText(h.clientId).subarray(0, 31);
  const w = new ByteWriter(len)
    .bytes(encodeText(OFT_MAGIC)).u16(len).u16(h.type).bytes(h.cookie)
    .u16(h.encryption).u16(h.compression).u16(h.totalFiles).u16(h.filesLeft).u16(h.totalParts).u16(h.partsLeft)
    .u32(h.totalSize).u32(h.size).u32(h.modTime).u32(h.checksum).u32(h.resForkReceivedChecksum).u32(h.resForkSize)
    .u32(h.creationTime).u32(h.resForkChecksum).u32(h.bytesReceived).u32(h.receivedChecksum)
    .bytes(id).bytes(new Uint8Array(32 - id.length))
    .u8(h.flags).u8(h.listNameOffset).u8(h.listSizeOffset)
    .bytes(new Uint8Array(69)).bytes(new Uint8Array(16))
    .u16(charset).u16(h.charsetSubset)
    .bytes(name).bytes(new Uint8Array(nameField - name.length));
  return w.finish();
}

/** True on little-endian hosts (every host certim runs on in practice; the checksum has a byte loop for the rest). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The checksum of no bytes (and the start value of every checksum). */
export const OFT_CHECKSUM_EMPTY = 0xffff0000;

/**
 * Continues an OFT checksum over `data`, whose first byte sits at absolute file offset `offset` (docs/protocol.md
 * §8.5): a ones'-complement style running difference of the file read as big-endian 16-bit words, folded to 16
 * bits and kept in the upper half. `prev` is the checksum of the bytes before `offset` ({@link OFT_CHECKSUM_EMPTY}
 * at the start), so a file can be checksummed chunk by chunk.
 */
export function oftChecksum(data: Uint8Array, prev = OFT_CHECKSUM_EMPTY, offset = 0): number {
  // The reference subtracts byte by byte and, when a subtraction wraps below zero, subtracts one more: that keeps
  // the running value in [0, 2^32 - 2] and congruent to (start - everything subtracted) modulo 2^32 - 1, so the
  // same value is obtained by summing the big-endian 16-bit words and reducing once (sums stay below 2^53).
  const M = 0xffffffff;
  let sum = 0;
  const n = data.length;
  let i = 0;
  if ((offset & 1) === 1 && n > 0) {
    sum = data[0]!;
    i = 1;
  }
  // Four bytes (two words) at a time where the memory is 4-aligned (little-endian hosts): a 32-bit read holds bytes
  // b0..b3 as b0 | b1<<8 | b2<<16 | b3<<24 and the two words are b0<<8|b1 and b2<<8|b3, so the words' sum is
  // 256*(b0+b2) + (b1+b3). Two 16-bit lanes collect b0,b2 and b1,b3; 256 reads keep each lane below 2^16.
  if (LITTLE_ENDIAN && n - i >= 64) {
    if (((data.byteOffset + i) & 3) === 2) {
      sum += (data[i]! << 8) | data[i + 1]!;
      i += 2;
    }
    if (((data.byteOffset + i) & 3) === 0) {
      const words = (n - i) >>> 2;
      const view = new Int32Array(data.buffer, data.byteOffset + i, words); // Int32, not Uint32: no heap numbers above 2^31
      for (let w = 0; w < words;) {
        const end = Math.min(words, w + 256);
        let hi = 0;
        let lo = 0;
        for (; w < end; w++) {
          const x = view[w]!;
          hi += x & 0x00ff00ff;
          lo += (x >>> 8) & 0x00ff00ff;
        }
        sum += ((hi & 0xffff) + (hi >>> 16)) * 256 + (lo & 0xffff) + (lo >>> 16);
      }
      i += words * 4;
    }
  }
  for (; i + 1 < n; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < n) sum += data[i]! << 8;
  let c = (prev >>> 16) - (sum % M);
  if (c < 0) c += M;
  c = (c & 0xffff) + Math.floor(c / 0x10000);
  c = (c & 0xffff) + (c >>> 16);
  return (c << 16) >>> 0;
}
