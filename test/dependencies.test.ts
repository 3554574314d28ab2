/**
 * What `npm ci` installs keeps the promises of package.json: every locked package accepts the oldest Node the project
 * says it supports (its `engines`), and every locked package with an install script is named in `allowScripts` (npm
 * 11 only warns about an unnamed one; npm 12 skips its script, and without better-sqlite3's native build `npm start`
 * fails). Read from package-lock.json, so a version bump that breaks either shows here before it reaches a user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockedPackage> };

/** The package name of a lockfile key (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
function nameOf(key: string): string {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

const locked = Object.entries(lock.packages).filter(([key]) => key !== '');

test('package.json and the lockfile declare the same oldest Node', () => {
  assert.equal(lock.packages['']?.engines && !Array.isArray(lock.packages[''].engines) ? lock.packages[''].engines.node : undefined, pkg.engines.node);
});

test('every locked package accepts the oldest Node that package.json supports', () => {
  const oldest = semver.minVersion(pkg.engines.node);
  assert.ok(oldest, `package.json engines.node ${pkg.engines.node} has no lowest version`);
  assert.ok(locked.length > 100, 'the lockfile lists the installed tree');
  const refused = locked.flatMap(([key, p]) => {
    const range = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
    return range !== undefined && !semver.satisfies(oldest, range) ? [`${nameOf(key)}@${p.version} wants node ${range}`] : [];
  });
  assert.deepEqual(refused, [], `these refuse Node ${oldest.version}`);
});

test('every locked package with an install script is allowed to run it', () => {
  const allowed = pkg.allowScripts ?? {};
  const withScripts = locked.filter(([, p]) => p.hasInstallScript).map(([key, p]) => ({ name: nameOf(key), version: p.version }));
  assert.ok(withScripts.some((p) => p.name === 'better-sqlite3'), 'better-sqlite3 builds its native module at install');
  const unnamed = withScripts.filter((p) => allowed[p.name] !== true && allowed[`${p.name}@${p.version}`] !== true);
  assert.deepEqual(unnamed, [], 'install scripts not in package.json allowScripts');
});
