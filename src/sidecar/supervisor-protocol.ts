/**
 * What the sidecar's supervisor and its server process agree on: env names set on the server's
 * process (never by users). Kept apart so neither side loads the other's code.
 */

/** "server" on the process the supervisor starts: src/sidecar/cli.ts then runs the server. */
export const ROLE_ENV = 'VERSION_OBSERVER_SIDECAR_ROLE';
/** How many times the supervisor has restarted the server (0 on the first start); set only by the supervisor. */
export const RESTARTS_ENV = 'VERSION_OBSERVER_SERVER_RESTARTS';
