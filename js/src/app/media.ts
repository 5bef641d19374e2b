/** Audio and video the browser's player is given, by the signed manifest's file name (the
 * server never sees the name, so it cannot say). */

import { InvalidInput } from "../errors.js";

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  mov: "video/mp4", // QuickTime's H.264 files play as MP4 where the browser can
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  wav: "audio/wav",
  oga: "audio/ogg",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  flac: "audio/flac",
};

/** The media type to play `fileName` as, or null if it is not audio or video we play. */
export function mediaTypeOf(fileName: string): string | null {
  const dot = fileName.lastIndexOf(".");
  if (dot <= 0) return null;
  return MEDIA_TYPES[fileName.slice(dot + 1).toLowerCase()] ?? null;
}

/** `value` if it is one of the media types above (the service worker's check of an order). */
export function checkMediaType(value: string): string {
  if (!Object.values(MEDIA_TYPES).includes(value)) throw new InvalidInput(`not a media type custody plays: ${value.slice(0, 40)}`);
  return value;
}
