/**
 * The test bed's OpenBao as a real OpenID Connect provider (its identity/oidc/provider API), set
 * up through its HTTP API for one test run and removed afterwards: a userpass mount with two users,
 * an entity per user with an e-mail, identity groups (one allowed, one not) mapped into a `groups`
 * claim by a scope template, a key, a confidential client, and the provider. Everything carries the
 * run's id: other engineers' tests share this OpenBao.
 */
import { randomBytes } from "node:crypto";

export interface OidcUser {
  username: string;
  /** From the CSPRNG, for this run only. */
  password: string;
  email: string;
  groups: string[];
}

export interface OpenBaoOidc {
  /** `http://127.0.0.1:18200/v1/identity/oidc/provider/<name>`: its discovery document is below it. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The userpass mount the users log in with on OpenBao's login page. */
  mount: string;
  member: OidcUser;
  outsider: OidcUser;
  allowedGroup: string;
  remove(): Promise<void>;
}

/**
 * The scopes the rendered OAuth2-Proxy requests (`openid email profile groups`). Scope names are
 * global in OpenBao, so an existing one is reused when its template is ours, and only the scopes
 * this run created are deleted again.
 */
const SCOPES: Record<string, string> = {
  email: '{"email": {{identity.entity.metadata.email}}}',
  profile: '{"preferred_username": {{identity.entity.name}}}',
  groups: '{"groups": {{identity.entity.groups.names}}}',
};

type Bao = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

function client(addr: string, token: string): Bao {
  return async (method, path, body) => {
    const response = await fetch(`${addr}/v1/${path}`, {
      method,
      headers: { "x-vault-token": token, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok && !(method === "GET" && response.status === 404)) {
      throw new Error(`OpenBao ${method} /v1/${path}: ${response.status} ${text.slice(0, 300)}`);
    }
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    return response.status === 404 ? {} : parsed;
  };
}

const data = (answer: Record<string, unknown>) => (answer.data ?? {}) as Record<string, unknown>;

/**
 * Sets the provider up for one client with these callbacks (one per environment's gate). `id` (lowercase letters,
 * digits and dashes) keeps this run's objects apart from any other's.
 */
export async function openBaoOidc(o: {
  addr: string;
  token: string;
  id: string;
  redirectUris: string[];
}): Promise<OpenBaoOidc> {
  const bao = client(o.addr, o.token);
  const undo: (() => Promise<unknown>)[] = [];
  const remove = async () => {
    // Reverse order: a provider holds its client and scopes, a client its key and assignment.
    for (const step of undo.reverse()) await step().catch(() => {});
    undo.length = 0;
  };
  try {
    const mount = `gate-${o.id}`;
    await bao("POST", `sys/auth/${mount}`, { type: "userpass" });
    undo.push(() => bao("DELETE", `sys/auth/${mount}`));
    const auths = data(await bao("GET", "sys/auth"));
    const accessor = (auths[`${mount}/`] as { accessor?: string } | undefined)?.accessor;
    if (!accessor) throw new Error(`OpenBao lists no accessor for the auth mount ${mount}/`);

    const allowedGroup = `gate-${o.id}-platform`;
    const otherGroup = `gate-${o.id}-sales`;
    const user = async (name: string, groups: string[]): Promise<OidcUser & { entityId: string }> => {
      const username = `${name}-${o.id}`;
      const password = randomBytes(18).toString("base64url");
      const email = `${name}@${o.id}.example.org`;
      await bao("POST", `auth/${mount}/users/${username}`, { password });
      const entity = data(await bao("POST", "identity/entity", { name: username, metadata: { email } }));
      const entityId = String(entity.id);
      undo.push(() => bao("DELETE", `identity/entity/id/${entityId}`));
      // The alias ties the userpass login to this entity, so the token's claims are its groups.
      await bao("POST", "identity/entity-alias", {
        name: username,
        canonical_id: entityId,
        mount_accessor: accessor,
      });
      return { username, password, email, groups, entityId };
    };
    const member = await user("ada", [allowedGroup]);
    const outsider = await user("bob", [otherGroup]);
    for (const [group, who] of [
      [allowedGroup, member],
      [otherGroup, outsider],
    ] as const) {
      const created = data(
        await bao("POST", "identity/group", {
          name: group,
          type: "internal",
          member_entity_ids: [who.entityId],
        }),
      );
      undo.push(() => bao("DELETE", `identity/group/id/${String(created.id)}`));
    }

    for (const [scope, template] of Object.entries(SCOPES)) {
      const existing = data(await bao("GET", `identity/oidc/scope/${scope}`));
      if (existing.template !== undefined) {
        if (String(existing.template) !== template) {
          throw new Error(
            `OpenBao already has an OIDC scope "${scope}" with another template (${String(existing.template)}); the gate test needs ${template}`,
          );
        }
        continue;
      }
      await bao("POST", `identity/oidc/scope/${scope}`, { template, description: "plinth gate test" });
      undo.push(() => bao("DELETE", `identity/oidc/scope/${scope}`));
    }

    const name = `gate-${o.id}`;
    await bao("POST", `identity/oidc/key/${name}`, { allowed_client_ids: ["*"], rotation_period: "24h" });
    undo.push(() => bao("DELETE", `identity/oidc/key/${name}`));
    await bao("POST", `identity/oidc/assignment/${name}`, {
      entity_ids: [member.entityId, outsider.entityId],
    });
    undo.push(() => bao("DELETE", `identity/oidc/assignment/${name}`));
    await bao("POST", `identity/oidc/client/${name}`, {
      key: name,
      redirect_uris: o.redirectUris,
      assignments: [name],
      client_type: "confidential",
      id_token_ttl: "30m",
      access_token_ttl: "1h",
    });
    undo.push(() => bao("DELETE", `identity/oidc/client/${name}`));
    const registered = data(await bao("GET", `identity/oidc/client/${name}`));
    const clientId = String(registered.client_id);
    const clientSecret = String(registered.client_secret);
    await bao("POST", `identity/oidc/provider/${name}`, {
      allowed_client_ids: [clientId],
      scopes_supported: Object.keys(SCOPES),
    });
    undo.push(() => bao("DELETE", `identity/oidc/provider/${name}`));
    const discovery = (await (
      await fetch(`${o.addr}/v1/identity/oidc/provider/${name}/.well-known/openid-configuration`)
    ).json()) as { issuer: string };

    const strip = ({ entityId: _, ...rest }: OidcUser & { entityId: string }): OidcUser => rest;
    return {
      issuer: discovery.issuer,
      clientId,
      clientSecret,
      mount,
      member: strip(member),
      outsider: strip(outsider),
      allowedGroup,
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
