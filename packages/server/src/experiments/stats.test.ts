// Known values from SciPy 1.17 (scipy.stats) and the textbooks, so the report's intervals and p values can be trusted.
import { describe, expect, it } from 'vitest';
import {
  meanInterval, normalCdf, normalQuantile, sampleSizeForMeans, sampleSizeForProportions, signTest, tCdf, tQuantile, twoProportionZ, welch, wilson,
} from './stats.ts';

describe('distributions', () => {
  it('match SciPy', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 6);
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228138851986274, 5);
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.706204736174694, 3);
    expect(tCdf(2.0, 5)).toBeCloseTo(0.9490302605850708, 6);
  });
});

describe('intervals', () => {
  it('Wilson for 8 of 10 is 0.490 to 0.943', () => {
    const [lo, hi] = wilson(8, 10)!;
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
    expect(wilson(0, 0)).toBeNull();
  });

  it('a t interval of a mean matches SciPy', () => {
    const r = meanInterval([2, 4, 4, 5, 7, 9]);
    expect(r.mean).toBeCloseTo(5.1666667, 6);
    expect(r.ci![0]).toBeCloseTo(2.5606268548543683, 5);
    expect(r.ci![1]).toBeCloseTo(7.772706478478966, 5);
  });
});

describe('tests of a difference', () => {
  const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
  const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];

  it('Welch t: p and interval as scipy.stats.ttest_ind(equal_var=False)', () => {
    const r = welch(a, b)!;
    expect(r.p).toBeCloseTo(0.021378001462866992, 5);
    expect(r.ci![0]).toBeCloseTo(0.3492370661924069, 4);
    expect(r.ci![1]).toBeCloseTo(3.984096267140929, 4);
  });

  it('two-proportion z: 45/100 against 60/100 gives p = 0.0337', () => {
    const r = twoProportionZ(45, 100, 60, 100)!;
    expect(r.estimate).toBeCloseTo(0.15, 10);
    expect(r.p).toBeCloseTo(0.03367206885634588, 5);
  });

  it('sign test: 9 wins and 1 loss gives p = 0.0215 (binomtest), 60 of 100 gives 0.0569', () => {
    expect(signTest(9, 1)).toBeCloseTo(0.021484375, 8);
    expect(signTest(60, 40)).toBeCloseTo(0.05688793364098089, 6);
    expect(signTest(0, 0)).toBe(1);
  });
});

describe('sample size', () => {
  it('two means one sd apart by half an sd need 63 a group (α 0.05, power 0.8)', () => {
    expect(sampleSizeForMeans(1, 0.5)).toBe(63);
  });

  it('telling 10% from 20% needs 199 a group (Fleiss without continuity correction)', () => {
    expect(sampleSizeForProportions(0.1, 0.2)).toBe(199);
  });
});
