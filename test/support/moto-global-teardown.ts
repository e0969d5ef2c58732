/** Stops the moto_server that moto-global-setup.ts started (none when MOTO_ENDPOINT was given). */
export default async function stopMoto(): Promise<void> {
  const child = globalThis.__MOTO_SERVER__;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
  globalThis.__MOTO_SERVER__ = undefined;
}
