/**
 * A second OSCAR connection for one service (ChatNav 0x000D or Chat 0x000E), reached from a signed-on session
 * (docs/protocol.md §3.7): `01/04` on BOS (with TLV 0x0001 naming the room for Chat) -> `01/05` redirect with
 * `host:port` and a single-use cookie -> a new connection of the same transport kind (the client's own factory:
 * TLS stays TLS) presenting the cookie in its hello -> `01/03` host online, `01/17` versions, `01/06` rates,
 * `01/08` rate ack, `01/02` client ready. SNACs that arrive before the owner attached its handler are kept and
 * handed over in order.
 */
import { OSERVICE_FAMILY, OServiceSubtype, ServiceTlv, decodeRateInfo, decodeServiceRedirect, encodeClientOnline, encodeServiceRequest, encodeU16List, encodeVersions } from '../../wire/families/oservice.js';
import { FlapHelloTlv, type FlapSignOff } from '../../wire/flap.js';
import type { Snac } from '../../wire/snac.js';
import { tlv, type Tlv } from '../../wire/tlv.js';
import { ClientError } from '../errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, OscarConnection } from '../oscar-connection.js';
import { parseHostPort, type TransportFactory } from '../transport.js';

/** What opening a service connection needs from the signed-on client. */
export interface ServiceHost {
  /** Sends a SNAC on BOS and resolves with its reply (CertimClient.request). */
  request(family: number, subtype: number, body: Uint8Array): Promise<Snac>;
  /** The transport factory and login host of the session (CertimClient.serviceConnectionOptions). */
  serviceConnectionOptions(): { transport: TransportFactory; host: string; timeoutMs?: number };
}

/** An open service connection; attach `onSnac` to receive what arrives after client ready. */
export interface ServiceConnection {
  conn: OscarConnection;
  /** Sets the receiver of unsolicited SNACs (earlier ones are handed over at once, in order). */
  attach(handlers: { onSnac(s: Snac): void; onClose(err?: Error): void; onSignOff?(so: FlapSignOff): void }): void;
}

/** Tool id/version the client announces in `01/02` (the AIM 5.5 tuple, as on BOS). */
const TOOL = { toolId: 0x0110, toolVersion: 0x0801 } as const;

/** Opens a connection to `family`'s service; `tlvs` go in the `01/04` (TLV 0x0001 = the room for Chat). */
export async function openServiceConnection(host: ServiceHost, family: number, tlvs: Tlv[] = []): Promise<ServiceConnection> {
  const reply = await host.request(OSERVICE_FAMILY, OServiceSubtype.SERVICE_REQUEST, encodeServiceRequest(family, tlvs));
  if (reply.subtype !== OServiceSubtype.SERVICE_REDIRECT) throw new ClientError('PROTOCOL', `expected a service redirect (01/05), got SNAC ${reply.family}/${reply.subtype}`);
  const redirect = decodeServiceRedirect(reply.body);
  const opts = host.serviceConnectionOptions();
  let target = parseHostPort(redirect.address);
  if (target.host === '0.0.0.0' || target.host === '::') target = { host: opts.host, port: target.port };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  const early: Snac[] = [];
  let closedEarly: { err: Error | undefined } | undefined;
  let owner: { onSnac(s: Snac): void; onClose(err?: Error): void; onSignOff?(so: FlapSignOff): void } | undefined;
  let waiter: { subtype: number; resolve(s: Snac): void } | undefined;
  const conn = await OscarConnection.open(opts.transport, target, [tlv(FlapHelloTlv.AuthCookie, redirect.cookie)], {
    onSnac: (s) => {
      if (waiter && s.family === OSERVICE_FAMILY && s.subtype === waiter.subtype) {
        const w = waiter;
        waiter = undefined;
        w.resolve(s);
      } else if (owner) {
        owner.onSnac(s);
      } else {
        early.push(s);
      }
    },
    onSignOff: (so) => owner?.onSignOff?.(so),
    onClose: (err) => {
      if (owner) owner.onClose(err);
      else closedEarly = { err };
    },
  }, { timeoutMs });

  const waitFor = (subtype: number): Promise<Snac> => {
    const i = early.findIndex((s) => s.family === OSERVICE_FAMILY && s.subtype === subtype);
    if (i >= 0) return Promise.resolve(early.splice(i, 1)[0]!);
    return new Promise<Snac>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientError('TIMEOUT', `${conn.peer}: no SNAC 1/${subtype} within ${timeoutMs} ms`)), timeoutMs);
      waiter = { subtype, resolve: (s) => { clearTimeout(timer); resolve(s); } };
    });
  };
  try {
    await waitFor(OServiceSubtype.HOST_ONLINE);
    const families = [{ family: OSERVICE_FAMILY, version: 4, ...TOOL }, { family, version: 1, ...TOOL }];
    await conn.request(OSERVICE_FAMILY, OServiceSubtype.CLIENT_VERSIONS, encodeVersions(families), { timeoutMs });
    const rates = decodeRateInfo((await conn.request(OSERVICE_FAMILY, OServiceSubtype.RATE_PARAMS_QUERY, new Uint8Array(0), { timeoutMs })).body);
    conn.send(OSERVICE_FAMILY, OServiceSubtype.RATE_PARAMS_SUB_ADD, encodeU16List(rates.classes.map((c) => c.id)));
    conn.send(OSERVICE_FAMILY, OServiceSubtype.CLIENT_ONLINE, encodeClientOnline(families));
  } catch (e) {
    conn.close();
    throw e;
  }
  return {
    conn,
    attach(h) {
      owner = h;
      for (const s of early.splice(0)) h.onSnac(s);
      if (closedEarly) h.onClose(closedEarly.err);
    },
  };
}

/** TLV 0x0001 of a `01/04` for Chat. */
export const ROOM_SERVICE_TLV = ServiceTlv.ROOM;
