/**
 * The safety code two people compare to check each other's keys (docs/protocol.md §18.4): 30 decimal digits in six
 * groups of five, the same on both sides. It is SHA-256 over both "screen name / identity fingerprint" entries in a
 * fixed (sorted) order, each 5-byte slice of the digest taken modulo 100,000.
 */
import { renderQr } from './qr.js';

/** Screen names compare without spaces and case (docs/protocol.md §2.1). */
function normalize(name: string): string {
  return name.replace(/ /g, '').toLowerCase();
}

/** The safety code of two identities. */
export async function safetyCode(a: { screenName: string; fingerprint: string }, b: { screenName: string; fingerprint: string }): Promise<string> {
  const entries = [a, b].map((x) => `${normalize(x.screenName)}/${x.fingerprint.toLowerCase()}`).sort();
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`certim-safety-code:v1\n${entries.join('\n')}`)));
  const groups: string[] = [];
  for (let i = 0; i < 6; i++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + d[i * 5 + j]!;
    groups.push(String(n % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** A QR code (data: URL of an SVG) of the safety code, to scan from the other screen instead of reading it. */
export function safetyQr(code: string): string {
  return renderQr(`certim-safety:${code.replace(/ /g, '')}`);
}
