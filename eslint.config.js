// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * `import { z } from "zod"` (or "zod/mini") takes zod's whole namespace object (every locale
 * with it) into a bundle: 459 KB in each Lambda, against about 100 KB with `import * as z`
 * (28–57 KB with zod/mini), which esbuild and Vite tree-shake (`npm run bundles` shows the sizes).
 */
const zodNamespace = {
  selector: "ImportDeclaration:matches([source.value='zod'], [source.value='zod/mini'])[importKind='value'] > ImportSpecifier[imported.name='z'][importKind='value']",
  message: "Use `import * as z from \"zod\"` (or \"zod/mini\"): the named `z` defeats tree-shaking (459 KB per bundle).",
};

export default tseslint.config(
  { ignores: ["**/node_modules/**", ".sst/**", ".azuchi/**", "**/dist/**", "test-results/**", "sst-env.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": ["error", zodNamespace],
    },
  },
  {
    // What the Lambdas bundle: zod/mini only, since one classic import brings classic zod back.
    files: ["packages/{core,chat,agent}/src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { paths: [{ name: "zod", allowTypeImports: true, message: "Lambda code takes `zod/mini`: one classic import brings every method of every schema back into the bundle (≈ 70 KB)." }] },
      ],
    },
  },
  {
    // The browser bundle: no Node modules, no server packages; @azuchi/core's index exports server
    // code, so only its types, or its zod-only contracts (`@azuchi/core/contracts`, or by path).
    files: ["packages/web/src/**/*.{ts,tsx}"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [{ name: "@azuchi/core", allowTypeImports: true, message: "Server code: use `import type`, or import @azuchi/core/contracts." }],
          patterns: [
            { group: ["node:*"], message: "The web client runs in a browser." },
            { group: ["@azuchi/*", "!@azuchi/core"], message: "The web client must not bundle server code." },
            { group: ["@azuchi/core/*", "!@azuchi/core/contracts"], message: "Server code: only @azuchi/core/contracts is for the browser." },
          ],
        },
      ],
    },
  },
);
