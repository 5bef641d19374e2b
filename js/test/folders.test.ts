/**
 * "Receive all into a folder" (`src/app/folders.ts`) against an in-memory folder with the
 * File System Access API's behaviour: the sender's folders are made under the chosen one;
 * an unsafe folder is refused with `custody receive`'s own words (the Python messages,
 * copied from `custody.crypto.manifest.safe_folder`) before anything is made; something in
 * the way, or a different file of the same name, is refused and nothing is overwritten.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { CustodyError } from "../src/errors.js";
import { sha256Hex } from "../src/hash.js";
import { type FileLike, type FolderLike, targetOf } from "../src/app/folders.js";

function domError(name: string): Error {
  const error = new Error(name);
  error.name = name;
  return error;
}

class MemoryFile implements FileLike {
  readonly kind = "file";
  content = new Uint8Array(0);

  async getFile(): Promise<Blob> {
    return new Blob([this.content as Uint8Array<ArrayBuffer>]);
  }

  async createWritable(): Promise<WritableStream<Uint8Array>> {
    const parts: Uint8Array[] = [];
    return new WritableStream<Uint8Array>({
      write: (piece) => {
        parts.push(piece.slice());
      },
      close: () => {
        this.content = new Uint8Array(Buffer.concat(parts));
      },
    });
  }
}

class MemoryFolder implements FolderLike {
  readonly kind = "directory";
  readonly entries = new Map<string, MemoryFolder | MemoryFile>();

  constructor(readonly name: string) {}

  async getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<FolderLike> {
    const found = this.entries.get(name);
    if (found instanceof MemoryFolder) return found;
    if (found !== undefined) throw domError("TypeMismatchError");
    if (!options?.create) throw domError("NotFoundError");
    const made = new MemoryFolder(name);
    this.entries.set(name, made);
    return made;
  }

  async getFileHandle(name: string, options?: { create?: boolean }): Promise<FileLike> {
    const found = this.entries.get(name);
    if (found instanceof MemoryFile) return found;
    if (found !== undefined) throw domError("TypeMismatchError");
    if (!options?.create) throw domError("NotFoundError");
    const made = new MemoryFile();
    this.entries.set(name, made);
    return made;
  }

  async removeEntry(name: string): Promise<void> {
    if (!this.entries.delete(name)) throw domError("NotFoundError");
  }

  /** Every path below, folders with a trailing '/'. */
  tree(prefix = ""): string[] {
    return [...this.entries].flatMap(([name, entry]) =>
      entry instanceof MemoryFolder ? [`${prefix}${name}/`, ...entry.tree(`${prefix}${name}/`)] : [`${prefix}${name}`],
    );
  }
}

const CONTENT = new TextEncoder().encode("statement of witness A\n");
const placed = (folder?: string, file_name = "statement.txt") => ({
  file_name,
  size: CONTENT.length,
  sha256: sha256Hex(CONTENT),
  ...(folder === undefined ? {} : { folder }),
});

async function write(file: FileLike, data: Uint8Array): Promise<void> {
  const writable = await file.createWritable();
  const writer = writable.getWriter();
  await writer.write(data);
  await writer.close();
}

test("the sender's folders are made under the chosen folder, one by one", async () => {
  const root = new MemoryFolder("case-42");
  const target = await targetOf(root, placed("interviews/2026-03/witness A"));
  assert.equal(target.already, false);
  assert.equal(target.path, "case-42/interviews/2026-03/witness A/statement.txt");
  if (!target.already) await write(target.file, CONTENT);
  const lone = await targetOf(root, placed(undefined, "exhibits.pdf"));
  assert.equal(lone.path, "case-42/exhibits.pdf");
  assert.deepEqual(root.tree().sort(), [
    "exhibits.pdf",
    "interviews/",
    "interviews/2026-03/",
    "interviews/2026-03/witness A/",
    "interviews/2026-03/witness A/statement.txt",
  ]);
  // a second folder beside the first reuses the folders already there
  await targetOf(root, placed("interviews/2026-04"));
  assert.deepEqual(root.tree().filter((p) => p.endsWith("/")).sort(),
    ["interviews/", "interviews/2026-03/", "interviews/2026-03/witness A/", "interviews/2026-04/"]);
});

test("an unsafe folder is refused in custody receive's words, and nothing is made", async () => {
  // Python: custody.crypto.manifest.safe_folder's message for each
  const cases: [string, string][] = [
    ["../x", "'..' is not a usable file name"],
    ["evidence/..", "'..' is not a usable file name"],
    ["a/../b", "'..' is not a usable file name"],
    [".", "'.' is not a usable file name"],
    ["a/./b", "'.' is not a usable file name"],
    ["/etc", "the folder path is absolute or has an empty part"],
    ["a//b", "the folder path is absolute or has an empty part"],
    ["x/", "the folder path is absolute or has an empty part"],
    ["a\\b", "a file name may not contain '/' or '\\'"],
    ["a/\u0000b", "the file name contains a control character (U+0000)"],
    [Array(33).fill("d").join("/"), "the folder path is more than 32 folders deep"],
  ];
  for (const [folder, message] of cases) {
    const root = new MemoryFolder("out");
    await assert.rejects(targetOf(root, placed(folder)), (error: unknown) => {
      assert.ok(error instanceof CustodyError, `${JSON.stringify(folder)}: ${String(error)}`);
      assert.equal(error.message, message, JSON.stringify(folder));
      return true;
    });
    assert.deepEqual(root.tree(), [], `${JSON.stringify(folder)} made nothing`);
  }
  // the file name too
  await assert.rejects(targetOf(new MemoryFolder("out"), placed("a", "..")), /'\.\.' is not a usable file name/);
});

test("a file where a folder must go, or a folder where the file must go, is in the way", async () => {
  const root = new MemoryFolder("out");
  await write(await root.getFileHandle("interviews", { create: true }), CONTENT);
  await assert.rejects(targetOf(root, placed("interviews/2026")),
    /out\/interviews is in the way: not a folder custody can write into/);
  await root.getDirectoryHandle("statement.txt", { create: true });
  await assert.rejects(targetOf(root, placed()), /out\/statement.txt is in the way/);
  assert.deepEqual(root.tree().sort(), ["interviews", "statement.txt/"]);
});

test("the signed content already there is kept; a different file is refused, never overwritten", async () => {
  const root = new MemoryFolder("out");
  const first = await targetOf(root, placed("a"));
  if (!first.already) await write(first.file, CONTENT);
  const again = await targetOf(root, placed("a"));
  assert.equal(again.already, true);
  assert.equal(again.path, "out/a/statement.txt");

  const other = new TextEncoder().encode("statement of witness B\n"); // the same size
  const file = (await (await root.getDirectoryHandle("a")).getFileHandle("statement.txt")) as MemoryFile;
  file.content = other;
  await assert.rejects(targetOf(root, placed("a")), /out\/a\/statement.txt exists and is a different file/);
  assert.deepEqual(file.content, other);
});

test("discard removes the file made for an item that did not verify", async () => {
  const root = new MemoryFolder("out");
  const target = await targetOf(root, placed("b"));
  assert.equal(target.already, false);
  if (!target.already) await target.discard();
  assert.deepEqual(root.tree(), ["b/"]);
});
