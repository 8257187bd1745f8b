/** The profile format, its engine and the generated simulator (see docs/device-profiles.md). */
export * from './schema';
export * from './codec';
export * from './engine';
export * from './generated-sim';
