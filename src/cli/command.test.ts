import { parseArgs } from "node:util";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type ArgsOf, COMMON_OPTIONS, defineCommand } from "./command.js";

const options = { "no-wait": { type: "boolean" }, timeout: { type: "string" } } as const;

describe("defineCommand", () => {
  it("types a handler's values from the command's own options (and the common ones)", async () => {
    let seen: ArgsOf<typeof options>["values"] | undefined;
    const command = defineCommand({
      name: "t",
      summary: "",
      usage: "",
      options,
      positionals: [],
      async handler(args) {
        expectTypeOf(args.values["no-wait"]).toEqualTypeOf<boolean | undefined>();
        expectTypeOf(args.values.timeout).toEqualTypeOf<string | undefined>();
        expectTypeOf(args.values.config).toEqualTypeOf<string | undefined>();
        // @ts-expect-error a flag the command does not declare does not compile
        void args.values["no-wiat"];
        seen = args.values;
        return 0;
      },
    });
    // As main parses them: the command's options with the common ones, strict.
    const parsed = parseArgs({
      args: ["--no-wait", "--timeout", "5m", "-c", "p.ts"],
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    expect(await command.handler(parsed, { cwd: ".", env: {}, stdout: () => {}, stderr: () => {} })).toBe(0);
    expect(seen).toEqual({ "no-wait": true, timeout: "5m", config: "p.ts" });
  });
});
