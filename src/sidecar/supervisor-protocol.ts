/**
 * What the sidecar's supervisor and its server process agree on: env names set on the server's
 * process (never by users), and the two settings the supervisor reads itself. Kept apart so
 * neither side loads the other's code: the settings table (src/sidecar/config.ts) loads
 * node:crypto for the keys, ~1.4 MiB of anonymous memory the supervisor does without; a unit test
 * keeps these names equal to the table's.
 */

/** "server" on the process the supervisor starts: src/sidecar/cli.ts then runs the server. */
export const ROLE_ENV = 'VERSION_OBSERVER_SIDECAR_ROLE';
/** How many times the supervisor has restarted the server (0 on the first start); set only by the supervisor. */
export const RESTARTS_ENV = 'VERSION_OBSERVER_SERVER_RESTARTS';
/** The server's exit code for invalid configuration (sysexits EX_CONFIG): the supervisor does not restart it. */
export const CONFIG_INVALID_EXIT = 78;

/** The rows of src/sidecar/config.ts's OPTIONS the supervisor reads (flag > env, as the table does). */
export const SUPERVISOR_SETTINGS = {
  shutdownGrace: { flag: 'shutdown-grace-ms', env: 'VERSION_OBSERVER_SHUTDOWN_GRACE_MS', default: 10_000 },
  logLevel: { flag: 'log-level', env: 'VERSION_OBSERVER_LOG_LEVEL', default: 'info' },
} as const;
