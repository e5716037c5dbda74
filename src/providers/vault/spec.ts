import type { SecretSpec } from "../../secrets/spec.js";
import type { DesiredResource, ResourceChange } from "../types.js";

/** Desired state, in Vault's own terms; never a secret value (KV values exist only at apply). */
export type VaultSpec =
  | { kind: "mount"; path: string; type: "kv"; version: "2"; description: string }
  | { kind: "mount"; path: string; type: "database"; description: string }
  | {
      kind: "audit";
      path: string;
      type: "file";
      filePath: string;
      description: string;
      /** Declared in the server config (OpenBao 2.x refuses audit devices through the API). */
      declared: boolean;
    }
  | {
      kind: "auth";
      path: string;
      type: "kubernetes";
      description: string;
      host: string;
      caCert?: string;
      useLocalToken: boolean;
    }
  | { kind: "policy"; name: string; policy: string }
  | {
      kind: "role";
      authPath: string;
      name: string;
      serviceAccounts: string[];
      namespaces: string[];
      policies: string[];
      ttlSeconds: number;
    }
  | {
      kind: "kv";
      mount: string;
      path: string;
      secret: SecretSpec;
      /** Phase 0: the Kubernetes Secret that existed before Vault; copied once, never regenerated. */
      copyFrom?: { namespace: string; name: string };
    }
  | {
      kind: "db-connection";
      mount: string;
      name: string;
      plugin: "postgresql-database-plugin";
      /** With Vault's `{{username}}`/`{{password}}` placeholders: no credential in it. */
      connectionUrl: string;
      username: string;
      allowedRoles: string[];
      /** The generated secret the password is read from at apply (never part of a plan). */
      passwordFrom: { mount: string; path: string; key: string };
    }
  | VaultOidcSpec
  | {
      kind: "db-role";
      mount: string;
      name: string;
      dbName: string;
      creationStatements: string[];
      revocationStatements: string[];
      defaultTtlSeconds: number;
      maxTtlSeconds: number;
    };

/** The OIDC provider plinth sets up for `sso: { provider: "vault" }` (README "SSO"), piece by piece. */
export type VaultOidcSpec =
  /** Where people sign in to Vault (and so to the gate): created once, its users never touched. */
  | { kind: "userpass"; path: string; description: string }
  /** A claim template; scope names are global in Vault, so every environment shares these. */
  | { kind: "oidc-scope"; name: string; template: string; description: string }
  | { kind: "oidc-key"; name: string; rotationPeriodSeconds: number; verificationTtlSeconds: number }
  /** An identity group named in allowedGroups: created when missing; members are Vault's business. */
  | { kind: "identity-group"; name: string }
  /** Who may sign in to the client at all: the allowed groups (ids looked up at apply). */
  | { kind: "oidc-assignment"; name: string; groups: string[] }
  | {
      kind: "oidc-client";
      name: string;
      key: string;
      redirectUris: string[];
      assignments: string[];
      idTokenTtlSeconds: number;
      accessTokenTtlSeconds: number;
    }
  | {
      kind: "oidc-provider";
      name: string;
      /** `https://<vault host>`: Vault appends `/v1/identity/oidc/provider/<name>`. */
      issuer: string;
      /** Client names; their generated ids are looked up at apply. */
      clients: string[];
      scopes: string[];
    };

export type VaultResource = DesiredResource<VaultSpec>;

export type VaultChange = ResourceChange<VaultSpec>;
