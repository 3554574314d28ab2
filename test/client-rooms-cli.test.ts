/**
 * `certim room` with real CLI processes against a real server (docs/protocol.md §17): three users create a room,
 * join and listen, exchange plain messages both ways (one-shot `room send` and lines typed into `room join`),
 * invite over ICBM channel 2 (accepted by `room listen --accept-invitations`), see members come and go, and leave
 * with `room leave`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCli, TestServer, type RunningCli, type TestUser } from './support/cli-harness.js';

type Line = Record<string, unknown>;

function has(p: RunningCli, pred: (l: Line) => boolean): boolean {
  return p.jsonLines().some(pred);
}

describe('certim room (CLI processes)', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  before(async () => {
    server = await TestServer.start();
    // One after the other: three key generations at once can outlast a CLI timeout on a loaded 2-core host.
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    carol = await server.enrolledUser('carol');
  });

  after(async () => {
    await server?.stop();
  });

  it('create, listen, send both ways, invite and accept, members, leave', async () => {
    const created = await alice.run(['room', 'create', 'Book Club', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout.trim()), { event: 'created', room: 'Book Club', cookie: '!aol://2719:10-4-Book%20Club', exchange: 4, contentType: 'text/x-aolrtf', secure: false });

    const bobListen = bob.start(['room', 'listen', 'Book Club', '--json']);
    await bobListen.waitFor(() => has(bobListen, (l) => l.event === 'joined'), 'bob joined');
    const joined = bobListen.jsonLines().find((l) => l.event === 'joined')!;
    assert.equal(joined.room, 'Book Club');
    assert.equal(joined.secure, false);
    assert.deepEqual(joined.members, [{ screenName: 'bob', certim: true, secureIm: true, keyStatus: '-' }]);

    const carolListen = carol.start(['room', 'listen', '--json', '--accept-invitations']);
    await carolListen.waitFor((_, err) => err.includes('waiting for room invitations'), 'carol waiting for invitations');

    // One-shot send from alice: bob sees her join, the message (PLAINTEXT verdict), and her leave.
    const sent = await alice.run(['room', 'send', 'Book Club', 'chapter 3 tonight', '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(JSON.parse(sent.stdout.trim()), { room: 'Book Club', sent: true, secure: false, contentType: 'text/x-aolrtf', members: 2 });
    await bobListen.waitFor(() => has(bobListen, (l) => l.event === 'message' && l.text === 'chapter 3 tonight'), 'bob got the message');
    const msg = bobListen.jsonLines().find((l) => l.event === 'message')!;
    assert.equal(msg.from, 'alice');
    assert.equal(msg.verdict, 'untrusted');
    assert.equal(msg.code, 'plaintext');
    assert.equal(msg.secure, false);
    assert.equal(msg.whisper, false);
    await bobListen.waitFor(() => has(bobListen, (l) => l.event === 'members' && (l.left as string[]).includes('alice')), 'bob saw alice leave');
    assert.ok(has(bobListen, (l) => l.event === 'members' && (l.joined as string[]).includes('alice')), 'bob saw alice join');

    // alice stays with `room join`, typing lines on stdin; bob answers with a one-shot send.
    const aliceJoin = startCli(['room', 'join', 'Book Club', '--json', '--profile', alice.profile], alice.env());
    await aliceJoin.waitFor(() => has(aliceJoin, (l) => l.event === 'joined'), 'alice joined');
    aliceJoin.child.stdin!.write('typed into the room\n');
    await bobListen.waitFor(() => has(bobListen, (l) => l.event === 'message' && l.text === 'typed into the room'), 'bob got the typed line');
    const back = await bob.run(['room', 'send', 'Book Club', 'see you there']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /sent to Book Club \(plain room: NOT encrypted, 2 members\)/);
    await aliceJoin.waitFor(() => has(aliceJoin, (l) => l.event === 'message' && l.text === 'see you there' && l.from === 'bob'), 'alice got bob\'s message');

    // alice invites carol; carol's listen prints the invitation and joins; everyone sees her.
    const inv = await alice.run(['room', 'invite', 'Book Club', 'carol', 'bring', 'the', 'book', '--json']);
    assert.equal(inv.code, 0, inv.stderr);
    await carolListen.waitFor(() => has(carolListen, (l) => l.event === 'invitation'), 'carol got the invitation');
    const invitation = carolListen.jsonLines().find((l) => l.event === 'invitation')!;
    assert.deepEqual(invitation, { event: 'invitation', from: 'alice', room: 'Book Club', cookie: '!aol://2719:10-4-Book%20Club', exchange: 4, text: 'bring the book', secure: false, securityBlock: false });
    await carolListen.waitFor(() => has(carolListen, (l) => l.event === 'joined' && l.room === 'Book Club'), 'carol joined');
    await aliceJoin.waitFor(() => has(aliceJoin, (l) => l.event === 'members' && (l.joined as string[]).includes('carol')), 'alice saw carol join');
    aliceJoin.child.stdin!.write('welcome carol\n');
    await carolListen.waitFor(() => has(carolListen, (l) => l.event === 'message' && l.text === 'welcome carol'), 'carol got a message');

    // An invitation to someone who is not signed on is refused, not stored.
    const offline = await alice.run(['room', 'invite', 'Book Club', 'nobody']);
    assert.equal(offline.code, 1);

    // `room leave` ends bob's listen in the room (it exits: it was in no other); alice sees him go.
    const left = await bob.run(['room', 'leave', 'Book Club']);
    assert.equal(left.code, 0, left.stderr);
    const bobDone = await bobListen.finish(30_000);
    assert.equal(bobDone.code, 0, bobDone.stderr);
    assert.ok(has(bobListen, (l) => l.event === 'left' && l.room === 'Book Club'));
    await aliceJoin.waitFor(() => has(aliceJoin, (l) => l.event === 'members' && (l.left as string[]).includes('bob')), 'alice saw bob leave');
    const again = await bob.run(['room', 'leave', 'Book Club']);
    assert.equal(again.code, 1, 'nothing left to leave');

    await aliceJoin.stop();
    await carolListen.stop();
  });

  it('refusals: unknown room, bad usage; a secure room is created now that the secure codec is registered', async () => {
    const missing = await alice.run(['room', 'send', 'Nowhere', 'hi']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no room Nowhere .*\[ROOM_NOT_FOUND\]/);
    const secure = await alice.run(['room', 'create', 'Vault', '--secure']);
    assert.equal(secure.code, 0, secure.stderr);
    assert.match(secure.stdout, /room Vault is ready \(secure\)/);
    const usage = await alice.run(['room', 'frobnicate']);
    assert.equal(usage.code, 2);
  });
});
