/**
 * PKI bench: certificates issued per second by the CA (RSA-3072 issuing key) and RSA-3072 / RSA-2048 key
 * generations per second, against `openssl speed rsa3072` sign/s measured in the same run.
 *
 * Issuing a certificate is one RSA-3072 private-key operation plus DER building/parsing and a ledger write, so its
 * natural ceiling is the OpenSSL sign rate (ratio 1.0 = no overhead at all). Rates are per CPU-second of this process
 * (wall-clock rates are printed too), like `openssl speed`. Key generation has no `openssl speed` figure in OpenSSL
 * 3.0; its ratio is printed against the same sign rate to show how many signatures one key generation costs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCertificateAuthority } from '../src/pki/ca.js';
import { MemoryCertificateLedger } from '../src/pki/ledger-memory.js';
import { generateRsaKeyPair } from '../src/pki/keys.js';

const SECONDS = Number(process.env.PKI_BENCH_SECONDS ?? 3);

function opensslSign3072(): number {
  const out = execFileSync('openssl', ['speed', '-seconds', String(SECONDS), 'rsa3072'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const m = /^rsa\s+3072\s+bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(out);
  if (!m) throw new Error(`cannot parse openssl speed output:\n${out}`);
  return Number(m[1]);
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function measure(label: string, minSeconds: number, minOps: number, op: () => Promise<unknown>): Promise<{ perCpu: number; perWall: number; n: number }> {
  await op(); // warm up
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let n = 0;
  while (n < minOps || performance.now() - t0 < minSeconds * 1000) {
    await op();
    n++;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const r = { perCpu: n / cpu, perWall: n / wall, n };
  console.log(`${label.padEnd(34)} ${r.perCpu.toFixed(1).padStart(8)} /CPU-s ${r.perWall.toFixed(1).padStart(8)} /s wall  (n=${n})`);
  return r;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-pki-bench-'));
  try {
    const ca = await openCertificateAuthority({ dataDir: dir, domain: 'bench.example', ledger: new MemoryCertificateLedger(), env: {}, warn: () => {} });
    const user = await generateRsaKeyPair(2048);
    console.log(`issuing CA key: RSA-${ca.issuingCertificate.keyBits}`);

    const ref = opensslSign3072();
    console.log(`${'openssl speed rsa3072 sign'.padEnd(34)} ${ref.toFixed(1).padStart(8)} /CPU-s (reference)`);

    let i = 0;
    const issue = await measure('CA issueUserCertificate (3072)', SECONDS, 50, () => ca.issueUserCertificate(user.publicKey, `user${i++}`, 'encrypt'));
    const kg3072 = await measure('RSA-3072 key generation', SECONDS, 5, () => generateRsaKeyPair(3072));
    const kg2048 = await measure('RSA-2048 key generation', SECONDS, 10, () => generateRsaKeyPair(2048));

    console.log('');
    console.log(`ratio certificates issued / openssl rsa3072 sign:  ${(issue.perCpu / ref).toFixed(2)}`);
    console.log(`ratio RSA-3072 keygens / openssl rsa3072 sign:     ${(kg3072.perCpu / ref).toFixed(4)}  (1 keygen ≈ ${(ref / kg3072.perCpu).toFixed(0)} signatures)`);
    console.log(`ratio RSA-2048 keygens / openssl rsa3072 sign:     ${(kg2048.perCpu / ref).toFixed(4)}  (1 keygen ≈ ${(ref / kg2048.perCpu).toFixed(0)} signatures)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
