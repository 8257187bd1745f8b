/**
 * The renderer's one door to the IPC contract (channels, payload schemas, result
 * and event shapes), the one module under electron/ the renderer may import
 * (DESIGN §2). Everything else in the renderer imports from here.
 */
export * from '../../electron/ipc/contract';
