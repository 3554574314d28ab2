/**
 * A peer connection's pin, as far as it is decided before any socket: a buddy whose key changed since the user
 * personally verified it gets no peer connection either way (the server runs the CA and could have issued the new
 * key for itself), exactly as an IM to that buddy is refused. Real sockets, proxy and TLS: test/peer-connection.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { RvType, decodeRendezvous, type RendezvousMessage } from '../../wire/rendezvous.js';
import type { BuddyRecord } from '../trust.js';
import { openPeerConnection, type PeerHost } from './peer-connection.js';
import { PeerError } from './peer-error.js';

const CAP = new Uint8Array(16).fill(7);
/** Short waits: without the refusal these rendezvous would wait for a buddy that never answers. */
const timeouts = { acceptMs: 2000, connectMs: 500, stageMs: 500, proxyMs: 500, tlsMs: 500 };

/** A signed-on client as far as the rendezvous needs one: it records the rendezvous messages it is asked to send. */
function host(record: BuddyRecord): { host: PeerHost; sent: RendezvousMessage[] } {
  const events = new EventEmitter();
  const sent: RendezvousMessage[] = [];
  const h = {
    screenName: 'me', serverHost: '127.0.0.1', identity: {},
    buddyCerts: async () => ({ record, signingDer: new Uint8Array([1, 2, 3]), encryptionDer: new Uint8Array([4]) }),
    sendRendezvous: async (_to: string, body: Uint8Array) => void sent.push(decodeRendezvous(body)),
    on: events.on.bind(events), off: events.off.bind(events),
  };
  return { host: h as unknown as PeerHost, sent };
}

const changed: BuddyRecord = { screenName: 'alice', fingerprint: 'bb'.repeat(32), previousFingerprint: 'aa'.repeat(32), verifiedFingerprint: 'aa'.repeat(32) } as BuddyRecord;

test('a buddy whose verified key changed: no proposal goes out, and none is accepted', async () => {
  const out = host(changed);
  await assert.rejects(openPeerConnection({ client: out.host, role: 'propose', to: 'alice', capability: CAP, advertise: '127.0.0.1', timeouts }), (e: unknown) => {
    assert.ok(PeerError.is(e, 'KEY_CHANGED'), String(e));
    assert.match((e as Error).message, /alice's key changed since you personally verified it .*no peer connection.*certim trust verify alice/);
    return true;
  });
  assert.deepEqual(out.sent, [], 'nothing was proposed');

  const inbound = host(changed);
  const proposal = { type: RvType.Propose, cookie: new Uint8Array(8).fill(1), capability: CAP, requestIndex: 1, tls: true, port: 5190, ip: '127.0.0.1' } as unknown as RendezvousMessage;
  await assert.rejects(openPeerConnection({ client: inbound.host, role: 'accept', from: 'alice', proposal, advertise: '127.0.0.1', timeouts }), (e: unknown) => PeerError.is(e, 'KEY_CHANGED'));
  assert.deepEqual(inbound.sent.map((m) => m.type), [RvType.Cancel], 'the proposal is declined, nothing accepted');
});

test('the same buddy once the user has decided (verified the new key, or accepted it) gets a proposal', async () => {
  for (const record of [
    { ...changed, verifiedFingerprint: changed.fingerprint }, // `certim trust verify alice NEW`
    { ...changed, verifiedFingerprint: undefined }, // `certim trust accept alice`: unverified, told
  ] as BuddyRecord[]) {
    const out = host(record);
    const ac = new AbortController();
    const running = openPeerConnection({ client: out.host, role: 'propose', to: 'alice', capability: CAP, advertise: '127.0.0.1', signal: ac.signal, timeouts });
    while (out.sent.length === 0) await new Promise((r) => setImmediate(r));
    assert.equal(out.sent[0]!.type, RvType.Propose);
    ac.abort();
    await assert.rejects(running, (e: unknown) => PeerError.is(e, 'ABORTED'));
  }
});
