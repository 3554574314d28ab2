/**
 * `certim server`: runs the OSCAR server (plain + TLS) and its HTTPS side (EST, CRL, health, metrics) until SIGTERM
 * or SIGINT. Thin: parses flags, calls startServer (src/server/main.ts), prints the ready line, waits for a signal.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { parseClusterUrl } from '../../server/cluster/cluster-url.js';
import { DEFAULT_SERVER_OPTIONS, startServer, stderrLogger, type RunningServer, type ServerOptions } from '../../server/main.js';

const USAGE = `usage: certim server [options]

  --data-dir DIR     data directory: database, CA, TLS certificate (default ${DEFAULT_SERVER_OPTIONS.dataDir})
  --host H           address to listen on (default ${DEFAULT_SERVER_OPTIONS.host}; use 0.0.0.0 for a LAN)
  --port N           plain OSCAR port, for classic AIM clients (default ${DEFAULT_SERVER_OPTIONS.port})
  --tls-port N       OSCAR over TLS, for certim clients (default ${DEFAULT_SERVER_OPTIONS.tlsPort})
  --http-port N      HTTPS: EST enrollment, /crl, /healthz, /metrics (default ${DEFAULT_SERVER_OPTIONS.httpPort})
  --db URL           sqlite:PATH or postgres://... (default sqlite:DATA-DIR/certim.db)
  --domain D         domain in issued certificates' im: URIs (default: the public host)
  --public-host H    name clients use to reach this server: BOS redirects and the TLS certificate
                     (default: --host, or this machine's host name when --host is a wildcard)
  --cluster URL      run as one node of a cluster: nats://[USER:PASS@]HOST:4222[?name=CLUSTER][&ca=CA.pem];
                     needs --db postgres://... and the same CERTIM_CA_PASSPHRASE on every node
                     (default: a single server, no NATS)
  --json             print one JSON line on stdout once ready; logs stay on stderr
  Port 0 picks a free port. SIGTERM/SIGINT shut down cleanly.
`;

function port(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--${name} must be a port number 0-65535, got '${v}'`);
  return n;
}

/** Parses `certim server` flags into options (exported for tests). */
export function parseServerArgs(argv: string[]): { options: ServerOptions; json: boolean } | 'help' {
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
      db: { type: 'string' },
      domain: { type: 'string' },
      'public-host': { type: 'string' },
      cluster: { type: 'string' },
      json: { type: 'boolean', default: false },
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
    ...(values.db !== undefined ? { dbUrl: values.db } : {}),
    ...(values.domain !== undefined ? { domain: values.domain } : {}),
    ...(values['public-host'] !== undefined ? { publicHost: values['public-host'] } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
  };
  if (values.cluster !== undefined) parseClusterUrl(values.cluster); // a bad URL is a usage error, before anything starts
  return { options, json: values.json ?? false };
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
    const log = stderrLogger();
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
        const hint = err.code === 'EADDRINUSE' ? ` (port ${err.port ?? '?'} is in use: pick another with --port/--tls-port/--http-port, or 0)` : '';
        console.error(`certim server: cannot start: ${err.message ?? String(e)}${hint}`);
        return 1;
      }
      const ready = {
        event: 'ready',
        oscar: server.ports.oscar,
        oscarTls: server.ports.oscarTls,
        https: server.ports.https,
        caFingerprint: server.caFingerprint,
        host: server.host,
        dataDir: server.dataDir,
        db: server.backend,
        pid: process.pid,
        ...(server.cluster ? { cluster: server.cluster } : {}),
      };
      if (parsed.json) process.stdout.write(`${JSON.stringify(ready)}\n`);
      if (!stopSignal) await new Promise<void>((resolve) => (wake = resolve));
      log('info', `${stopSignal ?? 'signal'}: shutting down`);
      await server.close();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    log('info', 'stopped');
    return 0;
  },
};
