// The import-boundary checker (.dependency-cruiser.cjs, `pnpm check:deps`) run on fixture trees
// that mimic the packages, each breaking one rule, so a rule that stops matching fails here; and
// on the real tree, which passes with only the listed known violations.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const PACKAGES = ['consensus', 'pki-core', 'server', 'testkit'] as const;

interface Cruise {
  status: number | null;
  output: string;
}

function cruise(cwd: string, ...extra: string[]): Cruise {
  const r = spawnSync(DEPCRUISE, ['packages', '--config', CONFIG, '--no-progress', ...extra], { cwd, encoding: 'utf8' });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, output: r.stdout + r.stderr };
}

/**
 * A temporary tree shaped like the repository: the four packages, each with a package.json whose
 * `exports` point at src/index.ts, linked under node_modules/@adrestia/ as pnpm links them,
 * plus the given files (path → source).
 */
function fixtureTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-boundaries-'));
  writeFileSync(join(dir, 'tsconfig.base.json'), readFileSync(join(ROOT, 'tsconfig.base.json')));
  mkdirSync(join(dir, 'node_modules', '@adrestia'), { recursive: true });
  for (const name of PACKAGES) {
    mkdirSync(join(dir, 'packages', name, 'src'), { recursive: true });
    const manifest = { name: `@adrestia/${name}`, private: true, type: 'module', exports: { '.': './src/index.ts' } };
    writeFileSync(join(dir, 'packages', name, 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(dir, 'packages', name, 'src', 'index.ts'), 'export const here = 1;\n');
    symlinkSync(join('..', '..', 'packages', name), join(dir, 'node_modules', '@adrestia', name), 'dir');
  }
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

function cruiseFixture(files: Record<string, string>): Cruise {
  const dir = fixtureTree(files);
  try {
    return cruise(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('import boundaries (.dependency-cruiser.cjs)', function () {
  this.timeout(120_000);

  it('a fixture that keeps every rule passes (the fixture resolves like the real tree)', () => {
    const r = cruiseFixture({
      'packages/pki-core/src/index.ts': "import { here } from '@adrestia/consensus';\nexport const core = here;\n",
      'packages/server/src/index.ts': "import { core } from '@adrestia/pki-core';\nimport { here } from '@adrestia/consensus';\nexport const top = core + here;\n",
      'packages/testkit/src/index.ts': "import { top } from '@adrestia/server';\nexport const kit = top;\n",
      'packages/testkit/test/a.test.ts': "import { kit } from '../src/index.ts';\nimport { core } from '@adrestia/pki-core';\nexport const t = kit + core;\n",
      'packages/server/test/a.test.ts': "import { top } from '../src/index.ts';\nexport const t = top;\n",
    });
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.include('no dependency violations found');
  });

  it('an import cycle between two source files fails with no-circular', () => {
    const r = cruiseFixture({
      'packages/consensus/src/a.ts': "import { b } from './b.ts';\nexport const a = (): number => b() + 1;\n",
      'packages/consensus/src/b.ts': "import { a } from './a.ts';\nexport const b = (): number => a() - 1;\n",
    });
    expect(r.status, r.output).to.not.equal(0);
    expect(r.output).to.match(/error no-circular: packages\/consensus\/src\/[ab]\.ts/);
  });

  it('a consensus file importing pki-core fails with layer-consensus', () => {
    const r = cruiseFixture({ 'packages/consensus/src/index.ts': "import { here } from '@adrestia/pki-core';\nexport const x = here;\n" });
    expect(r.status, r.output).to.not.equal(0);
    expect(r.output).to.include('error layer-consensus: packages/consensus/src/index.ts → packages/pki-core/src/index.ts');
  });

  it('every rule names its violation: a type-only cycle, each layer, relative paths, src to test, unresolved', () => {
    // [rule, the importing file, its source]
    const cases: Array<[rule: string, from: string, source: string]> = [
      ['no-circular', 'packages/pki-core/src/type-a.ts', "import type { B } from './type-b.ts';\nexport interface A { b: B }\n"],
      ['layer-pki-core', 'packages/pki-core/src/up.ts', "import { here } from '@adrestia/server';\nexport const x = here;\n"],
      ['server-is-top', 'packages/consensus/test/up.test.ts', "import { here } from '@adrestia/server';\nexport const x = here;\n"],
      ['testkit-is-for-tests', 'packages/server/src/kit.ts', "import { here } from '@adrestia/testkit';\nexport const x = here;\n"],
      ['cross-package-by-name', 'packages/server/src/by-path.ts', "import { here } from '../../pki-core/src/index.ts';\nexport const x = here;\n"],
      ['src-not-from-test', 'packages/consensus/src/uses-test.ts', "import { help } from '../test/helper.ts';\nexport const x = help;\n"],
      ['resolvable', 'packages/consensus/src/dangling.ts', "import { gone } from './gone.ts';\nexport const x = gone;\n"],
    ];
    const files = Object.fromEntries(cases.map(([, from, source]) => [from, source]));
    const r = cruiseFixture({
      ...files,
      'packages/pki-core/src/type-b.ts': "import type { A } from './type-a.ts';\nexport interface B { a: A }\n",
      'packages/consensus/test/helper.ts': 'export const help = 1;\n',
    });
    // depcruise exits with the number of errors (a cycle is reported once): pki-core/src/up.ts
    // also breaks server-is-top, and consensus/test/up.test.ts also breaks layer-consensus.
    expect(r.status, r.output).to.equal(cases.length + 2);
    for (const [rule, from] of cases) expect(r.output).to.include(`error ${rule}: ${from}`);
  });

  it('the repository passes with no known violations allowed', () => {
    const r = cruise(ROOT);
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.include('no dependency violations found');
  });
});
