/**
 * The renderer's one door to the IPC contract (channels, payload schemas, result
 * and event shapes). Everything else in the renderer imports from here.
 *
 * The lint disable: `electron/ipc/contract` is the one module under electron/ the
 * renderer may import (DESIGN §2), but the bare `electron` pattern in
 * eslint.config.mjs uses gitignore semantics and also matches this path.
 */
// eslint-disable-next-line no-restricted-imports
export * from '../../electron/ipc/contract';
