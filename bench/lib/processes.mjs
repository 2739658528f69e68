// Child processes of the benchmarks: output kept, exit awaited, stopped with SIGTERM (SIGKILL
// after 15 s), and registered in `children` while alive so an interrupted run can kill them.

export function trackChild(child, children) {
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(forced);
    },
  };
}

/** Resolves with the first truthy value `ready()` returns (polled), rejects if the child exits first or in time. */
export function waitUntilReady(proc, what, ready, timeoutMs = 40_000) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(() => finish(reject, new Error(`${what} did not start:\n${proc.stdout()}${proc.stderr()}`)), timeoutMs);
    void proc.exited.then((code) => finish(reject, new Error(`${what} exited (${code}):\n${proc.stdout()}${proc.stderr()}`)));
    const poll = setInterval(async () => {
      try {
        const value = await ready();
        if (value) finish(resolve, value);
      } catch {
        // not listening yet
      }
    }, 100);
  });
}
