//! A slab of VMA structures addressed by small ids: the model's stand-in for
//! the kernel's `vm_area_cachep`. Ids give VMAs identity ("is the merged VMA
//! the same object as prev?") without pointers.

use alloc::vec::Vec;

/// Identity of a VMA inside one address space.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct VmaId(pub(crate) u32);

/// Slots with a free list; freed ids are reused, as freed kernel objects are.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), live: 0 }
    }
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> VmaId {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(value);
            VmaId(i)
        } else {
            self.slots.push(Some(value));
            VmaId((self.slots.len() - 1) as u32)
        }
    }

    pub(crate) fn remove(&mut self, id: VmaId) -> Option<T> {
        let v = self.slots.get_mut(id.0 as usize)?.take()?;
        self.free.push(id.0);
        self.live -= 1;
        Some(v)
    }

    pub(crate) fn get(&self, id: VmaId) -> Option<&T> {
        self.slots.get(id.0 as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: VmaId) -> Option<&mut T> {
        self.slots.get_mut(id.0 as usize)?.as_mut()
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (VmaId, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|v| (VmaId(i as u32), v)))
    }
}
