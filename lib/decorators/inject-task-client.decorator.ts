import { Inject } from '@nestjs/common';
import { TASK_CLIENT } from '../worker.constants.js';

/** Injects the module's active `TaskClient`, whatever its class. */
export const InjectTaskClient = (): PropertyDecorator & ParameterDecorator => Inject(TASK_CLIENT);
