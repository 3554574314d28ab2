/**
 * The delivery outbox's order of events, with a recording stand-in for the NATS request/reply client (the outbox
 * on a real NATS server is covered by the directory conformance suite, test/directory-nats.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Msg } from '@nats-io/transport-node';
import { DirectoryError } from './directory.js';
import { decodeDeliveryBatch, decodeDeliveryRequest, encodeDeliveryCounts } from './nats-codec.js';
import { DeliveryOutbox } from './nats-outbox.js';
import type { NatsRpc } from './nats-rpc.js';

function recorder(): { events: string[]; rpc: NatsRpc; answer: (i: number, counts: number[]) => void } {
  const events: string[] = [];
  const calls: ((m: Msg) => void)[] = [];
  const rpc = {
    call(subject: string, data: Uint8Array): Promise<Msg> {
      const froms = decodeDeliveryBatch(data).map((b) => decodeDeliveryRequest(b).envelope.from);
      events.push(`batch ${subject} ${froms.join(',')}`);
      return new Promise((resolve) => calls.push(resolve));
    },
  } as unknown as NatsRpc;
  const answer = (i: number, counts: number[]): void => calls[i]!({ data: encodeDeliveryCounts(counts) } as Msg);
  return { events, rpc, answer };
}

const request = (from: string) => ({ sessionIds: ['s'], envelope: { from, delivery: { kind: 'snac' as const, family: 4, subtype: 7, body: new Uint8Array(3) } } });
const replyTo = (events: string[], name: string) => ({ respond: () => (events.push(`reply ${name}`), true) });

test('replies owed and requests queued in one turn leave together at its end, replies first, each batch per node in call order', async () => {
  const { events, rpc, answer } = recorder();
  const outbox = new DeliveryOutbox(rpc, (node) => `deliver.${node}`, 1000);
  const a1 = outbox.send('b', request('a1'));
  outbox.reply(replyTo(events, 'r1'), new Uint8Array(4));
  const a2 = outbox.send('c', request('a2'));
  const a3 = outbox.send('b', request('a3'));
  outbox.reply(replyTo(events, 'r2'), new Uint8Array(4));
  assert.deepEqual(events, [], 'nothing leaves before the end of the turn');
  await nextTurn();
  assert.deepEqual(events, ['reply r1', 'reply r2', 'batch deliver.b a1,a3', 'batch deliver.c a2']);
  answer(0, [2, 0]);
  answer(1, [1]);
  assert.deepEqual(await Promise.all([a1, a2, a3]), [2, 1, 0]);
});

test('a reply alone still leaves at the end of its turn', async () => {
  const { events, rpc } = recorder();
  const outbox = new DeliveryOutbox(rpc, (node) => node, 1000);
  outbox.reply(replyTo(events, 'alone'), new Uint8Array(0));
  await nextTurn();
  assert.deepEqual(events, ['reply alone']);
});

test('a reply that cannot be sent (connection closing) is dropped; the replies and batches after it still go', async () => {
  const { events, rpc } = recorder();
  const outbox = new DeliveryOutbox(rpc, (node) => node, 1000);
  outbox.reply({ respond: () => { throw new Error('connection closed'); } }, new Uint8Array(0));
  outbox.reply(replyTo(events, 'next'), new Uint8Array(0));
  void outbox.send('b', request('x'));
  await nextTurn();
  assert.deepEqual(events, ['reply next', 'batch b x']);
});

test('closing sends the replies owed and fails the requests still queued', async () => {
  const { events, rpc } = recorder();
  const outbox = new DeliveryOutbox(rpc, (node) => node, 1000);
  const queued = outbox.send('b', request('x'));
  outbox.reply(replyTo(events, 'owed'), new Uint8Array(0));
  outbox.close();
  assert.deepEqual(events, ['reply owed']);
  await assert.rejects(queued, (e: unknown) => DirectoryError.is(e, 'DIRECTORY_CLOSED'));
  await nextTurn();
  assert.deepEqual(events, ['reply owed'], 'nothing more leaves after close');
});
