/**
 * Public entry point of `protocols/`: the contract types, the intensity helpers, the
 * profile format and engine, the registry and the protocols by name. Pure TypeScript (no
 * Node, DOM or noble).
 */
export * from './types';
export * from './intensity';
export * from './checksum';
export * from './bytes';
export * from './standard';
export * as profiles from './profile';
export { identify as identifyProtocol, get as getProtocol, all as allProtocols, simulateAll, createRegistry } from './registry';
export type { Candidate, Registry } from './registry';
export * as registry from './registry';
export { theragun } from './theragun';
export { rongtai } from './rongtai';
export { jieli } from './jieli';
