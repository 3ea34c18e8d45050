/**
 * The saga worker's workflow bundle, built ahead of time: bundling src/workflows takes seconds (more on a busy
 * machine) at every worker start; a worker given SAGALANE_WORKFLOW_BUNDLE loads this file instead.
 *
 *   npm run bundle:workflows -- .sagalane/workflow-bundle.js
 *   SAGALANE_WORKFLOW_BUNDLE=.sagalane/workflow-bundle.js npx sagalane worker saga
 *
 * Rebuild it whenever workflow code changes: a worker runs the workflow code in its bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { STEP_ATTEMPT_WORKFLOW_MODULE } from './step-attempt-interceptor';
import { OTEL_WORKFLOW_INTERCEPTOR_MODULE, TRACE_CONTEXT_WORKFLOW_MODULE } from './temporal-tracing';

/**
 * What a bundle must contain: sagalane's workflows, Temporal's tracing interceptor (its spans are exported when the
 * worker traces and dropped when it does not, so one bundle serves both) and the step-attempt workflow interceptor.
 */
export function sagaBundleOptions(): { workflowsPath: string; workflowInterceptorModules: string[] } {
  return {
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: [
      OTEL_WORKFLOW_INTERCEPTOR_MODULE,
      TRACE_CONTEXT_WORKFLOW_MODULE,
      STEP_ATTEMPT_WORKFLOW_MODULE,
    ],
  };
}

/** Bundles sagalane's workflows into `outFile` (directories created). Resolves to the absolute path. */
export async function writeWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    ...sagaBundleOptions(),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m: string) => process.stderr.write(m + '\n'),
      error: (m: string) => process.stderr.write(m + '\n'),
    } as never,
  });
  const target = path.resolve(outFile);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, code);
  return target;
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: npm run bundle:workflows -- <output file>\n');
    process.exit(2);
  }
  writeWorkflowBundle(out).then(
    (file) =>
      process.stdout.write(`Workflow bundle written: ${file}\nUse it: SAGALANE_WORKFLOW_BUNDLE=${file}\n`),
    (err: Error) => {
      process.stderr.write(`bundling failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
