/**
 * The sidecar's two ports as the contract defines them (docs/protocol.md "Sidecar ports"): the
 * sidecar's defaults and the controller's push target, spelled once.
 */

/** Public port: /version, /version/ws, /version/client.js. */
export const SIDECAR_PUBLIC_PORT = 8787;
/** Admin port: pushes from the controller, health, metrics. Never routed from outside the cluster. */
export const SIDECAR_ADMIN_PORT = 8788;
