/** The task types sagalane's own express workers serve, as the schema parts a producer validates against. */
import { agentTaskSchemas } from '../activities/research/agent-task-types';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import type { TaskSchema } from '../lane/task-types';

export const DEFAULT_TASK_SCHEMAS: TaskSchema[] = [
  ...(builtinTaskTypes as TaskSchema[]),
  ...agentTaskSchemas,
];
