// `npm run bench [-- MiB]`: bundle bench/throughput.ts with esbuild and run it.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const out = await mkdtemp(path.join(tmpdir(), "custody-bench-"));
try {
  await esbuild.build({
    absWorkingDir: path.resolve(HERE, ".."),
    entryPoints: ["bench/throughput.ts"],
    outfile: path.join(out, "throughput.mjs"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
  const args = [path.join(out, "throughput.mjs"), ...process.argv.slice(2)];
  process.exitCode = spawnSync(process.execPath, args, { stdio: "inherit" }).status ?? 1;
} finally {
  await rm(out, { recursive: true, force: true });
}
