export { TOKEN_PERMISSIONS } from "../../catalog/cloudflare.js";
export type { CloudflareClientOptions } from "./client.js";
export { applyDns, needsCloudflare, planDns } from "./dns.js";
export { COMMENT_MAX, formatMark, type OwnerMark, parseMark } from "./ownership.js";
export {
  type Access,
  type CloudflareDnsProvider,
  type CloudflareDnsProviderOptions,
  cloudflareDnsProvider,
  type DnsPlanOptions,
} from "./provider.js";
export { type DnsRecordSpec, dnsRecordsFor, recordId, recordTypeFor } from "./records.js";
