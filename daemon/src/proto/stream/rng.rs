//! A tiny deterministic PRNG (SplitMix64) for timer jitter.
//!
//! The protocol core reads no randomness source: the caller passes a seed (from the operating
//! system in the daemon, fixed in tests), so every run of a test or simulation is reproducible.
//! This is for spreading timers only, never for anything secret.

/// SplitMix64 (Steele, Lea, Flood 2014): one `u64` of state, good enough spread for jitter.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (`lo` if the range is empty). The modulo bias is irrelevant for jitter.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        match span.checked_add(1) {
            Some(n) => lo + self.next_u64() % n,
            None => self.next_u64(),
        }
    }

    /// True with probability `p` (0.0..=1.0); for simulations.
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits make a uniform f64 in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            let v = a.between(10, 20);
            assert!((10..=20).contains(&v));
            b.between(10, 20);
        }
        assert_eq!(a.between(5, 5), 5);
        assert_eq!(a.between(9, 3), 9);
        a.between(0, u64::MAX);
    }
}
