#!/usr/bin/env node
// The installed `adrestia-pki` command: runs the CLI built into dist/ (`pnpm build`). In the
// workspace, `pnpm adrestia-pki …` runs the TypeScript sources instead, with no build.
import '../dist/cli/adrestia-pki.js';
