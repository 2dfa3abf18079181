// Loads the real peer packages that scripts/install-peers put under
// $CCTOKEN_PEERS_DIR/node/node_modules (default: <repo>/target/peers).
//
// ESM resolution ignores NODE_PATH and starts from the importing file, and these helpers live
// in tests-peers/ while the packages live under target/, so a bare `import 'oidc-provider'`
// would not find them. `createRequire` anchored at the generated package.json resolves with
// the "require" condition, which ESM-only packages do not always export. So this module reads
// the package's own package.json and follows its "exports" (import/node/default conditions)
// or "main", then imports that file by URL. Nothing is vendored, nothing is guessed.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Directory that holds node/ and venv/ of the installed peers. */
export const peersDir = process.env.CCTOKEN_PEERS_DIR
  ?? path.resolve(here, '..', '..', 'target', 'peers');

const CONDITIONS = ['node', 'import', 'default'];

function pickTarget(entry) {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const e of entry) {
      const t = pickTarget(e);
      if (t) return t;
    }
    return undefined;
  }
  if (entry && typeof entry === 'object') {
    for (const cond of CONDITIONS) {
      if (cond in entry) {
        const t = pickTarget(entry[cond]);
        if (t) return t;
      }
    }
  }
  return undefined;
}

/** Absolute path of the entry module of an installed peer package. */
export function resolvePeer(name) {
  const dir = path.join(peersDir, 'node', 'node_modules', name);
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch (err) {
    throw new Error(`peer ${name} not installed under ${dir} (run scripts/install-peers): ${err.message}`);
  }
  let target;
  const { exports } = pkg;
  if (exports !== undefined) {
    const root = (typeof exports === 'object' && !Array.isArray(exports)
      && Object.keys(exports).some((k) => k.startsWith('.')))
      ? exports['.']
      : exports;
    target = pickTarget(root);
  }
  target ??= pkg.module ?? pkg.main ?? 'index.js';
  return path.join(dir, target);
}

/** `import()` an installed peer package by name. */
export async function importPeer(name) {
  return import(pathToFileURL(resolvePeer(name)).href);
}

/** Version string of an installed peer package. */
export function peerVersion(name) {
  const file = path.join(peersDir, 'node', 'node_modules', name, 'package.json');
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

/** Prints the base URL as the first stdout line, the contract the Rust tests wait for. */
export function announce(url) {
  process.stdout.write(`${url}\n`);
}

/**
 * Exit on SIGTERM/SIGINT, and also when the parent goes away if it asked for that with
 * CCTOKEN_EXIT_WITH_STDIN=1 (the Rust tests hold our stdin open and its end means they are
 * gone, even after a crash), so no server outlives its test.
 */
export function exitWithParent(server) {
  const stop = () => {
    server?.close?.();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.CCTOKEN_EXIT_WITH_STDIN === '1') {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}
