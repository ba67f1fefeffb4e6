#!/usr/bin/env node
// Adds inert lock entries for the per-platform binaries of @uwsjs/core (uWebSockets.js) that
// are not published on the npm registry (only linux-x64 is). npm 11.16+ leaves unpublished
// optional dependencies out of package-lock.json and then `npm ci` rejects that lock as out of
// sync (npm/cli#9846). An entry with the package's os and cpu is skipped on every other
// platform and satisfies the check. Run it after any `npm install` that rewrites the lock.
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
const core = packages['node_modules/uWebSockets.js'];
let added = 0;
for (const [name, version] of Object.entries(core?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (key in packages) continue;
  const [os, cpu] = name.split('/')[1].split('-');
  packages[key] = { version, optional: true, os: [os], cpu: [cpu] };
  added++;
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} placeholder entries added`);
