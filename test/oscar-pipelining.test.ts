/**
 * IMs from one connection to a user on another node overlap (connection.ts, drainAfter; icbm.ts, afterEarlierIms):
 * the next IM is dispatched while the last one still waits for the other node's answer, up to MAX_PIPELINED, and
 * still the recipient gets them in order, the sender's acks and replies come in the order it sent, and IMs stored
 * for a user online nowhere are stored in that order. Two nodes over one in-process hub, real sockets; node A's
 * directory holds each answer from "the other node" until the test releases it (dispatch itself happens at once, as
 * a NATS publish does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tlv } from '../src/wire/tlv.js';
import type { DeliveryDirectory, DeliveryResult } from '../src/server/cluster/directory.js';
import { LocalDirectoryHub } from '../src/server/cluster/local-directory.js';
import { MAX_PIPELINED } from '../src/server/net/connection.js';
import { FlapChannel } from '../src/wire/flap.js';
import { decodeSnac, type Snac } from '../src/wire/snac.js';
import type { OscarServer } from '../src/server/net/oscar-server.js';
import { LOOSE_RATE_CLASSES, startOscarFixture, startSecondNode } from './support/oscar-server-fixture.js';
import { imBody, parseIncomingIm, signOn, type BosClient } from './support/oscar-test-client.js';

/** A directory whose `sendToUser` dispatches at once and answers when released (no synchronous `sendToUserNow`). */
function heldAnswers(inner: DeliveryDirectory): { directory: DeliveryDirectory; held: Array<() => void>; dispatched: () => number } {
  const held: Array<() => void> = [];
  let dispatched = 0;
  const directory = new Proxy(inner, {
    get(target, key) {
      if (key === 'sendToUserNow') return undefined;
      if (key === 'sendToUser') {
        return (user: string, envelope: Parameters<DeliveryDirectory['sendToUser']>[1]): Promise<DeliveryResult> => {
          dispatched++;
          const answer = target.sendToUser(user, envelope);
          return new Promise((resolve) => held.push(() => resolve(answer)));
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { directory, held, dispatched: () => dispatched };
}

const cookie = (i: number) => Uint8Array.of(0, 0, 0, 0, 0, 0, i >> 8, i & 0xff);
const cookieNo = (c: Uint8Array): number => (c[6]! << 8) | c[7]!;

async function twoNodes(body: (a: { port: number }, b: { port: number }, gate: ReturnType<typeof heldAnswers>) => Promise<void>): Promise<void> {
  const hub = new LocalDirectoryHub();
  const gate = heldAnswers(hub.directory('node-a'));
  const config = { rateClasses: LOOSE_RATE_CLASSES };
  const fx = await startOscarFixture({ engine: { directory: gate.directory, config } });
  let nodeB: OscarServer | undefined;
  try {
    for (const [u, p] of [['carol', 'pw1'], ['dave', 'pw2']] as const) await fx.addUser(u, p);
    const b = await startSecondNode(fx, { directory: hub.directory('node-b'), config });
    nodeB = b.server;
    await body({ port: fx.port }, { port: b.port }, gate);
  } finally {
    await nodeB?.close();
    await fx.stop();
  }
}

/** Releases every held answer, newest first (an order a busy cluster could answer in). */
function releaseNewestFirst(held: Array<() => void>): void {
  for (const r of held.splice(0).reverse()) r();
}

/** The next `n` SNACs `c` receives that `pred` accepts (family and subtype), in order of arrival. */
async function nextSnacs(c: BosClient, n: number, pred: (family: number, subtype: number) => boolean): Promise<Snac[]> {
  const out: Snac[] = [];
  while (out.length < n) {
    const f = await c.conn.nextFrame((fr) => {
      if (fr.channel !== FlapChannel.Data) return false;
      const s = decodeSnac(fr.payload);
      return pred(s.family, s.subtype);
    });
    out.push(decodeSnac(f.payload));
  }
  return out;
}

test('IMs to a user on another node are dispatched without waiting for each answer; acks and replies keep the order sent', async () => {
  await twoNodes(async (a, b, gate) => {
    const carol = await signOn(b, 'carol', 'pw1', 'md5-strong');
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong');
    for (let i = 1; i <= 5; i++) dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', `im ${i}`, [tlv(0x0003)], cookie(i)));
    dave.conn.sendSnac(0x0004, 0x0004); // ICBM parameter query: not pipelined, answered after every IM before it
    // All five reach carol while node A still waits for the first answer.
    const got = await nextSnacs(carol, 5, (f, s) => f === 4 && s === 7);
    assert.deepEqual(got.map((g) => Buffer.from(parseIncomingIm(g.body).text!).toString()), ['im 1', 'im 2', 'im 3', 'im 4', 'im 5']);
    assert.equal(gate.dispatched(), 5);
    assert.equal(await dave.conn.noSnac(0x0004, 0x000c, 150), true, 'no ack before the other node answered');
    releaseNewestFirst(gate.held);
    const replies = await nextSnacs(dave, 6, (f, s) => f === 4 && (s === 0x0c || s === 0x05));
    assert.deepEqual(replies.map((r) => (r.subtype === 0x0c ? cookieNo(r.body.subarray(0, 8)) : 'params')), [1, 2, 3, 4, 5, 'params']);
    carol.conn.close();
    dave.conn.close();
  });
});

test('at most MAX_PIPELINED IMs of one connection are in flight; the rest wait for them', async () => {
  await twoNodes(async (a, b, gate) => {
    const carol = await signOn(b, 'carol', 'pw1', 'md5-strong');
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong');
    const total = MAX_PIPELINED + 3;
    for (let i = 1; i <= total; i++) dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', `im ${i}`, [], cookie(i)));
    const first = await nextSnacs(carol, MAX_PIPELINED, (f, s) => f === 4 && s === 7);
    assert.equal(await carol.conn.noSnac(0x0004, 0x0007, 150), true, 'the IM past the bound waits');
    assert.equal(gate.dispatched(), MAX_PIPELINED);
    releaseNewestFirst(gate.held);
    const rest = await nextSnacs(carol, 3, (f, s) => f === 4 && s === 7);
    assert.deepEqual([...first, ...rest].map((g) => cookieNo(parseIncomingIm(g.body).cookie)), Array.from({ length: total }, (_, i) => i + 1));
    releaseNewestFirst(gate.held);
    carol.conn.close();
    dave.conn.close();
  });
});

test('overlapping IMs to a user online nowhere are stored in the order sent', async () => {
  await twoNodes(async (a, b, gate) => {
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong');
    for (let i = 1; i <= 6; i++) dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', `stored ${i}`, [tlv(0x0003), tlv(0x0006)], cookie(i)));
    while (gate.held.length < 6) await new Promise((r) => setTimeout(r, 5));
    releaseNewestFirst(gate.held);
    const acks = await nextSnacs(dave, 6, (f, s) => f === 4 && s === 0x0c);
    assert.deepEqual(acks.map((r) => cookieNo(r.body.subarray(0, 8))), [1, 2, 3, 4, 5, 6]);
    const carol = await signOn(b, 'carol', 'pw1', 'md5-strong');
    const got = await nextSnacs(carol, 6, (f, s) => f === 4 && s === 7);
    assert.deepEqual(got.map((g) => Buffer.from(parseIncomingIm(g.body).text!).toString()), [1, 2, 3, 4, 5, 6].map((i) => `stored ${i}`));
    carol.conn.close();
    dave.conn.close();
  });
});
