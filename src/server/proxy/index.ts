/** The rendezvous proxy (docs/protocol.md §8.3): listener, pairing and splice, and the engine-side wiring. */
import type { Engine, Logger } from '../engine.js';
import type { HttpPorts } from '../http/http-ports.js';
import type { ProxyConfig, ProxyTimers } from './proxy-config.js';
import { RendezvousProxy } from './proxy-server.js';

export { RendezvousProxy, CertimProxyErrorCode, proxyErrorCodeFor, type ProxyMetrics, type ProxyRefusal } from './proxy-server.js';
export { defaultProxyConfig, type ProxyConfig, type ProxyTimers } from './proxy-config.js';
export { RendezvousBook, type RendezvousBookOptions } from './rendezvous-book.js';

/** Options of {@link startRendezvousProxy}. */
export interface StartProxyOptions {
  /** Bind address. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Config overrides. */
  config?: Partial<ProxyConfig>;
  /** Timers (tests). */
  timers?: ProxyTimers;
  /** Log sink (default the engine's). */
  log?: Logger;
}

/** Builds a proxy over an engine's sessions, directory and rendezvous book and starts listening. */
export async function startRendezvousProxy(engine: Engine, o: StartProxyOptions): Promise<{ proxy: RendezvousProxy; port: number }> {
  const proxy = new RendezvousProxy({
    registry: engine.registry,
    directory: engine.directory,
    book: engine.rendezvous,
    clock: engine.clock,
    log: o.log ?? engine.log,
    ...(o.config ? { config: o.config } : {}),
    ...(o.timers ? { timers: o.timers } : {}),
  });
  const port = await proxy.listen(o.host, o.port);
  return { proxy, port };
}

/** `ports` with the proxy's gauges and counters added to `/metrics` (proxy_connections, proxy_bytes_relayed, ...). */
export function withProxyMetrics(ports: HttpPorts, proxy: RendezvousProxy): HttpPorts {
  return {
    ...ports,
    metrics: () => {
      const m = proxy.metrics();
      const refused = Object.values(m.refusals).reduce((a, b) => a + (b ?? 0), 0);
      return { ...ports.metrics(), proxyConnections: m.connections, proxyWaiting: m.waiting, proxyPairs: m.pairs, proxyPairsSpliced: m.pairsTotal, proxyBytesRelayed: m.bytesRelayed, proxyRefused: refused };
    },
  };
}
