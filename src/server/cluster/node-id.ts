/**
 * Node names of a cluster. A name is a NATS subject token (it is part of the subject a node receives deliveries
 * on) and unique for the life of the cluster: host, process id and random bits, so a restarted process on the same
 * host is a new node (its predecessor's sessions are cleaned up as a dead node's, never adopted).
 */
import { randomBytes } from 'node:crypto';

/** Valid node names: 1-64 characters A-Z a-z 0-9 _ - (no dots: a node name is one subject token). */
export const NODE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh node name `<host>-<pid>-<8 hex>`, the host cut to 32 safe characters. */
export function newNodeName(host: string, pid: number, random: Uint8Array = randomBytes(4)): string {
  const h = host.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || 'node';
  return `${h}-${pid}-${Buffer.from(random).toString('hex')}`;
}

/** True when `name` can be used as a node name. */
export function isNodeName(name: string): boolean {
  return NODE_NAME_RE.test(name);
}
