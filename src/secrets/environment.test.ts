import { describe, expect, test } from "vitest";
import { exampleConfig } from "../../test/helpers/config.js";
import { CATALOG } from "../catalog/index.js";
import type { SecretSpec } from "../catalog/types.js";
import { secretEntries } from "../catalog/vault-layout.js";
import { UserError } from "../diagnostics/diagnostic.js";
import { resolve } from "../model/resolve.js";
import { describeKeys, environmentValues, fromEnvironment, missingVariables } from "./environment.js";
import { fillSecret } from "./generate.js";

const staging = () => resolve(exampleConfig(), "staging");
const token = (): SecretSpec => {
  const spec = CATALOG["cert-manager"].secrets(staging())[0];
  if (!spec) throw new Error("cert-manager has no secret for staging");
  return spec;
};

describe("secrets from the operator's environment", () => {
  test("cert-manager's DNS-01 token comes from CLOUDFLARE_API_TOKEN, in its namespace", () => {
    expect(token()).toMatchObject({ name: "cloudflare-api-token", namespace: "cert-manager" });
    expect(fromEnvironment(token())).toBe(true);
    expect(describeKeys(token())).toBe("from CLOUDFLARE_API_TOKEN: api-token");
  });

  test("an environment without zones (ci) needs no token", () => {
    expect(CATALOG["cert-manager"].secrets(resolve(exampleConfig(), "ci"))).toEqual([]);
  });

  test("a missing or blank variable is one error naming it, the Secret and what to export", () => {
    for (const vars of [{}, { CLOUDFLARE_API_TOKEN: "  " }]) {
      const [d, ...rest] = missingVariables([token(), token()], vars);
      expect(rest).toEqual([]);
      expect(d?.path).toBe("CLOUDFLARE_API_TOKEN");
      expect(d?.message).toContain("Secret cert-manager/cloudflare-api-token");
      expect(d?.fix).toContain("Zone.DNS:Edit on example.com, example.org");
      expect(() => environmentValues(token(), vars)).toThrow(UserError);
    }
  });

  test("the value is read, never generated; it replaces what the Secret held", () => {
    const vars = { CLOUDFLARE_API_TOKEN: "cf-token-value" };
    expect(environmentValues(token(), vars)).toEqual({ "api-token": "cf-token-value" });
    const filled = fillSecret(
      token(),
      { ...{ "api-token": "old" }, ...environmentValues(token(), vars) },
      () => {
        throw new Error("no template");
      },
    );
    expect(filled).toEqual({ "api-token": "cf-token-value" });
    expect(() => fillSecret(token(), {}, () => undefined)).toThrow(/never generated/);
  });

  test("Vault never holds it: it goes straight to cert-manager", () => {
    expect(secretEntries(staging()).some((e) => e.spec.name === "cloudflare-api-token")).toBe(false);
  });
});
