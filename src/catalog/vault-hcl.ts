/** The ownership mark plinth writes into descriptions, policies and KV custom metadata. */
export const MANAGED_BY = "managed-by=plinth";

/**
 * The server-config stanza of plinth's audit device. Kept free of imports: the catalog renders it
 * into the chart's server config, and OpenBao 2.x accepts audit devices only from there.
 */
export function auditDeviceHcl(path: string, filePath: string): string {
  return `audit "file" "${path}" {\n  description = "${MANAGED_BY}: audit log"\n  options {\n    file_path = "${filePath}"\n  }\n}\n`;
}
