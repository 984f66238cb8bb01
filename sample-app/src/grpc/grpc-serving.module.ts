import { Logger, type DynamicModule } from '@nestjs/common';
import { TASK_CLIENT, type TaskClient, type TaskStore } from 'nestjs-worker';
import { GrpcTaskServerModule } from 'nestjs-worker/grpc';

/**
 * GRPC_LISTEN=host:port makes this instance serve its task store (whatever
 * TASKS_URL chose: memory, PostgreSQL, Redis) to remote workers over gRPC;
 * they start the same app with TASKS_URL=grpc://this-host:port and need no
 * database credentials. GRPC_TOKEN, when set, is the token they must send.
 * An in-memory store gets leases kept by the server, so the tasks of a
 * worker that dies come back.
 */
export function grpcServing(env: NodeJS.ProcessEnv): DynamicModule[] {
  const address = env.GRPC_LISTEN;
  if (!address) return [];
  if (!env.GRPC_TOKEN && !/^(127\.|localhost|\[::1\])/.test(address)) {
    new Logger('GrpcServing').warn(
      `Serving tasks on ${address} to anyone who can reach it: set GRPC_TOKEN (and the same on the workers).`,
    );
  }
  return [
    GrpcTaskServerModule.forRootAsync({
      // The WorkerModule's own client: the store this instance's loop uses, served.
      inject: [TASK_CLIENT],
      useFactory: (store: TaskClient & TaskStore) => ({ store, address, token: env.GRPC_TOKEN || undefined }),
    }),
  ];
}
