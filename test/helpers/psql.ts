import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { testbedEnv } from "../testbed/env.js";

const run = promisify(execFile);

/**
 * One SQL statement on the test bed's PostgreSQL through psql (Debian's postgresql-client,
 * installed with the server): a real client over TCP without an npm driver plinth itself does not
 * need. As the test bed's superuser unless another user is given; the password goes in the
 * environment, never on the command line.
 */
export async function psql(
  sql: string,
  o: { user?: string; password?: string; database?: string } = {},
): Promise<string> {
  const url = new URL(testbedEnv("DATABASE_URL"));
  const { stdout } = await run(
    "psql",
    [
      ...["-h", url.hostname, "-p", url.port, "-U", o.user ?? url.username],
      ...["-d", o.database ?? url.pathname.slice(1), "-v", "ON_ERROR_STOP=1", "-X", "-Atc", sql],
    ],
    {
      env: {
        ...process.env,
        PGPASSWORD: o.password ?? decodeURIComponent(url.password),
        PGCONNECT_TIMEOUT: "5",
      },
    },
  );
  return stdout.trim();
}
