import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Workspace packages (packages/*) are reached only through their `exports` map, by name
 * (`@sideband/sip/wire`), never by a relative path into another package's files; inside a
 * package, relative imports stay inside its own src/.
 */
const packageBoundary = {
  regex: String.raw`^\.{1,2}/(.*/)?(packages|sdk)/`,
  message: 'Import a workspace package by its name (@sideband/…) through its exports map, not by a relative path into its files.',
};
const ownSrcOnly = {
  regex: String.raw`^(\.\./)+([\w.-]+/)?(src|test|bench|scripts|packages)/`,
  message: 'A package imports only its own src/ by relative path; other packages by name (@sideband/…), never the gateway.',
};

export default tseslint.config(
  // test/sdk/consumers/ is a merchant's code (CommonJS require included), built and run against the packed SDK.
  { ignores: ['node_modules/', 'data/', '**/dist/', '**/node_modules/', 'packages/merchant-sdk/build/', 'test/sdk/consumers/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [packageBoundary] }],
    },
  },
  { files: ['packages/**'], rules: { 'no-restricted-imports': ['error', { patterns: [packageBoundary, ownSrcOnly] }] } },
  // The pages' own scripts run in the browser.
  { files: ['src/web/assets/**'], languageOptions: { sourceType: 'script', globals: { document: 'readonly', window: 'readonly', EventSource: 'readonly' } } },
  { files: ['src/cli/**', 'bench/**', 'scripts/**', 'packages/*/scripts/**', 'bin/**', 'test/**'], rules: { 'no-console': 'off' } },
);
