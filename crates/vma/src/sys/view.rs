//! The address space as `/proc/PID/maps` and smaps print it.

use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::vma::Vma;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One line of `/proc/PID/maps`, with the VMA's flags for smaps.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapEntry {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `rwxp` / `rwxs`.
    pub perms: [u8; 4],
    /// File offset in bytes (0 for anonymous memory).
    pub offset: u64,
    /// Inode number of the file (0 for anonymous memory).
    pub ino: u64,
    /// The pathname column: a file path, `[heap]`, `[stack]`,
    /// `[anon:NAME]`, `[anon_shmem:NAME]`, or empty.
    pub name: String,
    /// The VMA's flags (smaps prints their mnemonics).
    pub flags: VmFlags,
}

impl fmt::Display for MapEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let perms = core::str::from_utf8(&self.perms).unwrap_or("????");
        let dev = if self.ino == 0 { "00:00" } else { "00:01" };
        let head = format!(
            "{:08x}-{:08x} {perms} {:08x} {dev} {} ",
            self.start, self.end, self.offset, self.ino
        );
        if self.name.is_empty() {
            f.write_str(&head)
        } else {
            write!(f, "{head:<73}{}", self.name)
        }
    }
}

/// The whole address space in maps form.
pub struct Maps(pub Vec<MapEntry>);

impl fmt::Display for Maps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<E: Env> Mm<E> {
    /// The maps line of one VMA (`show_map_vma`).
    pub fn map_entry(&self, vma: &Vma) -> MapEntry {
        let fl = vma.flags;
        let perms = [
            if fl.contains(VmFlags::READ) {
                b'r'
            } else {
                b'-'
            },
            if fl.contains(VmFlags::WRITE) {
                b'w'
            } else {
                b'-'
            },
            if fl.contains(VmFlags::EXEC) {
                b'x'
            } else {
                b'-'
            },
            if fl.contains(VmFlags::MAYSHARE) {
                b's'
            } else {
                b'p'
            },
        ];
        let (offset, ino) = match &vma.file {
            Some(f) => (vma.pgoff << PAGE_SHIFT, f.inner().ino),
            None => (0, 0),
        };
        MapEntry {
            start: vma.start,
            end: vma.end,
            perms,
            offset,
            ino,
            name: self.vma_name(vma),
            flags: fl,
        }
    }

    /// `get_vma_name`.
    fn vma_name(&self, vma: &Vma) -> String {
        if let Some(f) = &vma.file {
            let f = f.inner();
            return match (&vma.anon_name, f.anon_shmem) {
                (Some(n), true) => format!("[anon_shmem:{n}]"),
                _ => String::from(f.path.as_str()),
            };
        }
        let p = &self.process;
        if vma.start <= p.brk && vma.end >= p.start_brk {
            return String::from("[heap]");
        }
        if let Some(s) = p.start_stack {
            if vma.start <= s && vma.end >= s {
                return String::from("[stack]");
            }
        }
        match &vma.anon_name {
            Some(n) => format!("[anon:{n}]"),
            None => String::new(),
        }
    }

    /// Every VMA as a maps line.
    pub fn maps(&self) -> Maps {
        Maps(self.vmas().map(|(_, v)| self.map_entry(v)).collect())
    }
}
