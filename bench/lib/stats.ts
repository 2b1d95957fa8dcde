import { build, type Histogram } from 'hdr-histogram-js';
import { cpuMs, machineBusyMs, ownCpuMs } from './proc.ts';
import { round } from './util.ts';

/** Latencies are recorded in microseconds: sub-millisecond on loopback matters at p50. */
export class Latency {
  private readonly h: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentileMs(p: number): number | null {
    return this.h.totalCount === 0 ? null : round(this.h.getValueAtPercentile(p) / 1000, 2);
  }
}

export interface CpuShare {
  server_pct: number;
  generator_pct: number;
  /** Everything else on the machine: another test run here skews the figures, so it is reported. */
  other_pct: number;
}

/** CPU used between two points in time, as % of one core (200% = both cores busy). */
export class CpuWindow {
  private readonly wall = performance.now();
  private readonly server: number;
  private readonly own = ownCpuMs();
  private readonly machine = machineBusyMs();
  private readonly serverCpuMs: () => number;

  /** A pid, or a server whose cpuMs() sums its processes (several nodes count as one server). */
  constructor(server: number | { cpuMs(): number }) {
    this.serverCpuMs = typeof server === 'number' ? () => cpuMs(server) : () => server.cpuMs();
    this.server = this.serverCpuMs();
  }

  end(): CpuShare {
    const wall = performance.now() - this.wall;
    const pct = (ms: number) => round((ms / wall) * 100, 0);
    const server = this.serverCpuMs() - this.server;
    const own = ownCpuMs() - this.own;
    const machine = machineBusyMs() - this.machine;
    return { server_pct: pct(server), generator_pct: pct(own), other_pct: Math.max(0, pct(machine - server - own)) };
  }
}
