import net from "node:net";

const GGUF_EXTENSION = /\.gguf$/i;
/** Path separators, and the other characters Windows refuses in file names. */
const SEPARATORS_AND_RESERVED = new Set(["/", "\\", "<", ">", ":", '"', "|", "?", "*"]);
/** Longest file name stem kept (file systems allow 255 bytes; room for `.partial` and sidecars). */
const MAX_STEM_LENGTH = 180;
/** The name of a file whose URL names nothing usable (`/%2e%2e.gguf`, `/.gguf`). */
export const FALLBACK_MODEL_NAME = "model";

/** Control characters (C0, DEL, C1), path separators and Windows' reserved characters become `_`. */
function replaceUnsafeCharacters(text: string): string {
  return Array.from(text, (character) => {
    const code = character.codePointAt(0)!;
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    return control || SEPARATORS_AND_RESERVED.has(character) ? "_" : character;
  }).join("");
}

function decodeOnce(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape (`%zz`): keep the text as it is; the percent sign is harmless.
    return segment;
  }
}

/**
 * The local file name of a URL download: the URL's last path segment, decoded once, made into a
 * single visible file name. Path separators, control characters and characters Windows refuses
 * become `_`; runs of dots become one dot; leading dots and spaces (which would hide the file or
 * make it `..`) and trailing dots and spaces are removed. The `.gguf` extension is kept (added
 * when missing); a name left empty becomes `model.gguf`.
 *
 * `https://host/a/%2e%2e.gguf` → `model.gguf`, `.../.hidden.gguf` → `hidden.gguf`,
 * `.../sub%2Fname.gguf` → `sub_name.gguf`.
 */
export function fileNameFromUrl(url: URL): string {
  const decoded = decodeOnce(url.pathname.split("/").at(-1) ?? "");
  const extension = GGUF_EXTENSION.exec(decoded)?.[0] ?? ".gguf";
  const stem = replaceUnsafeCharacters(decoded.replace(GGUF_EXTENSION, "").normalize("NFC"))
    .replace(/\.{2,}/g, ".")
    .replace(/^[\s.]+/, "")
    .slice(0, MAX_STEM_LENGTH)
    .replace(/[\s.]+$/, "");
  return `${stem === "" ? FALLBACK_MODEL_NAME : stem}${extension}`;
}

/** Trailing dots and spaces (Windows drops them) and leading ones (a dotfile is hidden). */
function trimDotsAndSpaces(text: string): string {
  return text.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
}

/** A fallback for a folder of a repository path that has no visible name left (`...`). */
export const FALLBACK_FOLDER_NAME = "unnamed";

/**
 * The local path segments of a file in a hub repository (below `<owner>/<repo>/`): every segment
 * made visible the way {@link fileNameFromUrl} makes a URL's name visible (leading dots and
 * spaces, which would hide the file or folder from the library, and trailing ones are removed;
 * control, separator and Windows-reserved characters become `_`), the `.gguf` extension kept.
 * Nothing is shortened, so the parts of a split model keep their `-0000N-of-0000M` suffixes.
 * `path` must already be a safe repository path (no `.`, `..` or empty segment: isSafeRepoPath).
 *
 * `sub/.hidden.gguf` → `sub/hidden.gguf`, `.cache/x.gguf` → `cache/x.gguf`, `...gguf` → `model.gguf`.
 */
export function localRepoFileSegments(repoPath: string): string[] {
  const segments = repoPath.split("/");
  return segments.map((segment, index) => {
    const visible = (text: string): string => trimDotsAndSpaces(replaceUnsafeCharacters(text.normalize("NFC")));
    if (index < segments.length - 1) return visible(segment) || FALLBACK_FOLDER_NAME;
    const extension = GGUF_EXTENSION.exec(segment)?.[0] ?? "";
    const stem = visible(segment.slice(0, segment.length - extension.length));
    return `${stem === "" ? FALLBACK_MODEL_NAME : stem}${extension}`;
  });
}

/** The eight groups of an IPv6 address as written by the URL parser (`::1` → 0,0,0,0,0,0,0,1). */
function ipv6Groups(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array.from({ length: 8 - headGroups.length - tailGroups.length }, () => "0");
  return [...headGroups, ...(tail === undefined ? [] : zeros), ...tailGroups];
}

/**
 * The folder a URL download lands in under the models folder: the URL's host name (visible: no
 * leading dot), except that an IPv6 literal (`[::1]`, whose brackets and colons not every file
 * system takes) becomes `ipv6-0-0-0-0-0-0-0-1`.
 */
export function hostFolderName(url: URL): string {
  const bare = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIPv6(bare)) return `ipv6-${ipv6Groups(bare.toLowerCase()).join("-")}`;
  const folder = replaceUnsafeCharacters(bare).replace(/\.{2,}/g, ".").replace(/^\.+|\.+$/g, "");
  return folder === "" ? "unnamed-host" : folder;
}
