import { unzipSync } from 'fflate';
import { ParseFailure, type ParseLimits } from './types.ts';
import { byteSizeText } from './size.ts';

/**
 * Reads a zip's central directory without inflating anything and refuses a
 * bomb before a parser opens it: too many entries, or more uncompressed bytes
 * than allowed. Sizes a hostile zip lies about are caught later by the
 * worker's memory limit and time budget.
 */
export function checkZip(data: Uint8Array, limits: ParseLimits, what: string): string[] {
  const names: string[] = [];
  let total = 0;
  try {
    unzipSync(data, {
      filter(file) {
        names.push(file.name);
        total += file.originalSize;
        if (names.length > limits.maxZipEntries) throw new ParseFailure(`This ${what} holds more than ${limits.maxZipEntries} files inside; it is not a document Warbler can read.`);
        if (total > limits.maxUnzippedBytes) throw new ParseFailure(`This ${what} unpacks to more than ${byteSizeText(limits.maxUnzippedBytes)}; split it into smaller files.`);
        return false;
      },
    });
  } catch (err) {
    if (err instanceof ParseFailure) throw err;
    throw new ParseFailure(`This ${what} is damaged or not really a ${what} (its zip container cannot be read). Save it again and re-upload.`);
  }
  return names;
}

/** The named entries, inflated, each bounded by what its directory says. */
export function readZipEntries(data: Uint8Array, want: (name: string) => boolean, limits: ParseLimits, what: string): Record<string, Uint8Array> {
  checkZip(data, limits, what);
  try {
    return unzipSync(data, { filter: (file) => want(file.name) });
  } catch {
    throw new ParseFailure(`This ${what} is damaged (an entry inside cannot be unpacked). Save it again and re-upload.`);
  }
}
