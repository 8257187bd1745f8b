// Lint rules, including the house rules on imports (DESIGN §2).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['protocols/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['electron'], patterns: ['node:*', '**/electron/**', '**/renderer/**', '@abandonware/*'] },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer never imports Electron.' },
            { name: 'ws', message: 'The renderer uses the browser WebSocket.' },
          ],
          patterns: [
            { group: ['node:*', '@abandonware/*'], message: 'The renderer never imports Node or noble.' },
            { regex: '^(\\.\\./)+electron/(?!ipc/contract$)', message: 'From electron/ the renderer imports only the IPC contract.' },
          ],
        },
      ],
    },
  },
);
