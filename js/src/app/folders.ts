/**
 * Where "Receive all into a folder" writes an item: under the folder the person chose (the
 * File System Access API), in the folder its sender signed (`folder` in the manifest, for
 * items of `custody send DIR`), as `custody receive --out` does (`client/receiving.py`'s
 * `_target`): each part of the folder checked again by the CLI's rule (`safeFolder`: no
 * '..', no '.', no empty part, not absolute), made one by one, never into something that
 * is not a folder; the file by its safe name. A file already there is kept when it is the
 * signed content (`already`), and refused when it differs: nothing is overwritten.
 *
 * Only the parts of the File System Access API used here, so Node tests can give a folder
 * of their own.
 */

import { CustodyError, LocalError } from "../errors.js";
import { Sha256 } from "../hash.js";
import { safeFileName, safeFolder } from "../manifest.js";

export interface FileLike {
  readonly kind: "file";
  getFile(): Promise<Blob>;
  createWritable(): Promise<WritableStream<Uint8Array>>;
}

export interface FolderLike {
  readonly kind: "directory";
  readonly name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<FolderLike>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileLike>;
  removeEntry(name: string): Promise<void>;
}

/** What the manifest says about where an item goes and what it must be. */
export interface Placed {
  readonly file_name: string;
  readonly folder?: string;
  readonly size: number;
  readonly sha256: string;
}

export type Target =
  /** the signed content is there already: nothing to write */
  | { readonly already: true; readonly path: string }
  /** write here: `file` was just made, empty; `discard()` removes it again */
  | { readonly already: false; readonly path: string; readonly file: FileLike; discard(): Promise<void> };

const ELSEWHERE = "choose another folder";

function isNamed(error: unknown, ...names: string[]): boolean {
  return typeof error === "object" && error !== null && names.includes((error as { name?: string }).name ?? "");
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The folder `folder` under `root`, made part by part; refused if a part is not a folder. */
async function subfolder(root: FolderLike, folder: string | undefined): Promise<FolderLike> {
  let here = root;
  if (folder === undefined) return here;
  let path = root.name;
  for (const part of safeFolder(folder).split("/")) {
    path = `${path}/${part}`;
    try {
      here = await here.getDirectoryHandle(part, { create: true });
    } catch (error) {
      if (isNamed(error, "TypeMismatchError")) {
        throw new LocalError(`${path} is in the way: not a folder custody can write into`, ELSEWHERE);
      }
      throw new LocalError(`cannot create ${path}: ${reason(error)}`, ELSEWHERE);
    }
  }
  return here;
}

/**
 * SHA-256 of what is in `file` now, read a piece at a time. JavaScript's SHA-256: this runs
 * in the page, whose policy does not let it compile WebAssembly (only the workers' does).
 */
async function contentHash(file: Blob): Promise<string> {
  const hash = await Sha256.create("js");
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return hash.hexdigest();
    hash.update(value);
  }
}

/** Where `manifest`'s item is written under `root` (see the module's comment). */
export async function targetOf(root: FolderLike, manifest: Placed): Promise<Target> {
  const name = safeFileName(manifest.file_name);
  const folder = await subfolder(root, manifest.folder);
  const path = `${root.name}/${manifest.folder === undefined ? name : `${manifest.folder}/${name}`}`;
  let existing: FileLike | null = null;
  try {
    existing = await folder.getFileHandle(name);
  } catch (error) {
    if (isNamed(error, "TypeMismatchError")) {
      throw new LocalError(`${path} is in the way: a folder of that name is there`, ELSEWHERE);
    }
    if (!isNamed(error, "NotFoundError")) throw new LocalError(`cannot read ${path}: ${reason(error)}`, ELSEWHERE);
  }
  if (existing !== null) {
    const there = await existing.getFile();
    if (there.size === manifest.size && (await contentHash(there)) === manifest.sha256) {
      return { already: true, path };
    }
    throw new CustodyError(`${path} exists and is a different file`, ELSEWHERE);
  }
  let file: FileLike;
  try {
    file = await folder.getFileHandle(name, { create: true });
  } catch (error) {
    throw new LocalError(`cannot create ${path}: ${reason(error)}`, ELSEWHERE);
  }
  return {
    already: false,
    path,
    file,
    discard: () => folder.removeEntry(name).catch(() => undefined),
  };
}
