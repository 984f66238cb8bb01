/**
 * `nestjs-worker/grpc`: a task service over gRPC. `GrpcTaskServer` (or
 * `GrpcTaskServerModule`) serves a task store to remote workers;
 * `GrpcTaskClient` is the workers' task client. Needs the optional peers
 * `@grpc/grpc-js` and `@grpc/proto-loader`, loaded only when a client or a
 * server is made. The service definition ships as `grpc/proto/task_service.proto`.
 */
export { GrpcTaskClient } from './grpc/client/grpc.task-client.js';
export { GRPC_TASK_CLIENT_OPTIONS } from './grpc/client/grpc-task-client-options.interface.js';
export type { GrpcTaskClientOptions, GrpcClientTls } from './grpc/client/grpc-task-client-options.interface.js';
export { GrpcTaskServer } from './grpc/server/grpc.task-server.js';
export { GrpcTaskServerModule, type GrpcTaskServerModuleAsyncOptions } from './grpc/server/grpc-task-server.module.js';
export { GRPC_TASK_SERVER_OPTIONS } from './grpc/server/grpc-task-server-options.interface.js';
export type {
  GrpcTaskServerOptions,
  GrpcServerTls,
  GrpcAuthenticate,
  GrpcCallIdentity,
} from './grpc/server/grpc-task-server-options.interface.js';
export { PROTO_FILE } from './grpc/proto/task-service.loader.js';
export type { StoreFeature } from './grpc/store-features.js';
export {
  GrpcDependencyError,
  InvalidGrpcOptionsError,
  GrpcTaskServerError,
  GrpcUnauthenticatedError,
  GrpcConnectError,
  GrpcConnectTimeoutError,
} from './errors/worker.errors.js';
