import { findUncloneable } from '../boundary/cloneability.checker.js';
import { describeCrash, isDataCloneError } from '../boundary/crash.reason.js';
import { abortedFailure, taskFailure, type TaskFailure } from '../boundary/task.failure.js';
import {
  NotCloneableError,
  TaskTimeoutError,
  WorkerCrashedError,
  WorkerShutdownError,
} from '../errors/worker.errors.js';
import type { AbortCause } from './dispatch.record.js';

/** What failed, for the error that names it. */
export interface FailedSubject {
  readonly name: string;
  readonly timeoutMs: number;
  /** What was sent: a call's payload or a chunk's items (searched for the part that cannot be cloned). */
  readonly sent: unknown;
  readonly root: 'payload' | 'items';
  /** Why the caller aborted, when it did. */
  readonly abortReason?: unknown;
  /** Set once shutdown passed its deadline. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Why a dispatch's message came back rejected instead of answered, as the
 * failure of one call (or one chunk) of it. `cause` is set when the
 * dispatcher stopped the thread itself; otherwise the thread died or the
 * request could not be cloned, and `rejection` tells which.
 */
export function classifyRejection(
  cause: AbortCause | undefined,
  rejection: unknown,
  subject: FailedSubject,
): TaskFailure {
  switch (cause) {
    case 'timeout':
      return taskFailure('timeout', new TaskTimeoutError(subject.name, subject.timeoutMs));
    case 'aborted':
    case 'cancelled':
      return abortedFailure(subject.name, subject.abortReason);
    case 'shutdown':
      return taskFailure('shutdown', new WorkerShutdownError(subject.name, 'stopped', subject.shutdownTimeoutMs));
  }
  if (isDataCloneError(rejection)) {
    const bad = findUncloneable(subject.sent, subject.root);
    return taskFailure(
      'invalid-payload',
      new NotCloneableError(subject.name, 'payload', bad?.path ?? subject.root, bad?.type ?? 'not cloneable', {
        cause: rejection,
      }),
    );
  }
  return taskFailure('crash', new WorkerCrashedError(subject.name, describeCrash(rejection), { cause: rejection }));
}
