#!/usr/bin/env bash
# Checks the packages install and run as a user gets them: builds every package, packs consensus,
# pki-core and server with `pnpm pack` (which rewrites `workspace:*` to versions and applies
# publishConfig.exports; `npm pack` does neither), installs the tarballs with npm into an empty
# directory outside the workspace, then runs `npx adrestia-pki --help`, examples/embed.mjs and a
# TypeScript type check of the installed declarations. Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
packages=(consensus pki-core server)

work=$(mktemp -d "${TMPDIR:-/tmp}/adrestia-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-check: FAIL: $*" >&2; exit 1; }

echo "pack-check: build"
pnpm -s build
node examples/embed.mjs | grep -q 'signature verified' || fail 'examples/embed.mjs on the workspace build'

echo "pack-check: pack into $work/tarballs"
for p in "${packages[@]}"; do
  (cd "packages/$p" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done

# Each packed manifest: no workspace: ranges, no `source` condition, and every export target shipped.
for tgz in "$work"/tarballs/*.tgz; do
  files=$(tar -tzf "$tgz")
  tar -xOzf "$tgz" package/package.json | FILES="$files" TGZ="$(basename "$tgz")" node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const files = new Set(process.env.FILES.split("\n"));
    const bad = [];
    for (const [name, range] of Object.entries(m.dependencies ?? {})) if (String(range).startsWith("workspace:")) bad.push(`dependency ${name}: ${range}`);
    const walk = (v, at) => {
      if (typeof v === "string") { if (!files.has(`package/${v.replace(/^\.\//, "")}`)) bad.push(`${at} -> ${v} is not in the tarball`); return; }
      for (const [k, w] of Object.entries(v)) { if (k === "source") bad.push(`${at}: source condition`); walk(w, `${at}.${k}`); }
    };
    walk(m.exports, "exports");
    for (const [name, target] of Object.entries(m.bin ?? {})) walk(target, `bin.${name}`);
    if (bad.length) { console.error(`${process.env.TGZ}:\n  ${bad.join("\n  ")}`); process.exit(1); }
  ' || fail "packed manifest of $(basename "$tgz")"
done

echo "pack-check: npm install into $work/app"
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$work"/tarballs/*.tgz >/dev/null

echo "pack-check: npx adrestia-pki --help"
usage=$(npx --no-install adrestia-pki --help 2>&1) || fail "adrestia-pki --help exited $?"
grep -q '^usage: adrestia-pki' <<<"$usage" || fail "adrestia-pki --help printed no usage: $usage"

echo "pack-check: node examples/embed.mjs"
cp "$repo/examples/embed.mjs" .
line=$(node embed.mjs) || fail 'examples/embed.mjs from the installed packages'
grep -q 'signature verified' <<<"$line" || fail "examples/embed.mjs printed: $line"
echo "  $line"

echo "pack-check: tsc over the installed declarations"
cat >consumer.ts <<'EOF'
import { MemoryStorage, type Transport } from '@adrestia/consensus';
import { PkiNode, isPkiError, type IssuedLeafResult, type PkiNodeOptions } from '@adrestia/pki-core';
import { decideRoute } from '@adrestia/pki-core/cluster';
import { verifyJoinToken } from '@adrestia/pki-core/registration';
import { loadConfig, serve, type ServeHandle } from '@adrestia/server';
export const storage: MemoryStorage = new MemoryStorage();
export type Checked = [Transport, IssuedLeafResult['serialHex'], PkiNodeOptions['kek'], ServeHandle['node'], typeof PkiNode.start];
export const used = [isPkiError, decideRoute, verifyJoinToken, loadConfig, serve];
EOF
node "$repo/node_modules/typescript/bin/tsc" --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 \
  --types node --typeRoots "$repo/node_modules/@types" consumer.ts || fail 'tsc over the installed declarations'

echo "pack-check: ok"
