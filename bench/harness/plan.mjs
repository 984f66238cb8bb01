/** Which subjects a selection of workloads needs, and in which order they run. */

/**
 * Every subject named by a selected row or detail table, once. Inputs (subjects whose
 * results others' arguments are computed from, via `after`) come first, in
 * dependency order: the calibration and raw piscina's peak rate are then
 * measured before the load they parameterise. The rest run in row order.
 */
export function planSubjects(workloads, subjects) {
  const wanted = [];
  for (const workload of workloads) {
    for (const row of workload.rows)
      for (const id of [row.ours, row.peer]) if (id && !wanted.includes(id)) wanted.push(id);
    // Subjects only a detail table reads.
    for (const detail of workload.details ?? [])
      for (const id of detail.needs ?? []) if (!wanted.includes(id)) wanted.push(id);
  }
  const inputs = [];
  const visit = (id, path) => {
    if (path.includes(id))
      throw new Error(`bench registry: subjects depend on each other: ${[...path, id].join(' -> ')}`);
    for (const dep of subjects[id].after ?? []) {
      visit(dep, [...path, id]);
      if (!inputs.includes(dep)) inputs.push(dep);
    }
  };
  for (const id of wanted) visit(id, []);
  return [...inputs, ...wanted.filter((id) => !inputs.includes(id))];
}

/** The servers (postgres, redis) the planned subjects need. */
export function serversFor(order, subjects) {
  return new Set(order.map((id) => subjects[id].server).filter(Boolean));
}
