/**
 * Validation of option objects, shared by `WorkerModule` and the task
 * clients. Each check returns the value (or the default when it is
 * `undefined`) and throws the caller's own error class otherwise, with a
 * message that names the option, what was wrong and the fix.
 */
export type OptionFailure = (path: string, problem: string, fix: string) => Error;

export interface NumberRule {
  min: number;
  max?: number;
  /** What to tell the user; defaults to "use a number in range, or leave it out". */
  fix?: string;
}

export interface OptionChecks {
  int(path: string, value: unknown, fallback: number, rule: NumberRule): number;
  num(path: string, value: unknown, fallback: number, rule: NumberRule): number;
  bool(path: string, value: unknown, fallback: boolean): boolean;
  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T;
  /** A non-empty string matching `pattern` (when given). */
  text(path: string, value: unknown, fallback: string, pattern?: RegExp, fix?: string): string;
}

/** Shows a bad value in a message without echoing a secret-sized blob. */
export function shown(value: unknown): string {
  let text: string;
  try {
    if (typeof value === 'bigint') text = `${value}n`;
    else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
    else text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function optionChecks(fail: OptionFailure): OptionChecks {
  const range = (kind: string, { min, max }: NumberRule) =>
    max === undefined ? `must be ${kind} >= ${min}` : `must be ${kind} from ${min} to ${max}`;
  const number = (kind: 'an integer' | 'a number', test: (v: number) => boolean) => {
    return (path: string, value: unknown, fallback: number, rule: NumberRule): number => {
      if (value === undefined) return fallback;
      if (
        typeof value !== 'number' ||
        !test(value) ||
        value < rule.min ||
        (rule.max !== undefined && value > rule.max)
      ) {
        const whole = kind === 'an integer' ? 'a whole number' : 'a number';
        const bounds = rule.max === undefined ? `of at least ${rule.min}` : `from ${rule.min} to ${rule.max}`;
        throw fail(
          path,
          `${range(kind, rule)}, got ${shown(value)}`,
          rule.fix ?? `Set "${path}" to ${whole} ${bounds}, or leave it out for the default (${fallback}).`,
        );
      }
      return value;
    };
  };
  return {
    int: number('an integer', Number.isInteger),
    num: number('a number', Number.isFinite),
    bool(path, value, fallback) {
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') {
        throw fail(path, `must be true or false, got ${shown(value)}`, `Use a boolean, or leave it out (${fallback}).`);
      }
      return value;
    },
    oneOf(path, value, allowed, fallback) {
      if (value === undefined) return fallback;
      if (!allowed.includes(value as never)) {
        const list = allowed.map((a) => `"${a}"`).join(', ');
        throw fail(path, `must be one of ${list}, got ${shown(value)}`, `Use one of ${list} (default "${fallback}").`);
      }
      return value as (typeof allowed)[number];
    },
    text(path, value, fallback, pattern, fix) {
      if (value === undefined) return fallback;
      if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
        throw fail(
          path,
          `must be a non-empty string${pattern ? ` matching ${pattern}` : ''}, got ${shown(value)}`,
          fix ?? `Use a short name such as "${fallback}", or leave it out.`,
        );
      }
      return value;
    },
  };
}
