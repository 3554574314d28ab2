/**
 * `certim room create|join|listen|send|invite|leave`: chat rooms from scripts (docs/protocol.md §17), over the
 * library's room client (src/client/rooms/). A room is a live connection, so `join` and `listen` stay signed on
 * and print what happens in the room; `send` and `invite` are one-shot; `leave` ends this profile's running
 * `join`/`listen` in a room (it tells that process through a file in the profile and SIGUSR2).
 *
 * With --json, one JSON object per line on stdout, in the style of `certim listen --json`: `{"event":"joined",...}`,
 * `{"event":"members",...}`, `{"event":"message", room, from, text, secure, verdict, trust, reason, code, time,
 * whisper}`, `{"event":"invitation",...}`, `{"event":"left",...}`; `send` prints one `{room, sent, secure, ...}`.
 * Notes and warnings go to stderr. Plain rooms are marked PLAINTEXT on every message; a secure room joined without
 * the secure codec shows its messages as unreadable and refuses to send.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient } from '../../client/client.js';
import type { ProfileDir } from '../../client/node/profile.js';
import type { RoomInvitation } from '../../client/rooms/invitation.js';
import type { RoomMember } from '../../client/rooms/room-codec.js';
import { RoomClient, type ChatRoom, type RoomMessage } from '../../client/rooms/room-client.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { COMMON_OPTIONS, connectFromProfile, profileFrom, reportError, UsageError } from './client-options.js';
import { roomCodecsFor } from './room-codecs.js';
import { readStdinText } from './send-text.js';

const USAGE = `usage: certim room create NAME [--secure] [--json]
       certim room join NAME [--json]        stay in NAME: print messages and members; each stdin line is sent
       certim room listen [NAME...] [--json] [--count N] [--accept-invitations]
                                             print NAME's messages and incoming room invitations
                                             (exits once it left every NAME; without NAME it waits for invitations)
       certim room send NAME TEXT [--json]   join, send one message ('-' reads stdin), leave
       certim room invite NAME BUDDY [TEXT] [--json]
       certim room leave NAME                end this profile's running \`room join\`/\`room listen\` in NAME
  Rooms are on exchange 4 and live while someone is in them (and 5 minutes after). --secure asks for a secure room
  (application/pkcs7-mime); without a secure-room codec it is refused. In a secure room the key lives in the
  \`room join\` process: its first member makes it, and there, on stdin, \`/invite BUDDY\` sends a buddy the key and
  \`/kick NAME\` rekeys without NAME. --count N exits after N messages and
  invitations. --accept-invitations joins every room you are invited to (plain rooms, or secure ones the codec can read).`;

/** The human line of a room message, with its verdict marker. */
export function formatRoomMessage(m: RoomMessage): string {
  const t = m.time.toISOString().replace('T', ' ').slice(0, 19);
  const mark = !m.secure ? '[PLAINTEXT]' : m.verdict === 'verified' ? (m.trust === 'personal' ? '[secure, verified]' : '[secure]') : m.verdict === 'untrusted' ? `[UNTRUSTED: ${m.reason}]` : '[FAILED';
  const body = m.verdict === 'failed' ? `(unreadable: ${m.reason})` : m.text;
  return `${t} ${m.room}: ${m.from}${m.whisper ? ' (whisper)' : ''} ${mark === '[FAILED' ? '[FAILED]' : mark}: ${body}`;
}

/** The JSON form of a room message. */
export function roomMessageJson(m: RoomMessage): Record<string, unknown> {
  return {
    event: 'message', room: m.room, from: m.from, text: m.text, secure: m.secure, verdict: m.verdict, trust: m.trust ?? null,
    reason: m.reason, code: m.code, time: m.time.toISOString(), whisper: m.whisper,
  };
}

function memberJson(r: ChatRoom, m: RoomMember): Record<string, unknown> {
  return { screenName: m.screenName, certim: m.certim, secureIm: m.secureIm, keyStatus: r.keyStatus(m) };
}

function invitationJson(i: RoomInvitation): Record<string, unknown> {
  return { event: 'invitation', from: i.peer, room: i.name ?? i.room.cookie, cookie: i.room.cookie, exchange: i.room.exchange, text: i.text, secure: i.secure, securityBlock: i.securityBlock !== undefined };
}

/** Prints a room's events (joined, members, messages, closed) in the chosen form. */
function follow(r: ChatRoom, json: boolean, onMessage: () => void): void {
  const out = (o: Record<string, unknown>, line: string): void => console.log(json ? JSON.stringify(o) : line);
  out({ event: 'joined', room: r.name, contentType: r.contentType, secure: r.secure, readable: r.readable, members: r.members().map((m) => memberJson(r, m)) },
    `joined ${r.name} (${r.secure ? (r.readable ? 'secure room' : 'SECURE ROOM: this client cannot read it') : 'plain room: messages are NOT encrypted'}); members: ${r.members().map((m) => m.screenName).join(', ')}`);
  r.on('members', ({ joined, left, members }) => {
    out({ event: 'members', room: r.name, joined: joined.map((m) => m.screenName), left: left.map((m) => m.screenName), members: members.map((m) => memberJson(r, m)) },
      `${r.name}: ${[...joined.map((m) => `${m.screenName} joined${m.certim ? '' : ' (classic client)'}`), ...left.map((m) => `${m.screenName} left`)].join(', ')}`);
  });
  r.on('message', (m) => {
    out(roomMessageJson(m), formatRoomMessage(m));
    onMessage();
  });
  r.on('warning', (w) => console.error(`certim room: ${w.message}`));
}

/** Where a running `join`/`listen` says which rooms it is in, so `room leave` can reach it. */
function stateDir(profile: ProfileDir): string {
  return profile.path('rooms');
}

interface RoomProcess { pid: number; rooms: string[] }

function writeState(profile: ProfileDir, rooms: string[]): void {
  mkdirSync(stateDir(profile), { recursive: true, mode: 0o700 });
  writeFileSync(`${stateDir(profile)}/room-${process.pid}.json`, JSON.stringify({ pid: process.pid, rooms } satisfies RoomProcess), { mode: 0o600 });
}

function clearState(profile: ProfileDir): void {
  rmSync(`${stateDir(profile)}/room-${process.pid}.json`, { force: true });
  rmSync(`${stateDir(profile)}/leave-${process.pid}.json`, { force: true });
}

/** True when `pid` is alive and is a certim room process (not a recycled pid). */
function isRoomProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('room');
  } catch {
    return process.platform !== 'linux';
  }
}

/** Stays in the rooms until SIGINT/SIGTERM, `room leave` for the last one, or --count. */
async function stay(client: CertimClient, rooms: RoomClient, profile: ProfileDir, initial: ChatRoom[], opts: { json: boolean; count?: number; acceptInvitations?: boolean; invitations: boolean; exitWhenEmpty: boolean; sendStdin?: ChatRoom }): Promise<number> {
  let seen = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const counted = (): void => {
    seen++;
    if (opts.count !== undefined && seen >= opts.count) resolveDone(0);
  };
  const names = (): string[] => rooms.joined().map((r) => r.name);
  const watch = (r: ChatRoom): void => {
    follow(r, opts.json, counted);
    r.on('closed', ({ byUser, error }) => {
      console.log(opts.json ? JSON.stringify({ event: 'left', room: r.name, byUser }) : `left ${r.name}`);
      writeState(profile, names());
      if (!byUser) {
        console.error(`certim room: the connection to ${r.name} closed${error ? `: ${error.message}` : ''}`);
        resolveDone(1);
      } else if (rooms.joined().length === 0 && opts.exitWhenEmpty) {
        resolveDone(0);
      }
    });
  };
  for (const r of initial) watch(r);
  writeState(profile, names());
  if (opts.invitations) {
    rooms.on('invitation', (inv) => {
      console.log(opts.json ? JSON.stringify(invitationJson(inv)) : `${inv.peer} invites you to ${inv.name ?? inv.room.cookie}${inv.secure ? ' (secure room)' : ''}: ${inv.text}`);
      counted();
      if (opts.acceptInvitations) {
        rooms.accept(inv).then((r) => {
          if (!initial.includes(r) && r.listenerCount('message') === 0) watch(r);
          writeState(profile, names());
        }, (e: unknown) => console.error(`certim room: could not join ${inv.name ?? inv.room.cookie}: ${(e as Error).message}`));
      }
    });
  }
  rooms.on('warning', (w) => console.error(`certim room: ${w.message}`));
  client.on('warning', (w) => console.error(`certim room: ${w.message}`));
  // `certim room leave NAME` writes the names to leave-<pid>.json and sends SIGUSR2.
  const onLeave = (): void => {
    const file = `${stateDir(profile)}/leave-${process.pid}.json`;
    let wanted: string[] = [];
    try {
      wanted = JSON.parse(readFileSync(file, 'utf8')) as string[];
    } catch {
      wanted = [];
    }
    rmSync(file, { force: true });
    for (const n of wanted) rooms.room(n)?.leave();
  };
  process.on('SIGUSR2', onLeave);
  const stop = (): void => resolveDone(0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let rl: ReturnType<typeof createInterface> | undefined;
  if (opts.sendStdin) {
    const target = opts.sendStdin;
    rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === '') return;
      // Secure rooms: the room key lives in this process, so invitations and kicks are typed here (docs/protocol.md §16).
      const cmd = /^\/(invite|kick)\s+(\S+)\s*(.*)$/.exec(line.trim());
      if (cmd) {
        const [, verb, who, words] = cmd;
        const act = verb === 'invite'
          ? rooms.invite(target, who!, words || undefined).then(() => console.error(`certim room: invited ${who} to ${target.name}`))
          : (target.codecHooks?.kick ? target.codecHooks.kick(who!, target.context()) : Promise.reject(new Error('/kick is for secure rooms'))).then(() => console.error(`certim room: ${who} removed from the key of ${target.name}`));
        act.catch((e: unknown) => console.error(`certim room: /${verb} ${who}: ${(e as Error).message}`));
        return;
      }
      target.send(line).catch((e: unknown) => console.error(`certim room: not sent to ${target.name}: ${(e as Error).message}`));
    });
  }
  try {
    return await done;
  } finally {
    process.off('SIGUSR2', onLeave);
    rl?.close();
    if (opts.sendStdin) process.stdin.destroy(); // an open stdin would keep the process alive
    for (const r of rooms.joined()) r.leave();
    clearState(profile);
    await new Promise<void>((r) => process.stdout.write('', () => r()));
  }
}

/** `certim room leave NAME`: finds this profile's processes in NAME and tells them to leave it. */
function leave(profile: ProfileDir, name: string): number {
  const dir = stateDir(profile);
  const key = normalizeScreenName(name);
  let told = 0;
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = /^room-(\d+)\.json$/.exec(f);
    if (!m) continue;
    let st: RoomProcess;
    try {
      st = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as RoomProcess;
    } catch {
      continue;
    }
    if (!isRoomProcess(st.pid)) {
      rmSync(`${dir}/${f}`, { force: true }); // a process that ended without cleaning up
      continue;
    }
    if (!st.rooms.some((r) => normalizeScreenName(r) === key)) continue;
    writeFileSync(`${dir}/leave-${st.pid}.json`, JSON.stringify([name]), { mode: 0o600 });
    process.kill(st.pid, 'SIGUSR2');
    told++;
  }
  if (told === 0) {
    console.error(`certim room leave: no running \`certim room join\`/\`room listen\` of this profile is in ${name}`);
    return 1;
  }
  console.error(`certim room leave: left ${name}${told > 1 ? ` (${told} processes)` : ''}`);
  return 0;
}

/** `certim room`. */
export const roomCommand: Command = {
  summary: 'chat rooms: create, join, listen, send, invite, leave',
  async run(argv) {
    let client: CertimClient | undefined;
    let rooms: RoomClient | undefined;
    try {
      const { values, positionals } = parseArgs({
        args: argv,
        options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, secure: { type: 'boolean' }, count: { type: 'string' }, 'accept-invitations': { type: 'boolean' } },
        allowPositionals: true,
      });
      const [sub, ...args] = positionals;
      if (values.help || sub === undefined) {
        console.error(USAGE);
        return values.help ? 0 : 2;
      }
      const json = values.json === true;
      const count = values.count === undefined ? undefined : Number(values.count);
      if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UsageError(`--count must be a positive integer\n${USAGE}`);
      const need = (n: number, what: string): void => {
        if (args.length < n) throw new UsageError(`${what}\n${USAGE}`);
      };
      switch (sub) {
        case 'create': need(1, 'room create needs NAME'); break;
        case 'join': need(1, 'room join needs NAME'); break;
        case 'send': need(2, 'room send needs NAME and TEXT'); break;
        case 'invite': need(2, 'room invite needs NAME and BUDDY'); break;
        case 'leave': need(1, 'room leave needs NAME'); break;
        case 'listen': break;
        default: throw new UsageError(`unknown room command ${sub}\n${USAGE}`);
      }
      if (sub === 'leave') {
        return leave(profileFrom(values), args[0]!);
      }
      const text = sub === 'send' ? (args.length === 2 && args[1] === '-' ? await readStdinText() : args.slice(1).join(' ')) : '';
      if (sub === 'send' && text.trim() === '') throw new UsageError('nothing to send: the message is empty');
      // One-shot commands keep incoming IMs in the profile's inbox (as `send` does); join/listen leave them there too.
      const connected = await connectFromProfile(values, { reconnect: sub === 'join' || sub === 'listen' });
      client = connected.client;
      rooms = new RoomClient(client, { codecs: roomCodecsFor(client, connected.identity) });
      const name = args[0]!;
      switch (sub) {
        case 'create': {
          const d = await rooms.create(name, { secure: values.secure === true });
          console.log(json ? JSON.stringify({ event: 'created', room: d.name, cookie: d.cookie, exchange: d.exchange, contentType: d.contentType, secure: values.secure === true })
            : `room ${d.name} is ready (${values.secure ? 'secure' : 'plain: messages are NOT encrypted'}); it stays 5 minutes unless someone joins: certim room join ${JSON.stringify(d.name)}`);
          return 0;
        }
        case 'send': {
          const r = await rooms.join(name);
          await r.send(text);
          console.log(json ? JSON.stringify({ room: r.name, sent: true, secure: r.secure, contentType: r.contentType, members: r.members().length })
            : `sent to ${r.name} (${r.secure ? 'secure room' : 'plain room: NOT encrypted'}, ${r.members().length} member${r.members().length === 1 ? '' : 's'})`);
          r.leave();
          return 0;
        }
        case 'invite': {
          const buddy = args[1]!;
          const words = args.slice(2).join(' ');
          const d = await rooms.find(name);
          if (rooms.codecs.lookup(d.contentType).kind !== 'codec') throw new UsageError(`cannot invite to ${d.name}: its content type ${d.contentType} is not available in this client`);
          if (d.contentType.toLowerCase().startsWith('application/pkcs7-mime')) {
            // The secure codec writes the key for the invitee: that needs the room's key, so be in the room.
            const r = await rooms.join(d);
            await rooms.invite(r, buddy, words || undefined);
            r.leave();
          } else {
            await rooms.inviteTo(d, buddy, words || undefined);
          }
          console.log(json ? JSON.stringify({ room: d.name, invited: buddy, secure: d.contentType.toLowerCase().startsWith('application/pkcs7-mime') }) : `invited ${buddy} to ${d.name}`);
          return 0;
        }
        case 'join': {
          const r = await rooms.join(name);
          return await stay(client, rooms, connected.profile, [r], { json, ...(count !== undefined ? { count } : {}), invitations: false, exitWhenEmpty: true, ...(process.stdin.isTTY ? {} : { sendStdin: r }) });
        }
        case 'listen': {
          const joined: ChatRoom[] = [];
          for (const n of args) joined.push(await rooms.join(n));
          if (joined.length === 0) console.error(`certim room: signed on as ${client.screenName}; waiting for room invitations`);
          return await stay(client, rooms, connected.profile, joined, { json, ...(count !== undefined ? { count } : {}), invitations: true, exitWhenEmpty: joined.length > 0, acceptInvitations: values['accept-invitations'] === true });
        }
        default:
          return 2;
      }
    } catch (e) {
      return reportError('room', e);
    } finally {
      rooms?.close();
      client?.close();
    }
  },
};
