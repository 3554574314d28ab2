/**
 * Chat rooms in `certim chat`, in a real terminal (tmux) against a real `certim server` process, with bob and carol
 * as library room clients (docs/protocol.md §17): /create lists the room with its member panel, members come and
 * go, messages show both ways with the PLAINTEXT marker, /invite reaches a buddy, an incoming invitation is shown
 * and /accept joins it, /leave leaves, /kick says why it needs a secure room, and /create --secure makes one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertimClient } from '../src/client/client.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import type { RoomInvitation } from '../src/client/rooms/invitation.js';
import type { RoomMember } from '../src/client/rooms/room-codec.js';
import { RoomClient, type ChatRoom, type RoomMessage } from '../src/client/rooms/room-client.js';
import { CLI, ROOT, TestServer, type TestUser } from './support/cli-harness.js';
import { shellQuote, TmuxSession } from './support/tmux.js';

async function until<T>(get: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('certim chat: rooms in tmux', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  const clients: CertimClient[] = [];
  const roomClients: RoomClient[] = [];
  let tty: TmuxSession;

  async function rooms(u: TestUser): Promise<RoomClient> {
    const { client } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, client: { reconnect: false } });
    clients.push(client);
    await client.connect();
    const r = new RoomClient(client);
    roomClients.push(r);
    return r;
  }

  let bob: RoomClient;
  let carol: RoomClient;
  let bobRoom: ChatRoom;
  const bobGot: RoomMessage[] = [];
  const carolInvites: RoomInvitation[] = [];

  before(async () => {
    server = await TestServer.start();
    // One after the other: three key generations at once can outlast a CLI timeout on a loaded 2-core host.
    const a = await server.enrolledUser('alice');
    const b = await server.enrolledUser('bob');
    const c = await server.enrolledUser('carol');
    alice = a;
    bob = await rooms(b);
    carol = await rooms(c);
    carol.on('invitation', (i) => carolInvites.push(i));
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8' })).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    tty = TmuxSession.start(`cd ${shellQuote(ROOT)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`, 110, 30);
    await tty.waitScreen((x) => x.includes('certim chat — alice — online'), 'chat signed on');
  });

  after(async () => {
    tty?.kill();
    for (const r of roomClients) r.close();
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('/create lists the room with a member panel and says it is plain', async () => {
    tty.line('/create Movie Night');
    const s = await tty.waitScreen((x) => x.includes('> #Movie Night') && x.includes('Members (1) key') && /\* alice -/.test(x), 'the room and its members');
    assert.match(s, /#Movie Night: plain room — messages are NOT encrypted/);
    assert.match(s, /\[room, PLAINTEXT\] joined Movie Night: a/);
  });

  it('shows a member joining, a message from them, and sends one back', async () => {
    bobRoom = await bob.join('Movie Night');
    bobRoom.on('message', (m) => bobGot.push(m));
    await tty.waitScreen((x) => x.includes('Members (2) key') && /\* bob -/.test(x) && x.includes('bob joined'), 'bob in the member panel');
    await bobRoom.send('popcorn?');
    await tty.waitScreen((x) => x.includes('bob [PLAINTEXT] popcorn?'), 'bob\'s message with its marker');
    tty.line('yes please');
    const m = await until(() => bobGot.find((x) => x.text === 'yes please'), 'alice\'s message at bob');
    assert.equal(m.from, 'alice');
    assert.equal(m.code, 'plaintext');
    await tty.waitScreen((x) => /me \[PLAINTEXT\] yes please +\(sent to the room\)/.test(x), 'our line marked sent');
  });

  it('/invite reaches a buddy over ICBM channel 2', async () => {
    tty.line('/invite carol popcorn and a film');
    const inv = await until(() => carolInvites[0], 'carol\'s invitation');
    assert.equal(inv.peer, 'alice');
    assert.equal(inv.name, 'Movie Night');
    assert.equal(inv.text, 'popcorn and a film');
    await tty.waitScreen((x) => x.includes('invited carol'), 'the note');
  });

  it('shows an incoming invitation and /accept joins the room', async () => {
    const side = await carol.join(await carol.create('Side Room'));
    const aliceIn = new Promise<RoomMember[]>((resolve) => side.on('members', (e) => {
      if (e.joined.some((m) => m.screenName === 'alice')) resolve(e.joined);
    }));
    await carol.invite(side, 'alice', 'quick chat?');
    await tty.waitScreen((x) => x.includes('carol invites you to Side Room: /accept Side Room'), 'the invitation notice');
    tty.line('/accept Side Room');
    await aliceIn;
    await tty.waitScreen((x) => x.includes('> #Side Room') && /\* carol -/.test(x) && /\* alice -/.test(x), 'in Side Room with carol');
  });

  it('/kick says plainly why it does not work in a plain room; /leave leaves; /create --secure makes a secure room and its key', async () => {
    tty.line('/kick carol');
    await tty.waitScreen((x) => x.includes('[kick] /kick only works in'), 'kick explained');
    const left = new Promise<void>((resolve) => carol.room('Side Room')!.on('members', (e) => {
      if (e.left.some((m) => m.screenName === 'alice')) resolve();
    }));
    tty.line('/leave');
    await left;
    await tty.waitScreen((x) => x.includes('you left Side Room') && x.includes('#Side Room: you left this room'), 'left');
    tty.line('/create Vault --secure');
    await tty.waitScreen((x) => x.includes('#Vault') && x.includes('new room key (epoch 1)'), 'secure room created with its key');
  });
});
