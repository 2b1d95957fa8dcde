/** "5 MiB", "64 KiB", "100 bytes": for messages people read. */
export function byteSizeText(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}
