import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { Messages } from '../../errors/error-messages.js';
import { GrpcDependencyError } from '../../errors/worker.errors.js';
import { BUILD_ROOT, packageRequire } from '../../internal/package-location.js';

/** Where the build keeps the service definition (scripts/build.mjs copies it next to the compiled files). */
export const PROTO_FILE = fileURLToPath(new URL('grpc/proto/task_service.proto', BUILD_ROOT));

/** The gRPC runtime and the task service, loaded once, on first use. */
export interface TaskServiceRuntime {
  readonly grpc: typeof Grpc;
  readonly service: Grpc.ServiceDefinition;
  readonly Client: Grpc.ServiceClientConstructor;
}

let loaded: TaskServiceRuntime | undefined;

/**
 * Loads `@grpc/grpc-js`, `@grpc/proto-loader` and the task service. They are
 * optional peers: an app that never touches `nestjs-worker/grpc` installs
 * neither, and only constructing a client or server needs them.
 */
export function taskServiceRuntime(): TaskServiceRuntime {
  if (loaded) return loaded;
  let grpc: typeof Grpc;
  let protoLoader: typeof ProtoLoader;
  try {
    grpc = packageRequire('@grpc/grpc-js') as typeof Grpc;
    protoLoader = packageRequire('@grpc/proto-loader') as typeof ProtoLoader;
  } catch (error) {
    throw new GrpcDependencyError(Messages.grpcDependency((error as Error).message), { cause: error });
  }
  if (!existsSync(PROTO_FILE)) throw new GrpcDependencyError(Messages.grpcProtoMissing(PROTO_FILE));
  const definition = protoLoader.loadSync(PROTO_FILE, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: false,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    nestjs_worker: { tasks: { v1: { TaskService: Grpc.ServiceClientConstructor } } };
  };
  const Client = pkg.nestjs_worker.tasks.v1.TaskService;
  loaded = { grpc, service: Client.service, Client };
  return loaded;
}
