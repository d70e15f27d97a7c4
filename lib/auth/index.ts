/** Public surface of authentication and authorization (see README.md). */
export * from './authenticate.ts';
export * from './authorize.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './keys.ts';
export * from './tokens.ts';
