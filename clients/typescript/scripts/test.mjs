// Runs the compiled tests (build/test/*.test.js) with Node's test runner. Node 20 needs
// --experimental-websocket for the global WebSocket (Node 22+ has it by default).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const files = readdirSync("build/test")
  .filter((f) => f.endsWith(".test.js") && existsSync(`test/${f.replace(/\.js$/, ".ts")}`)) // not a removed test's
  .sort().map((f) => `build/test/${f}`);
const major = Number(process.versions.node.split(".")[0]);
const flags = major < 22 ? ["--experimental-websocket"] : [];
const result = spawnSync(process.execPath, [...flags, "--test", "--test-reporter=spec", ...files],
                         { stdio: "inherit" });
process.exit(result.status ?? 1);
