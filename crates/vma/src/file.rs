//! Files as the VMA layer sees them: an identity (`vm_file`), a size, and the
//! hooks a driver or filesystem provides (`f_op->mmap`, `vm_ops`).

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::sys::consts::*;

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

/// Ops id of the VMAs a SysV shared memory attach makes (`shm_vm_ops`).
pub const SHM_OPS_ID: u32 = u32::MAX - 3;

/// `shm_vm_ops`: `open` and `close` count the segment's attaches, and
/// `may_split` asks the segment's own file (shmem says yes). Their
/// presence matters: a merge never removes such a VMA.
pub const SHM_VM_OPS: VmOps = VmOps {
    id: SHM_OPS_ID,
    open: true,
    close: true,
    may_split: true,
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
    /// A socket whose protocol cannot map (`sock_no_mmap`, as a Unix
    /// socket's): the file has an `mmap` hook, so do_mmap lets the call
    /// through to `mmap_region`, and the hook then refuses it with ENODEV,
    /// after the range was cleared.
    Socket,
    /// `/dev/zero`: `mmap_zero` makes a private mapping anonymous memory
    /// (no `vm_ops`, though `vm_file` stays and keeps the offset) and a
    /// shared one a fresh shmem object, as `MAP_SHARED|MAP_ANONYMOUS`
    /// would, at the given offset.
    DevZero,
}

/// The immutable description of an open file.
#[derive(Debug)]
pub struct FileInner {
    /// A number unique among all files of this process, for rendering
    /// (stands in for the inode number).
    pub ino: u64,
    /// Path shown in `/proc/PID/maps`.
    pub path: String,
    /// Size in bytes; `ftruncate` and writes change it (see
    /// [`File::size_pages`]).
    size: AtomicU64,
    /// The memfd seals (`F_SEAL_*`); a file that cannot be sealed holds
    /// `F_SEAL_SEAL` from the start.
    seals: AtomicU32,
    /// What backs the file (regular, shmem, hugetlbfs, ...).
    pub kind: FileKind,
    /// Opened for reading / writing (`FMODE_READ`, `FMODE_WRITE`).
    pub readable: bool,
    /// Opened for writing (`FMODE_WRITE`).
    pub writable: bool,
    /// Has an `f_op->mmap` hook (every real file does).
    pub has_mmap: bool,
    /// On one of the kernel's internal pseudo filesystems (sockfs,
    /// pipefs), which execute nothing in newer kernels (see
    /// [`Config::pseudo_fs_noexec_6_18`](crate::Config::pseudo_fs_noexec_6_18)).
    pub pseudo_fs: bool,
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
    /// A SysV shared memory segment (`shmget`): it has no descriptor, so
    /// no file call reaches it; `shmat` maps it through a file of its
    /// own each time ([`File::shm_attach`]).
    pub sysv_segment: bool,
    /// A `memfd_secret` file: its pages leave the kernel's direct map, so
    /// only shared mappings are allowed, locked and not dumped, and
    /// get_user_pages refuses them.
    pub secretmem: bool,
}

/// What a successful `fallocate` did to the file's pages `[first, last)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Falloc {
    /// They exist now (even past the end, with `FALLOC_FL_KEEP_SIZE`).
    Allocated(u64, u64),
    /// They were freed (a hole).
    Punched(u64, u64),
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
            size: AtomicU64::new(size_pages.saturating_mul(PAGE_SIZE)),
            seals: AtomicU32::new(F_SEAL_SEAL),
            kind,
            readable,
            writable,
            has_mmap: true,
            pseudo_fs: false,
            vm_ops: None,
            anon_shmem: false,
            thp_aligned: false,
            huge_page_shift: None,
            sysv_segment: false,
            secretmem: false,
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

    /// `/dev/zero` opened for reading and/or writing: endless, never
    /// beyond its end.
    pub fn dev_zero(readable: bool, writable: bool) -> File {
        File::new("/dev/zero", 0, FileKind::DevZero, readable, writable)
            .with_size_bytes(i64::MAX as u64)
    }

    /// A file without an `mmap` hook (a pipe, a socket): mmap is ENODEV.
    pub fn unmappable(path: &str, readable: bool, writable: bool) -> File {
        let mut f = File::new(path, 0, FileKind::Regular, readable, writable);
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.has_mmap = false;
        }
        f
    }

    /// The same file on an internal pseudo filesystem (see
    /// [`FileInner::pseudo_fs`]). Only a file not yet shared can change.
    pub fn on_pseudo_filesystem(mut self) -> File {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.pseudo_fs = true;
        }
        self
    }

    /// A Unix socket (see [`FileKind::Socket`]), open for reading and
    /// writing as `socket(2)` opens them.
    pub fn socket() -> File {
        File::new("socket", 0, FileKind::Socket, true, true).on_pseudo_filesystem()
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

    /// A SysV shared memory segment of `bytes` (`newseg`): a shmem object
    /// that maps show as `/SYSV` and the key in eight hex digits
    /// (`IPC_PRIVATE`: 0).
    pub fn sysv_segment(key: u32, bytes: u64) -> File {
        let path = alloc::format!("/SYSV{key:08x} (deleted)");
        let mut f = File::new(&path, 0, FileKind::Shmem, true, true).with_size_bytes(bytes);
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.sysv_segment = true;
        }
        f
    }

    /// A `memfd_secret` file of `bytes` (the size its first `ftruncate`
    /// gave it; 0 if none yet). Maps show it as `/secretmem (deleted)`.
    pub fn secretmem(bytes: u64) -> File {
        let path = "/secretmem (deleted)";
        let mut f = File::new(path, 0, FileKind::Regular, true, true).with_size_bytes(bytes);
        if let Some(inner) = Arc::get_mut(&mut f.0) {
            inner.secretmem = true;
        }
        f
    }

    /// The file one `shmat` of this segment maps (`alloc_file_clone`): a
    /// new open file, so attaches never merge with each other, over the
    /// segment's inode (same pages, same name, same number), open for
    /// writing unless `SHM_RDONLY`, its `mmap` installing `shm_vm_ops`.
    pub fn shm_attach(&self, writable: bool) -> File {
        let s = &self.0;
        File(Arc::new(FileInner {
            ino: s.ino,
            path: s.path.clone(),
            size: AtomicU64::new(self.size_bytes()),
            seals: AtomicU32::new(F_SEAL_SEAL),
            kind: s.kind,
            readable: true,
            writable,
            has_mmap: true,
            pseudo_fs: false,
            vm_ops: Some(SHM_VM_OPS),
            anon_shmem: false,
            thp_aligned: s.thp_aligned,
            huge_page_shift: s.huge_page_shift,
            sysv_segment: false,
            secretmem: false,
        }))
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

    /// This file, `bytes` long (a size that is not a whole number of
    /// pages ends inside its last page).
    pub fn with_size_bytes(self, bytes: u64) -> File {
        self.0.size.store(bytes, Ordering::Relaxed);
        self
    }

    /// This file, open to seals (a memfd made with `MFD_ALLOW_SEALING`).
    pub fn sealable(self) -> File {
        self.0.seals.store(0, Ordering::Relaxed);
        self
    }

    /// The size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.0.size.load(Ordering::Relaxed)
    }

    /// The size in pages, the last one partial: a page at or past it is
    /// beyond the end of the file (SIGBUS).
    pub fn size_pages(&self) -> u64 {
        self.size_bytes().div_ceil(PAGE_SIZE)
    }

    /// The memfd seals (`F_SEAL_*`).
    pub fn seals(&self) -> u32 {
        self.0.seals.load(Ordering::Relaxed)
    }

    /// Sealed against writes, now (`F_SEAL_WRITE`) or for what comes
    /// (`F_SEAL_FUTURE_WRITE`): `is_write_sealed`.
    pub fn is_write_sealed(&self) -> bool {
        self.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0
    }

    /// `memfd_check_seals_mmap`: a write-sealed memfd may not be mapped
    /// shared and writable (EPERM), and a shared read-only mapping of it
    /// loses `VM_MAYWRITE`, so mprotect cannot make it writable later. A
    /// private mapping writes to its own copies: seals do not concern it.
    pub fn check_write_seal(&self, vm_flags: &mut VmFlags) -> KResult<()> {
        if !self.is_write_sealed() || !vm_flags.contains(VmFlags::SHARED) {
            return Ok(());
        }
        if vm_flags.contains(VmFlags::WRITE) {
            return Err(Errno::EPERM);
        }
        vm_flags.remove(VmFlags::MAYWRITE);
        Ok(())
    }

    /// Whether the file can carry seals at all (shmem: a memfd).
    fn takes_seals(&self) -> bool {
        self.0.kind == FileKind::Shmem && !self.0.anon_shmem
    }

    /// `ftruncate(fd, bytes)` on the file itself: the descriptor must be
    /// open for writing (EINVAL, as `do_sys_ftruncate` says), a seal may
    /// forbid the change (EPERM). Returns the size in pages before; the
    /// caller then drops, in every address space, what now lies past the
    /// end ([`Mm::file_truncated`](crate::Mm::file_truncated)).
    pub fn truncate(&self, bytes: u64) -> KResult<u64> {
        let regular =
            self.0.has_mmap && !matches!(self.0.kind, FileKind::DevZero | FileKind::Socket);
        if !self.0.writable || !regular || bytes > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let old = self.size_bytes();
        // secretmem_setattr: the size is set once.
        if self.0.secretmem && old != 0 {
            return Err(Errno::EINVAL);
        }
        let seals = self.seals();
        if (bytes < old && seals & F_SEAL_SHRINK != 0) || (bytes > old && seals & F_SEAL_GROW != 0)
        {
            return Err(Errno::EPERM);
        }
        let old_pages = self.size_pages();
        self.0.size.store(bytes, Ordering::Relaxed);
        Ok(old_pages)
    }

    /// `fcntl(fd, F_ADD_SEALS, seals)` (`memfd_add_seals`), with `known`
    /// the seals this kernel has: only a descriptor open for writing adds
    /// seals (EPERM), only known ones (EINVAL), only to a memfd (EINVAL),
    /// never after `F_SEAL_SEAL` (EPERM), and `F_SEAL_WRITE` not while
    /// the file is mapped shared and writable anywhere (EBUSY;
    /// `writably_mapped`: see
    /// [`Mm::maps_file_writably`](crate::Mm::maps_file_writably)).
    /// `F_SEAL_EXEC` on an executable memfd (as `memfd_create` makes them
    /// without `MFD_NOEXEC_SEAL`, by default) brings every write seal
    /// with it, and with them that check (measured on 6.12, 6.18 and 7.2;
    /// the first releases with the seal may have added them after it).
    pub fn add_seals(&self, seals: u32, known: u32, writably_mapped: bool) -> KResult<()> {
        if !self.0.writable {
            return Err(Errno::EPERM);
        }
        if seals & !known != 0 || !self.takes_seals() {
            return Err(Errno::EINVAL);
        }
        if self.seals() & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        let seals = if seals & F_SEAL_EXEC != 0 {
            seals | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE
        } else {
            seals
        };
        if seals & F_SEAL_WRITE != 0 && self.seals() & F_SEAL_WRITE == 0 && writably_mapped {
            return Err(Errno::EBUSY);
        }
        self.0.seals.fetch_or(seals, Ordering::Relaxed);
        Ok(())
    }

    /// `pwrite(fd, buf, len, off)` on the file itself: checks the
    /// descriptor and the seals, and grows the file over the written
    /// range. Returns the pages `[first, last)` that now exist in the
    /// cache; the caller records them in every address space
    /// ([`Mm::file_written`](crate::Mm::file_written)).
    pub fn write(&self, off: u64, len: u64) -> KResult<(u64, u64)> {
        // A pipe or a socket has no position to write at, and memfd_secret
        // no write.
        if !self.0.has_mmap || self.0.kind == FileKind::Socket || self.0.secretmem {
            return Err(Errno::ESPIPE);
        }
        if !self.0.writable {
            return Err(Errno::EBADF);
        }
        if self.0.kind == FileKind::DevZero {
            // It takes everything and keeps nothing.
            return Ok((0, 0));
        }
        let end = off
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok((0, 0));
        }
        if self.is_write_sealed() {
            return Err(Errno::EPERM);
        }
        if end > self.size_bytes() {
            if self.seals() & F_SEAL_GROW != 0 {
                return Err(Errno::EPERM);
            }
            self.0.size.store(end, Ordering::Relaxed);
        }
        Ok((off >> PAGE_SHIFT, end.div_ceil(PAGE_SIZE)))
    }

    /// `fallocate(fd, mode, off, len)` on the file itself, checked in
    /// `vfs_fallocate`'s order (range, mode, descriptor, file type), then
    /// as shmem does it: allocating pages, or punching a hole
    /// (`FALLOC_FL_PUNCH_HOLE`, which needs `FALLOC_FL_KEEP_SIZE`); the
    /// other modes are not shmem's (EOPNOTSUPP). Returns what happened to
    /// which pages; the caller records it in every address space
    /// ([`Mm::file_written`](crate::Mm::file_written) for allocated
    /// pages, [`Mm::file_hole_punched`](crate::Mm::file_hole_punched)).
    pub fn fallocate(&self, mode: u32, off: u64, len: u64) -> KResult<Falloc> {
        if off > i64::MAX as u64 || len == 0 || len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let range_modes = FALLOC_FL_PUNCH_HOLE
            | FALLOC_FL_COLLAPSE_RANGE
            | FALLOC_FL_ZERO_RANGE
            | FALLOC_FL_INSERT_RANGE
            | FALLOC_FL_UNSHARE_RANGE;
        if mode & !(range_modes | FALLOC_FL_KEEP_SIZE) != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let keep = mode & FALLOC_FL_KEEP_SIZE != 0;
        let valid = match mode & range_modes {
            0 | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_ZERO_RANGE => true,
            FALLOC_FL_PUNCH_HOLE => keep,
            FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE => !keep,
            _ => false,
        };
        if !valid {
            return Err(Errno::EOPNOTSUPP);
        }
        if !self.0.writable {
            return Err(Errno::EBADF);
        }
        if matches!(self.0.kind, FileKind::DevZero | FileKind::Socket) {
            return Err(Errno::ENODEV);
        }
        if !self.0.has_mmap {
            return Err(Errno::ESPIPE);
        }
        let end = off.checked_add(len).filter(|&e| e <= i64::MAX as u64);
        let end = end.ok_or(Errno::EFBIG)?;
        if self.0.kind != FileKind::Shmem
            || mode & !(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) != 0
        {
            return Err(Errno::EOPNOTSUPP);
        }
        if mode & FALLOC_FL_PUNCH_HOLE != 0 {
            if self.is_write_sealed() {
                return Err(Errno::EPERM);
            }
            // Whole pages are freed; a partial page is zeroed.
            let end = end.min(self.size_bytes().div_ceil(PAGE_SIZE) * PAGE_SIZE);
            let first = off.div_ceil(PAGE_SIZE);
            let last = (end >> PAGE_SHIFT).max(first);
            return Ok(Falloc::Punched(first, last));
        }
        if end > self.size_bytes() && self.seals() & F_SEAL_GROW != 0 {
            return Err(Errno::EPERM);
        }
        if !keep && end > self.size_bytes() {
            self.0.size.store(end, Ordering::Relaxed);
        }
        Ok(Falloc::Allocated(
            off >> PAGE_SHIFT,
            end.div_ceil(PAGE_SIZE),
        ))
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
