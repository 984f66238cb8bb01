/** Options of `WorkerTesting.inProcess()`. */
export interface InProcessOptions {
  /**
   * How many dispatches run at once, as many as the pool would have threads.
   * 1 runs the tasks one after another.
   * @default the application's `workers`
   */
  concurrency?: number;
}
