/**
 * Loaded into the engine's process by the benches (`--import`, with `--expose-gc`): on the bench's
 * IPC message it runs a full collection and answers with the process's memory. It is reachable only
 * through the IPC channel of the process that started the engine, never by a database client.
 */
export interface EngineMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export const MEMORY_REQUEST = "engine-memory-after-gc";

const collect = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.on("message", (message: unknown) => {
    if (message !== MEMORY_REQUEST) return;
    collect?.();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const reply: EngineMemory = { rss, heapUsed, heapTotal, external, arrayBuffers };
    process.send!({ [MEMORY_REQUEST]: reply });
  });
  // The channel must not keep the engine alive once it is asked to stop.
  process.channel?.unref();
}
