export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.__SAGALANE_TEST_STACK__;
  if (!stack) return;
  await stack.temporal.stop();
  await stack.redis.stop();
}
