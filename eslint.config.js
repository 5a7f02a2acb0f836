// Lint rules for the whole tree: TypeScript-aware recommended rules, plus the layering rule that
// the renderer never imports Node built-ins or core runtime code (types and the schema only).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', '.tsbuild/', '.vite/', 'out/', 'dist/', 'e2e/artifacts/', 'renderer/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['renderer/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The renderer runs in a sandboxed browser context: no Node modules.' },
            {
              regex: '^(\\.\\./)+core/(?!.*(\\.schema\\.json|/api|/types)$)',
              message: 'The renderer may import only types and schemas from core/.',
            },
          ],
        },
      ],
    },
  },
);
