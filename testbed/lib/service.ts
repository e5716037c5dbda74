/**
 * The contract every test-bed service implements. `testbed.ts` builds all services, then starts
 * those not already running, in order, and merges what each `start` returns into the env file.
 */
export interface TestbedContext {
  /** Repository root. */
  root: string;
  /** `.testbed/` under the root: run dirs, logs, pid files, the env file. */
  stateDir: string;
  /** Environment gathered from services started before this one (e.g. KUBECONFIG for OpenBao). */
  env: Record<string, string>;
  log(message: string): void;
}

export interface Service {
  name: string;
  /** Services whose env this one needs (started first). */
  after?: string[];
  /** Builds or finds binaries; cached, so a second call returns in well under a second. */
  build(ctx: TestbedContext): Promise<void>;
  /** True when the service's processes (by pid file) are alive and answering. */
  running(ctx: TestbedContext): Promise<boolean>;
  /** Starts detached processes (pid files under stateDir/run), waits until ready, returns env vars. */
  start(ctx: TestbedContext): Promise<Record<string, string>>;
  /** Env vars of an already running instance (same as `start` returned). */
  env(ctx: TestbedContext): Promise<Record<string, string>>;
  /** Stops only the processes this service started, by pid. */
  stop(ctx: TestbedContext): Promise<void>;
}
