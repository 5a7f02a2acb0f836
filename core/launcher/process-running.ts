// Whether a process still runs on this host: how a lock or temp file left by a killed process is
// told apart from one a live process is using.

/** True when a process with this pid exists (signal 0 checks without signalling). */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as { code?: unknown }).code !== 'ESRCH';
  }
}
