// The bundle: one ESM file (dist/delete-client.js) and a minified one (dist/delete-client.min.js) whose gzipped
// size is printed. Declarations come from `tsc -p tsconfig.json` (dist/index.d.ts and the modules' .d.ts).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const common = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2020", // React Native's Hermes and older Safari: class fields and ?? are lowered
  legalComments: "none",
  logLevel: "warning",
};
await build({ ...common, outfile: "dist/delete-client.js" });
await build({ ...common, outfile: "dist/delete-client.min.js", minify: true });
const minified = readFileSync("dist/delete-client.min.js");
const gzipped = gzipSync(minified, { level: 9 }).length;
console.log(`dist/delete-client.js: ${readFileSync("dist/delete-client.js").length} bytes; `
  + `minified ${minified.length} bytes, ${gzipped} bytes gzipped (-9)`);
