#!/usr/bin/env node
// Builds the addon with node-gyp against the headers of the Node that runs this
// script, never downloading any (CI has no internet beyond the npm and Debian
// registries). Run by the root package's `install` script, so `npm ci` builds it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

if (process.env.VIRTIO_CTS_SKIP_NATIVE === '1') {
  console.log('virtio-cts-native: skipped (VIRTIO_CTS_SKIP_NATIVE=1)');
  process.exit(0);
}
if (process.platform !== 'linux') {
  // memfd, eventfd and SCM_RIGHTS are Linux APIs; only the vhost-user target needs them.
  console.log(`virtio-cts-native: skipped on ${process.platform} (Linux only)`);
  process.exit(0);
}

// Headers: npm's `nodedir` config if set, else the running Node's own prefix
// (/usr for Debian/NodeSource packages, the install dir for official tarballs).
const prefix = resolve(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir
  || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);

// node-gyp: the one npm bundles (npm exports its path to lifecycle scripts),
// else the one next to this Node's npm, else whatever is on PATH.
const candidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
const [cmd, pre] = candidates.length ? [process.execPath, [candidates[0]]] : ['node-gyp', []];

const args = [...pre, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(cmd, args, { cwd: here, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`virtio-cts-native: build failed (${cmd} ${args.join(' ')}).`
    + ' It needs python3, make and a C compiler (Debian: apt-get install python3 make gcc),'
    + ` and Node's headers in <nodedir>/include/node (nodedir=${nodedir ?? 'unset'}).`
    + ' Set VIRTIO_CTS_SKIP_NATIVE=1 to install without it (the vhost-user target then cannot run).');
  process.exit(r.status ?? 1);
}
