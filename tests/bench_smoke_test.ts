/**
 * Smoke test of the benchmark harness (bench/_harness.ts): it names the runtime it runs on
 * and interleaves contenders trial by trial, checking each phase. The benchmarks themselves
 * run with `npm run bench` (`--quick` for a smoke run of the whole suite).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Contender, interleave, median, runtimeInfo } from "../bench/_harness.ts";

test("runtimeInfo() names the running runtime and its version", () => {
  const info = runtimeInfo();
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  assert.equal(info.name, g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node");
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.ok(info.engine.length > 0);
});

test("interleave() takes turns trial by trial and hands each phase its op count", async () => {
  const order: string[] = [];
  const ops: number[] = [];
  let sink = 0;
  const contender = (name: string, async: boolean): Contender => ({
    name,
    opsPerCall: 4,
    bytesPerOp: 8,
    async,
    before: () => void order.push(name),
    call: async
      ? () => {
        sink++;
        return Promise.resolve();
      }
      : () => void sink++,
    after: (n: number) => void ops.push(n),
  });
  const rates = await interleave([contender("a", false), contender("b", true)], {
    trials: 2,
    time: 5,
    warmupTime: 1,
  });
  // Each trial has a warmup phase and a timed phase, each opened by before().
  assert.deepEqual(order, ["a", "a", "b", "b", "b", "b", "a", "a"]);
  assert.ok(ops.every((n) => n > 0 && n % 4 === 0));
  assert.ok(sink > 0);
  for (const name of ["a", "b"]) {
    const r = rates.get(name)!;
    assert.equal(r.length, 2);
    assert.ok(r.every((x) => Number.isFinite(x) && x > 0));
  }
});

test("median() of odd and even counts", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
