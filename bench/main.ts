/**
 * `deno task bench`: runs the benchmark orchestrator, bench/run.mjs (plain JavaScript, so
 * that `npm run bench` needs no TypeScript loader), which times the suite under Deno, Bun
 * and Node in turn and prints one combined table. Arguments pass through:
 * `deno task bench --quick`.
 *
 * @module
 */
import "./run.mjs";
