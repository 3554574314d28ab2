/**
 * The rendezvous proxy (docs/protocol.md §8.3) across three real `certim server --cluster` processes: Alice signed
 * on at node A and Bob at node B pair through A's proxy — the proxy of the node that relayed Alice's proposal, which
 * remembers it; B is only asked (through the directory) whether Bob is signed on. Bytes cross both ways intact. An
 * init-send at a node where the proposer is not signed on (C), and an init-recv at a node that never relayed the
 * proposal (B), are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { decodeIcbmChannelMsgToClient } from '../src/wire/icbm-message.js';
import { RvProxyErrorCode } from '../src/wire/rv-proxy.js';
import { TestCluster } from './support/cluster-harness.js';
import { signOn } from './support/oscar-test-client.js';
import { ProxyClient, proxiedProposal } from './support/rv-proxy-client.js';

let cluster: TestCluster;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  cluster = await TestCluster.start(3);
  for (const u of ['alice', 'bob']) await cluster.addUser(u, `${u}-pw`);
});
after(async () => {
  await cluster?.stop();
});

test('two peers signed on to different nodes pair through the proposer\'s node\'s proxy', { timeout: 120_000 }, async () => {
  const [a, b, c] = cluster.nodes.map((n) => n.ready);
  const alice = await signOn({ port: a!.oscar }, 'alice', 'alice-pw', 'md5-strong');
  const bob = await signOn({ port: b!.oscar }, 'bob', 'bob-pw', 'md5-strong');

  // Alice is not signed on at C: C's proxy refuses her init-send.
  const wrongNode = await ProxyClient.open(c!.proxy);
  await assert.rejects(wrongNode.initSend('alice', randomBytes(8)), /expected ack/);
  wrongNode.close();

  const cookie = randomBytes(8);
  const pa = await ProxyClient.open(a!.proxy);
  const ack = await pa.initSend('alice', cookie);
  alice.conn.sendSnac(0x0004, 0x0006, proxiedProposal('bob', cookie, ack.port, ack.ipv4));
  const got = decodeIcbmChannelMsgToClient((await bob.conn.expectSnac(0x0004, 0x0007, 5000)).body);
  assert.deepEqual([got.channel, [...got.cookie]], [2, [...cookie]], 'the proposal crossed from A to B');

  // B never relayed the proposal: its proxy does not know the rendezvous.
  const atB = await ProxyClient.open(b!.proxy);
  atB.sendInitRecv('bob', cookie, ack.port);
  assert.equal(await atB.error(), RvProxyErrorCode.BadRequest);
  atB.close();

  // Bob, signed on at B, joins at A's proxy (the address the proposal carries; `port` is the pairing number).
  const pb = await ProxyClient.open(a!.proxy);
  pb.sendInitRecv('bob', cookie, ack.port);
  await Promise.all([pa.ready(), pb.ready()]);
  const toBob = randomBytes(2 * 1024 * 1024);
  const toAlice = randomBytes(1024 * 1024);
  pa.socket.write(toBob);
  pb.socket.write(toAlice);
  await pb.until(() => pb.data().length >= toBob.length, 'bytes at bob', 20_000);
  await pa.until(() => pa.data().length >= toAlice.length, 'bytes at alice', 20_000);
  assert.equal(sha(pb.data()), sha(toBob));
  assert.equal(sha(pa.data()), sha(toAlice));
  pa.close();
  pb.close();
  alice.conn.close();
  bob.conn.close();
});
