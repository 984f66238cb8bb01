import { Module, type DynamicModule, type InjectionToken, type ModuleMetadata } from '@nestjs/common';
import { GrpcTaskServer } from './grpc.task-server.js';
import { GRPC_TASK_SERVER_OPTIONS, type GrpcTaskServerOptions } from './grpc-task-server-options.interface.js';

export interface GrpcTaskServerModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: InjectionToken[];
  useFactory: (...args: any[]) => GrpcTaskServerOptions | Promise<GrpcTaskServerOptions>;
}

/**
 * Serves a task store to remote workers: `GrpcTaskServer` as a provider that
 * listens on application bootstrap and stops before shutdown.
 *
 * ```ts
 * GrpcTaskServerModule.forRootAsync({
 *   inject: [TASK_CLIENT], // the WorkerModule's client: the same store, served
 *   useFactory: (store) => ({ store, address: '0.0.0.0:50051', token: process.env.GRPC_TOKEN }),
 * })
 * ```
 */
@Module({})
export class GrpcTaskServerModule {
  static forRoot(options: GrpcTaskServerOptions): DynamicModule {
    return {
      module: GrpcTaskServerModule,
      providers: [{ provide: GRPC_TASK_SERVER_OPTIONS, useValue: options }, GrpcTaskServer],
      exports: [GrpcTaskServer],
    };
  }

  static forRootAsync(options: GrpcTaskServerModuleAsyncOptions): DynamicModule {
    return {
      module: GrpcTaskServerModule,
      imports: options.imports ?? [],
      providers: [
        { provide: GRPC_TASK_SERVER_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        GrpcTaskServer,
      ],
      exports: [GrpcTaskServer],
    };
  }
}
