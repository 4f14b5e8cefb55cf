// Import boundaries between and inside the packages, checked by `pnpm check:deps` (part of
// `pnpm lint`). The layers are `server → pki-core → consensus`; testkit (simulators and test
// tooling) may use all three; each package's public face is its name (`@adrestia/...`, whose
// `exports` resolve to `src/` through the `source` condition).
//
// No violation is let through: there is no known-violations baseline.
//
// packages/testkit/test/boundaries.test.ts runs this config on a fixture tree that breaks each
// rule, so a rule that silently stops matching fails a test.

/** A file of the named package (src, test or anything else in its folder). */
const inPackage = (name) => `^packages/${name}/`;
/** The packages a layer must not import, by name or by path. */
const notBelow = {
  consensus: ["pki-core", "server", "testkit"],
  "pki-core": ["server", "testkit"],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "Source files must not import each other in a cycle (type-only imports included): a " +
        "cycle is one module in several files, and whichever loads first sees the other half-initialised.",
      from: {},
      to: { circular: true },
    },
    ...Object.entries(notBelow).map(([layer, above]) => ({
      name: `layer-${layer}`,
      severity: "error",
      comment: `${layer} sits below ${above.join(", ")} (server → pki-core → consensus): it must not import them.`,
      from: { path: inPackage(layer) },
      to: { path: above.map(inPackage) },
    })),
    {
      name: "server-is-top",
      severity: "error",
      comment:
        "Nothing but server's own files (its binary, its tests, the e2e tests) and testkit imports " +
        "@adrestia/server or a server file.",
      from: { pathNot: [inPackage("server"), inPackage("testkit")] },
      to: { path: inPackage("server") },
    },
    {
      name: "testkit-is-for-tests",
      severity: "error",
      comment: "testkit is test tooling: no package's src imports it (tests may).",
      from: { path: "^packages/(consensus|pki-core|server)/src/" },
      to: { path: inPackage("testkit") },
    },
    {
      name: "cross-package-by-name",
      severity: "error",
      comment:
        "A package imports another only through its name (@adrestia/...), never by a relative " +
        "path into the other package's folder.",
      from: { path: "^packages/([^/]+)/" },
      to: { path: "^packages/", pathNot: "^packages/$1/", dependencyTypes: ["local"] },
    },
    {
      name: "src-not-from-test",
      severity: "error",
      comment: "Shipped code (src) must not import a test file or a test helper.",
      from: { path: "^packages/[^/]+/src/" },
      to: { path: "^packages/[^/]+/test/" },
    },
    {
      name: "resolvable",
      severity: "error",
      comment:
        "Every import resolves: an import the checker cannot resolve would escape the rules above. " +
        "The bin shims import the build output (dist/), which exists only after `pnpm build`.",
      from: { pathNot: "^packages/[^/]+/bin/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    // Type-only imports count: they tie the design together as much as value imports do.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    // Workspace packages resolve through their node_modules links to packages/<name>/src/.
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["source", "import", "node", "default"],
      extensions: [".ts", ".js", ".cjs", ".mjs", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
