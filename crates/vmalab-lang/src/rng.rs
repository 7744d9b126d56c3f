// SPDX-License-Identifier: GPL-2.0-or-later
//! SplitMix64: a tiny generator whose sequence for a seed never changes
//! between versions, so a fuzz seed reproduces the same scenarios forever
//! (general-purpose crates do not promise that for their default generators).
//! The lab's one generator: its randomised tests draw from it too.

/// A reproducible pseudo-random sequence.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sequence_is_stable() {
        let mut r = super::Rng::new(1);
        assert_eq!(r.next_u64(), 0x910a_2dec_8902_5cc1);
    }
}
