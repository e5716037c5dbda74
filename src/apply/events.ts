import type { ComponentId, PhaseId } from "../config/ids.js";
import type { ChangeAction } from "../providers/types.js";

export type ComponentStatus = "pending" | "applying" | "waiting" | "ready" | "failed" | "skipped";

/**
 * What the engine reports while it works. It never prints: the terminal view, plain lines,
 * `--json` and the state journal all consume these.
 */
export type EngineEvent =
  | { type: "start"; env: string; hash: string; components: number; at: string }
  | {
      type: "component";
      component: ComponentId;
      phase: PhaseId;
      status: ComponentStatus;
      detail?: string;
      elapsedMs: number;
    }
  | {
      type: "change";
      component: ComponentId;
      action: ChangeAction;
      kind: string;
      name: string;
      namespace?: string;
    }
  | { type: "done"; outcome: "applied" | "failed"; elapsedMs: number; changes: number; error?: string };

export type EventSink = (e: EngineEvent) => void;
