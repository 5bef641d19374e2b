// `npm test`: compile every test/*.test.ts (and test/interop.ts) with esbuild into a
// temporary folder, then run them with `node --test`.
//
//   node test/run.mjs                 compile and run the tests
//   node test/run.mjs --outdir DIR    only compile, into DIR (the Python interop test uses it)
//
// The shared conformance vectors are ../shared/vectors beside the repository, or
// $CUSTODY_VECTORS_DIR, exactly as tests/support/paths.py finds them.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const JS_ROOT = path.resolve(HERE, "..");
const REPO_ROOT = path.resolve(JS_ROOT, "..");

async function compile(outdir) {
  const tests = (await readdir(HERE)).filter((f) => f.endsWith(".test.ts")).sort();
  await esbuild.build({
    absWorkingDir: JS_ROOT,
    entryPoints: [...tests, ...(existsSync(path.join(HERE, "interop.ts")) ? ["interop.ts"] : [])].map((f) => `test/${f}`),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning",
  });
  return tests.map((f) => path.join(outdir, f.replace(/\.ts$/, ".mjs")));
}

const at = process.argv.indexOf("--outdir");
if (at >= 0) {
  const outdir = path.resolve(process.argv[at + 1] ?? "");
  await compile(outdir);
  console.log(`compiled the tests into ${outdir}`);
} else {
  const outdir = await mkdtemp(path.join(tmpdir(), "custody-js-tests-"));
  try {
    const files = await compile(outdir);
    const env = {
      ...process.env,
      CUSTODY_VECTORS_DIR: process.env.CUSTODY_VECTORS_DIR ?? path.join(path.dirname(REPO_ROOT), "shared", "vectors"),
    };
    const result = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...files], {
      stdio: "inherit",
      env,
    });
    process.exitCode = result.status ?? 1;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
