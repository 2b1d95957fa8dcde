import { describe, expect, it } from 'vitest';
import { billedSeconds, lastCueSeconds, silentWav, wavSeconds } from './audio-duration.ts';

describe('audio duration', () => {
  it('reads the length of a WAV from its header', () => {
    expect(wavSeconds(silentWav(2.5))).toBeCloseTo(2.5, 3);
    expect(wavSeconds(silentWav(1, 8000))).toBeCloseTo(1, 3);
  });

  it('knows nothing of other formats or a truncated header', () => {
    expect(wavSeconds(Buffer.from('ID3\u0003 not a wav at all'))).toBeUndefined();
    expect(wavSeconds(silentWav(1).subarray(0, 20))).toBeUndefined();
  });

  it('reads a streamed WAV whose data size was left unset', () => {
    const wav = silentWav(3);
    wav.writeUInt32LE(0xffffffff, 40);
    expect(wavSeconds(wav)).toBeCloseTo(3, 3);
  });

  it('takes the last cue end of SRT and VTT', () => {
    expect(lastCueSeconds('1\n00:00:00,000 --> 00:00:04,500\nhello\n\n2\n00:00:04,500 --> 00:01:02,250\nworld\n')).toBeCloseTo(62.25);
    expect(lastCueSeconds('WEBVTT\n\n00:00:00.000 --> 00:00:07.125\nhi\n')).toBeCloseTo(7.125);
    expect(lastCueSeconds('no timestamps')).toBeUndefined();
  });

  it('bills to the nearest second, and at least one for any audio', () => {
    expect(billedSeconds(0)).toBe(0);
    expect(billedSeconds(0.2)).toBe(1);
    expect(billedSeconds(8.4)).toBe(8);
    expect(billedSeconds(8.5)).toBe(9);
  });
});
