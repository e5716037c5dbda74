/**
 * The Vault address rule: plain http only to a loopback host (tokens, unseal keys and secret values
 * travel to that address), https anywhere. Pure checks, no Vault needed.
 */
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { checkVaultAddress, isLoopbackHost, vaultAddress } from "../../src/providers/vault/access.js";

const env = { hosts: { vault: { host: "vault.staging.example.org" } } } as never;
/** `--vault-addr` and the variables, as the CLI passes them. */
const from = (flag?: string, VAULT_ADDR?: string) => ({
  ...(flag === undefined ? {} : { addressFlag: flag }),
  variables: VAULT_ADDR === undefined ? {} : { VAULT_ADDR },
});

function refusal(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a refusal");
}

describe("loopback hosts", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.5.6.7", true],
    ["localhost", true],
    ["LOCALHOST", true],
    ["[::1]", true],
    ["::1", true],
    ["128.0.0.1", false],
    ["10.0.0.1", false],
    ["127.0.0.1.example.com", false],
    ["localhost.example.com", false],
    ["vault", false],
  ])("%s → %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe("checkVaultAddress", () => {
  it.each([
    "https://vault.example.org",
    "https://10.0.0.5:8200",
    "http://127.0.0.1:8200",
    "http://127.1:8200",
    "http://localhost:8200/",
    "http://[::1]:8200",
    "http://[0:0:0:0:0:0:0:1]:8200",
  ])("accepts %s unchanged", (address) => {
    expect(checkVaultAddress(address, "VAULT_ADDR")).toBe(address);
  });

  it("refuses plain http to another host, naming the variable and the fix", () => {
    const e = refusal(() => checkVaultAddress("http://vault.example.org:8200", "VAULT_ADDR"));
    expect(e.diagnostics[0]?.path).toBe("VAULT_ADDR");
    expect(e.message).toContain("http://vault.example.org:8200 is plain http to vault.example.org");
    expect(e.message).toContain("use an https:// address");
    expect(e.message).toContain("port-forward to localhost");
    expect(e.message).toContain("VAULT_ADDR=http://127.0.0.1:8200");
  });

  it("refuses a host that only looks like loopback, and other schemes, and non-URLs", () => {
    expect(
      refusal(() => checkVaultAddress("http://127.0.0.1.nip.io:8200", "--vault-addr")).message,
    ).toContain("not a loopback host");
    expect(refusal(() => checkVaultAddress("http://192.168.1.10:8200", "VAULT_ADDR")).message).toContain(
      "plain http to 192.168.1.10",
    );
    expect(refusal(() => checkVaultAddress("ftp://vault.example.org", "VAULT_ADDR")).message).toContain(
      "ftp:// is not an address",
    );
    expect(refusal(() => checkVaultAddress("vault.example.org:8200", "VAULT_ADDR")).message).toMatch(
      /not a URL|is not an address/,
    );
  });
});

describe("vaultAddress", () => {
  it("checks the flag first and names it when refused", () => {
    const e = refusal(() => vaultAddress(env, from("http://vault.internal:8200", "https://ok.example.org")));
    expect(e.diagnostics[0]?.path).toBe("--vault-addr");
    expect(e.message).toContain("--vault-addr http://127.0.0.1:8200");
  });

  it("checks VAULT_ADDR when there is no flag, and names the variable", () => {
    const e = refusal(() => vaultAddress(env, from(undefined, "http://vault.internal:8200")));
    expect(e.diagnostics[0]?.path).toBe("VAULT_ADDR");
  });

  it("takes loopback http and https as given, and defaults to https on the environment's Vault host", () => {
    expect(vaultAddress(env, from("http://127.0.0.1:8200"))).toBe("http://127.0.0.1:8200");
    expect(vaultAddress(env, from(undefined, "https://vault.example.org"))).toBe("https://vault.example.org");
    expect(vaultAddress(env, from("", ""))).toBe("https://vault.staging.example.org");
  });
});
