// How long an uploaded recording is, when the upstream does not say: read from
// a WAV header, or from the last timestamp of SRT/VTT subtitles the upstream
// returned. Transcription is billed per second, so a count we make ourselves
// is flagged as estimated in the ledger.

/** Seconds of audio in a RIFF/WAVE file (PCM or not: data bytes over the byte rate); undefined for anything else. */
export function wavSeconds(bytes: Buffer): number | undefined {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  let byteRate: number | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const start = offset + 8;
    if (id === 'fmt ' && start + 12 <= bytes.length) byteRate = bytes.readUInt32LE(start + 8);
    if (id === 'data') {
      if (!byteRate) return undefined;
      // Streamed WAVs write 0 or 0xFFFFFFFF as the data size; the bytes present are what there is.
      const present = bytes.length - start;
      const dataBytes = size === 0 || size === 0xffffffff || size > present ? present : size;
      return dataBytes / byteRate;
    }
    offset = start + size + (size % 2);
  }
  return undefined;
}

const CUE_TIME = /(\d{1,2}):(\d{2}):(\d{2})[,.](\d{3})/g;

/** The end of the last cue of SRT or WebVTT text, in seconds; undefined when it has no timestamps. */
export function lastCueSeconds(subtitles: string): number | undefined {
  let last: number | undefined;
  for (const m of subtitles.matchAll(CUE_TIME)) {
    const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
    if (last === undefined || s > last) last = s;
  }
  return last;
}

/** Billed seconds: rounded to the nearest second, as OpenAI bills Whisper, and at least 1 for any audio at all. */
export function billedSeconds(seconds: number): number {
  if (!(seconds > 0)) return 0;
  return Math.max(1, Math.round(seconds));
}

/** A WAV of silence (16-bit mono PCM): test audio and the fixture's speech. */
export function silentWav(seconds: number, sampleRate = 16_000): Buffer {
  const dataBytes = Math.round(seconds * sampleRate) * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  return out;
}
