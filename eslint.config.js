// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", ".sst/**", ".azuchi/**", "**/dist/**", "test-results/**", "sst-env.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["packages/web/public/**/*.js"],
    languageOptions: { globals: { window: "readonly", document: "readonly", WebSocket: "readonly", fetch: "readonly", location: "readonly", history: "readonly", crypto: "readonly" } },
  },
);
