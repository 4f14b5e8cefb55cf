// ESLint flat config for every package's src/ and test/ (`pnpm lint`).
//
// Rule set, and why:
// - `@eslint/js` recommended: the language-level mistakes (unreachable code, useless
//   assignments, control characters in regexes unless a comment says why).
// - typescript-eslint `recommendedTypeChecked`: the rules that need types and catch real bugs
//   in async, networked code — floating or misused promises, `await` of a non-promise, `any`
//   leaking out of JSON or `catch`, methods passed unbound, objects stringified as
//   `[object Object]`, throwing non-errors.
// - A few checks from `strictTypeChecked` that the code already meets and that guard what the
//   codebase relies on: `switch-exhaustiveness-check` (the compiler-checked tables of
//   `packages/pki-core/src/state/apply-event.ts` and `event-codec.ts`), `return-await` in
//   try/catch (a returned promise escapes its `catch`), `no-deprecated`, and `eqeqeq`.
// Left out on purpose:
// - The rest of `strictTypeChecked` and `stylisticTypeChecked`: on this code they report well
//   over a thousand findings that are style, not defects — `restrict-template-expressions`
//   with numbers and bigints in messages, `no-non-null-assertion` after a checked
//   `noUncheckedIndexedAccess` lookup, `dot-notation`, `no-confusing-void-expression`.
//   `no-unnecessary-condition` and `no-unnecessary-type-conversion` would remove checks and
//   conversions that guard values decoded from the network or disk, whose static type is
//   only what the decoder claims.
// - `require-await`: storage, transport and VIP-hook implementations keep `async` on methods
//   that happen not to await, so they match their interface and a throw becomes a rejection.
//
// No finding is suppressed in bulk: a finding fails the run.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["**/node_modules/**"] },
  {
    files: ["packages/*/src/**/*.ts", "packages/*/test/**/*.ts"],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/require-await": "off",
      // A leading underscore marks a parameter or binding kept for its position or to omit a
      // field from a rest object.
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
      "@typescript-eslint/no-deprecated": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
);
