// Flat config: @eslint/js + typescript-eslint "recommended" (syntax only, not
// type-checked, so `npm run lint` stays fast enough to run on every save).
// No stylistic rules: formatting is Prettier's job, and eslint-config-prettier
// is not installed to switch such rules off, so none are enabled.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build output, dependencies, runtime data and generated files.
    ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'src/schema/sdl/**', 'test/generated/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `any` is allowed only at a library seam, with an eslint-disable comment saying why.
      '@typescript-eslint/no-explicit-any': 'error',
      // A leading underscore marks a deliberately unused parameter or binding.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // CLIs and scripts print on purpose; the server logs through src/logger.ts.
      'no-console': 'off',
    },
  },
  {
    // Plain JS/ESM config and script files run on Node.
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // CommonJS scripts (scripts/*.cjs) run before anything is built, so they cannot be TypeScript
    // or ESM-with-imports of our code; require() is their import.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
