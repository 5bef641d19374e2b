// Reproducible bundles of the browser code into src/custody/web/static/app/.
//
//   node build.mjs            build (what `npm run build` runs)
//   node build.mjs --verify   build to a temporary folder and compare byte for byte with the
//                             committed files; exit 1 naming the first file that differs
//
// Deterministic: minified ES modules, no source maps, no legal comments, no timestamps or
// absolute paths (esbuild resolves from this folder and writes none of it).

import { readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * Each bundle: its source under js/src and its name in the output folder. The library, and
 * every page script (`src/app/<name>-page.ts` → `app-<name>.js`), worker
 * (`src/app/<name>-worker.ts` → `<name>-worker.js`) and the service worker (`src/app/sw.ts`
 * → `sw.js`): adding one of those files adds its bundle.
 */
export const ENTRIES = [{ in: "src/index.ts", out: "custody-lib" }, ...appEntries()];

function appEntries() {
  return readdirSync(path.join(HERE, "src/app"))
    .sort()
    .flatMap((file) => {
      const page = /^(.+)-page\.ts$/.exec(file);
      if (page) return [{ in: `src/app/${file}`, out: `app-${page[1]}` }];
      const worker = /^(.+-worker)\.ts$/.exec(file);
      if (worker) return [{ in: `src/app/${file}`, out: worker[1] }];
      return file === "sw.ts" ? [{ in: "src/app/sw.ts", out: "sw" }] : [];
    });
}

export const OUT_DIR = path.resolve(HERE, "../src/custody/web/static/app");

export async function build(outdir) {
  await esbuild.build({
    absWorkingDir: HERE,
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    charset: "ascii",
    splitting: false,
    metafile: false,
    logLevel: "warning",
  });
}

async function listFiles(dir) {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => path.relative(dir, path.join(d.parentPath ?? d.path, d.name)))
      .sort();
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
}

async function verify() {
  const temp = await mkdtemp(path.join(tmpdir(), "custody-build-"));
  try {
    await build(temp);
    const built = await listFiles(temp);
    const committed = await listFiles(OUT_DIR);
    const shown = (f) => path.relative(path.resolve(HERE, ".."), path.join(OUT_DIR, f));
    for (const file of built) {
      if (!committed.includes(file)) return fail(`${shown(file)} is missing: run npm run build and commit it`);
      const [a, b] = await Promise.all([readFile(path.join(temp, file)), readFile(path.join(OUT_DIR, file))]);
      if (!a.equals(b)) return fail(`${shown(file)} differs from a fresh build: run npm run build and commit it`);
    }
    for (const file of committed) {
      if (!built.includes(file)) return fail(`${shown(file)} is not made by the build: remove it`);
    }
    console.log(`verify-build: ${built.length} file(s) identical to a fresh build (${built.join(", ")})`);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

function fail(message) {
  console.error(`verify-build: ${message}`);
  process.exitCode = 1;
}

if (process.argv.includes("--verify")) {
  await verify();
} else {
  await build(OUT_DIR);
  for (const file of await listFiles(OUT_DIR)) {
    const { size } = await import("node:fs").then((fs) => fs.statSync(path.join(OUT_DIR, file)));
    console.log(`built ${path.relative(path.resolve(HERE, ".."), path.join(OUT_DIR, file))} (${size} bytes)`);
  }
}
