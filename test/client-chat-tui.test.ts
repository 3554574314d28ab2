/**
 * `certim chat` in a real terminal (tmux) against a real `certim server` process, with bob as a library client so
 * the test can make him type, go away and idle: the layout holds with emoji and CJK text (measured in cells), the
 * input line edits with Home/End/Delete, a bracketed paste is one message, a long one goes in parts, each sent line
 * says where the IM went, typing notifications go both ways, away and idle show in the buddy list, a new IM rings
 * the bell only while the terminal is not focused, and each conversation scrolls on its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import stringWidth from 'string-width';
import type { CertimClient, IncomingIm } from '../src/client/client.js';
import { setIdle } from '../src/client/idle.js';
import { setAway } from '../src/client/locate-info.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { CLI, ROOT, TestServer, TestUser } from './support/cli-harness.js';
import { shellQuote, TmuxSession } from './support/tmux.js';

const COLS = 100;
const ROWS = 30;
const LIST_W = 25; // chat-screen.ts: min(32, max(18, cols / 4))

describe('certim chat screen in tmux', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bobUser: TestUser;
  let bob: CertimClient;
  let tty: TmuxSession;
  const ims: IncomingIm[] = [];
  const typing: string[] = [];

  async function nextIm(pred: (m: IncomingIm) => boolean, what: string): Promise<IncomingIm> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = ims.find(pred);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`bob never got ${what}; got ${JSON.stringify(ims.map((x) => x.text.slice(0, 40)))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bobUser = await server.enrolledUser('bob');
    ({ client: bob } = await openClient(new ProfileDir(bobUser.profile), { password: bobUser.password, passphrase: bobUser.passphrase, buddies: ['alice'], client: { reconnect: false } }));
    bob.on('im', (m) => ims.push(m));
    bob.on('typing', ({ event }) => typing.push(event));
    await bob.connect();
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8' })).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    tty = TmuxSession.start(`cd ${shellQuote(ROOT)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat bob --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`, COLS, ROWS);
  });

  after(async () => {
    tty?.kill();
    bob?.close();
    await server?.stop();
  });

  it('opens with bob online in the buddy list', async () => {
    const s = await tty.waitScreen((x) => x.includes('certim chat — alice — online') && /> \* bob key/.test(x), 'chat with bob online');
    assert.doesNotMatch(s, /^! /m, 'no warnings at sign-on');
  });

  it('/add puts bob in a group of the stored buddy list, shown with a header', async () => {
    tty.line('/add bob Friends');
    await tty.waitScreen((x) => /^Friends \(1\/1\)/m.test(x) && /> \* bob key/.test(x) && x.includes('bob added to your buddy list'), 'bob under Friends');
  });

  it('keeps the layout with emoji and CJK text: every row is the terminal width, the divider in one column', async () => {
    const text = 'こんにちは 😀 漢字テキスト 👍🏽 wide and narrow mixed ' + '表示幅'.repeat(12);
    await bob.sendIm('alice', text);
    const s = await tty.waitScreen((x) => x.includes('bob [secure] こんにちは 😀'), 'the emoji/CJK line');
    const rows = s.split('\n').filter((l) => l.length > 0);
    for (const row of rows.filter((r) => r.includes(' | '))) {
      assert.equal(stringWidth(row.slice(0, row.indexOf(' | '))), LIST_W, `divider moved in: ${row}`);
      assert.ok(stringWidth(row) <= COLS, `row wider than the terminal: ${row}`);
    }
    assert.ok(s.includes('表示幅表示幅'), 'the wrapped continuation is on screen');
    tty.line('漢字 and 😀 from alice');
    const m = await nextIm((x) => x.text.startsWith('漢字'), 'the CJK reply');
    assert.equal(m.text, '漢字 and 😀 from alice');
    assert.equal(m.verdict, 'verified');
    await tty.waitScreen((x) => x.includes('me [secure] 漢字 and 😀 from alice  (delivered)'), 'delivered status');
  });

  it('edits the input with Home, Right, Delete and End', async () => {
    tty.keys('hXello world');
    tty.press('Home', 'Right', 'DC', 'End');
    tty.keys('!');
    await tty.waitScreen((x) => /bob> hello world!\s*$/m.test(x), 'edited input');
    tty.press('Enter');
    assert.equal((await nextIm((x) => x.text.startsWith('hello world'), 'the edited line')).text, 'hello world!');
  });

  it('a bracketed paste is one message with its newlines; a long paste goes in parts and is joined', async () => {
    tty.paste('first pasted line\nsecond pasted line', join(server.tmp, 'paste1.txt'));
    await tty.waitScreen((x) => x.includes('first pasted line↵second pasted line'), 'pasted text in the input');
    tty.press('Enter');
    assert.equal((await nextIm((x) => x.text.startsWith('first pasted'), 'the pasted message')).text, 'first pasted line\nsecond pasted line');
    const long = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ') + ' 漢字😀 end';
    tty.paste(long, join(server.tmp, 'paste2.txt'));
    await tty.waitScreen((x) => /\[\d{5} chars\]/.test(x), 'the character count of a long input');
    tty.press('Enter');
    const m = await nextIm((x) => x.text.startsWith('w0 w1'), 'the long message');
    assert.equal(m.text, long);
    assert.equal(m.verdict, 'verified');
    await tty.waitScreen((x) => /\(delivered in [2-9] parts\)/.test(x), 'delivered in parts');
  });

  it('typing notifications go both ways', async () => {
    typing.length = 0;
    tty.keys('abc');
    const deadline = Date.now() + 20_000;
    while (!typing.includes('typing') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(typing.includes('typing'), `bob saw ${typing.join(',')}`);
    tty.press('C-u');
    while (!typing.includes('none') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(typing.includes('none'), 'clearing the line says "stopped typing"');
    bob.sendTyping('alice', 'typing');
    await tty.waitScreen((x) => x.includes('online — bob is typing…') && /> \* bob key typing…/.test(x), "bob's typing shown");
    bob.sendTyping('alice', 'none');
    await tty.waitScreen((x) => !x.includes('bob is typing'), 'typing cleared');
  });

  it('shows away and idle state in the buddy list', async () => {
    await setAway(bob, 'at lunch');
    await tty.waitScreen((x) => /~ bob key away/.test(x), 'bob away');
    await setAway(bob, undefined);
    await setIdle(bob, 600);
    await tty.waitScreen((x) => /\* bob key idle 10m/.test(x), 'bob idle 10 minutes');
    await setIdle(bob, 0);
    await tty.waitScreen((x) => /\* bob key\s+\|/.test(x), 'bob active again');
  });

  it('rings the bell for a new IM only while the terminal is not focused', async () => {
    const raw = join(server.tmp, 'pane.raw');
    tty.pipeTo(raw);
    await bob.sendIm('alice', 'while you look');
    await tty.waitScreen((x) => x.includes('while you look'), 'focused IM');
    assert.ok(!TmuxSession.piped(raw).includes('\x07'), 'no bell while focused');
    tty.raw('\x1b[O'); // the terminal reports focus lost
    await new Promise((r) => setTimeout(r, 300));
    await bob.sendIm('alice', 'while you are away');
    await tty.waitScreen((x) => x.includes('while you are away'), 'unfocused IM');
    assert.ok(TmuxSession.piped(raw).includes('\x07'), 'bell while not focused');
    tty.raw('\x1b[I');
  });

  it('scrolls the conversation with PgUp/PgDn', async () => {
    await bob.sendIm('alice', Array.from({ length: 40 }, (_, i) => `scroll row ${i}`).join('\n'));
    await tty.waitScreen((x) => x.includes('scroll row 39'), 'the last row');
    tty.press('PPage');
    const up = await tty.waitScreen((x) => x.includes('more rows below: PgDn'), 'scrolled up');
    assert.ok(!up.includes('scroll row 39'));
    tty.press('NPage');
    await tty.waitScreen((x) => x.includes('scroll row 39') && !x.includes('more rows below'), 'back at the bottom');
  });

  it('an empty line is not sent, and /quit exits cleanly', async () => {
    const before = ims.length;
    tty.press('Space', 'Space', 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(ims.length, before);
    tty.line('/quit');
    await tty.waitScreen((x) => x.includes('CHAT-EXITED-0'), 'exit code 0');
  });
});
