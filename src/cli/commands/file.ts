/**
 * `certim file send BUDDY PATH` and `certim file receive [--dir D] [--accept-from BUDDY]`: secure file transfer
 * (docs/protocol.md §8): a rendezvous offer, a peer connection inside TLS pinned to the buddy's published
 * certificate (direct, reverse, then the server's proxy), OFT2 with the checksum verified and resume of a
 * partial file. With --json, one JSON object per line on stdout: `proposed`, `offer`, `refused`, `connected`,
 * `progress`, then `sent` / `received`, or `error` (with a stable `code`). Ctrl-C cancels (the peer is told).
 * `--insecure-classic` is the explicit, loudly announced opt-in to an UNENCRYPTED transfer with a classic client
 * (docs/protocol.md §8.7); every event then says `"encrypted": false`.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from '../command.js';
import type { CertimClient } from '../../client/client.js';
import { ClientError } from '../../client/errors.js';
import { parseHostPort } from '../../client/transport.js';
import { formatFingerprint } from '../../client/trust.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import {
  DEFAULT_PROXY_PORT, PeerError, acceptFileOffer, declineFileOffer, fileOfferOf, offerTrust, sendFile, type FileOffer,
  type PeerStage, type RouteOptions, type TransferProgress,
} from '../../client/peer/index.js';
import { COMMON_OPTIONS, connectFromProfile, reportError, UsageError } from './client-options.js';
import { GET_USAGE, runFileGet, runFileShare, SHARE_USAGE } from './file-share.js';
import { tuneHeapForStreaming } from '../heap-tuning.js';

const USAGE = `usage: certim file send BUDDY PATH [--json] [--proxy HOST:PORT] [--force-proxy] [--insecure-classic] [--profile DIR]
       certim file receive [--dir DIR] [--accept-from BUDDY] [--count N] [--json] [--proxy HOST:PORT] [--force-proxy] [--insecure-classic] [--profile DIR]
  send      offers PATH (a file or a directory) to BUDDY and sends it once accepted.
  receive   waits for offers and saves them under DIR (default: the current directory), never outside it;
            offers from anyone but BUDDY are declined when --accept-from is given. Exits after N transfers (default 1).
  The peer connection runs inside TLS and is accepted only with the buddy's current published certificate.
  It goes directly when possible, else the other way round, else through the server's rendezvous proxy
  (--proxy, default the server's host and port ${DEFAULT_PROXY_PORT}; CERTIM_PROXY=HOST:PORT). --force-proxy
  (or CERTIM_FORCE_PROXY=1) skips the direct attempts. An interrupted transfer resumes the next time the same
  file is offered. Ctrl-C cancels.
  --insecure-classic: for a classic AIM client (joscar/joustsim, AIM 5.x), which cannot do TLS: send WITHOUT
            encryption, or accept an unencrypted offer (TLS offers stay TLS). Anyone on the network path and the
            server's host can read and alter such a file; the buddy is not authenticated by a certificate. Without
            it, an unencrypted offer is declined and a classic client's accept ends the transfer (PEER_INSECURE).`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  json: { type: 'boolean' },
  proxy: { type: 'string' },
  'force-proxy': { type: 'boolean' },
  dir: { type: 'string' },
  'accept-from': { type: 'string' },
  count: { type: 'string' },
  'insecure-classic': { type: 'boolean' },
} as const;

function human(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

/** One progress line for people. */
export function progressLine(p: TransferProgress): string {
  const pct = p.totalSize > 0 ? Math.floor((100 * p.bytes) / p.totalSize) : 100;
  const eta = p.etaSeconds === undefined ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
  return `${p.file} (${p.fileIndex}/${p.fileCount}): ${human(p.bytes)} of ${human(p.totalSize)} (${pct}%) at ${human(Math.round(p.rate))}/s${eta}`;
}

function stageLine(s: PeerStage): string {
  switch (s.stage) {
    case 'proposed': return `offer sent (attempt ${s.index}, ${s.via === 'proxy' ? 'through the proxy' : 'direct'})`;
    case 'accepted': return 'the buddy accepted; connecting';
    case 'connecting': return `connecting to ${s.address}`;
    case 'proxy': return `using the rendezvous proxy ${s.host}:${s.port}`;
  }
}

/** The warning an unencrypted transfer always prints (stderr, also with --json). */
export const INSECURE_WARNING = 'WARNING: UNENCRYPTED transfer (--insecure-classic): no TLS, no certificate check; the network and the server can read and change the file';

function routeOptions(values: { proxy?: string | undefined; 'force-proxy'?: boolean | undefined; 'insecure-classic'?: boolean | undefined }, client: CertimClient, out: Output): RouteOptions {
  const spec = values.proxy ?? process.env.CERTIM_PROXY;
  let proxy = { host: client.serverHost, port: DEFAULT_PROXY_PORT };
  if (spec !== undefined && spec !== '') {
    try {
      proxy = parseHostPort(spec, DEFAULT_PROXY_PORT);
    } catch (e) {
      throw new UsageError(`--proxy: ${(e as Error).message}`);
    }
  }
  return {
    proxy,
    forceProxy: values['force-proxy'] === true || process.env.CERTIM_FORCE_PROXY === '1',
    insecureClassic: values['insecure-classic'] === true,
    onStage: (s) => out.event({ event: 'stage', ...s }, stageLine(s)),
  };
}

class Output {
  private lastProgress = 0;
  /** When the first file bytes moved (for `transferSeconds`: the data phase, without offer and connection set-up). */
  firstBytesAt: number | undefined;
  constructor(private readonly json: boolean, private readonly command: string) {}

  event(o: Record<string, unknown>, text?: string): void {
    if (this.json) console.log(JSON.stringify(o));
    else if (text !== undefined) console.error(`certim file ${this.command}: ${text}`);
  }

  progress(p: TransferProgress): void {
    const now = Date.now();
    this.firstBytesAt ??= now;
    if (now - this.lastProgress < 1000 && p.bytes < p.totalSize) return;
    this.lastProgress = now;
    this.event({ event: 'progress', ...p, rate: Math.round(p.rate), etaSeconds: p.etaSeconds === undefined ? null : Math.ceil(p.etaSeconds) }, progressLine(p));
  }

  error(e: unknown): number {
    if (this.json) {
      const code = PeerError.is(e) || ClientError.is(e) ? e.code : e instanceof UsageError ? 'USAGE' : 'ERROR';
      console.log(JSON.stringify({ event: 'error', code, message: e instanceof Error ? e.message : String(e) }));
    }
    if (PeerError.is(e)) {
      console.error(`certim file ${this.command}: ${e.message} [${e.code}]`);
      return 1;
    }
    return reportError(`file ${this.command}`, e);
  }
}

async function flush(): Promise<void> {
  await new Promise<void>((r) => process.stdout.write('', () => r()));
}

async function runSend(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const out = new Output(values.json === true, 'send');
  let client: CertimClient | undefined;
  try {
    const [buddy, path, ...extra] = positionals;
    if (!buddy || !path || extra.length > 0) throw new UsageError(USAGE);
    await stat(path).catch(() => {
      throw new UsageError(`no such file or directory: ${path}`);
    });
    ({ client } = await connectFromProfile(values, { reconnect: false }));
    const c = client;
    const started = Date.now();
    if (values['insecure-classic'] === true) console.error(`certim file send: ${INSECURE_WARNING}`);
    const t = await sendFile(c, buddy, path, {
      ...routeOptions(values, c, out),
      onProgress: (p) => out.progress(p),
      onProposed: () => out.event({ event: 'proposed', to: buddy, path }, `offered ${path} to ${buddy}; waiting for ${buddy} to accept`),
    });
    const cancel = (): void => t.cancel();
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    try {
      const r = await t.result;
      const seconds = (Date.now() - started) / 1000;
      const transferSeconds = out.firstBytesAt === undefined ? 0 : (Date.now() - out.firstBytesAt) / 1000;
      out.event({ event: 'sent', to: r.peer, files: r.files, bytes: r.totalSize, bytesSent: r.bytesSent, resumedFrom: r.resumedFrom, route: r.route, encrypted: r.encrypted, seconds, transferSeconds },
        `sent ${r.files} file(s), ${human(r.totalSize)} to ${r.peer} ${r.encrypted ? 'over TLS' : 'UNENCRYPTED'} (${r.route}${r.resumedFrom.some((x) => x > 0) ? ', resumed' : ''}), checksum verified`);
      return 0;
    } finally {
      process.off('SIGINT', cancel);
      process.off('SIGTERM', cancel);
    }
  } catch (e) {
    return out.error(e);
  } finally {
    await flush();
    client?.close();
  }
}

async function runReceive(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const out = new Output(values.json === true, 'receive');
  let client: CertimClient | undefined;
  try {
    if (positionals.length > 0) throw new UsageError(USAGE);
    const dir = resolve(values.dir ?? '.');
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`--dir: ${dir} is not a directory`);
    const count = values.count === undefined ? 1 : Number(values.count);
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count must be a positive integer\n${USAGE}`);
    const only = values['accept-from'];
    ({ client } = await connectFromProfile(values, { reconnect: false }));
    const c = client;
    const route = routeOptions(values, c, out);
    let finished = 0;
    let failures = 0;
    let busy = false;
    let current: { cancel(): void } | undefined;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const handle = async (offer: FileOffer): Promise<void> => {
      const base = { from: offer.from, name: offer.data.name, size: offer.data.totalSize, files: offer.data.fileCount, kind: offer.data.kind === 2 ? 'directory' : 'file', encrypted: offer.encrypted };
      if (only !== undefined && normalizeScreenName(only) !== normalizeScreenName(offer.from)) {
        await declineFileOffer(c, offer).catch(() => undefined);
        out.event({ event: 'refused', ...base, code: 'NOT_ACCEPTED', reason: `offers are accepted only from ${only}` }, `declined ${offer.data.name} from ${offer.from}: only accepting from ${only}`);
        return;
      }
      if (busy) {
        await declineFileOffer(c, offer).catch(() => undefined);
        out.event({ event: 'refused', ...base, code: 'BUSY', reason: 'another transfer is running' }, `declined ${offer.data.name} from ${offer.from}: busy`);
        return;
      }
      busy = true;
      try {
        if (offer.encrypted) {
          const trust = await offerTrust(c, offer.from);
          out.event({ event: 'offer', ...base, trust: trust.trust, fingerprint: trust.fingerprint },
            `${offer.from} (${trust.trust === 'personal' ? 'personally verified' : trust.trust === 'changed' ? 'KEY CHANGED' : 'CA-certified'} ${formatFingerprint(trust.fingerprint)}) offers ${base.kind} ${offer.data.name}, ${human(offer.data.totalSize)} in ${offer.data.fileCount} file(s); accepting into ${dir}`);
        } else if (route.insecureClassic === true) {
          // The plain offer of a classic client, accepted because the user asked for it: no certificate, no trust.
          console.error(`certim file receive: ${INSECURE_WARNING}`);
          out.event({ event: 'offer', ...base, trust: null, fingerprint: null },
            `${offer.from} (classic client, NOT authenticated) offers ${base.kind} ${offer.data.name}, ${human(offer.data.totalSize)} in ${offer.data.fileCount} file(s) UNENCRYPTED; accepting into ${dir}`);
        }
        const started = Date.now();
        const t = await acceptFileOffer(c, offer, dir, { ...route, onProgress: (p) => out.progress(p) });
        current = t;
        const r = await t.result;
        const transferSeconds = out.firstBytesAt === undefined ? 0 : (Date.now() - out.firstBytesAt) / 1000;
        out.firstBytesAt = undefined;
        out.event({ event: 'received', from: r.peer, route: r.route, encrypted: r.encrypted, seconds: (Date.now() - started) / 1000, transferSeconds, files: r.files.map((f) => ({ name: f.name, path: f.path, size: f.size, resumedFrom: f.resumedFrom })) },
          `received ${r.files.length} file(s) from ${r.peer} ${r.encrypted ? 'over TLS' : 'UNENCRYPTED'} (${r.route}), checksum verified: ${r.files.map((f) => f.path).join(', ')}`);
      } catch (e) {
        failures++;
        if (PeerError.is(e, 'OFFER_REFUSED') || PeerError.is(e, 'PEER_INSECURE')) {
          out.event({ event: 'refused', ...base, code: e.code, reason: e.message }, e.message);
        } else {
          out.error(e);
        }
      } finally {
        busy = false;
        current = undefined;
        finished++;
        if (finished >= count) resolveDone();
      }
    };
    c.on('rendezvous', ({ from, message }) => {
      const offer = fileOfferOf(from, message);
      if (offer) void handle(offer);
    });
    const stop = (): void => {
      if (current) current.cancel();
      else resolveDone();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    out.event({ event: 'ready', screenName: c.screenName, dir }, `signed on as ${c.screenName}; waiting for file offers (saving into ${dir})`);
    await done;
    return failures > 0 ? 1 : 0;
  } catch (e) {
    return out.error(e);
  } finally {
    await flush();
    client?.close();
  }
}

/** `certim file`. */
export const fileCommand: Command = {
  summary: 'send and receive files over a certificate-pinned TLS peer connection',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'send' || sub === 'receive' || sub === 'share' || sub === 'get') tuneHeapForStreaming();
    if (sub === 'send') return runSend(rest);
    if (sub === 'receive') return runReceive(rest);
    if (sub === 'share') return runFileShare(rest);
    if (sub === 'get') return runFileGet(rest);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.error(`${USAGE}\n${SHARE_USAGE}\n${GET_USAGE}`);
      return sub === undefined ? 2 : 0;
    }
    console.error(`certim file: unknown subcommand ${sub}\n${USAGE}`);
    return 2;
  },
};
