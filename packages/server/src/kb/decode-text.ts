/**
 * An uploaded text file as a string, or undefined when it is not text (invalid UTF-8, or NUL bytes).
 * Windows editors still save "Unicode" text as UTF-16 with a byte order mark, so a BOM picks UTF-16.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  try {
    const text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
    return text.includes('\u0000') ? undefined : text.replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
}
