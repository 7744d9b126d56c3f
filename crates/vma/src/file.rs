//! Files as the VMA layer sees them: an identity (`vm_file`), a size, and the
//! hooks a driver or filesystem provides (`f_op->mmap`, `vm_ops`).

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// Which `vm_operations_struct` callbacks a VMA has. The callbacks themselves
/// run in the [`Env`](crate::Env); the core only needs to know which exist,
/// because their presence changes merge and split decisions.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VmOps {
    /// Distinguishes one driver's ops from another's in the environment.
    pub id: u32,
    /// `vm_ops->open`: called when a VMA is duplicated (split, copy, fork).
    pub open: bool,
    /// `vm_ops->close`: a VMA with it is never removed by a merge.
    pub close: bool,
    /// `vm_ops->may_split`: consulted before every split.
    pub may_split: bool,
    /// `vm_ops->page_mkwrite`: shared writable mappings want write notification.
    pub page_mkwrite: bool,
}

/// Ops id of hugetlb VMAs (`hugetlb_vm_ops`).
pub const HUGETLB_OPS_ID: u32 = u32::MAX - 2;

/// `hugetlb_vm_ops`: `open` and `close` keep the reservation map's
/// references. Its `may_split` (refusing splits off a huge page boundary)
/// is not left to the environment: the core applies it to every VMA with
/// `VM_HUGETLB` (see `split_unchecked`).
pub const HUGETLB_VM_OPS: VmOps = VmOps {
    id: HUGETLB_OPS_ID,
    open: true,
    close: true,
    may_split: false,
    page_mkwrite: false,
};

/// What kind of object a file is; decides `mmap` behaviour and rendering.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// A regular file on a disk filesystem.
    Regular,
    /// A shmem/tmpfs object: memfd, tmpfs file, or the object behind a
    /// shared anonymous mapping (`shmem_zero_setup`).
    Shmem,
    /// A hugetlbfs file: its pages are huge pages of one size, drawn from
    /// that size's pool.
    Hugetlbfs,
}

/// The immutable description of an open file.
#[derive(Debug)]
pub struct FileInner {
    /// A number unique among all files of this process, for rendering
    /// (stands in for the inode number).
    pub ino: u64,
    /// Path shown in `/proc/PID/maps`.
    pub path: String,
    /// Size in pages.
    pub size_pages: u64,
    /// What backs the file (regular, shmem, hugetlbfs, ...).
    pub kind: FileKind,
    /// Opened for reading / writing (`FMODE_READ`, `FMODE_WRITE`).
    pub readable: bool,
    /// Opened for writing (`FMODE_WRITE`).
    pub writable: bool,
    /// Has an `f_op->mmap` hook (every real file does).
    pub has_mmap: bool,
    /// The `vm_ops` its `mmap` hook installs.
    pub vm_ops: Option<VmOps>,
    /// Created by `shmem_zero_setup` for `MAP_SHARED|MAP_ANONYMOUS`.
    pub anon_shmem: bool,
    /// Its filesystem places mappings with `thp_get_unmapped_area`, so a
    /// mapping covering a huge-page-sized, aligned part of the file is
    /// aligned to a huge page (ext4, xfs, btrfs on x86-64).
    pub thp_aligned: bool,
    /// For a hugetlbfs file, log2 of its huge page size (`hstate_file`).
    pub huge_page_shift: Option<u32>,
}

/// A reference to an open file. Equality is identity (`vm_file == vm_file`).
#[derive(Clone)]
pub struct File(pub Arc<FileInner>);

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl File {
    /// Opens a new file object with a fresh identity.
    pub fn new(
        path: &str,
        size_pages: u64,
        kind: FileKind,
        readable: bool,
        writable: bool,
    ) -> File {
        File(Arc::new(FileInner {
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            path: String::from(path),
            size_pages,
            kind,
            readable,
            writable,
            has_mmap: true,
            vm_ops: None,
            anon_shmem: false,
            thp_aligned: false,
            huge_page_shift: None,
        }))
    }

    /// A regular file on a filesystem that aligns mappings to huge pages
    /// (see [`FileInner::thp_aligned`]).
    pub fn on_thp_filesystem(path: &str, size_pages: u64, readable: bool, writable: bool) -> File {
        let mut f = File::new(path, size_pages, FileKind::Regular, readable, writable);
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.thp_aligned = true;
        }
        f
    }

    /// A file whose `mmap` hook installs `ops`.
    pub fn with_ops(path: &str, size_pages: u64, ops: VmOps) -> File {
        let mut f = File::new(path, size_pages, FileKind::Regular, true, true);
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.vm_ops = Some(ops);
        }
        f
    }

    /// The shmem object `shmem_zero_setup` creates for a shared anonymous mapping.
    pub fn anon_shmem(size_pages: u64) -> File {
        let mut f = File::new(
            "/dev/zero (deleted)",
            size_pages,
            FileKind::Shmem,
            true,
            true,
        );
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.anon_shmem = true;
        }
        f
    }

    /// The unlinked hugetlbfs file `hugetlb_file_setup` creates for each
    /// anonymous `MAP_HUGETLB` mmap: a fresh identity every time, so two
    /// such mappings never merge. `size_pages` is in base pages.
    pub fn anon_hugetlb(size_pages: u64, huge_page_shift: u32) -> File {
        let mut f = File::new(
            "/anon_hugepage (deleted)",
            size_pages,
            FileKind::Hugetlbfs,
            true,
            true,
        );
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.huge_page_shift = Some(huge_page_shift);
            inner.vm_ops = Some(HUGETLB_VM_OPS);
        }
        f
    }

    /// The huge page size of a hugetlbfs file, in bytes (a shift past 63,
    /// which no machine has, counts as 63: every length is then misaligned).
    pub fn huge_page_size(&self) -> Option<u64> {
        self.0.huge_page_shift.map(|s| 1u64 << s.min(63))
    }

    /// The file's shared description.
    pub fn inner(&self) -> &FileInner {
        &self.0
    }
}

impl PartialEq for File {
    fn eq(&self, other: &File) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for File {}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "File({}#{})", self.0.path, self.0.ino)
    }
}
