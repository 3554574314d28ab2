/**
 * Adapters that log what crosses a port, so the events are written in one place whichever path caused them:
 * every certificate the CA records as issued (EST enroll and re-enroll, docs/protocol.md §6.1), every EST
 * request the PKI refused, and every store failure that is not an expected outcome. main.ts wraps the real ports
 * with these; nothing else changes.
 */
import type { CertificateLedger } from '../pki/ledger.js';
import type { EstPort, EstResult } from './http/http-ports.js';
import type { ServerPorts } from './ports.js';
import { LogEvent, errorText, type Logger } from './log.js';

/** The ledger, logging `cert.issued` for each user certificate it records (server TLS certificates at debug). */
export function loggingLedger(ledger: CertificateLedger, log: Logger): CertificateLedger {
  return {
    async recordIssued(rec) {
      try {
        await ledger.recordIssued(rec);
      } catch (e) {
        log('error', LogEvent.STORE_ERROR, { operation: 'ledger.recordIssued', error: errorText(e) });
        throw e;
      }
      if (rec.purpose === 'tls-server') return;
      log('info', LogEvent.CERT_ISSUED, { screenName: rec.screenName, serial: rec.serial, purpose: rec.purpose, fingerprint: rec.fingerprint });
    },
    listByScreenName: (sn) => ledger.listByScreenName(sn),
    listAll: (limit) => ledger.listAll(limit),
    get: (serial) => ledger.get(serial),
    revoke: (serial, reason, at) => ledger.revoke(serial, reason, at),
    listRevoked: () => ledger.listRevoked(),
  };
}

function reasonOf(r: EstResult): string | undefined {
  return typeof r.body === 'string' ? r.body.split('\n', 1)[0] : undefined;
}

/** The EST port, logging `est.enroll_refused` for every answer that is not a success. */
export function loggingEstPort(est: EstPort, log: Logger): EstPort {
  const refused = (op: string, screenName: string, r: EstResult): EstResult => {
    if (r.status >= 300) log('warn', LogEvent.ENROLL_REFUSED, { screenName, op, status: r.status, reason: reasonOf(r) });
    return r;
  };
  return {
    cacerts: () => est.cacerts(),
    simpleEnroll: async (sn, body, ct) => refused('simpleenroll', sn, await est.simpleEnroll(sn, body, ct)),
    simpleReenroll: async (sn, body, ct, der) => refused('simplereenroll', sn, await est.simpleReenroll(sn, body, ct, der)),
  };
}

/** Store error codes that are answers, not failures (a full offline queue, an unknown recipient...). */
const EXPECTED_STORE_CODES = new Set(['STORE_LIMIT', 'STORE_NOT_FOUND', 'STORE_DUPLICATE', 'STORE_INVALID']);

/** `port` with every method's rejection logged as `store.error` (operation = `name.method`), then rethrown. */
export function watchStorePort<T extends object>(name: string, port: T, log: Logger): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        const r: unknown = v.apply(target, args);
        if (!(r instanceof Promise)) return r;
        return r.catch((e: unknown) => {
          const code = (e as { code?: unknown } | null)?.code;
          if (!(typeof code === 'string' && EXPECTED_STORE_CODES.has(code))) {
            log('error', LogEvent.STORE_ERROR, { operation: `${name}.${String(prop)}`, code: typeof code === 'string' ? code : undefined, error: errorText(e) });
          }
          throw e;
        });
      };
    },
  });
}

/** The engine's ports with the store-backed ones watched by {@link watchStorePort}. */
export function loggingStorePorts(ports: ServerPorts, log: Logger): ServerPorts {
  return {
    ...ports,
    accounts: watchStorePort('accounts', ports.accounts, log),
    userInfo: watchStorePort('userInfo', ports.userInfo, log),
    feedbag: watchStorePort('feedbag', ports.feedbag, log),
    permitDeny: watchStorePort('permitDeny', ports.permitDeny, log),
    offline: watchStorePort('offline', ports.offline, log),
  };
}
