/** How figures, ratios and targets read in the tables. */

export function formatFigure(value, unit) {
  if (value === undefined || Number.isNaN(value)) return '-';
  if (unit === 'bytes') return `${(value / 1048576).toFixed(1)} MB`;
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === '% core') return `${value < 10 ? value.toFixed(2) : value.toFixed(0)}%`;
  const short =
    value >= 1e6
      ? `${(value / 1e6).toFixed(2)}M`
      : value >= 1e4
        ? `${(value / 1e3).toFixed(1)}k`
        : value >= 100
          ? value.toFixed(0)
          : value.toFixed(1);
  return `${short} ${unit}`;
}

export function formatRatio(ratio) {
  if (ratio === undefined || Number.isNaN(ratio)) return '-';
  return ratio < 0.01 ? '<0.01x' : `${ratio.toFixed(2)}x`;
}

/** A ratio target reads `>= 0.9x`; an absolute one is in the row's unit. */
export function formatTarget(target, unit) {
  if (!target) return '(context)';
  if (!target.absolute) return `${target.op} ${target.value}x`;
  return `${target.op} ${unit === '% core' ? `${target.value}%` : formatFigure(target.value, unit)}`;
}

export function formatResult(row) {
  if (row.met === true) return 'met';
  if (row.met === false) return 'NOT MET';
  return row.target ? (row.note ?? 'n/a') : '';
}
