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

export type VaultResource = DesiredResource<VaultSpec>;

export type VaultChange = ResourceChange<VaultSpec>;
