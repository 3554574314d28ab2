/** Family 0x0009 PermitDeny (docs/protocol.md §3.5) for non-feedbag clients. */
import { body, tlvFields, tlvReq, u16, u32, type Infer } from '../codec.js';

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

/** 09/03 PD rights reply (docs/protocol.md §3.5): TLVs 0x01 max permits, 0x02 max denies, 0x03 max temp permits. */
export const SNAC_0x09_0x03_PermitDenyRightsReply = tlvFields({
  maxPermits: tlvReq(0x0001, u16),
  maxDenies: tlvReq(0x0002, u16),
  maxTempPermits: tlvReq(0x0003, u16),
}, { capacity: 18 });
/** 09/03 PD rights reply. */
export type SNAC_0x09_0x03_PermitDenyRightsReply = Infer<typeof SNAC_0x09_0x03_PermitDenyRightsReply>;

/** Encodes 09/03 with certim's fixed temp-permit maximum (100). */
export function encodeRights(maxPermits: number, maxDenies: number): Uint8Array {
  return SNAC_0x09_0x03_PermitDenyRightsReply.encode({ maxPermits, maxDenies, maxTempPermits: 100 });
}

/** 09/04 set group permit mask (docs/protocol.md §3.5): u32 mask; bytes after it are ignored, as always here. */
export const SNAC_0x09_0x04_PermitDenySetGroupPermitMask = body(u32, { trailing: 'ignore' });

/** Decodes 09/04: u32 group permit mask. */
export const decodePermitMask: (body: Uint8Array) => number = SNAC_0x09_0x04_PermitDenySetGroupPermitMask.decode;

export { decodeScreenNameList } from './buddy.js';
