// SPDX-License-Identifier: GPL-2.0-or-later
//! The model's file objects for a traced program's files. The kernel
//! merges mappings only of the same open file description (`vm_file`), not
//! merely of the same inode, so a descriptor passed to mmap is matched to
//! a known description with `kcmp(KCMP_FILE)` against the last descriptor
//! seen for it.

use std::collections::HashMap;

use vma::{File, FileKind};

use super::procfs::{mapped_file_size, open_file, thp_aligned_fs, KernelVma, OpenFile};
use crate::oracle::smaps::FileKey;

/// One open file description the model knows.
struct Known {
    file: File,
    pid: i32,
    /// The descriptor it was last seen through in `pid`.
    fd: Option<i32>,
}

/// Every file the model has been shown, by kernel identity.
#[derive(Default)]
pub struct Files {
    by_key: HashMap<FileKey, Vec<Known>>,
    /// Model inode -> kernel identity.
    keys: HashMap<u64, FileKey>,
}

impl Files {
    /// The file behind descriptor `fd` of `pid` (None for a bad descriptor).
    pub fn for_fd(&mut self, pid: i32, fd: i32) -> Option<File> {
        let of = open_file(pid, fd)?;
        let known = self.by_key.entry(of.key).or_default();
        if let Some(k) = known
            .iter_mut()
            .find(|k| k.pid == pid && k.fd.is_some_and(|m| same_description(pid, fd, m)))
        {
            k.fd = Some(fd);
            return Some(k.file.clone());
        }
        let file = new_file(&of);
        known.push(Known {
            file: file.clone(),
            pid,
            fd: Some(fd),
        });
        self.keys.insert(file.inner().ino, of.key);
        Some(file)
    }

    /// The file behind a VMA of a snapshot: a description already known
    /// for its inode, else a new one.
    pub fn for_vma(&mut self, pid: i32, v: &KernelVma) -> File {
        if let Some(k) = self.by_key.get(&v.key).and_then(|k| k.first()) {
            return k.file.clone();
        }
        let of = OpenFile {
            key: v.key,
            path: v.path.clone(),
            size: mapped_file_size(pid, v),
            readable: true,
            writable: v.perms.as_bytes().get(3) == Some(&b's') && v.perms.as_bytes()[1] == b'w',
            shmem: v.key.0 == 0,
            thp_aligned: thp_aligned_fs(&format!(
                "/proc/{pid}/map_files/{:x}-{:x}",
                v.start, v.end
            )) || thp_aligned_fs(v.path.trim_end_matches(" (deleted)")),
        };
        let file = new_file(&of);
        self.by_key.entry(v.key).or_default().push(Known {
            file: file.clone(),
            pid,
            fd: None,
        });
        self.keys.insert(file.inner().ino, v.key);
        file
    }

    /// The kernel identity of a model file; a file the model made itself
    /// (a shared anonymous mapping's object) is bound to the kernel's on
    /// first sight with `seen`.
    pub fn key_of(&mut self, file: &File, seen: FileKey) -> FileKey {
        *self.keys.entry(file.inner().ino).or_insert(seen)
    }

    /// The kernel identity of a file this registry made, if it did.
    pub fn known_key(&self, file: &File) -> Option<FileKey> {
        self.keys.get(&file.inner().ino).copied()
    }

    /// A fork child's descriptors are its parent's descriptions.
    pub fn inherit(&mut self, parent: i32, child: i32) {
        for known in self.by_key.values_mut() {
            let copies: Vec<Known> = known
                .iter()
                .filter(|k| k.pid == parent)
                .map(|k| Known {
                    file: k.file.clone(),
                    pid: child,
                    fd: k.fd,
                })
                .collect();
            known.extend(copies);
        }
    }
}

fn new_file(of: &OpenFile) -> File {
    let pages = of.size.div_ceil(4096);
    if of.thp_aligned && !of.shmem {
        return File::on_thp_filesystem(&of.path, pages, of.readable, of.writable);
    }
    let kind = if of.shmem {
        FileKind::Shmem
    } else {
        FileKind::Regular
    };
    File::new(&of.path, pages, kind, of.readable, of.writable)
}

/// `kcmp(pid, pid, KCMP_FILE, a, b) == 0`: both descriptors refer to one
/// open file description.
#[allow(unsafe_code)]
fn same_description(pid: i32, a: i32, b: i32) -> bool {
    const KCMP_FILE: libc::c_long = 0;
    // SAFETY: kcmp takes only integer arguments and reads no user memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid as libc::c_long,
            pid as libc::c_long,
            KCMP_FILE,
            a as libc::c_long,
            b as libc::c_long,
        )
    };
    r == 0
}
