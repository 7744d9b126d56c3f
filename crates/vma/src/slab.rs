//! A slab of VMA structures addressed by small ids: the model's stand-in for
//! the kernel's `vm_area_cachep`. Ids give VMAs identity ("is the merged VMA
//! the same object as prev?") without pointers. A slot is reused once its
//! VMA is freed, but under a new generation, so a stale id never names the
//! new VMA.

use alloc::vec::Vec;
use core::num::NonZeroU32;

/// Identity of a VMA inside one address space.
///
/// The slot index is kept plus one, so an `Option<VmaId>` (what the VMA
/// tree's leaves hold per entry) is as small as a `VmaId`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmaId {
    /// Slot index + 1.
    idx1: NonZeroU32,
    gen: u32,
}

impl VmaId {
    /// The id of slot `i` in generation `gen`. Slot indices stay below
    /// `u32::MAX` (each slot is a VMA in memory); one that did not would
    /// share the last id, never panic.
    #[inline]
    fn new(i: usize, gen: u32) -> VmaId {
        debug_assert!(i < u32::MAX as usize, "slot index fits an id");
        let idx1 = u32::try_from(i + 1).unwrap_or(u32::MAX);
        VmaId {
            idx1: NonZeroU32::new(idx1).unwrap_or(NonZeroU32::MAX),
            gen,
        }
    }

    /// The slot index.
    #[inline]
    fn idx(self) -> u32 {
        self.idx1.get() - 1
    }
}

impl core::fmt::Debug for VmaId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VmaId")
            .field("idx", &self.idx())
            .field("gen", &self.gen)
            .finish()
    }
}

/// Slots per chunk of the value array (88 KiB of VMAs).
const CHUNK: usize = 1024;

/// Slots with a free list. Values live in fixed-size chunks, so growing
/// never copies them and never leaves more than one chunk unused (a
/// doubling `Vec` leaves up to half its capacity idle: 5% at a million
/// VMAs, 50% just past a power of two). Generations live in their own
/// array beside the values, so a slot costs exactly its value (a
/// generation in the slot would pad every VMA by eight bytes).
#[derive(Debug)]
pub(crate) struct Slab<T> {
    /// Slot `i` is `chunks[i / CHUNK][i % CHUNK]`; every chunk but the last
    /// is full, and each was allocated with room for exactly `CHUNK`.
    chunks: Vec<Vec<Option<T>>>,
    /// `gens[i]` is the generation of slot `i`; one entry per slot.
    gens: Vec<u32>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            gens: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> VmaId {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let i = idx as usize;
            self.gens[i] = self.gens[i].wrapping_add(1);
            self.chunks[i / CHUNK][i % CHUNK] = Some(value);
            return VmaId::new(i, self.gens[i]);
        }
        let i = self.gens.len();
        if i % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let chunk = self.chunks.last_mut().expect("a chunk with room");
        debug_assert!(chunk.len() < CHUNK, "chunks never grow past CHUNK");
        chunk.push(Some(value));
        self.gens.push(0);
        VmaId::new(i, 0)
    }

    /// Index of `id`'s slot, if `id` is of its current generation.
    #[inline]
    fn slot(&self, id: VmaId) -> Option<usize> {
        let i = id.idx() as usize;
        (self.gens.get(i) == Some(&id.gen)).then_some(i)
    }

    pub(crate) fn remove(&mut self, id: VmaId) -> Option<T> {
        let i = self.slot(id)?;
        let v = self.chunks[i / CHUNK][i % CHUNK].take()?;
        self.free.push(id.idx());
        self.live -= 1;
        Some(v)
    }

    #[inline]
    pub(crate) fn get(&self, id: VmaId) -> Option<&T> {
        let i = self.slot(id)?;
        self.chunks[i / CHUNK][i % CHUNK].as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: VmaId) -> Option<&mut T> {
        let i = self.slot(id)?;
        self.chunks[i / CHUNK][i % CHUNK].as_mut()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (VmaId, &mut T)> {
        let gens = &self.gens;
        self.chunks
            .iter_mut()
            .flatten()
            .enumerate()
            .filter_map(move |(i, v)| v.as_mut().map(|v| (VmaId::new(i, gens[i]), v)))
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// A slab holding `f` of each value in the same slot, under the same
    /// id, with the same free slots: the copy hands out the same ids next.
    pub(crate) fn map_clone(&self, mut f: impl FnMut(&T) -> T) -> Slab<T> {
        let chunks = self
            .chunks
            .iter()
            .map(|c| {
                let mut out = Vec::with_capacity(CHUNK);
                out.extend(c.iter().map(|v| v.as_ref().map(&mut f)));
                out
            })
            .collect();
        Slab {
            chunks,
            gens: self.gens.clone(),
            free: self.free.clone(),
            live: self.live,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_id_costs_no_more_than_an_id() {
        assert_eq!(
            core::mem::size_of::<Option<VmaId>>(),
            core::mem::size_of::<VmaId>()
        );
    }

    #[test]
    fn ids_stay_distinct_across_chunks_and_reuse() {
        let mut s = Slab::default();
        let ids: Vec<VmaId> = (0..3 * CHUNK as u32 + 5).map(|i| s.insert(i)).collect();
        assert_eq!(s.len(), ids.len());
        assert_eq!(s.get(ids[CHUNK]), Some(&(CHUNK as u32)));
        assert_eq!(s.remove(ids[CHUNK + 1]), Some(CHUNK as u32 + 1));
        assert_eq!(s.get(ids[CHUNK + 1]), None);
        let again = s.insert(7);
        assert_eq!(again.idx(), ids[CHUNK + 1].idx());
        assert_ne!(again, ids[CHUNK + 1], "a reused slot has a new generation");
        assert_eq!(s.get(ids[CHUNK + 1]), None, "a stale id names nothing");
        assert_eq!(s.remove(ids[CHUNK + 1]), None);
        *s.get_mut(again).unwrap() += 1;
        assert_eq!(s.get(again), Some(&8));
        let seen: Vec<VmaId> = s.iter_mut().map(|(id, _)| id).collect();
        assert_eq!(seen.len(), s.len());
        assert!(seen.contains(&again) && seen.contains(&ids[3 * CHUNK + 4]));
        assert!(s.chunks.iter().all(|c| c.capacity() == CHUNK));
    }
}
