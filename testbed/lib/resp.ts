import { connect } from "node:net";

/**
 * Sends Redis commands over one RESP connection and returns each reply's first line (`+PONG`,
 * `-ERR ...`, `:1`, `$3` + value). Enough for readiness and smoke checks without a client library.
 */
export function redisCommands(port: number, commands: string[][], host = "127.0.0.1"): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(3_000, () => socket.destroy(new Error(`redis ${host}:${port}: no reply within 3s`)));
    let buffer = "";
    const replies: string[] = [];
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (;;) {
        const end = buffer.indexOf("\r\n");
        if (end < 0) break;
        const line = buffer.slice(0, end);
        if (line.startsWith("$") && line !== "$-1") {
          // Bulk string: the value follows on its own line.
          const valueEnd = buffer.indexOf("\r\n", end + 2);
          if (valueEnd < 0) break;
          replies.push(`${line} ${buffer.slice(end + 2, valueEnd)}`);
          buffer = buffer.slice(valueEnd + 2);
        } else {
          replies.push(line);
          buffer = buffer.slice(end + 2);
        }
        if (replies.length === commands.length) {
          socket.end();
          resolve(replies);
          return;
        }
      }
    });
    socket.on("error", reject);
    socket.on("connect", () => {
      const encoded = commands
        .map(
          (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`,
        )
        .join("");
      socket.write(encoded);
    });
  });
}
