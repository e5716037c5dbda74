/**
 * Smoke tests of the test bed's PostgreSQL and Redis (Debian's servers, our own instances on
 * loopback): a query and a PING over real, authenticated connections.
 */
import { describe, expect, it } from "vitest";
import { redisCommands } from "../../testbed/lib/resp.js";
import { psql } from "../helpers/psql.js";
import { testbedEnv } from "./env.js";

describe("postgres (Debian's server)", () => {
  it("answers a query over TCP with the generated password", async () => {
    const table = `smoke_${process.pid}`;
    await psql(`create table ${table} (id int primary key, name text)`);
    try {
      await psql(`insert into ${table} values (1, 'plinth'), (2, 'bao')`);
      expect(await psql(`select string_agg(name, ',' order by id) from ${table}`)).toBe("plinth,bao");
      expect(Number(await psql("show server_version_num"))).toBeGreaterThanOrEqual(150000);
    } finally {
      await psql(`drop table ${table}`);
    }
  });

  it("refuses a wrong password", async () => {
    await expect(psql("select 1", { password: "wrong" })).rejects.toThrow(/password authentication failed/);
  });
});

describe("redis (Debian's server)", () => {
  const url = () => new URL(testbedEnv("REDIS_URL"));

  it("answers PING and keeps a value after AUTH", async () => {
    const key = `smoke:${process.pid}`;
    const replies = await redisCommands(Number(url().port), [
      ["AUTH", decodeURIComponent(url().password)],
      ["PING"],
      ["SET", key, "plinth", "EX", "60"],
      ["GET", key],
      ["DEL", key],
    ]);
    expect(replies).toEqual(["+OK", "+PONG", "+OK", "$6 plinth", ":1"]);
  });

  it("refuses commands without the password", async () => {
    const [reply] = await redisCommands(Number(url().port), [["PING"]]);
    expect(reply).toMatch(/^-NOAUTH/);
  });
});
