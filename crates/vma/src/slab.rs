//! A slab of VMA structures addressed by small ids: the model's stand-in for
//! the kernel's `vm_area_cachep`. Ids give VMAs identity ("is the merged VMA
//! the same object as prev?") without pointers. A slot is reused once its
//! VMA is freed, but under a new generation, so a stale id never names the
//! new VMA.

use alloc::vec::Vec;

/// Identity of a VMA inside one address space.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct VmaId {
    idx: u32,
    gen: u32,
}

#[derive(Debug)]
struct Slot<T> {
    gen: u32,
    value: Option<T>,
}

/// Slots with a free list.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> VmaId {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            slot.gen = slot.gen.wrapping_add(1);
            slot.value = Some(value);
            VmaId { idx, gen: slot.gen }
        } else {
            self.slots.push(Slot {
                gen: 0,
                value: Some(value),
            });
            VmaId {
                idx: (self.slots.len() - 1) as u32,
                gen: 0,
            }
        }
    }

    pub(crate) fn remove(&mut self, id: VmaId) -> Option<T> {
        let slot = self
            .slots
            .get_mut(id.idx as usize)
            .filter(|s| s.gen == id.gen)?;
        let v = slot.value.take()?;
        self.free.push(id.idx);
        self.live -= 1;
        Some(v)
    }

    pub(crate) fn get(&self, id: VmaId) -> Option<&T> {
        self.slots
            .get(id.idx as usize)
            .filter(|s| s.gen == id.gen)?
            .value
            .as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: VmaId) -> Option<&mut T> {
        self.slots
            .get_mut(id.idx as usize)
            .filter(|s| s.gen == id.gen)?
            .value
            .as_mut()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (VmaId, &mut T)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| {
            let gen = s.gen;
            s.value.as_mut().map(|v| (VmaId { idx: i as u32, gen }, v))
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }
}
