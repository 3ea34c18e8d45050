/** The `hash` task's work, in its own module so the worker's thread pool can load it (see builtin-task-types). */
import { createHash } from 'node:crypto';

export function sha256Chain({ data, rounds }: { data: string; rounds: number }): {
  digest: string;
  rounds: number;
} {
  let digest = data;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return { digest, rounds };
}
