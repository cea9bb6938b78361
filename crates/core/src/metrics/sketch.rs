//! Durations as a group collects them: [`Values`], every value exactly (what `metrics::compute`
//! keeps), and [`Sketch`], the bounded summary the rollups keep: the values themselves while there
//! are at most [`EXACT_LIMIT`] distinct ones, then logarithmic buckets (DDSketch's mapping: Masson,
//! Rim and Lee, VLDB 2019) whose percentiles are within [`ALPHA`] × 2 of the exact ones.
//!
//! The bound, stated once for docs/METRICS.md: a median or p90 read from a sketch is the
//! representative of the bucket that holds the exact nearest-rank value `x` (buckets are ordered
//! intervals, so ranks are kept), rounded to the millisecond; it is within 1% of `x`, and equal
//! to `x` when |x| < 100 ms. Every operation is exact on counts, so a sketch subtracts: taking out
//! a value that was added leaves the sketch as it would be without it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Stats;

/// The buckets' relative accuracy: a bucket's representative is within `ALPHA` of each value in it.
pub const ALPHA: f64 = 0.005;
/// How many distinct values a sketch keeps exactly before it turns to buckets.
pub const EXACT_LIMIT: usize = 64;

/// Bucket `i` holds the magnitudes in `(GAMMA^(i-1), GAMMA^i]`.
const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);

/// One duration metric of a group as its leads are added and taken out (`sign` is 1 or −1).
pub trait Durations: Default + Clone {
    fn add(&mut self, value: i64, sign: i64);
    fn merge(&mut self, other: &Self, sign: i64);
    fn stats(&self) -> Stats;
}

/// Adds `by` to a count, dropping the entry when it comes back to zero (so that a value or key
/// added and taken out leaves no trace).
pub(super) fn bump<K: Ord + Clone>(map: &mut BTreeMap<K, i64>, key: &K, by: i64) {
    let n = map.entry(key.clone()).or_insert(0);
    *n += by;
    if *n == 0 {
        map.remove(key);
    }
}

/// The nearest rank of `p` over counted keys: the smallest key with at least `p` of the count at
/// or below it (as `metrics::compute` has always read a percentile).
fn nearest_rank<K: Copy>(map: &BTreeMap<K, i64>, p: f64) -> Option<K> {
    let n: i64 = map.values().sum();
    if n <= 0 {
        return None;
    }
    let k = ((p * n as f64).ceil() as i64).clamp(1, n);
    let mut seen = 0;
    for (key, count) in map {
        seen += count;
        if seen >= k {
            return Some(*key);
        }
    }
    map.keys().next_back().copied()
}

/// A count as a report shows it: never below zero.
pub(super) fn n32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Every value, with how many times it was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Values(BTreeMap<i64, i64>);

impl Values {
    fn n(&self) -> i64 {
        self.0.values().sum()
    }
}

impl Durations for Values {
    fn add(&mut self, value: i64, sign: i64) {
        bump(&mut self.0, &value, sign);
    }

    fn merge(&mut self, other: &Values, sign: i64) {
        for (value, n) in &other.0 {
            bump(&mut self.0, value, sign * n);
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            n: n32(self.n()),
            median: nearest_rank(&self.0, 0.5),
            p90: nearest_rank(&self.0, 0.9),
        }
    }
}

/// The bucket of a value: 0 for 0, `i + 1` for a positive value in bucket `i`, `-(i + 1)` for a
/// negative one, so that keys sort as the values they hold.
pub fn bucket(value: i64) -> i32 {
    if value == 0 {
        return 0;
    }
    // Magnitudes are at least 1, so i is at least 0.
    let i = ((value.unsigned_abs() as f64).ln() / GAMMA.ln())
        .ceil()
        .max(0.0) as i32;
    if value > 0 {
        i + 1
    } else {
        -(i + 1)
    }
}

/// The value a bucket stands for: the point of its interval with the least relative error to
/// either end, rounded to the millisecond.
pub fn representative(key: i32) -> i64 {
    if key == 0 {
        return 0;
    }
    let i = key.unsigned_abs() as i32 - 1;
    let r = (2.0 * GAMMA.powi(i) / (GAMMA + 1.0)).round() as i64;
    if key > 0 {
        r
    } else {
        -r
    }
}

/// A bounded summary of durations (see the module's documentation for its error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sketch {
    /// At most [`EXACT_LIMIT`] distinct values, each kept.
    #[serde(rename = "x")]
    Exact(Values),
    /// Bucket key ([`bucket`]) → how many values.
    #[serde(rename = "b")]
    Buckets(BTreeMap<i32, i64>),
}

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch::Exact(Values::default())
    }
}

impl Sketch {
    /// The buckets of these values.
    fn buckets(values: &Values) -> BTreeMap<i32, i64> {
        let mut buckets = BTreeMap::new();
        for (value, n) in &values.0 {
            bump(&mut buckets, &bucket(*value), *n);
        }
        buckets
    }

    /// Turns to buckets once the exact values outgrow the limit.
    fn bound(&mut self) {
        if let Sketch::Exact(values) = self {
            if values.0.len() > EXACT_LIMIT {
                *self = Sketch::Buckets(Sketch::buckets(values));
            }
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Sketch::Exact(_))
    }
}

impl Durations for Sketch {
    fn add(&mut self, value: i64, sign: i64) {
        match self {
            Sketch::Exact(values) => values.add(value, sign),
            Sketch::Buckets(buckets) => bump(buckets, &bucket(value), sign),
        }
        self.bound();
    }

    fn merge(&mut self, other: &Sketch, sign: i64) {
        match (&mut *self, other) {
            (Sketch::Exact(a), Sketch::Exact(b)) => a.merge(b, sign),
            (Sketch::Buckets(a), Sketch::Exact(b)) => {
                for (key, n) in Sketch::buckets(b) {
                    bump(a, &key, sign * n);
                }
            }
            (_, Sketch::Buckets(b)) => {
                let mut a = match &*self {
                    Sketch::Exact(values) => Sketch::buckets(values),
                    Sketch::Buckets(buckets) => buckets.clone(),
                };
                for (key, n) in b {
                    bump(&mut a, key, sign * n);
                }
                *self = Sketch::Buckets(a);
            }
        }
        self.bound();
    }

    fn stats(&self) -> Stats {
        match self {
            Sketch::Exact(values) => values.stats(),
            Sketch::Buckets(buckets) => Stats {
                n: n32(buckets.values().sum()),
                median: nearest_rank(buckets, 0.5).map(representative),
                p90: nearest_rank(buckets, 0.9).map(representative),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng as rng;

    /// The stated error of one value: within 1%, exact below 100 ms, for both signs.
    fn within_bound(exact: i64, estimate: i64) -> bool {
        let err = (estimate - exact).abs();
        if exact.abs() < 100 {
            err == 0
        } else {
            err as f64 <= 0.01 * exact.abs() as f64
        }
    }

    #[test]
    fn every_bucket_stands_for_its_values_within_the_bound() {
        for v in (-200_000..=200_000).chain([i64::from(i32::MAX), 400 * 86_400_000]) {
            let r = representative(bucket(v));
            assert!(within_bound(v, r), "{v} → {r}");
        }
        let mut rng = rng::XorShift(0x5eed_cafe);
        for _ in 0..100_000 {
            let v = (rng.next() % 40_000_000_000) as i64 - 1_000_000_000;
            assert!(within_bound(v, representative(bucket(v))), "{v}");
        }
    }

    #[test]
    fn keys_sort_as_their_values() {
        let values = [
            -5_000_000, -120_000, -1, 0, 1, 2, 99, 100, 120_000, 5_000_000,
        ];
        let keys: Vec<i32> = values.iter().map(|v| bucket(*v)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    /// Percentiles of random multisets, added in any order and partly taken out again: the sketch
    /// answers within the bound, exactly while it is small, and taking out what was added leaves
    /// the sketch it was.
    #[test]
    fn percentiles_within_the_bound_and_subtraction_undoes_addition() {
        let mut rng = rng::XorShift(0x0dd_ba11);
        for round in 0..300 {
            let len = 1 + rng.below(if round % 3 == 0 { 40 } else { 2_000 });
            let spread = [100, 60_000, 86_400_000][rng.below(3)];
            let values: Vec<i64> = (0..len)
                .map(|_| (rng.next() % spread) as i64 - (spread as i64) / 10)
                .collect();
            let mut exact = Values::default();
            let mut sketch = Sketch::default();
            for v in &values {
                exact.add(*v, 1);
                sketch.add(*v, 1);
            }
            let (e, s) = (exact.stats(), sketch.stats());
            assert_eq!(e.n, s.n);
            if sketch.is_exact() {
                assert_eq!(e, s);
            }
            for (x, y) in [(e.median, s.median), (e.p90, s.p90)] {
                assert!(within_bound(x.unwrap(), y.unwrap()), "{x:?} {y:?}");
            }
            let before = sketch.clone();
            let extra: Vec<i64> = (0..rng.below(50))
                .map(|_| rng.next() as i64 % 9_999)
                .collect();
            for v in &extra {
                sketch.add(*v, 1);
            }
            for v in &extra {
                sketch.add(*v, -1);
            }
            if !before.is_exact() || sketch.is_exact() {
                assert_eq!(sketch, before);
            }
            assert_eq!(sketch.stats().n, e.n);
        }
    }

    #[test]
    fn merging_is_adding_each_value() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        let mut both = Sketch::default();
        for v in 0..500 {
            let (v, into) = (v * 7919 % 100_000, if v % 3 == 0 { &mut a } else { &mut b });
            into.add(v, 1);
            both.add(v, 1);
        }
        a.merge(&b, 1);
        assert_eq!(a, both);
        a.merge(&b, -1);
        assert_eq!(a.stats().n, 167);
    }
}
