// The bench IdP (bench/sso/idp.mjs) in worker threads: signing a response is a few milliseconds
// of synchronous CPU (XML parsing, canonicalization, an RSA signature), which on the load
// generator's event loop would hold up the other virtual browsers' HTTP and inflate the
// latencies measured. In a thread it uses the same cores (counted in the bench's CPU column),
// but not the event loop. Each answer carries the time the thread spent signing.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { BenchIdp } from './idp.mjs';

if (!isMainThread && workerData?.benchIdp) {
  const idp = new BenchIdp(workerData.entityId, workerData.key, workerData.sign);
  parentPort.on('message', ({ id, request }) => {
    const started = performance.now();
    try {
      const samlResponse = idp.response(request);
      parentPort.postMessage({ id, samlResponse, ms: performance.now() - started });
    } catch (error) {
      parentPort.postMessage({ id, error: String(error?.stack ?? error), ms: performance.now() - started });
    }
  });
}

/**
 * `threads` worker threads signing as `entityId` with `key`; 0 threads signs on the calling
 * thread. `response(request)` resolves with { samlResponse, ms } (ms: signing time in the thread).
 */
export function idpPool({ entityId, key, sign, threads = 1 }) {
  if (threads <= 0) {
    const idp = new BenchIdp(entityId, key, sign);
    return {
      response: async (request) => {
        const started = performance.now();
        const samlResponse = idp.response(request);
        return { samlResponse, ms: performance.now() - started };
      },
      close: async () => undefined,
    };
  }
  const pending = new Map();
  let nextId = 0;
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { benchIdp: true, entityId, key, sign } });
    worker.on('message', ({ id, samlResponse, error, ms }) => {
      const waiting = pending.get(id);
      pending.delete(id);
      if (error) waiting?.reject(new Error(`IdP: ${error}`));
      else waiting?.resolve({ samlResponse, ms });
    });
    worker.on('error', (error) => {
      for (const waiting of pending.values()) waiting.reject(error);
      pending.clear();
    });
    worker.unref();
    return worker;
  });
  return {
    response: (request) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        workers[id % workers.length].postMessage({ id, request });
      }),
    close: () => Promise.all(workers.map((worker) => worker.terminate())),
  };
}
