import { logList, logText } from '../common/log-text.js';

/**
 * Every message text of the module, in one place. Each names what was wrong
 * and, where there is one, the fix.
 */
const list = (items: readonly string[]): string => items.map((i) => `"${i}"`).join(', ');

export const Messages = {
  invalidOption: (path: string, problem: string, fix: string) => `WorkerModule option "${path}" ${problem}. ${fix}`,
  invalidHealthOption: (path: string, problem: string, fix: string) =>
    `WorkerHealthIndicator.isHealthy() option "${path}" ${problem}. ${fix}`,
  invalidDashboardOption: (path: string, problem: string, fix: string) =>
    `WorkerDashboardModule.forRoot() option "${path}" ${problem}. ${fix}`,
  moduleNotConfigured: (importers: readonly string[], configuredElsewhere: boolean) => {
    const by = importers.length ? importers.join(', ') : 'the root module';
    return configuredElsewhere
      ? `WorkerModule is imported without options by ${by}, besides the application's WorkerModule.forRoot(): a plain import makes a second WorkerModule, which has no options. Remove WorkerModule from the imports of ${by}: WorkerModule.forRoot() is global (isGlobal: true), so WorkerManager can be injected anywhere. With isGlobal: false, export WorkerModule from the module that calls forRoot() and import that module instead.`
      : `WorkerModule is imported without options by ${by}. Import it once, in the root module, with its options: WorkerModule.forRoot({ tasksModule: { module: TasksModule, file: join(__dirname, 'tasks.module.js') } }), or WorkerModule.forRootAsync({ imports, inject, useFactory }) to build them from other providers (ConfigService).`;
  },
  duplicateTask: (name: string, first: string, second: string) =>
    `Task "${name}" is declared twice: by ${first} and by ${second}. Task names must be unique; rename one of them.`,
  scopedTaskProvider: (className: string, scope: string) =>
    `${className} declares @Task() handlers but is ${scope}. Task handlers run in worker threads outside any request; make ${className} a singleton (default scope) and keep request data in the payload.`,
  moduleLoad: (file: string, reason: string) => `A worker thread cannot load ${file}: ${reason}`,
  typeScriptCompilerMissing: (file: string) =>
    `Cannot compile ${file}: it is TypeScript, and neither "@swc/core" nor "typescript" can be found from its folder. Worker threads compile TypeScript sources with the app's own compiler: install one (npm install --save-dev typescript), or point the option at compiled JavaScript (build the project first).`,
  moduleFileNotAPath: (option: string, shown: string) =>
    `WorkerModule option "${option}" must be an absolute file path or a file URL, got ${shown}. A number, or a relative id such as "./src/hash.tasks.ts", is what a bundler makes of require.resolve() ("nest build --webpack", Nest monorepos), and worker threads load the file from disk: emit the tasks module next to the bundle (module.exports = (options) => withTasksEntries(options) in webpack.config.js, from "nestjs-worker/webpack") and name it with join(__dirname, 'hash.tasks.js') in CommonJS, new URL('./hash.tasks.js', import.meta.url) in an ES module.`,
  moduleFileMissing: (option: string, file: string, tried: readonly string[]) =>
    `WorkerModule option "${option}" names ${file}, which does not exist${tried.length ? ` (nor does ${tried.join(', ')})` : ''}. If it points into the build output, build the project first. In a webpack bundle, __dirname is the bundle's folder: emit the tasks file with withTasksEntries() from "nestjs-worker/webpack" and name it relative to main.js (from a file at the source root, such as app.module.ts).`,
  tasksModuleExportMissing: (file: string, exportName: string, exported: readonly string[]) =>
    `${file} has no export named "${exportName}"; it exports ${exported.length ? list(exported) : 'nothing'}. Export the tasks module class from that file under its own name, or set "tasksModule.exportName" to the name it is exported under.`,
  tasksModuleExportMismatch: (file: string, exportName: string, moduleName: string, found: string) =>
    `Export "${exportName}" of ${file} is ${found}, not the tasks module ${moduleName}. Set "tasksModule.exportName" to the export that holds ${moduleName}, or point "tasksModule.file" at the file that declares it.`,
  functionExportMissing: (
    task: string,
    file: string,
    exportName: string,
    exported: readonly string[],
    found?: string,
  ) =>
    `The handler of function task "${task}" is not exported from ${file} as "${exportName}"${found ? ` (that export is ${found})` : ''}; the file exports ${exported.length ? list(exported) : 'nothing'}. Export the function under its own name, or set "exportName".`,
  tasksFileBootstrapsApp: (file: string) =>
    `${file} starts the application when it is loaded: a worker thread imported it to boot the tasks module, and it bootstrapped the app (with WorkerModule) again inside the thread. Guard the bootstrap call, e.g. \`if (!isPoolThread()) await bootstrap();\` (isPoolThread comes from "nestjs-worker"), or move the tasks module to a file of its own.`,
  webpackTasksFile: (file: string, sourceRoot: string) =>
    `withTasksEntries(): ${file} does not exist or is not inside ${sourceRoot}, the folder of the main entry. Give tasks files as paths relative to that folder (e.g. 'hash/hash.tasks.ts'), or leave the list out to take every *.tasks.ts file below it.`,
  webpackEntry: (entry: string) =>
    `withTasksEntries(): the webpack configuration's "entry" must be the main file's path (as the Nest CLI passes it to webpack.config.js), got ${entry}. Call it on the options the Nest CLI gives your webpack.config.js function: module.exports = (options) => withTasksEntries(options).`,
  workerBoot: (file: string, exportName: string, reason: string) =>
    `A worker thread could not boot the tasks module "${exportName}" from ${file}: ${reason}`,
  threadDiedAtBoot: (reason: string) =>
    `A worker thread died while booting: ${reason}. If it names a missing file, build the project again: the threads load the tasks file, and what it imports, from disk.`,
  startupTimeout: (ms: number, ready: number, total: number) =>
    `Only ${ready} of ${total} worker threads booted their Nest context within ${ms} ms. Raise "startupTimeoutMs" if your tasks module is slow to start, or look for a provider whose onModuleInit() never resolves.`,
  tasksMissingInWorker: (tasks: readonly string[], file: string, exportName: string) =>
    `Task(s) ${list(tasks)} were discovered in the application but not in the worker threads' context booted from "${exportName}" (${file}). Import the providers that declare them into ${exportName}.`,
  noTasks: () =>
    `No task was found. Declare @Task() methods on providers of the module given as "tasksModule", or list plain functions in "functions".`,
  unknownTask: (name: string, known: readonly string[]) =>
    `Unknown task "${logText(name)}". ${known.length ? `Known tasks: ${list(known)}.` : 'No task is registered.'}`,
  classInstancePayload: (task: string, path: string, className: string) =>
    `Task "${logText(task)}": ${path} is a ${className} instance. Only its data crosses to the worker thread: the handler receives ${className === 'Buffer' ? "a plain Uint8Array, without Buffer's methods" : `a plain object, without ${className}'s prototype and methods`}. Send plain data and rebuild the instance in the handler (e.g. ${className}.from(payload)), or give the task a schema that builds it (e.g. zod's .transform()): the handler receives the schema's output. (Said once per task and class, outside production.)`,
  notCloneable: (task: string, what: 'payload' | 'result', path: string, type: string) =>
    `Task "${task}": the ${what} cannot be sent between threads: ${path} is ${type}. Only structured-cloneable data (plain objects, arrays, primitives, Date, Map, Set, typed arrays, ...) crosses a thread; pass ids or plain data and rebuild the rest in the handler.`,
  invalidPayload: (task: string, issues: string) =>
    `Task "${task}": the payload does not match the task's schema: ${issues}`,
  timeout: (task: string, ms: number) =>
    `Task "${task}" timed out after ${ms} ms; its worker thread was stopped and replaced.`,
  crashed: (task: string, reason: string) =>
    `Task "${task}" lost its worker thread (${reason}); the thread was replaced.`,
  queueFull: (task: string, size: number) =>
    `Task "${task}" was refused: the queue is full (${size} tasks). Wait and retry, raise "queueSize", or set "whenQueueFull" to "wait".`,
  shuttingDown: (task: string, stage: 'refused' | 'unstarted' | 'stopped', ms?: number) => {
    const deadline =
      ms === undefined
        ? 'the shutdown deadline (shutdownTimeoutMs)'
        : `the shutdown deadline (shutdownTimeoutMs, ${ms} ms)`;
    if (stage === 'stopped')
      return `Task "${task}" was stopped at ${deadline}: it was still running, so its worker thread was stopped and the task did not complete.`;
    if (stage === 'unstarted') return `Task "${task}" was not started: it was still queued at ${deadline}.`;
    return `Task "${task}" was not started: the worker pool is shutting down and takes no new tasks.`;
  },
  shutdownDeadline: (
    ms: number,
    stopped: { client: number; callers: number },
    unstarted: { client: number; callers: number },
    inMemory: boolean,
  ) => {
    const parts = [
      `Shutdown deadline (shutdownTimeoutMs, ${ms} ms): stopping ${stopped.client + stopped.callers} task(s) still running, and their worker threads.`,
    ];
    const released = stopped.client + unstarted.client;
    if (released > 0) {
      const whose = inMemory
        ? 'InMemoryTaskClient puts them back in its queue, which is lost when this process exits'
        : 'the task client delivers them again';
      parts.push(
        `${released} task(s) from the task client (${stopped.client} stopped, ${unstarted.client} not started) are released to it unfinished: ${whose}.`,
      );
    }
    if (stopped.callers > 0) parts.push(`${stopped.callers} run()/map() call(s) fail with WorkerShutdownError.`);
    if (unstarted.callers > 0)
      parts.push(
        `${unstarted.callers} run()/map() call(s) still queued fail with WorkerShutdownError without having started.`,
      );
    return parts.join(' ');
  },
  inMemoryLostAtExit: (queued: number, delayed: number, released: { unstarted: number; stopped: number }) => {
    const handedBack = released.unstarted + released.stopped;
    const detail =
      handedBack > 0
        ? ` (of them ${handedBack} handed back at this shutdown: ${released.unstarted} before they started, ${released.stopped} stopped at the shutdown deadline)`
        : '';
    return `InMemoryTaskClient: ${queued + delayed} unfinished task(s) stay in its queue and are lost when this process exits: ${queued} queued${detail}, ${delayed} delayed (retries, delayed tasks). Use PostgresTaskClient or RedisTaskClient to keep tasks across restarts.`;
  },
  aborted: (task: string) => `Task "${task}" was aborted by its caller.`,
  taskCancelled: (task: string, id: string) =>
    `Task ${logText(task)}#${logText(id)} was cancelled (cancel(id)); its handler should stop now: its thread is stopped and replaced if it still runs once timeoutGraceMs has passed.`,
  progressNotJson: (task: string, found: string) =>
    `ctx.progress() of task ${logText(task)} was given ${found}, which JSON cannot carry; that value is dropped (this is said once per task). Report a number, or plain data.`,
  inProcessPoolClosed: () =>
    `The in-process worker pool (nestjs-worker/testing) is closed: the application is shutting down.`,
  inProcessStillRunning: (count: number, tasks: readonly string[]) =>
    `${count} in-process task run(s) (${list(tasks)}) were stopped (timeout, abort or shutdown) but their handlers are still running: in-process, a handler cannot be stopped, only told to stop through ctx.signal, which it does not watch. Worker threads would have stopped them with their thread. Their results are dropped; they may still use providers that are being closed. Make the handler watch ctx.signal (or ctx.timedOut), or test it through real threads.`,
  inProcessReplyNotCloneable: (reason: string) =>
    `the reply could not be sent back to the main thread (${reason}); a worker thread dies of this`,
  inProcessTasksModuleNotImported: (moduleName: string) =>
    `The in-process worker pool (nestjs-worker/testing) runs tasks on the application's own providers, but the application does not import the tasks module ${moduleName}. Import ${moduleName} into the module under test (as AppModule does in production), or test through real worker threads.`,
  inProcessConcurrency: (value: unknown) =>
    `WorkerTesting.inProcess(): "concurrency" must be an integer of at least 1, got ${String(value)}. Leave it out to use the application's "workers".`,
  inWorkerThread: (method: string) =>
    `WorkerManager.${method}() was called inside a worker thread. Tasks cannot start other tasks through the pool; call the provider directly, or enqueue through the task client.`,
  notStarted: (method: string) =>
    `WorkerManager.${method}() was called before the application was initialised. Call app.init() (or app.listen()) first.`,
  invalidTaskName: (name: unknown) =>
    `@Task() needs a non-empty string name, got ${typeof name === 'string' ? '""' : String(name)}.`,
  invalidTaskOption: (task: string, path: string, problem: string, fix: string) =>
    `@Task("${task}") option "${path}" ${problem}. ${fix}`,
  redisOption: (option: string, problem: string, fix: string) =>
    `RedisTaskClient option "${option}" ${problem}. ${fix}`,
  redisDependency: (reason: string) =>
    `RedisTaskClient needs the "ioredis" package (an optional peer dependency of nestjs-worker), which cannot be loaded: ${reason}. Install it: npm install ioredis`,
  enqueueRefused: (client: string, problem: string) => `${client}.enqueue(): ${problem}.`,
  redisClosed: (method: string) =>
    `RedisTaskClient.${method}() was called after close(). Create a new client, or enqueue before the application shuts down.`,
  redisInvalidEntry: (stream: string, entryId: string, taskId: string, name: string, problem: string) =>
    `Stream entry ${entryId} of ${stream} (task id "${logText(taskId)}", name "${logText(name)}") cannot be run: ${problem}. It was moved to the dead-letter stream with reason "invalid-payload" and will not be retried. Producers must write the fields "name" and "payload" (JSON text); use RedisTaskClient.enqueue() to get them right.`,
  leaseExpired: (task: string, attempt: number | string, leaseMs: number) =>
    `Task "${logText(task)}": attempt ${attempt} did not finish: nobody extended its lease for ${leaseMs} ms, so the process running it died or stalled. The attempt counts as failed.`,
  redisLeaseAttemptsExhausted: (task: string, id: string, attempt: number, lost: number) =>
    `Task "${logText(task)}" (id "${logText(id)}") lost its lease ${lost} time(s), its process dying or stalling every time, and is out of attempts (attempt ${attempt}); it was moved to the dead-letter stream with reason "crash". Look for a task that kills its process (out of memory, process.exit()), or raise "leaseMs" if the event loop is blocked for long.`,
  redisEntryRefused: (entryId: string, taskId: string, name: string, problem: string) =>
    `Stream entry ${entryId} (task id "${logText(taskId)}", name "${logText(name)}") cannot be handled: Redis refused an operation on it (${logText(problem, 500)}). It was moved to the dead-letter stream with reason "invalid-payload" and will not be retried.`,
  redisStaleOutcomes: (count: number, leaseMs: number) =>
    `Ignored ${count} stale outcome(s): this process no longer held those tasks (their lease of ${leaseMs} ms ran out and they were delivered again, to another consumer or to this one). Their newer delivery decides. Raise "leaseMs" if this happens without a crash or a stall.`,
  redisLostLeases: (count: number, leaseMs: number) =>
    `Lost the lease of ${count} held task(s): nobody extended it for ${leaseMs} ms (this process stalled or was cut off from Redis) and the tasks were delivered again. The worker loop drops those that have not started; the outcomes of those already running will be ignored. Raise "leaseMs" if the event loop or Redis stalls for that long.`,
  redisOutcomesRecorded: (count: number) =>
    `${count} outcome(s) had been recorded already: an earlier try of the same publish ran on the server, but its reply was lost (connection trouble). Nothing was lost or applied twice.`,
  redisOutcomesGone: (count: number, ids: readonly string[]) =>
    `${count} outcome(s) could not be recorded: Redis no longer has their tasks (neither the stream entry nor the task's record exists), so it lost its data — a restart without persistence, a FLUSHALL or FLUSHDB, a failover to a replica that had not caught up, keys deleted by hand — or the records had expired. The tasks ran; their results and errors are lost: ${logList(ids)}.`,
  redisDataLost: (queue: string, held: number, ids: readonly string[]) =>
    `Redis lost the data of queue "${logText(queue)}": its consumer group and marker are gone or new (a restart without persistence, a FLUSHALL or FLUSHDB, a failover to a replica that had not caught up, keys deleted by hand). Lost with it: every task that was queued, delayed or running there, the records with their results and errors, the dead letters, and the completed and failed counts. ${held > 0 ? `This process held ${held} of those tasks (${logList(ids)}): they still run, but their outcomes cannot be recorded.` : 'This process held none of its tasks.'} Turn persistence on (appendonly yes) for a queue that must survive a restart.`,
  redisResultNotJson: (task: string, id: string, reason: string) =>
    `Task "${logText(task)}" (id "${logText(id)}") completed, but its result cannot be stored as JSON (${logText(reason, 500)}); the record keeps no result. Return JSON-compatible data from tasks run through RedisTaskClient.`,
  redisConnectionError: (role: string, reason: string) =>
    `RedisTaskClient ${role} connection: ${logText(reason, 500)}. ioredis reconnects on its own. Tasks held by this process stay valid if the server keeps its data (unfinished ones are taken back once their lease runs out); a server that comes back without its data is reported once reconnected.`,
  pgOption: (option: string, problem: string, fix: string) =>
    `PostgresTaskClient option "${option}" ${problem}. ${fix}`,
  pgDependency: (reason: string) =>
    `PostgresTaskClient needs the "pg" package (an optional peer dependency of nestjs-worker), which cannot be loaded: ${reason}. Install it (npm install pg), or pass a ready pg.Pool as "pool".`,
  pgSchemaOutdated: (table: string, queue: string) =>
    `The schema of ${table} is older than this version of nestjs-worker expects (PostgresTaskClient, queue "${logText(queue)}"). Apply the new migrations once per database: await client.migrate(), or pass migrate: true to the client (applied in onModuleInit()).`,
  pgSchemaMissing: (table: string, queue: string) =>
    `Table ${table} does not exist (PostgresTaskClient, queue "${queue}"). Create it once per database: await client.migrate(), or pass migrate: true to the client (applied in onModuleInit()).`,
  pgClosed: (method: string) =>
    `PostgresTaskClient.${method}() was called after close(). Make the call before the application shuts down, or use a client of its own.`,
  pgInvalidRow: (table: string, id: string, name: string, problem: string) =>
    `Task "${logText(name)}" (id "${logText(id)}") in ${table} cannot be run: ${problem}. It was dead-lettered with reason "invalid-payload" and will not be retried. Producers must write "payload" as JSON text with payload_encoding 'json' (or leave it to its default); PostgresTaskClient.enqueue() does both.`,
  pgLeaseAttemptsExhausted: (count: number, ids: readonly string[]) =>
    `${count} task(s) lost their lease on their last attempt (their process died or stalled every time) and were dead-lettered with reason "crash": ${logList(ids)}. Look for a task that kills its process (out of memory, process.exit()), or raise "leaseMs" if the event loop is blocked for long.`,
  pgStaleOutcomes: (count: number, leaseMs: number) =>
    `Ignored ${count} stale outcome(s): this process no longer held those tasks (their lease of ${leaseMs} ms ran out and they were taken back; another delivery decides). Raise "leaseMs" if this happens without a crash or a stall.`,
  pgOutcomesRecorded: (count: number) =>
    `${count} outcome(s) had been recorded already: an earlier try of the same publish was committed, but its reply was lost (connection trouble). Nothing was lost or applied twice.`,
  pgOutcomesUncertain: (count: number, leaseMs: number) =>
    `${count} outcome(s) were not applied on a retry after a publish whose reply was lost: either that earlier try recorded them and their tasks were fetched again since, or their lease of ${leaseMs} ms ran out and they were taken back. The task's row shows which; nothing is lost either way.`,
  pgLostLeases: (count: number, leaseMs: number) =>
    `Lost the lease of ${count} held task(s): it had run out (${leaseMs} ms without an extension) and the tasks were taken back. The worker loop drops those that have not started; the outcomes of those already running will be ignored. Raise "leaseMs" if the event loop or the database stalls for that long.`,
  pgResultNotJson: (task: string, id: string, reason: string) =>
    `Task "${logText(task)}" (id "${logText(id)}") completed, but its result cannot be stored as JSON (${reason}); the row keeps no result. Return JSON-compatible data from tasks run through PostgresTaskClient.`,
  pgConnectionError: (role: string, reason: string) =>
    `PostgresTaskClient ${role} connection: ${reason}. Reconnecting; nothing is lost meanwhile (unfinished deliveries are taken back once their lease runs out).`,
  grpcDependency: (reason: string) =>
    `nestjs-worker/grpc needs "@grpc/grpc-js" and "@grpc/proto-loader" (optional peer dependencies of nestjs-worker), which cannot be loaded: ${reason}. Install them: npm install @grpc/grpc-js @grpc/proto-loader`,
  grpcProtoMissing: (file: string) =>
    `The task service definition ${file} is missing: it ships with nestjs-worker (dist/esm and dist/cjs). Reinstall the package; when running a tsc build of the sources, copy lib/grpc/proto/*.proto next to the compiled lib/grpc/proto.`,
  grpcOption: (owner: string, option: string, problem: string, fix: string) =>
    `${owner} option "${option}" ${problem}. ${fix}`,
  grpcCallFailed: (address: string, method: string, status: string, details: string, hint: string) =>
    `gRPC task server ${address}: ${method} failed with ${status} (${logText(details, 500)}). ${hint}`,
  grpcUnavailableHint: () =>
    `Is the GrpcTaskServer running and listening on that address, reachable from this machine, and is the scheme right (grpcs:// for a server with TLS, grpc:// without)? The client reconnects on its own and the worker loop retries; tasks this worker holds stay leased only while it reaches the server.`,
  grpcDeadlineHint: (ms: number) =>
    `No answer within ${ms} ms: the server or its task store is slow or stalled. Raise "callTimeoutMs" of GrpcTaskClient if that is expected; the worker loop retries.`,
  grpcServerHint: () =>
    `The server's task store refused or failed the call; the server's log says why. The worker loop retries what it can.`,
  grpcUnauthenticated: (address: string, details: string) =>
    `The gRPC task server ${address} refused this client's credentials (UNAUTHENTICATED: ${logText(details, 300)}). Give GrpcTaskClient the "token" the server's "authenticate" hook accepts (sent as "authorization: Bearer <token>").`,
  // The reason carries its own fix: what to do differs with what went wrong.
  grpcConnectTimeout: (address: string, ms: number, reason: string) =>
    `GrpcTaskClient could not reach the gRPC task server ${address} within ${ms} ms: ${reason}`,
  grpcConnectSlow: (details: string, ms: number) =>
    `Hello failed with DEADLINE_EXCEEDED over an established connection (${logText(details, 300)}). No answer within ${ms} ms: the server or its task store is slow or stalled. Raise "connectTimeoutMs" of GrpcTaskClient if that is expected.`,
  grpcConnectUnreached: (lastError: string, fix: string) =>
    `no connection was established (last error: ${logText(lastError, 300)}). ${fix}`,
  grpcNothingListens: () =>
    `Nothing accepts connections on that host and port: the server is not up (yet), or "url" names the wrong host or port. Start the server (GrpcTaskServer or GrpcTaskServerModule), check "url", or raise "connectTimeoutMs" if the server takes longer to come up.`,
  grpcHostUnresolved: () => `The host name in "url" does not resolve: check it, and this machine's DNS.`,
  grpcHostSilent: () =>
    `The host does not answer: check the address in "url", that the machine is up, and that no firewall drops the connection.`,
  grpcNotConnected: () =>
    `Start the server first (GrpcTaskServer or GrpcTaskServerModule), check the address and the scheme (grpcs:// for a server with TLS, grpc:// without), or raise "connectTimeoutMs".`,
  grpcCertificateUntrusted: (address: string, lastError: string) =>
    `GrpcTaskClient does not trust the certificate of the gRPC task server ${address} (${logText(lastError, 300)}). Give it the CA that signed the server's certificate, as tls: { ca } of GrpcTaskClient (for a self-signed certificate, the certificate itself: tls: { ca: readFileSync('server-cert.pem') }).`,
  grpcCertificateWrongName: (address: string, lastError: string) =>
    `The certificate of the gRPC task server ${address} is not made out to the name GrpcTaskClient connects to (${logText(lastError, 300)}). Put a name the certificate carries in "url", or set tls: { serverName } of GrpcTaskClient to one.`,
  grpcCertificateDates: (address: string, lastError: string) =>
    `The certificate of the gRPC task server ${address} has expired or is not valid yet (${logText(lastError, 300)}). Renew the server's certificate, and check the clocks of both machines.`,
  grpcClientCertificateRefused: (address: string, lastError: string) =>
    `The gRPC task server ${address} refused the TLS handshake of GrpcTaskClient (${logText(lastError, 300)}): it asks for a client certificate, or does not accept this one. Give GrpcTaskClient a certificate and key the server trusts: tls: { cert, key }.`,
  grpcCertificateRejected: (address: string, lastError: string) =>
    `The TLS handshake with the gRPC task server ${address} failed on a certificate (${logText(lastError, 300)}). Give GrpcTaskClient the CA that signed the server's certificate (tls: { ca }), and connect to a name the certificate carries (or set tls: { serverName }).`,
  grpcServerWithoutTls: (address: string, lastError: string) =>
    `The gRPC task server ${address} does not speak TLS (${logText(lastError, 300)}). Use grpc:// in "url" for a server without TLS (and leave out "tls"), or give the server a certificate (GrpcTaskServer's "tls").`,
  grpcClosed: (method: string) =>
    `GrpcTaskClient.${method}() was called after close(). Make the call before the application shuts down, or use a client of its own.`,
  grpcRefused: (peer: string, method: string) =>
    `Refused an unauthenticated ${method} call from ${logText(peer, 200)} (UNAUTHENTICATED): the "authenticate" hook did not accept its "authorization" metadata.`,
  grpcAuthenticateThrew: (reason: string) =>
    `The "authenticate" hook of GrpcTaskServer threw (${reason}); the call was refused as UNAUTHENTICATED. The hook must return true or false.`,
  grpcListenFailed: (address: string, reason: string) =>
    `GrpcTaskServer cannot listen on ${address}: ${reason}. Pick a free port (or "host:0" for any), and an address of this machine.`,
  grpcStoreFailed: (method: string, reason: string) =>
    // Store errors end in a full stop of their own (PostgreSQL's "table does not exist"); one is enough.
    `GrpcTaskServer: the task store failed ${method}: ${reason.replace(/\.+$/, '')}. The remote worker is told (INTERNAL) and retries.`,
  grpcPayloadNotJson: (task: string, id: string, reason: string) =>
    `Task "${logText(task)}" (id "${logText(id)}") cannot be sent to a remote worker: its payload cannot be written as JSON (${reason}). It was dead-lettered with reason "invalid-payload". Enqueue JSON-compatible payloads for tasks run over gRPC.`,
  grpcResultNotJson: (task: string, id: string, reason: string) =>
    `Task "${logText(task)}" (id "${logText(id)}") completed, but its result cannot be sent as JSON (${reason}); the store keeps no result. Return JSON-compatible data from tasks run through GrpcTaskClient.`,
  taskLimitsUnsupported: (tasks: readonly string[], client: string) =>
    `Task(s) ${list(tasks)} declare a rate limit or a concurrency per key (@Task({ rateLimit, concurrencyPerKey })), but ${client} cannot enforce them: it has no acquirePermits(). Use a client that has it (InMemoryTaskClient, PostgresTaskClient, RedisTaskClient), or remove those options.`,
  permitsFailed: (reason: string, waitMs: number) =>
    `Asking the task client for rate-limit and concurrency permits failed (${reason}). The limited tasks fetched meanwhile wait ${waitMs} ms and are asked for again; nothing fails. Further failures are not logged until it works again.`,
  permitsRecovered: () => `Asking the task client for permits works again.`,
  schedulesUnsupported: (schedules: readonly string[], client: string) =>
    `Schedule(s) ${list(schedules)} need a task client that keeps schedule markers (fireSchedule()), so that a tick fires once across processes, but ${client} has none. Use InMemoryTaskClient, PostgresTaskClient or RedisTaskClient, or remove the schedules.`,
  invalidSchedule: (where: string, problem: string, fix: string) => `Schedule of ${where}: ${problem}. ${fix}`,
  scheduleFireFailed: (key: string, tick: string, reason: string) =>
    `Schedule "${logText(key)}": offering the tick of ${tick} to the task client failed (${logText(reason, 500)}). It is offered again until the next tick is due; other processes running the schedule may fire it meanwhile.`,
  scheduleFireMissed: (key: string, tick: string) =>
    `Schedule "${logText(key)}": the tick of ${tick} could not be offered before the next one was due and is skipped here (another process may have fired it).`,
  grpcLeasesExpired: (count: number, leaseMs: number) =>
    `${count} task(s) held by remote workers went ${leaseMs} ms without a lease extension (a worker died, stalled or lost the server) and were taken back: started ones are charged an attempt, the others go back as they were.`,
} as const;
