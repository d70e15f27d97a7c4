/**
 * The Pulsar binary protocol codec shared by the broker and the TypeScript client: frames,
 * commands, payload sections (checksums), message metadata, batches, compression, message ids,
 * topic names and the Key_Shared hash. Pure functions and one incremental decoder; no I/O.
 */
export * from './batch.ts';
export * from './commands.ts';
export * from './compression.ts';
export * from './frame.ts';
export * from './hash.ts';
export * from './message-id.ts';
export * from './metadata.ts';
export * from './payload.ts';
export * from './topic-name.ts';
export * from './protocol.ts';
