/**
 * What `certim chat` keeps of incoming file offers, against a hostile or racing buddy: one offer per sender, a bound
 * on senders, withdrawal by the sender's cancel, expiry, and `/accept` / `/decline` taking the open conversation's
 * offer. The transfer functions are stand-ins here (test/chat-files.test.ts runs real transfers in a real chat).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { CertimClient } from '../../client/client.js';
import { SEND_FILE_CAPABILITY, type FileOffer } from '../../client/peer/index.js';
import { RvType, encodeSendFileServiceData, type RendezvousMessage } from '../../wire/rendezvous.js';
import { ChatFiles, MAX_PENDING_OFFERS, OFFER_TTL_MS, type OfferOps } from './chat-files.js';

function proposal(name: string, cookieByte: number): RendezvousMessage {
  return {
    type: RvType.Propose, cookie: new Uint8Array(8).fill(cookieByte), capability: SEND_FILE_CAPABILITY, requestIndex: 1, tls: true,
    serviceData: encodeSendFileServiceData({ kind: 1, fileCount: 1, totalSize: 1000, name }),
  };
}

function harness() {
  const client = new EventEmitter() as EventEmitter & { serverHost: string };
  client.serverHost = '127.0.0.1';
  const notes: string[] = [];
  const notices: string[] = [];
  const accepted: FileOffer[] = [];
  const declined: FileOffer[] = [];
  const clock = { t: 1_000_000 };
  const ops: OfferOps = {
    accept: (_c, o) => {
      accepted.push(o);
      return Promise.reject(new Error('stand-in: no transfer'));
    },
    decline: (_c, o) => {
      declined.push(o);
      return Promise.resolve();
    },
    trust: () => Promise.resolve({ trust: 'ca', fingerprint: '00'.repeat(32) }),
    now: () => clock.t,
  };
  const files = new ChatFiles(client as unknown as CertimClient, { note: (peer, text) => notes.push(`${peer}: ${text}`), notice: (t) => notices.push(t) }, '/tmp', ops);
  const offer = (from: string, name: string, cookieByte = 1): void => {
    client.emit('rendezvous', { from, message: proposal(name, cookieByte) });
  };
  const cancel = (from: string, cookieByte: number): void => {
    client.emit('rendezvous', { from, message: { type: RvType.Cancel, cookie: new Uint8Array(8).fill(cookieByte), capability: SEND_FILE_CAPABILITY } });
  };
  return { files, offer, cancel, notes, notices, accepted, declined, clock };
}

test('/accept takes the open conversation\'s offer, not a later one from someone else', async () => {
  const h = harness();
  h.offer('alice', 'report.pdf');
  h.offer('Mallory', 'report.pdf.exe');
  await h.files.accept('Alice');
  assert.deepEqual(h.accepted.map((o) => [o.from, o.data.name]), [['alice', 'report.pdf']]);
  // Mallory's offer still waits; in alice's conversation there is nothing more to accept from alice.
  assert.equal(h.files.pending(), true);
  await h.files.decline('mallory');
  assert.deepEqual(h.declined.map((o) => o.from), ['Mallory']);
  assert.equal(h.files.pending(), false);
});

test('with offers from several senders and none from the open conversation, /accept asks instead of guessing', async () => {
  const h = harness();
  h.offer('alice', 'a.txt');
  h.offer('bob', 'b.txt');
  await h.files.accept('carol');
  await h.files.decline(undefined);
  assert.deepEqual([h.accepted.length, h.declined.length], [0, 0]);
  assert.match(h.notices.at(-1)!, /file offers wait from alice, bob: open that conversation/);
  // A single offer is taken from any conversation (what the user saw last is the only one there is).
  const one = harness();
  one.offer('alice', 'a.txt');
  await one.files.accept('carol');
  assert.deepEqual(one.accepted.map((o) => o.from), ['alice']);
});

test('one pending offer per sender: a newer one replaces the older', async () => {
  const h = harness();
  for (let i = 0; i < 50; i++) h.offer('mallory', `junk-${i}`, i);
  await h.files.accept('mallory');
  assert.deepEqual(h.accepted.map((o) => o.data.name), ['junk-49']);
  assert.equal(h.files.pending(), false);
});

test(`at most ${MAX_PENDING_OFFERS} senders wait at once; more are ignored, unanswered, with one notice`, async () => {
  const h = harness();
  for (let i = 0; i < MAX_PENDING_OFFERS + 20; i++) h.offer(`sock${i}`, `f${i}`);
  assert.equal(h.notices.filter((n) => n.startsWith('ignoring file offers')).length, 1);
  assert.equal(h.declined.length, 0);
  // The first eight wait; the ninth was ignored.
  await h.files.accept(`sock${MAX_PENDING_OFFERS}`);
  assert.equal(h.accepted.length, 0);
  await h.files.accept(`sock${MAX_PENDING_OFFERS - 1}`);
  assert.deepEqual(h.accepted.map((o) => o.from), [`sock${MAX_PENDING_OFFERS - 1}`]);
  // A sender already waiting may still replace its offer when the list is full.
  h.offer('sock0', 'newer');
  await h.files.accept('sock0');
  assert.deepEqual(h.accepted.map((o) => o.data.name).at(-1), 'newer');
});

test('an offer is gone when its sender cancels it (that rendezvous only) or when it is older than the limit', async () => {
  const h = harness();
  h.offer('alice', 'a.txt', 7);
  h.cancel('alice', 8); // another rendezvous of alice's: not this offer
  assert.equal(h.files.pending(), true);
  h.cancel('bob', 7); // bob cannot withdraw alice's offer
  assert.equal(h.files.pending(), true);
  h.cancel('Alice', 7);
  assert.equal(h.files.pending(), false);
  assert.ok(h.notes.some((n) => n.includes('withdrew the offer of "a.txt"')));

  h.offer('bob', 'b.txt');
  h.clock.t += OFFER_TTL_MS + 1;
  assert.equal(h.files.pending(), false);
  await h.files.accept('bob');
  assert.equal(h.accepted.length, 0);
  assert.equal(h.notices.at(-1), 'no file offer to accept');
});
