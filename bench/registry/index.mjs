/**
 * Every workload in table order, and every subject by id. A workload file
 * declares its own subjects; a row may compare subjects of other workloads
 * (the `loop` row reuses the `run` workload's raw piscina figure), and a
 * subject measured for several rows or workloads runs once per bench run.
 * The checks below fail at start-up, before anything is built or run.
 */
import { subjects as shared } from './shared.mjs';
import run from './run.mjs';
import otel from './otel.mjs';
import loop from './loop.mjs';
import seed from './seed.mjs';
import map from './map.mjs';
import cpu from './cpu.mjs';
import alloc from './alloc.mjs';
import latency from './latency.mjs';
import memory from './memory.mjs';
import postgres from './postgres.mjs';
import redis from './redis.mjs';
import grpc from './grpc.mjs';
import scaleout from './scaleout.mjs';
import http from './http.mjs';
import idle from './idle.mjs';
import permits from './permits.mjs';
import jobControl from './job-control.mjs';

export const workloads = [
  run,
  otel,
  loop,
  seed,
  map,
  cpu,
  alloc,
  latency,
  memory,
  postgres,
  redis,
  grpc,
  scaleout,
  http,
  idle,
  permits,
  jobControl,
];

export const subjects = collectSubjects();

function collectSubjects() {
  const all = { ...shared };
  for (const workload of workloads) {
    for (const [id, spec] of Object.entries(workload.subjects ?? {})) {
      if (id in all) throw new Error(`bench registry: subject ${id} is declared twice (again in ${workload.name})`);
      all[id] = spec;
    }
  }
  return all;
}

function check() {
  const names = new Set();
  for (const workload of workloads) {
    if (names.has(workload.name)) throw new Error(`bench registry: two workloads are named ${workload.name}`);
    names.add(workload.name);
    for (const row of workload.rows) {
      for (const id of [row.ours, row.peer].filter(Boolean)) {
        if (!subjects[id])
          throw new Error(`bench registry: row "${row.label}" of ${workload.name} names no subject ${id}`);
        if (!subjects[id].metric) throw new Error(`bench registry: subject ${id} is in a row but declares no metric`);
      }
      if (row.target && !row.peer && !row.target.absolute)
        throw new Error(`bench registry: row "${row.label}" has a ratio target but no peer`);
    }
  }
  for (const workload of workloads)
    for (const detail of workload.details ?? [])
      for (const id of detail.needs ?? [])
        if (!subjects[id])
          throw new Error(`bench registry: a detail table of ${workload.name} needs unknown subject ${id}`);
  for (const [id, spec] of Object.entries(subjects)) {
    if (!spec.program || !spec.label) throw new Error(`bench registry: subject ${id} needs a label and a program`);
    for (const dep of spec.after ?? [])
      if (!subjects[dep]) throw new Error(`bench registry: subject ${id} runs after unknown subject ${dep}`);
    if (
      spec.interleave &&
      (!subjects[spec.interleave] || spec.rounds === false || subjects[spec.interleave].rounds === false)
    )
      throw new Error(`bench registry: subject ${id} interleaves with ${spec.interleave}, which cannot be`);
  }
}
check();
