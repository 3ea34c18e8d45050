/** What a CPU task honours between units of work; its own module so the tasks need not import their registry. */
export interface CpuTaskHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}
