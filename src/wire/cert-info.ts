/**
 * The AIM Secure IM certificate-info block (docs/protocol.md §6.1, `JP/snaccmd/CertificateInfo.java`, `S0`): the value
 * of Locate `02/04`/`02/06` TLV 0x0006. A TLV rest-list, written in this order:
 *
 *   0x0004 u16 numcerts (1 = one common cert, 2 = separate certs)
 *   0x0001 DER cert: the common cert (N=1) or the ENCRYPTION cert (N=2)
 *   0x0002 DER SIGNING cert (N=2 only)
 *   0x0005 BART ID type 0x0402 flags 0x01 len 16 hash A   (official clients: MD5(""))
 *   0x0006 BART ID type 0x0403 flags 0x01 len 16 hash B   (official clients: MD5(""))
 *
 * Certificates are opaque DER bytes here; X.509 parsing belongs to pki/. Buddies see MD5 over exactly the
 * block bytes (user-info TLV 0x001B, §4.2), so servers must store and re-serve the received bytes verbatim.
 */
import { ByteReader, ByteWriter, WireError, fromHex } from './bytes.js';
import { BartType, decodeExtraInfoBlock, encodeExtraInfoBlock, type ExtraInfoBlock } from './extra-info.js';
import { md5 } from './md5.js';
import { readTlvRestList, tlv, tlvU16, writeTlvRestList, type Tlv } from './tlv.js';

/** TLV types inside the certificate-info block. */
export const CertInfoTlv = {
  /** Common cert (N=1) or encryption cert (N=2). */
  CertA: 0x0001,
  /** Signing cert (N=2). */
  CertB: 0x0002,
  NumCerts: 0x0004,
  HashA: 0x0005,
  HashB: 0x0006,
} as const;

/** MD5 of empty input — the value official clients put in both hash BART IDs. */
export const MD5_EMPTY: Uint8Array = fromHex('d41d8cd98f00b204e9800998ecf8427e');

/** Flags of the certificate hash BART IDs. */
export const CERT_HASH_BART_FLAGS = 0x01;

/** A decoded (or to-be-encoded) certificate-info block. */
export interface CertificateInfo {
  /** 1 = one common cert, 2 = separate encryption and signing certs. */
  readonly numCerts: 1 | 2;
  /** TLV 0x0001: common cert (N=1) or encryption cert (N=2); undefined in the "clear certificates" form. */
  readonly certA: Uint8Array | undefined;
  /** TLV 0x0002: signing cert (N=2 only). */
  readonly certB: Uint8Array | undefined;
  /** TLV 0x0005 BART ID (type 0x0402). */
  readonly hashA: ExtraInfoBlock | undefined;
  /** TLV 0x0006 BART ID (type 0x0403). */
  readonly hashB: ExtraInfoBlock | undefined;
}

/** The encryption certificate: certA in both forms. */
export function encryptionCert(ci: CertificateInfo): Uint8Array | undefined {
  return ci.certA;
}

/** The signing certificate: certA when N=1 (one common cert), certB when N=2. */
export function signingCert(ci: CertificateInfo): Uint8Array | undefined {
  return ci.numCerts === 1 ? ci.certA : ci.certB;
}

/** True for the "clear certificates" form (no cert present). */
export function isClearedCertificateInfo(ci: CertificateInfo): boolean {
  return ci.certA === undefined && ci.certB === undefined;
}

/**
 * Decodes a certificate-info block from any client: TLVs in any order, unknown TLVs ignored, repeated types
 * resolved to the last occurrence. Rules:
 * - numcerts absent: inferred (2 if a signing cert is present, else 1) — tolerant of minimal writers;
 * - numcerts other than 1/2: BAD_VALUE; numcerts 2 without TLV 0x0002 (or without 0x0001): BAD_VALUE;
 * - numcerts 1 with a stray TLV 0x0002: the stray cert is ignored (certB undefined);
 * - a hash TLV that is not exactly one ExtraInfoBlock: WireError from the BART decoder.
 * The block's hash is {@link certInfoHash} over the received bytes — never over a re-encoding.
 */
export function decodeCertificateInfo(buf: Uint8Array): CertificateInfo {
  const tlvs = readTlvRestList(new ByteReader(buf));
  const certA = tlvs.bytes(CertInfoTlv.CertA);
  const rawB = tlvs.bytes(CertInfoTlv.CertB);
  const nTlv = tlvs.getLast(CertInfoTlv.NumCerts);
  let numCerts: number;
  if (nTlv === undefined) numCerts = rawB !== undefined ? 2 : 1;
  else numCerts = tlvs.u16(CertInfoTlv.NumCerts)!;
  if (numCerts !== 1 && numCerts !== 2) {
    throw new WireError('BAD_VALUE', nTlv?.offset ?? 0, `numcerts must be 1 or 2, is ${numCerts}`);
  }
  if (numCerts === 2 && (certA === undefined || rawB === undefined)) {
    throw new WireError('BAD_VALUE', nTlv?.offset ?? 0, 'numcerts 2 needs both TLV 0x0001 and TLV 0x0002');
  }
  return {
    numCerts,
    certA,
    certB: numCerts === 2 ? rawB : undefined,
    hashA: hashBlock(tlvs.getLast(CertInfoTlv.HashA)),
    hashB: hashBlock(tlvs.getLast(CertInfoTlv.HashB)),
  };
}

function hashBlock(t: Tlv | undefined): ExtraInfoBlock | undefined {
  if (t === undefined) return undefined;
  try {
    return decodeExtraInfoBlock(t.value);
  } catch (e) {
    throw e instanceof WireError ? new WireError(e.code, t.offset + e.offset, `cert hash TLV: ${e.reason}`) : e;
  }
}

/** Input for {@link encodeCertificateInfo}. */
export interface CertificateInfoInput {
  /** Common cert (N=1) or encryption cert (N=2). Omit for the "clear certificates" form. */
  certA?: Uint8Array;
  /** Signing cert; its presence makes numcerts 2. */
  certB?: Uint8Array;
  /** Hash A data (default MD5("")). */
  hashA?: Uint8Array;
  /** Hash B data (default MD5("")). */
  hashB?: Uint8Array;
}

/** Encodes a certificate-info block in AIM's order: 0x0004, 0x0001, [0x0002], 0x0005, 0x0006. */
export function encodeCertificateInfo(input: CertificateInfoInput): Uint8Array {
  if (input.certB !== undefined && input.certA === undefined) throw new RangeError('a signing cert needs an encryption cert');
  const list: Tlv[] = [tlvU16(CertInfoTlv.NumCerts, input.certB !== undefined ? 2 : 1)];
  if (input.certA !== undefined) list.push(tlv(CertInfoTlv.CertA, input.certA));
  if (input.certB !== undefined) list.push(tlv(CertInfoTlv.CertB, input.certB));
  list.push(tlv(CertInfoTlv.HashA, encodeExtraInfoBlock({ type: BartType.CertHashA, flags: CERT_HASH_BART_FLAGS, data: input.hashA ?? MD5_EMPTY })));
  list.push(tlv(CertInfoTlv.HashB, encodeExtraInfoBlock({ type: BartType.CertHashB, flags: CERT_HASH_BART_FLAGS, data: input.hashB ?? MD5_EMPTY })));
  return writeTlvRestList(new ByteWriter(64 + (input.certA?.length ?? 0) + (input.certB?.length ?? 0)), list).finish();
}

/** The "clear certificates" block: numcerts 1, no cert TLV, default hashes (joustsim CERTINFO_EMPTY). */
export function encodeClearedCertificateInfo(): Uint8Array {
  return encodeCertificateInfo({});
}

/**
 * The hash buddies see in user-info TLV 0x001B: MD5 over exactly `blockBytes`, the Locate TLV 0x0006 value
 * without its TLV header (§4.2). No trailing bytes are included (joscar's readCertInfoBlock bug, §9.10).
 */
export function certInfoHash(blockBytes: Uint8Array): Uint8Array {
  return md5(blockBytes);
}
