/**
 * Browser globals for client tests in Node: put stand-ins on globalThis (replacing Node's own,
 * e.g. fetch) and put back exactly what was there, absent ones deleted.
 */
export function globalStandIns(standIns: Record<string, unknown>): { install(): void; restore(): void } {
  const saved = new Map<string, PropertyDescriptor | undefined>();
  return {
    install() {
      for (const [name, value] of Object.entries(standIns)) {
        saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
        Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
      }
    },
    restore() {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else delete (globalThis as Record<string, unknown>)[name];
      }
      saved.clear();
    },
  };
}
