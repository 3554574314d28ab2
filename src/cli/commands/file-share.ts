/**
 * `certim file share DIR` and `certim file get BUDDY [PATH]`: Get File over TLS peer connections pinned to the
 * buddy's certificate (docs/protocol.md §8.5, §15.2; src/client/peer/getfile-*.ts).
 *
 * Sharing is off by default: only a running `file share` answers requests, read-only, for that one folder; the owner
 * sees every listing, fetch and refusal (one JSON object per line with --json). `file get` lists the share (no PATH,
 * or --list) or fetches a file or a whole folder into --dir (default: the current directory), never overwriting.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { CertimClient } from '../../client/client.js';
import { ClientError } from '../../client/errors.js';
import { formatFingerprint } from '../../client/trust.js';
import { requestGetFile, ShareServer } from '../../client/peer/getfile-manager.js';
import { parseUserPath, pathProblem, showPath } from '../../client/peer/getfile-paths.js';
import type { ShareEvent } from '../../client/peer/getfile-share.js';
import type { GetFileEntry } from '../../wire/getfile.js';
import { COMMON_OPTIONS, connectFromProfile, keyChangeWarning, reportError, UsageError } from './client-options.js';
import { peerOptionsFromEnv } from './peer-env.js';

const PEER_OPTIONS = { proxy: { type: 'string' }, 'force-proxy': { type: 'boolean' } } as const;

export const SHARE_USAGE = `usage: certim file share DIR [--allow NAME]... [--json] [--profile DIR]
  Answers Get File requests for DIR (read-only) until Ctrl-C, over TLS pinned to each requester's certificate.
  Nothing outside DIR is reachable (../, absolute paths, symlinks leading outside and device names are refused).
  --allow NAME  only these buddies may list and fetch (default: anyone with a valid certificate)
  --json        one JSON object per event on stdout: sharing, connected, list, fetch, refused, failed, declined
  --proxy HOST:PORT, --force-proxy  the rendezvous proxy, as for \`certim file send\` (CERTIM_PROXY, CERTIM_FORCE_PROXY)`;

export const GET_USAGE = `usage: certim file get BUDDY [PATH] [--list] [--dir D] [--json] [--profile DIR]
  Without PATH (or with --list): lists BUDDY's shared folder (or the folder PATH in it).
  With PATH: fetches that file, or that folder with everything in it, into D (default: the current directory).
  Existing files are never overwritten. BUDDY must be running \`certim file share\`.
  --proxy HOST:PORT, --force-proxy  the rendezvous proxy, as for \`certim file send\` (CERTIM_PROXY, CERTIM_FORCE_PROXY)`;

function eventLine(e: ShareEvent): string {
  switch (e.kind) {
    case 'list': return `${e.from} listed ${e.path} (${e.entries} entries)`;
    case 'fetch': return `${e.from} fetched ${e.path} (${e.bytes} bytes)`;
    case 'refused': return `REFUSED ${e.from}: ${e.path} — ${e.reason}`;
    case 'failed': return `FAILED ${e.from}: ${e.path} — ${e.reason}`;
  }
}

/** `certim file share DIR`. */
export async function runFileShare(argv: string[]): Promise<number> {
  let client: CertimClient | undefined;
  let server: ShareServer | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv, options: { ...COMMON_OPTIONS, ...PEER_OPTIONS, allow: { type: 'string', multiple: true }, json: { type: 'boolean' } }, allowPositionals: true,
    });
    if (values.help) {
      console.log(SHARE_USAGE);
      return 0;
    }
    const [dir, ...extra] = positionals;
    if (!dir || extra.length > 0) throw new UsageError(SHARE_USAGE);
    const json = values.json === true;
    const out = (o: Record<string, unknown>, text: string): void => {
      if (json) console.log(JSON.stringify({ ...o, time: new Date().toISOString() }));
      else console.log(text);
    };
    ({ client } = await connectFromProfile(values, { reconnect: true }));
    client.on('key-change', (c) => console.error(keyChangeWarning(c)));
    client.on('warning', (w) => console.error(`certim file share: ${w.message}`));
    client.on('disconnected', ({ willReconnect }) => console.error(`certim file share: disconnected${willReconnect ? ', reconnecting…' : ''}`));
    server = new ShareServer(client, { root: dir, ...(values.allow ? { allow: values.allow } : {}), peer: peerOptionsFromEnv(values) });
    server.on('event', (e) => out({ event: e.kind, ...e, kind: undefined }, eventLine(e)));
    server.on('connected', (c) => out({ event: 'connected', from: c.from, fingerprint: c.fingerprint, route: c.route }, `${c.from} connected (TLS pinned to ${formatFingerprint(c.fingerprint)}, ${c.route})`));
    server.on('declined', (d) => out({ event: 'declined', from: d.from, reason: d.reason }, `declined a request from ${d.from}: ${d.reason}`));
    server.on('error', (e) => out({ event: 'error', from: e.from, error: e.error.message, code: (e.error as { code?: string }).code ?? null }, `connection with ${e.from} failed: ${e.error.message}`));
    const real = await server.start();
    out({ event: 'sharing', root: real, allow: values.allow ?? null }, `sharing ${real} read-only${values.allow ? ` with ${values.allow.join(', ')}` : ' with anyone whose certificate checks out'}; Ctrl-C stops`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    return 0;
  } catch (e) {
    return reportError('file share', e);
  } finally {
    server?.stop();
    client?.close();
  }
}

function entryLine(e: GetFileEntry): string {
  const when = new Date(e.modTime * 1000).toISOString().replace('T', ' ').slice(0, 16);
  return e.directory ? `${'dir'.padStart(12)}  ${when}  ${e.name}/` : `${String(e.size).padStart(12)}  ${when}  ${e.name}`;
}

/** `certim file get BUDDY [PATH]`. */
export async function runFileGet(argv: string[]): Promise<number> {
  let client: CertimClient | undefined;
  let g: Awaited<ReturnType<typeof requestGetFile>> | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv, options: { ...COMMON_OPTIONS, ...PEER_OPTIONS, list: { type: 'boolean' }, dir: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true,
    });
    if (values.help) {
      console.log(GET_USAGE);
      return 0;
    }
    const [buddy, path, ...extra] = positionals;
    if (!buddy || extra.length > 0) throw new UsageError(GET_USAGE);
    const segments = parseUserPath(path ?? '');
    const problem = pathProblem(segments);
    if (problem) throw new UsageError(`cannot ask for ${path}: ${problem}`);
    const json = values.json === true;
    ({ client } = await connectFromProfile(values, { reconnect: false }));
    client.on('key-change', (c) => console.error(keyChangeWarning(c)));
    g = await requestGetFile(client, buddy, peerOptionsFromEnv(values));
    if (!json) console.error(`connected to ${g.peer.screenName}'s shared folder (TLS pinned to ${formatFingerprint(g.peer.fingerprint)})`);
    if (segments.length === 0 || values.list) {
      const entries = await g.list(segments);
      if (json) console.log(JSON.stringify({ from: g.peer.screenName, path: showPath(segments), entries }));
      else {
        console.log(`${g.peer.screenName}:${showPath(segments)}`);
        for (const e of entries) console.log(entryLine(e));
        if (entries.length === 0) console.log('(empty)');
      }
      return 0;
    }
    const dest = resolve(values.dir ?? '.');
    const files = await g.fetch(segments, dest, (f) => {
      if (json) console.log(JSON.stringify({ event: 'fetched', from: g!.peer.screenName, path: f.path, file: f.file, bytes: f.bytes }));
      else console.log(`fetched ${f.path} -> ${f.file} (${f.bytes} bytes)`);
    });
    const total = files.reduce((n, f) => n + f.bytes, 0);
    if (json) console.log(JSON.stringify({ event: 'done', from: g.peer.screenName, files: files.length, bytes: total }));
    else console.log(`${files.length} file${files.length === 1 ? '' : 's'}, ${total} bytes from ${g.peer.screenName}`);
    return 0;
  } catch (e) {
    if (!ClientError.is(e) && !(e instanceof UsageError) && (e as { code?: string }).code) {
      console.error(`certim file get: ${(e as Error).message} [${(e as { code: string }).code}]`);
      return 1;
    }
    return reportError('file get', e);
  } finally {
    g?.close();
    client?.close();
  }
}
