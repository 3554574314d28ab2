/**
 * The server-stored buddy list, the feedbag (docs/protocol.md §3.9), from the client side: read it, add and
 * remove buddies and groups, block and unblock. Items keep AIM's layout so classic clients show the same list:
 * the root group (group id 0) orders the groups, each group (class 0x01) orders its buddies with attribute 0x00C8,
 * buddies are class 0x00, blocked users are deny items (class 0x03) and the privacy item (class 0x04) is set to
 * "block the deny list" (mode 4) when it still allows everyone.
 */
import { ByteReader, ByteWriter } from '../wire/bytes.js';
import {
  FEEDBAG_FAMILY, FeedbagAttr, FeedbagClass, FeedbagSubtype, decodeReply, decodeStatus, encodeItems, pdModeOf, type FeedbagItemWire,
} from '../wire/families/feedbag.js';
import type { Snac } from '../wire/snac.js';
import { readTlvRestList, tlv, writeTlvRestList } from '../wire/tlv.js';
import { normalizeScreenName, sameScreenName } from '../pki/screen-name.js';
import { ClientError } from './errors.js';

/** What the feedbag helpers need from a signed-on client (CertimClient has it). */
export interface SnacRequester {
  /** Sends a SNAC and resolves with its reply. */
  request(family: number, subtype: number, body: Uint8Array): Promise<Snac>;
}

/** The buddy list as a person reads it. */
export interface BuddyList {
  /** Groups in order, each with its buddies in order. */
  groups: Array<{ name: string; buddies: string[] }>;
  /** Blocked screen names. */
  blocked: string[];
}

/** The group new buddies go to when none is named. */
export const DEFAULT_GROUP = 'Buddies';

const STATUS_WORDS: Record<number, string> = {
  0x02: 'not found', 0x03: 'a second root group', 0x0a: 'item id already used', 0x0c: 'too many items on the list',
  0x0d: 'not allowed', 0x0e: 'authorization required', 0x10: 'bad format',
};

/** Reads the whole feedbag (13/04 -> 13/06). */
export async function readFeedbag(c: SnacRequester): Promise<FeedbagItemWire[]> {
  const reply = await c.request(FEEDBAG_FAMILY, FeedbagSubtype.QUERY, new Uint8Array(0));
  return decodeReply(reply.body).items;
}

/** The list as groups, buddies and blocks. */
export function buddyListOf(items: readonly FeedbagItemWire[]): BuddyList {
  const groups = items.filter((i) => i.classId === FeedbagClass.GROUP && i.groupId !== 0);
  const root = items.find((i) => i.classId === FeedbagClass.GROUP && i.groupId === 0);
  const rank = orderOf(root);
  groups.sort((a, b) => indexIn(rank, a.groupId) - indexIn(rank, b.groupId) || a.groupId - b.groupId);
  return {
    groups: groups.map((g) => {
      const order = orderOf(g);
      const buddies = items.filter((i) => i.classId === FeedbagClass.BUDDY && i.groupId === g.groupId);
      buddies.sort((a, b) => indexIn(order, a.itemId) - indexIn(order, b.itemId) || a.itemId - b.itemId);
      return { name: g.name, buddies: buddies.map((b) => b.name) };
    }),
    blocked: items.filter((i) => i.classId === FeedbagClass.DENY).map((i) => i.name),
  };
}

/** Adds `name` to `group` (created if needed). Resolves false when the buddy is already in that group. */
export async function addBuddy(c: SnacRequester, name: string, group = DEFAULT_GROUP): Promise<boolean> {
  const items = await readFeedbag(c);
  if (items.some((i) => i.classId === FeedbagClass.BUDDY && sameScreenName(i.name, name) && groupName(items, i.groupId) === group)) return false;
  let g = findGroup(items, group);
  if (!g) g = await createGroup(c, items, group);
  const buddy: FeedbagItemWire = { name, groupId: g.groupId, itemId: freeItemId(items), classId: FeedbagClass.BUDDY, attributes: new Uint8Array(0) };
  await edit(c, FeedbagSubtype.INSERT_ITEM, [buddy]);
  await edit(c, FeedbagSubtype.UPDATE_ITEM, [withOrder(g, [...orderOf(g), buddy.itemId])]);
  return true;
}

/** Removes `name` from every group (or only from `group`). Resolves the number of entries removed. */
export async function removeBuddy(c: SnacRequester, name: string, group?: string): Promise<number> {
  const items = await readFeedbag(c);
  const gone = items.filter((i) => i.classId === FeedbagClass.BUDDY && sameScreenName(i.name, name) && (group === undefined || groupName(items, i.groupId) === group));
  if (gone.length === 0) return 0;
  await edit(c, FeedbagSubtype.DELETE_ITEM, gone);
  const groups = items.filter((i) => i.classId === FeedbagClass.GROUP && gone.some((b) => b.groupId === i.groupId));
  await edit(c, FeedbagSubtype.UPDATE_ITEM, groups.map((g) => withOrder(g, orderOf(g).filter((id) => !gone.some((b) => b.itemId === id)))));
  return gone.length;
}

/** Creates an empty group. Resolves false when it exists. */
export async function addGroup(c: SnacRequester, group: string): Promise<boolean> {
  const items = await readFeedbag(c);
  if (findGroup(items, group)) return false;
  await createGroup(c, items, group);
  return true;
}

/** Removes a group; refuses (BAD_ARGUMENT) while it still has buddies unless `withBuddies`. */
export async function removeGroup(c: SnacRequester, group: string, withBuddies = false): Promise<void> {
  const items = await readFeedbag(c);
  const g = findGroup(items, group);
  if (!g) throw new ClientError('BAD_ARGUMENT', `there is no group "${group}" on your buddy list`);
  const members = items.filter((i) => i.classId === FeedbagClass.BUDDY && i.groupId === g.groupId);
  if (members.length > 0 && !withBuddies) {
    throw new ClientError('BAD_ARGUMENT', `group "${group}" still has ${members.length} buddies; remove them first, or pass --with-buddies`);
  }
  if (members.length > 0) await edit(c, FeedbagSubtype.DELETE_ITEM, members);
  await edit(c, FeedbagSubtype.DELETE_ITEM, [g]);
  const root = items.find((i) => i.classId === FeedbagClass.GROUP && i.groupId === 0);
  if (root) await edit(c, FeedbagSubtype.UPDATE_ITEM, [withOrder(root, orderOf(root).filter((id) => id !== g.groupId))]);
}

/** Blocks `name` (a deny item; the privacy mode becomes "block the deny list" if it allowed everyone). */
export async function block(c: SnacRequester, name: string): Promise<boolean> {
  const items = await readFeedbag(c);
  if (items.some((i) => i.classId === FeedbagClass.DENY && sameScreenName(i.name, name))) return false;
  await edit(c, FeedbagSubtype.INSERT_ITEM, [{ name, groupId: 0, itemId: freeItemId(items), classId: FeedbagClass.DENY, attributes: new Uint8Array(0) }]);
  const pd = items.find((i) => i.classId === FeedbagClass.PD_INFO);
  if (pd && pdModeOf(pd.attributes) === 1) await edit(c, FeedbagSubtype.UPDATE_ITEM, [{ ...pd, attributes: setAttr(pd.attributes, FeedbagAttr.PD_MODE, new Uint8Array([4])) }]);
  return true;
}

/** Unblocks `name`. Resolves false when it was not blocked. */
export async function unblock(c: SnacRequester, name: string): Promise<boolean> {
  const items = await readFeedbag(c);
  const gone = items.filter((i) => i.classId === FeedbagClass.DENY && sameScreenName(i.name, name));
  if (gone.length === 0) return false;
  await edit(c, FeedbagSubtype.DELETE_ITEM, gone);
  return true;
}

async function edit(c: SnacRequester, subtype: number, items: FeedbagItemWire[]): Promise<void> {
  if (items.length === 0) return;
  const reply = await c.request(FEEDBAG_FAMILY, subtype, encodeItems(items));
  const bad = decodeStatus(reply.body).map((code, i) => [code, items[i]!] as const).filter(([code]) => code !== 0);
  if (bad.length > 0) {
    const [code, item] = bad[0]!;
    throw new ClientError('SEND_FAILED', `the server refused the buddy list change for "${item.name}": ${STATUS_WORDS[code] ?? `status 0x${code.toString(16)}`}`);
  }
}

async function createGroup(c: SnacRequester, items: FeedbagItemWire[], name: string): Promise<FeedbagItemWire> {
  const used = new Set(items.map((i) => i.groupId));
  let gid = 1;
  while (used.has(gid)) gid++;
  const group: FeedbagItemWire = { name, groupId: gid, itemId: 0, classId: FeedbagClass.GROUP, attributes: orderAttr([]) };
  await edit(c, FeedbagSubtype.INSERT_ITEM, [group]);
  const root = items.find((i) => i.classId === FeedbagClass.GROUP && i.groupId === 0);
  if (root) await edit(c, FeedbagSubtype.UPDATE_ITEM, [withOrder(root, [...orderOf(root), gid])]);
  else await edit(c, FeedbagSubtype.INSERT_ITEM, [{ name: '', groupId: 0, itemId: 0, classId: FeedbagClass.GROUP, attributes: orderAttr([...items.filter((i) => i.classId === FeedbagClass.GROUP).map((i) => i.groupId), gid]) }]);
  items.push(group);
  return group;
}

function findGroup(items: readonly FeedbagItemWire[], name: string): FeedbagItemWire | undefined {
  return items.find((i) => i.classId === FeedbagClass.GROUP && i.groupId !== 0 && normalizeScreenName(i.name) === normalizeScreenName(name));
}

function groupName(items: readonly FeedbagItemWire[], gid: number): string | undefined {
  return items.find((i) => i.classId === FeedbagClass.GROUP && i.groupId === gid)?.name;
}

function freeItemId(items: readonly FeedbagItemWire[]): number {
  const used = new Set(items.map((i) => i.itemId));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

function orderOf(item: FeedbagItemWire | undefined): number[] {
  if (!item) return [];
  const v = readTlvRestList(new ByteReader(item.attributes)).bytes(FeedbagAttr.ORDER);
  if (!v) return [];
  const out: number[] = [];
  for (let i = 0; i + 1 < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
  return out;
}

function indexIn(order: readonly number[], id: number): number {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

function orderAttr(ids: readonly number[]): Uint8Array {
  const w = new ByteWriter(ids.length * 2 + 2);
  for (const id of ids) w.u16(id);
  return writeTlvRestList(new ByteWriter(ids.length * 2 + 8), [tlv(FeedbagAttr.ORDER, w.finish())]).finish();
}

function withOrder(item: FeedbagItemWire, ids: readonly number[]): FeedbagItemWire {
  const w = new ByteWriter(ids.length * 2 + 2);
  for (const id of ids) w.u16(id);
  return { ...item, attributes: setAttr(item.attributes, FeedbagAttr.ORDER, w.finish()) };
}

function setAttr(attributes: Uint8Array, type: number, value: Uint8Array): Uint8Array {
  const list = readTlvRestList(new ByteReader(attributes));
  const others = [...list].filter((t) => t.type !== type).map((t) => tlv(t.type, t.value));
  return writeTlvRestList(new ByteWriter(attributes.length + value.length + 8), [...others, tlv(type, value)]).finish();
}
