// Pins workerd (every thread) and the load generator to a CPU each, with Linux's taskset, so
// that on a small machine they do not take turns on the same cores: a run then measures the
// Worker's own cost per request (throughput = 1 / workerd's CPU per request once workerd's core is
// busy), not how the scheduler shared two cores between it and the generator that run. The
// orchestrator and everything else stay where the scheduler puts them.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { workerdPid } from './cpu.mjs';

/** The CPUs used: workerd on the first, the load generator on the second. */
const WORKERD_CPU = 0;
const GENERATOR_CPU = 1;

/** Binds every thread of `pid` to `cpu`; false where taskset is missing or refuses. */
function pin(pid, cpu) {
  const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(cpu), String(pid)], { encoding: 'utf8' });
  return result.status === 0;
}

/**
 * Pins the current workerd and the load generator, when the machine has two CPUs or more and
 * taskset works; says what it did, for the report.
 * @param {number | undefined} generatorPid
 * @returns {string} e.g. "workerd on CPU 0, load generator on CPU 1"
 */
export function pinBench(generatorPid) {
  const pid = workerdPid();
  if (os.cpus().length < 2 || pid === null || generatorPid === undefined) return 'not pinned (fewer than 2 CPUs, or no workerd found)';
  if (!pin(pid, WORKERD_CPU) || !pin(generatorPid, GENERATOR_CPU)) return 'not pinned (taskset missing or refused)';
  return `workerd on CPU ${WORKERD_CPU}, load generator on CPU ${GENERATOR_CPU}`;
}
