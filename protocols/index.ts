/**
 * Public entry point of `protocols/`: the contract types, the intensity helpers,
 * the registry and each protocol module. Pure TypeScript (no Node, DOM or noble).
 */
export * from './types';
export * from './intensity';
export * from './checksum';
export * from './bytes';
export * from './standard';
export { identify as identifyProtocol, get as getProtocol, all as allProtocols, simulateAll } from './registry';
export type { Candidate } from './registry';
export * as registry from './registry';
export * from './theragun';
export * from './rongtai';
export * from './jieli';
