/**
 * The load generator's phases, identical for the baseline relay and the real server: sign on N clients in pairs
 * (client i talks to client i ^ 1), then a closed-loop throughput phase and an open-loop fixed-rate latency phase.
 */
import { LoadClient, type SignOnTarget } from './load-client.js';
import { quantile, sleep } from './stats.js';

/** Sign-on of N clients. */
export interface SignOnResult {
  /** The connected clients, index = pairing index. */
  clients: LoadClient[];
  /** Wall seconds the sign-on took. */
  seconds: number;
}

/** Signs on `n` clients named by `nameOf(first + i)` (baseline index `first + i`), at most `concurrency` at a time. */
export async function signOnAll(target: SignOnTarget, n: number, nameOf: (i: number) => string, password: string, first = 0, concurrency = 32): Promise<SignOnResult> {
  const clients: LoadClient[] = new Array<LoadClient>(n);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      clients[i] = await LoadClient.signOn(target, nameOf(first + i), password, first + i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  for (let i = 0; i < n; i++) clients[i]!.setPartner(nameOf(first + (i ^ 1)));
  const seconds = (performance.now() - t0) / 1000;
  // Let the server finish its post-sign-on work (arrival notices, offline checks) before measuring.
  await sleep(300);
  return { clients, seconds };
}

/** Delivery figures of one phase. */
export interface PhaseResult {
  /** IMs sent. */
  sent: number;
  /** IMs delivered within the phase (plus a short drain). */
  delivered: number;
  /** Wall seconds of the sending window. */
  seconds: number;
  /** Delivered per wall second. */
  perSecond: number;
  /** Median delivery latency, ms. */
  p50: number;
  /** 99th percentile delivery latency, ms. */
  p99: number;
}

function collect(clients: LoadClient[], onDelivery?: (receiver: number) => void): { latencies: number[]; delivered: () => number } {
  const latencies: number[] = [];
  let delivered = 0;
  clients.forEach((c, i) => {
    c.onDelivery = (micros) => {
      delivered++;
      if (latencies.length < 2_000_000) latencies.push(micros / 1000);
      onDelivery?.(i);
    };
  });
  return { latencies, delivered: () => delivered };
}

function finish(clients: LoadClient[], sent: number, delivered: number, seconds: number, latencies: number[]): PhaseResult {
  for (const c of clients) c.onDelivery = undefined;
  return { sent, delivered, seconds, perSecond: delivered / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/**
 * Closed loop: every client keeps `window` IMs in flight to its partner and sends the next one when one arrives,
 * so the relay runs flat out. Counts deliveries during `seconds`.
 */
export async function closedLoop(clients: LoadClient[], seconds: number, window = 2): Promise<PhaseResult> {
  let sending = true;
  let sent = 0;
  const c = collect(clients, (receiver) => {
    if (!sending) return;
    const sender = clients[receiver ^ 1];
    if (sender) {
      sender.sendIm();
      sent++;
    }
  });
  const t0 = performance.now();
  for (const cl of clients) for (let k = 0; k < window; k++) {
    cl.sendIm();
    sent++;
  }
  await sleep(seconds * 1000);
  sending = false;
  const elapsed = (performance.now() - t0) / 1000;
  const delivered = c.delivered();
  await sleep(500);
  return finish(clients, sent, delivered, elapsed, c.latencies);
}

/**
 * Calls `send(i)` (i = 0, 1, ...) at `rate` per second for `seconds`, catching up on a 5 ms tick (an open loop: the
 * schedule does not wait for anything); resolves with the number of calls.
 */
export async function paced(rate: number, seconds: number, send: (i: number) => void): Promise<number> {
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      const due = Math.min(rate * seconds, Math.floor(rate * elapsed));
      while (sent < due) send(sent++);
      if (elapsed >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  return sent;
}

/**
 * Open loop: IMs offered at `rate` per second in total, spread round-robin over the clients on a 5 ms tick, for
 * `seconds`; then waits up to 2 s for stragglers. Latency here is what a user would see at that load.
 */
export async function fixedRate(clients: LoadClient[], rate: number, seconds: number): Promise<PhaseResult> {
  const c = collect(clients);
  const t0 = performance.now();
  const sent = await paced(rate, seconds, (i) => clients[i % clients.length]!.sendIm());
  const elapsed = (performance.now() - t0) / 1000;
  const deadline = performance.now() + 2000;
  while (c.delivered() < sent && performance.now() < deadline) await sleep(20);
  return finish(clients, sent, c.delivered(), elapsed, c.latencies);
}
