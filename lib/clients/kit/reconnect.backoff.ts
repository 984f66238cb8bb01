import type { BackoffOptions } from '../../common/backoff.js';

/**
 * Pause before each try to get a lost connection back (the PostgreSQL
 * LISTEN connection, the Redis connections the client makes). Equal jitter:
 * when a server restarts, every process of the fleet lost its connection in
 * the same instant, and must not all knock again in the same instant.
 */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 100, factor: 2, maxMs: 5000, jitter: 'equal' };
