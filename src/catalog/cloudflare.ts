/**
 * What `CLOUDFLARE_API_TOKEN` needs on every zone (read-only is enough for a plan). Catalog
 * knowledge: cert-manager's DNS-01 solver and plinth's own DNS records both use the one token.
 */
export const TOKEN_PERMISSIONS = "Zone.Zone:Read and Zone.DNS:Edit";
