/**
 * Peer-connection settings for Direct IM and Get File in the CLI (docs/protocol.md §8.2, §8.3), the same
 * environment `certim file send/receive` reads: CERTIM_PROXY (`host:port` of the rendezvous proxy; default the
 * server's host, port 5193) and CERTIM_FORCE_PROXY=1 (skip the direct attempts).
 */
import { parseHostPort } from '../../client/transport.js';
import { DEFAULT_PROXY_PORT } from '../../client/peer/peer-connection.js';
import { UsageError } from './prompt.js';

/** Options for every rendezvous the CLI starts; flags (`--proxy`, `--force-proxy`) win over the environment. */
export function peerOptionsFromEnv(flags: { proxy?: string | undefined; 'force-proxy'?: boolean | undefined } = {}, env: NodeJS.ProcessEnv = process.env): { proxy?: { host: string; port: number }; forceProxy?: boolean } {
  const out: { proxy?: { host: string; port: number }; forceProxy?: boolean } = {};
  const spec = flags.proxy ?? env.CERTIM_PROXY;
  if (spec) {
    try {
      out.proxy = parseHostPort(spec, DEFAULT_PROXY_PORT);
    } catch (e) {
      throw new UsageError(`--proxy: ${(e as Error).message}`);
    }
  }
  if (flags['force-proxy'] === true || env.CERTIM_FORCE_PROXY === '1') out.forceProxy = true;
  return out;
}
