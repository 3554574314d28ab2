/** Family 0x0009 PermitDeny (docs/protocol.md §3.5) for non-feedbag clients. */
import { ByteReader, ByteWriter } from '../bytes.js';
import { tlvU16, writeTlvRestList } from '../tlv.js';

/** PermitDeny family id. */
export const PERMIT_DENY_FAMILY = 0x0009;

/** PermitDeny subtypes. */
export const PermitDenySubtype = {
  ERROR: 0x01,
  RIGHTS_QUERY: 0x02,
  RIGHTS_REPLY: 0x03,
  SET_GROUP_PERMIT_MASK: 0x04,
  ADD_PERMIT: 0x05,
  DEL_PERMIT: 0x06,
  ADD_DENY: 0x07,
  DEL_DENY: 0x08,
  ADD_TEMP_PERMIT: 0x0a,
  DEL_TEMP_PERMIT: 0x0b,
} as const;

/** Encodes 09/03: TLVs 0x01 max permits, 0x02 max denies, 0x03 max temp permits. */
export function encodeRights(maxPermits: number, maxDenies: number): Uint8Array {
  return writeTlvRestList(new ByteWriter(18), [tlvU16(0x0001, maxPermits), tlvU16(0x0002, maxDenies), tlvU16(0x0003, 100)]).finish();
}

/** Decodes 09/04: u32 group permit mask. */
export function decodePermitMask(body: Uint8Array): number {
  return new ByteReader(body).u32('permit mask');
}

export { decodeScreenNameList } from './buddy.js';
