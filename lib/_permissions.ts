/**
 * Internal: asking before touching what a Deno program may not be allowed to reach. Under
 * `deno run --allow-read --allow-write` (or narrower), reading an environment variable or
 * the host name, or signalling a process, throws `NotCapable`; this library and the `npy`
 * command read them only where {@link permitted} says so, and fall back otherwise (lib/file.ts
 * does the reading). Node and Bun have no such permissions: everything is permitted there.
 *
 * @module
 */

/** A Deno permission, as `Deno.permissions.querySync` takes it. */
export type Permission =
  | { name: "env"; variable: string }
  | { name: "sys"; kind: "hostname" }
  | { name: "run" }
  | { name: "read"; path: string };

interface DenoPermissions {
  querySync(permission: Permission): { state: string };
}

/** Whether the runtime grants `permission` now, without a prompt. */
export function permitted(permission: Permission): boolean {
  const deno = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno;
  if (deno?.permissions?.querySync === undefined) return true;
  try {
    return deno.permissions.querySync(permission).state === "granted";
  } catch {
    return false;
  }
}
