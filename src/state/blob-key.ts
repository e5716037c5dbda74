const BLOB_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*\/?$/;

/** A blob key is a path under the state's folder or prefix: refuse anything that could leave it. */
export function assertBlobKey(key: string): void {
  if (!BLOB_KEY.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
    throw new Error(`not a state blob key: ${JSON.stringify(key)}`);
  }
}

/** Where blobs live beside environments' state: `_` is never in an environment name. */
export const BLOB_FOLDER = "_blobs";
