import { error, UserError } from "../diagnostics/diagnostic.js";
import type { StateBackend } from "./types.js";
import { assertEnvName } from "./validate.js";

/**
 * An environment reserved by a pull request: `/apply` takes it, merging or closing the pull
 * request (or `/unlock`) gives it back, and no later plan drops it. Distinct from the run lock,
 * which every run still takes for its own minutes; a reservation lasts as long as the review.
 */
export interface Reservation {
  env: string;
  /**
   * Who holds it: `github.com/<owner>/<repo>#<pr>`. A run whose holder starts with this (the pull
   * request's own `/apply`, holder `github.com/acme/platform#12 @bob run 42`) may apply; any other
   * is refused, naming the pull request.
   */
  holder: string;
  /** Link for people: the pull request. */
  url: string;
  /** Who asked (the commenter's login) and when (ISO-8601). */
  by: string;
  at: string;
}

const key = (env: string) => `github/reservations/${env}.json`;

function parse(text: string, env: string): Reservation {
  const r = JSON.parse(text) as Partial<Reservation>;
  if (typeof r.holder !== "string" || r.env !== env)
    throw new Error(`damaged reservation of ${env}: ${text}`);
  return r as Reservation;
}

export async function readReservation(backend: StateBackend, env: string): Promise<Reservation | undefined> {
  assertEnvName(env);
  const text = await backend.readBlob(key(env));
  return text === undefined ? undefined : parse(text, env);
}

/** Takes the reservation if it is free; returns whoever holds it now (this one, or another). */
export async function reserve(backend: StateBackend, r: Reservation): Promise<Reservation> {
  assertEnvName(r.env);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await backend.writeBlob(key(r.env), `${JSON.stringify(r, null, 2)}\n`, { ifAbsent: true })) return r;
    const held = await readReservation(backend, r.env);
    if (held) return held;
  }
  throw new Error(`the reservation of ${r.env} kept changing while plinth tried to take it`);
}

/** Gives the reservation back if `holder` holds it; returns what was released. */
export async function releaseReservation(
  backend: StateBackend,
  env: string,
  holder: string,
): Promise<Reservation | undefined> {
  const held = await readReservation(backend, env);
  if (held?.holder !== holder) return undefined;
  await backend.deleteBlob(key(env));
  return held;
}

/** Every reservation a holder has (the environments to give back when its pull request closes). */
export async function reservationsOf(backend: StateBackend, holder: string): Promise<Reservation[]> {
  const out: Reservation[] = [];
  for (const k of await backend.listBlobs("github/reservations/")) {
    const env = k.slice("github/reservations/".length).replace(/\.json$/, "");
    const r = await readReservation(backend, env);
    if (r?.holder === holder) out.push(r);
  }
  return out;
}

export const holdsReservation = (r: Reservation, runHolder: string): boolean =>
  runHolder === r.holder || runHolder.startsWith(`${r.holder} `);

/** A run of `env` by someone other than the reserving pull request: refused, naming it. */
export async function assertNotReserved(
  backend: StateBackend,
  env: string,
  runHolder: string,
): Promise<void> {
  const r = await readReservation(backend, env);
  if (!r || holdsReservation(r, runHolder)) return;
  throw new UserError(
    error(`environment ${env} is reserved by pull request ${r.url} (applied by @${r.by} at ${r.at})`, {
      path: backend.describe(),
      fix: `let that pull request merge or close, or comment /unlock ${env} on it (someone with apply rights); nothing was changed`,
    }),
  );
}
