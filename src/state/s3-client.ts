/**
 * One way to open an S3 client, for the state backend and the backup catalog alike: the SDK
 * loaded on first use (the plan path never pays for it), path-style addressing, checksums only
 * where S3 requires them, and no SDK retries (callers retry knowing which answers are final).
 */
import type { S3Client } from "@aws-sdk/client-s3";

export type S3Sdk = typeof import("@aws-sdk/client-s3");

export interface S3ClientOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-request timeout (default 30 s); connecting gives up after 10 s. */
  requestTimeoutMs?: number;
}

/**
 * The SDK's exports. Bundled (bin/plinth), the SDK is CommonJS in a chunk of its own whose ES
 * module face has only `default`: a run with S3 state failed with "S3Client is not a constructor".
 */
const namedExports = (m: S3Sdk | { default: S3Sdk }): S3Sdk => ("S3Client" in m ? m : m.default);

export async function openS3(o: S3ClientOptions): Promise<{ sdk: S3Sdk; client: S3Client }> {
  const sdk = namedExports(await import("@aws-sdk/client-s3"));
  const client = new sdk.S3Client({
    endpoint: o.endpoint,
    region: o.region,
    // R2 and most S3-compatible stores address buckets by path, not by subdomain.
    forcePathStyle: true,
    credentials: o.credentials,
    // Retries are the caller's (bounded, and aware of which answers are final).
    maxAttempts: 1,
    // Checksums only where S3 requires them: several compatible stores reject the newer headers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: 10_000, requestTimeout: o.requestTimeoutMs ?? 30_000 },
  });
  return { sdk, client };
}
