//! `Chunked<T>`: the storage behind the node arenas. A vector of fixed-size
//! chunks, so growing never moves existing nodes: a plain `Vec` of a million
//! entries' worth of nodes would copy tens of megabytes (and fault in fresh
//! pages) each time it grew, and could leave up to half its capacity idle.
//! The first chunk grows like a `Vec` until full, so small trees stay small;
//! later chunks are allocated whole.

use alloc::vec::Vec;
use core::ops::{Index, IndexMut};

/// Nodes per chunk (a power of two).
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Chunked<T> {
    pub(crate) const fn new() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Number of elements.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Elements that fit without allocating.
    pub(crate) fn capacity(&self) -> usize {
        match self.chunks.last() {
            None => 0,
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.capacity(),
        }
    }

    /// Bytes held by the chunks and the chunk table.
    pub(crate) fn bytes(&self) -> usize {
        self.chunks.capacity() * core::mem::size_of::<Vec<T>>()
            + self.capacity() * core::mem::size_of::<T>()
    }

    /// Makes room for one more element, reporting allocation failure.
    pub(crate) fn try_reserve_one(&mut self) -> Result<(), alloc::collections::TryReserveError> {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => {
                if last.len() == last.capacity() {
                    // Only the first chunk grows in place: by a quarter, capped at
                    // a whole chunk.
                    let want = (last.len() / 4).max(8).min(CHUNK - last.len());
                    last.try_reserve_exact(want)?;
                }
                Ok(())
            }
            _ => {
                let first = self.chunks.is_empty();
                self.chunks.try_reserve(1)?;
                let mut chunk = Vec::new();
                chunk.try_reserve_exact(if first { 8 } else { CHUNK })?;
                self.chunks.push(chunk);
                Ok(())
            }
        }
    }

    /// Appends `t` (aborting on allocation failure, like `Vec::push`) and
    /// returns its index.
    pub(crate) fn push(&mut self, t: T) -> usize {
        if let Err(e) = self.try_reserve_one() {
            panic!("maple: node allocation failed: {e}");
        }
        self.push_reserved(t)
    }

    /// Appends `t` after a successful [`Chunked::try_reserve_one`].
    pub(crate) fn push_reserved(&mut self, t: T) -> usize {
        let id = self.len;
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(t),
            _ => unreachable!("push_reserved without reserve"),
        }
        self.len += 1;
        id
    }

    /// Two distinct elements, mutably.
    pub(crate) fn pair_mut(&mut self, a: usize, b: usize) -> (&mut T, &mut T) {
        let (ca, ia) = (a >> CHUNK_BITS, a & (CHUNK - 1));
        let (cb, ib) = (b >> CHUNK_BITS, b & (CHUNK - 1));
        if ca == cb {
            crate::node::pair_mut(&mut self.chunks[ca], ia, ib)
        } else {
            let (x, y) = crate::node::pair_mut(&mut self.chunks, ca, cb);
            (&mut x[ia], &mut y[ib])
        }
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl<T: Clone> Clone for Chunked<T> {
    /// Copies keep each chunk's capacity, so the copy grows like the original.
    fn clone(&self) -> Self {
        let chunks = self
            .chunks
            .iter()
            .map(|c| {
                let mut n = Vec::with_capacity(c.capacity());
                n.extend(c.iter().cloned());
                n
            })
            .collect();
        Chunked {
            chunks,
            len: self.len,
        }
    }
}
