/** Stops the cluster test/cluster/global-setup.ts started. */
export default async function clusterGlobalTeardown(): Promise<void> {
  await globalThis.__SAGALANE_TEST_CLUSTER__?.stop();
}
