/**
 * `certim server`: runs the OSCAR server (plain + TLS) and its HTTPS side (EST, CRL, health, metrics) until SIGTERM
 * or SIGINT. Thin: parses flags, calls startServer (src/server/main.ts), prints the ready line, waits for a signal.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { DEFAULT_SERVER_OPTIONS, startServer, type RunningServer, type ServerOptions } from '../../server/main.js';
import { LogEvent } from '../../server/log.js';
import { createLogSink, isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelOption } from '../../server/log-sink.js';
import { parseClusterUrl } from '../../server/cluster/cluster-url.js';
import { defaultEngineConfig } from '../../server/config.js';
import { tuneHeapForStreaming } from '../heap-tuning.js';

const USAGE = `usage: certim server [options]

  --data-dir DIR     data directory: database, CA, TLS certificate (default ${DEFAULT_SERVER_OPTIONS.dataDir})
  --host H           address to listen on (default ${DEFAULT_SERVER_OPTIONS.host}; use 0.0.0.0 for a LAN)
  --port N           plain OSCAR port, for classic AIM clients (default ${DEFAULT_SERVER_OPTIONS.port})
  --tls-port N       OSCAR over TLS, for certim clients (default ${DEFAULT_SERVER_OPTIONS.tlsPort})
  --http-port N      HTTPS: EST enrollment, /crl, /healthz, /metrics (default ${DEFAULT_SERVER_OPTIONS.httpPort})
  --proxy-port N     rendezvous proxy for file transfer / direct IM (default --port + 3, i.e. ${DEFAULT_SERVER_OPTIONS.proxyPort};
                     a free port when --port is 0)
  --proxy-address IP IPv4 address the proxy tells clients to use (default: the address they reached it on)
  --db URL           sqlite:PATH or postgres://... (default sqlite:DATA-DIR/certim.db)
  --domain D         domain in issued certificates' im: URIs (default: the public host)
  --public-host H    name clients use to reach this server: BOS redirects and the TLS certificate
                     (default: --host, or this machine's host name when --host is a wildcard)
  --max-sessions N   sessions one account may hold at once, on every node together: devices, \`certim listen\`,
                     a running \`send\` (default ${defaultEngineConfig().maxSessionsPerUser}; a classic client's takeover login always fits)
  --json             print one JSON line on stdout once ready (caFingerprint: the CA root's SHA-256, plain
                     lowercase hex; \`certim admin ca show\` prints it grouped for people); logs stay on stderr
  --log-level L      ${LOG_LEVELS.join('|')} (default info): the lowest level logged
  --log-format F     ${LOG_FORMATS.join('|')} (default auto: readable lines on a terminal, JSON lines otherwise)
  Logs go to stderr, one event per line with a stable "event" name (ARCHITECTURE.md lists them); fingerprint
  fields are plain hex in JSON lines and grouped in fours in readable lines.
  --cluster URL      run as one node of a cluster: nats://[USER:PASS@]HOST:4222[?name=CLUSTER][&ca=CA.pem];
                     needs --db postgres://... and the same CERTIM_CA_PASSPHRASE on every node
                     (default: a single server, no NATS)
  Port 0 picks a free port. SIGTERM/SIGINT shut down cleanly.

environment:
  CERTIM_ROOT_PASSPHRASE  the CA root key's passphrase, read at the first start only and never written; without
                          it one is generated, shown once on a terminal (else discarded), the root key sealed
  CERTIM_CA_PASSPHRASE    passphrase of both CA keys (then no ca/issuing.pass is written either)
`;

function port(name: string, v: string | undefined, dflt: number): number {
  return v === undefined ? dflt : count(name, v, 0, 65535, 'a port number 0-65535');
}

function count(name: string, v: string, min: number, max: number, what = `a whole number ${min}-${max}`): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`--${name} must be ${what}, got '${v}'`);
  return n;
}

/** --proxy-port, else --port + 3 (5193 by default), else a free port when --port is 0 (tests never collide on it). */
function proxyPortFor(v: string | undefined, oscarPort: number): number {
  if (v !== undefined) return port('proxy-port', v, 0);
  return oscarPort === 0 || oscarPort + 3 > 65535 ? 0 : oscarPort + 3;
}

function ipv4(name: string, v: string): string {
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) || v.split('.').some((p) => Number(p) > 255)) throw new Error(`--${name} must be an IPv4 address, got '${v}'`);
  return v;
}

/** Parses `certim server` flags into options (exported for tests). */
export function parseServerArgs(argv: string[]): { options: ServerOptions; json: boolean; logLevel: LogLevelOption; logFormat: LogFormat } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-port': { type: 'string' },
      'http-port': { type: 'string' },
      'proxy-port': { type: 'string' },
      'proxy-address': { type: 'string' },
      db: { type: 'string' },
      domain: { type: 'string' },
      'public-host': { type: 'string' },
      'max-sessions': { type: 'string' },
      cluster: { type: 'string' },
      json: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const d = DEFAULT_SERVER_OPTIONS;
  const options: ServerOptions = {
    ...d,
    dataDir: values['data-dir'] ?? d.dataDir,
    host: values.host ?? d.host,
    port: port('port', values.port, d.port),
    tlsPort: port('tls-port', values['tls-port'], d.tlsPort),
    httpPort: port('http-port', values['http-port'], d.httpPort),
    proxyPort: proxyPortFor(values['proxy-port'], port('port', values.port, d.port)),
    ...(values['proxy-address'] !== undefined ? { proxy: { advertisedIpv4: ipv4('proxy-address', values['proxy-address']) } } : {}),
    ...(values.db !== undefined ? { dbUrl: values.db } : {}),
    ...(values.domain !== undefined ? { domain: values.domain } : {}),
    ...(values['public-host'] !== undefined ? { publicHost: values['public-host'] } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
    ...(values['max-sessions'] !== undefined ? { engine: { maxSessionsPerUser: count('max-sessions', values['max-sessions'], 1, 1000) } } : {}),
  };
  if (values.cluster !== undefined) parseClusterUrl(values.cluster); // a bad URL is a usage error, before anything starts
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const logFormat = values['log-format'] ?? 'auto';
  if (!isLogFormat(logFormat)) throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${logFormat}'`);
  return { options, json: values.json ?? false, logLevel, logFormat };
}

/** The `certim server` command. */
export const serverCommand: Command = {
  summary: 'run the certim OSCAR server (plain, TLS) and its HTTPS/EST side',
  async run(argv) {
    let parsed: ReturnType<typeof parseServerArgs>;
    try {
      parsed = parseServerArgs(argv);
    } catch (e) {
      console.error(`certim server: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    tuneHeapForStreaming();
    const sink = createLogSink({ level: parsed.logLevel, format: parsed.logFormat });
    const log = sink.log;
    // Signal handlers go in before anything is printed: a supervisor may send SIGTERM the instant it reads the
    // ready line, and a signal with no listener would kill the process without a clean shutdown.
    let stopSignal: NodeJS.Signals | undefined;
    let wake: (() => void) | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      stopSignal ??= sig;
      wake?.();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      let server: RunningServer;
      try {
        server = await startServer({ ...parsed.options, log });
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { port?: number };
        const hint = err.code === 'EADDRINUSE' ? ` (port ${err.port ?? '?'} is in use: pick another with --port/--tls-port/--http-port/--proxy-port, or 0)` : '';
        console.error(`certim server: cannot start: ${err.message ?? String(e)}${hint}`);
        return 1;
      }
      const ready = {
        event: 'ready',
        oscar: server.ports.oscar,
        oscarTls: server.ports.oscarTls,
        https: server.ports.https,
        proxy: server.ports.proxy,
        caFingerprint: server.caFingerprint,
        host: server.host,
        dataDir: server.dataDir,
        db: server.backend,
        pid: process.pid,
        ...(server.cluster ? { cluster: server.cluster } : {}),
      };
      if (parsed.json) process.stdout.write(`${JSON.stringify(ready)}\n`);
      if (!stopSignal) await new Promise<void>((resolve) => (wake = resolve));
      log('info', LogEvent.STOPPING, { signal: stopSignal ?? 'unknown' });
      await server.close();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    sink.close(); // pending repeat counts first, so the last line is the stop
    log('info', LogEvent.STOPPED);
    return 0;
  },
};
