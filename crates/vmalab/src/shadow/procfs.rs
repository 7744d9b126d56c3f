// SPDX-License-Identifier: GPL-2.0-or-later
//! What /proc tells about a traced process: its VMAs (smaps), which of
//! their pages are anonymous (pagemap), its open files, and its heap.

use std::fs::File as FsFile;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;

use anyhow::Context;

use crate::oracle::smaps::FileKey;

/// One VMA as /proc/PID/smaps shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelVma {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rw-s`.
    pub perms: String,
    /// File offset in bytes.
    pub offset: u64,
    /// `(major, minor, inode)`; inode 0 for anonymous memory.
    pub key: FileKey,
    pub path: String,
    /// The VmFlags mnemonics, as printed.
    pub flags: Vec<String>,
}

impl KernelVma {
    /// A user-space VMA the model keeps (not the `[vsyscall]` gate page
    /// above TASK_SIZE).
    pub fn is_user(&self, task_size: u64) -> bool {
        self.end <= task_size
    }
}

/// Parses /proc/PID/smaps text.
pub fn parse_smaps(text: &str) -> Vec<KernelVma> {
    let mut out: Vec<KernelVma> = Vec::new();
    for line in text.lines() {
        if let Some(v) = header(line) {
            out.push(v);
        } else if let (Some(last), Some(flags)) = (out.last_mut(), line.strip_prefix("VmFlags:")) {
            last.flags = flags.split_whitespace().map(str::to_string).collect();
        }
    }
    out
}

fn header(line: &str) -> Option<KernelVma> {
    let mut it = line.splitn(6, ' ');
    let (s, e) = it.next()?.split_once('-')?;
    let start = u64::from_str_radix(s, 16).ok()?;
    let end = u64::from_str_radix(e, 16).ok()?;
    let perms = it.next()?;
    if perms.len() != 4 {
        return None;
    }
    let offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let (ma, mi) = it.next()?.split_once(':')?;
    let major = u32::from_str_radix(ma, 16).ok()?;
    let minor = u32::from_str_radix(mi, 16).ok()?;
    let inode = it.next()?.parse().ok()?;
    Some(KernelVma {
        start,
        end,
        perms: perms.to_string(),
        offset,
        key: (major, minor, inode),
        path: it.next().unwrap_or("").trim().to_string(),
        flags: Vec::new(),
    })
}

/// The process's VMAs now, from smaps (with their VmFlags).
pub fn snapshot(pid: i32) -> anyhow::Result<Vec<KernelVma>> {
    read_vmas(pid, "smaps")
}

/// The process's VMAs now, from maps: the same lines without VmFlags, at
/// a fraction of the cost (smaps walks every page table to count Rss).
pub fn snapshot_maps(pid: i32) -> anyhow::Result<Vec<KernelVma>> {
    read_vmas(pid, "maps")
}

fn read_vmas(pid: i32, file: &str) -> anyhow::Result<Vec<KernelVma>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .with_context(|| format!("reading /proc/{pid}/{file}"))?;
    Ok(parse_smaps(&text))
}

/// pagemap bits: present, and "file page or shared anonymous".
const PM_PRESENT: u64 = 1 << 63;
const PM_FILE: u64 = 1 << 61;

/// Reads page flags from /proc/PID/pagemap.
pub struct Pagemap(FsFile);

impl Pagemap {
    pub fn open(pid: i32) -> anyhow::Result<Pagemap> {
        let f = FsFile::open(format!("/proc/{pid}/pagemap"))
            .with_context(|| format!("opening /proc/{pid}/pagemap"))?;
        Ok(Pagemap(f))
    }

    /// The first page of `[start, end)` (at most `limit` pages looked at)
    /// that holds an anonymous page: present and not a file or shared page.
    pub fn first_anon_page(&mut self, start: u64, end: u64, limit: u64) -> Option<u64> {
        let page = 4096;
        let pages = ((end - start) / page).min(limit);
        let mut buf = vec![0u8; (pages * 8) as usize];
        self.0.seek(SeekFrom::Start(start / page * 8)).ok()?;
        let mut got = 0;
        while got < buf.len() {
            match self.0.read(&mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        buf[..got].chunks_exact(8).enumerate().find_map(|(i, b)| {
            let e = u64::from_le_bytes(b.try_into().ok()?);
            (e & PM_PRESENT != 0 && e & PM_FILE == 0).then(|| start + i as u64 * page)
        })
    }
}

/// What an open descriptor refers to.
#[derive(Clone, Debug)]
pub struct OpenFile {
    pub key: FileKey,
    pub path: String,
    pub size: u64,
    pub readable: bool,
    pub writable: bool,
    /// tmpfs/shmem (memfd, /dev/shm): `FileKind::Shmem`.
    pub shmem: bool,
    /// On a filesystem that aligns mappings to huge pages.
    pub thp_aligned: bool,
}

/// Whether the filesystem holding `path` places mappings with
/// `thp_get_unmapped_area` (ext4, xfs, btrfs).
pub fn thp_aligned_fs(path: &str) -> bool {
    const EXT4: i64 = 0xEF53;
    const XFS: i64 = 0x5846_5342;
    const BTRFS: i64 = 0x9123_683E;
    nix::sys::statfs::statfs(path)
        .map(|s| [EXT4, XFS, BTRFS].contains(&s.filesystem_type().0))
        .unwrap_or(false)
}

/// Descriptor `fd` of process `pid`.
pub fn open_file(pid: i32, fd: i32) -> Option<OpenFile> {
    let link = format!("/proc/{pid}/fd/{fd}");
    let meta = std::fs::metadata(&link).ok()?;
    let path = std::fs::read_link(&link)
        .ok()?
        .to_string_lossy()
        .into_owned();
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())?;
    let acc = flags & 3;
    let dev = meta.dev();
    let (major, minor) = crate::oracle::smaps::dev_parts(dev);
    Some(OpenFile {
        thp_aligned: thp_aligned_fs(&link),
        key: (major, minor, meta.ino()),
        shmem: path.starts_with("/memfd:") || path.starts_with("/dev/shm/") || major == 0,
        path,
        size: meta.size(),
        readable: acc == 0 || acc == 2,
        writable: acc == 1 || acc == 2,
    })
}

/// The size of the file mapped at `[start, end)` of `pid`, through
/// /proc/PID/map_files (which needs privilege), else by its path.
pub fn mapped_file_size(pid: i32, v: &KernelVma) -> u64 {
    let link = format!("/proc/{pid}/map_files/{:x}-{:x}", v.start, v.end);
    std::fs::metadata(link)
        .or_else(|_| std::fs::metadata(v.path.trim_end_matches(" (deleted)")))
        .map(|m| m.size())
        .unwrap_or(v.end - v.start + v.offset)
}

/// `mm->start_brk` (field 47 of /proc/PID/stat, 1-based). The current
/// break is not shown anywhere; it is start_brk right after exec.
pub fn start_brk(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    // `after` starts at field 3.
    after.split(' ').nth(47 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_headers_and_flags() {
        let text = "\
55e4a0e00000-55e4a0e21000 rw-p 00000000 00:00 0                          [heap]
Size:                132 kB
VmFlags: rd wr mr mw me ac
7f0000000000-7f0000001000 r--s 00002000 fd:01 1234                       /tmp/a file (deleted)
VmFlags: rd sh mr me
";
        let v = parse_smaps(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, "[heap]");
        assert_eq!(v[0].flags, ["rd", "wr", "mr", "mw", "me", "ac"]);
        assert_eq!(v[1].key, (0xfd, 1, 1234));
        assert_eq!(v[1].offset, 0x2000);
        assert_eq!(v[1].path, "/tmp/a file (deleted)");
    }

    #[test]
    fn this_process_has_a_heap_and_open_files() {
        let me = std::process::id() as i32;
        assert!(!snapshot(me).unwrap().is_empty());
        let heap = snapshot(me)
            .unwrap()
            .into_iter()
            .find(|v| v.path == "[heap]");
        if let Some(h) = heap {
            assert_eq!(start_brk(me), Some(h.start));
        }
        let f = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd;
        let of = open_file(me, f.as_raw_fd()).unwrap();
        assert!(of.readable && !of.writable);
    }
}
