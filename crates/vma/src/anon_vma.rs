//! `anon_vma` objects and the chains that tie VMAs to them (mm/rmap.c).
//!
//! The model keeps exactly the bookkeeping that decides VMA merges and
//! `anon_vma` reuse: each VMA's chain (one entry per `anon_vma_chain`), and
//! per `anon_vma` the number of VMAs linked into its interval tree, the
//! number of VMAs using it as their own (`num_active_vmas`) and the number of
//! children (`num_children`). Objects are shared between a parent and its
//! forked children, hence `Arc` and atomics.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An `anon_vma`: the reverse-map root for anonymous pages of related VMAs.
pub struct AnonVmaObj {
    id: u64,
    /// `None` when this is a root (the kernel's root points at itself).
    root: Option<AnonVma>,
    /// `None` when this is a root (self-parent).
    parent: Option<AnonVma>,
    num_children: AtomicU32,
    num_active_vmas: AtomicU32,
    /// VMAs linked into this object's interval tree (one per chain entry).
    linked: AtomicU32,
}

/// A shared reference to an `anon_vma`. Equality is identity.
#[derive(Clone)]
pub struct AnonVma(pub(crate) Arc<AnonVmaObj>);

impl AnonVma {
    /// `anon_vma_alloc` for a fresh root, as `__anon_vma_prepare` makes one:
    /// its self-parent link already counts as a child.
    pub(crate) fn new_root() -> AnonVma {
        AnonVma(Arc::new(AnonVmaObj {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root: None,
            parent: None,
            num_children: AtomicU32::new(1),
            num_active_vmas: AtomicU32::new(0),
            linked: AtomicU32::new(0),
        }))
    }

    /// `anon_vma_alloc` for a fork child of `parent`, as `anon_vma_fork` makes one.
    pub(crate) fn new_child(parent: &AnonVma) -> AnonVma {
        AnonVma(Arc::new(AnonVmaObj {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root: Some(parent.root()),
            parent: Some(parent.clone()),
            num_children: AtomicU32::new(0),
            num_active_vmas: AtomicU32::new(0),
            linked: AtomicU32::new(0),
        }))
    }

    /// A number for display; unique in this process.
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// The root of this object's fork tree (itself for a root).
    pub fn root(&self) -> AnonVma {
        self.0.root.clone().unwrap_or_else(|| self.clone())
    }
    /// The object this one was forked from (itself for a root).
    pub fn parent(&self) -> AnonVma {
        self.0.parent.clone().unwrap_or_else(|| self.clone())
    }
    /// How many objects name this one as their parent.
    pub fn num_children(&self) -> u32 {
        self.0.num_children.load(Ordering::Relaxed)
    }
    /// How many VMAs use this object as their `anon_vma`.
    pub fn num_active_vmas(&self) -> u32 {
        self.0.num_active_vmas.load(Ordering::Relaxed)
    }
    /// Number of VMAs in this object's interval tree.
    pub fn linked(&self) -> u32 {
        self.0.linked.load(Ordering::Relaxed)
    }

    pub(crate) fn add_children(&self, delta: i32) {
        add(&self.0.num_children, delta);
    }
    pub(crate) fn add_active(&self, delta: i32) {
        add(&self.0.num_active_vmas, delta);
    }
    pub(crate) fn add_linked(&self, delta: i32) {
        add(&self.0.linked, delta);
    }
}

/// Copies of `anon_vma` objects for one deep copy of an address space:
/// each object reached (through a VMA or as another's root or parent) is
/// copied once, with its counters, so the copy shares no counter with the
/// original or with the original's fork relatives.
#[derive(Default)]
pub(crate) struct AnonCopies(BTreeMap<usize, AnonVma>);

impl AnonCopies {
    /// The copy of `av`, made on first sight. A copy keeps the original's
    /// display id; identity (equality) is the copy's own.
    pub(crate) fn copy(&mut self, av: &AnonVma) -> AnonVma {
        let key = Arc::as_ptr(&av.0) as usize;
        if let Some(c) = self.0.get(&key) {
            return c.clone();
        }
        let root = av.0.root.as_ref().map(|r| self.copy(r));
        let parent = av.0.parent.as_ref().map(|p| self.copy(p));
        let c = AnonVma(Arc::new(AnonVmaObj {
            id: av.0.id,
            root,
            parent,
            num_children: AtomicU32::new(av.num_children()),
            num_active_vmas: AtomicU32::new(av.num_active_vmas()),
            linked: AtomicU32::new(av.linked()),
        }));
        self.0.insert(key, c.clone());
        c
    }
}

fn add(counter: &AtomicU32, delta: i32) {
    if delta >= 0 {
        counter.fetch_add(delta as u32, Ordering::Relaxed);
    } else {
        counter.fetch_sub((-delta) as u32, Ordering::Relaxed);
    }
}

impl PartialEq for AnonVma {
    fn eq(&self, other: &AnonVma) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for AnonVma {}

impl fmt::Debug for AnonVma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "anon_vma#{}(children={}, active={}, linked={})",
            self.0.id,
            self.num_children(),
            self.num_active_vmas(),
            self.linked()
        )
    }
}
