export { type ExecResult, openSsh, SshConnection, type SshTarget } from "./connection.js";
export { fingerprintOf, type HostKey, judgeHostKey, knownEntries, recordHostKey } from "./host-key.js";
export {
  applyK3s,
  desiredK3s,
  installedVersion,
  type K3sOptions,
  type K3sSpec,
  k3sConfigYaml,
  k3sPaths,
  planK3s,
  writeAuthentication,
} from "./k3s.js";
export { rewriteServer, writePrivateFile } from "./kubeconfig.js";
export { command, quote } from "./shell.js";
export { privileged, type RemoteHost } from "./sudo.js";
