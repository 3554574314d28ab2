/**
 * Client-only protocol policy: what certim sends about itself. The SNAC body codecs for both directions live in
 * src/wire/families/ (one declaration per body); this file holds only the values the client fills them with.
 */
import type { ClientOnlineEntry } from '../wire/families/oservice.js';
import type { IcbmParameters } from '../wire/families/icbm.js';

/** Client id string sent at login (TLV 0x0003). */
export const CLIENT_ID = 'certim';

/** Families and versions the client speaks on BOS (01/17 and 01/02; AIM 5.5 tuples, docs/protocol.md §2.2). */
export const CLIENT_FAMILIES: readonly ClientOnlineEntry[] = [
  { family: 0x0001, version: 0x0004, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0002, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0003, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0004, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0009, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0013, version: 0x0004, toolId: 0x0110, toolVersion: 0x0801 },
];

/** 04/02 ICBM parameters: channel 0 (all), IMs + missed calls + typing, 8000-byte messages (secure IMs are ~1 KB+). */
export const CLIENT_ICBM_PARAMETERS: IcbmParameters = {
  channel: 0,
  flags: 0x0000000b,
  maxMessageLength: 8000,
  maxSenderWarn: 999,
  maxReceiverWarn: 999,
  minInterval: 0,
};
