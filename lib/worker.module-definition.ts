import {
  ConfigurableModuleBuilder,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type Provider,
  type Type,
} from '@nestjs/common';
import { InMemoryTaskClient } from './clients/in-memory.task-client.js';
import type { TaskClient } from './interfaces/task-client.interface.js';
import type { WorkerModuleOptions } from './interfaces/worker-module-options.interface.js';
import { TASK_CLIENT } from './worker.constants.js';

/**
 * The task client, as a Nest provider: a class (instantiated with DI), a
 * factory with `inject` (and the `imports` it needs), an existing provider,
 * or a ready instance.
 */
export type TaskClientProvider =
  | Type<TaskClient>
  | { useClass: Type<TaskClient> }
  | { useExisting: InjectionToken }
  | { useValue: TaskClient }
  | {
      useFactory: (...args: any[]) => TaskClient | Promise<TaskClient>;
      inject?: InjectionToken[];
      imports?: ModuleMetadata['imports'];
    };

/** Options of `forRoot()` / `forRootAsync()` that shape the module itself rather than the pool. */
export interface WorkerModuleExtras {
  /** Where tasks come from and outcomes go. @default InMemoryTaskClient */
  client?: TaskClientProvider;
  /** Register the module globally, so `WorkerManager` can be injected anywhere. @default true */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: WORKER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WorkerModuleOptions>({ moduleName: 'Worker' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWorkerOptions')
  .setExtras<WorkerModuleExtras>({ client: undefined, isGlobal: true }, (definition, extras) =>
    withClient(definition, extras),
  )
  .build();

function withClient(definition: DynamicModule, { client, isGlobal }: WorkerModuleExtras): DynamicModule {
  const { providers, exports, imports } = clientProviders(client ?? InMemoryTaskClient);
  return {
    ...definition,
    global: isGlobal,
    imports: [...(definition.imports ?? []), ...imports],
    providers: [...(definition.providers ?? []), ...providers],
    exports: [...(definition.exports ?? []), ...exports],
  };
}

function clientProviders(client: TaskClientProvider): {
  providers: Provider[];
  exports: InjectionToken[];
  imports: NonNullable<ModuleMetadata['imports']>;
} {
  if (typeof client === 'function') {
    // Injectable by its own class (to enqueue) and by TASK_CLIENT (the loop).
    return {
      providers: [client, { provide: TASK_CLIENT, useExisting: client }],
      exports: [client, TASK_CLIENT],
      imports: [],
    };
  }
  if ('useClass' in client) return clientProviders(client.useClass);
  if ('useExisting' in client) {
    return {
      providers: [{ provide: TASK_CLIENT, useExisting: client.useExisting }],
      exports: [TASK_CLIENT],
      imports: [],
    };
  }
  if ('useValue' in client) {
    return { providers: [{ provide: TASK_CLIENT, useValue: client.useValue }], exports: [TASK_CLIENT], imports: [] };
  }
  return {
    providers: [{ provide: TASK_CLIENT, useFactory: client.useFactory, inject: client.inject ?? [] }],
    exports: [TASK_CLIENT],
    imports: client.imports ?? [],
  };
}
