// SPDX-License-Identifier: GPL-2.0-or-later
//! Turns `/proc/PID/smaps` (and `numa_maps`) text into the window's
//! [`Layout`]. Pure text processing, so it is unit-tested without a kernel.

use std::collections::HashMap;

use crate::layout::{policy_token, FileId, Layout, MapEntry, Perms, VmFlags};
use crate::window::Window;

/// A file's identity as smaps shows it: (major, minor, inode).
pub type FileKey = (u32, u32, u64);

/// Names mappings' backing objects consistently across one run.
#[derive(Debug, Default)]
pub struct Identities {
    /// Scenario files by identity.
    pub files: HashMap<FileKey, String>,
    /// Shared-memory objects numbered in order of first appearance.
    shm: HashMap<FileKey, u32>,
}

impl Identities {
    fn shm(&mut self, key: FileKey) -> u32 {
        let next = self.shm.len() as u32 + 1;
        *self.shm.entry(key).or_insert(next)
    }
}

/// Splits a `dev_t` into (major, minor) as glibc's `major()`/`minor()` do.
pub fn dev_parts(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

/// One smaps header plus the fields we read.
struct Raw<'a> {
    start: u64,
    end: u64,
    perms: Perms,
    offset: u64,
    key: FileKey,
    path: &'a str,
    pkey: u32,
    flags: VmFlags,
}

/// Parses a header line `start-end perms offset maj:min inode [path]`.
fn header(line: &str) -> Option<Raw<'_>> {
    let mut it = line.splitn(6, ' ');
    let (s, e) = it.next()?.split_once('-')?;
    let start = u64::from_str_radix(s, 16).ok()?;
    let end = u64::from_str_radix(e, 16).ok()?;
    let perms = Perms::parse(it.next()?)?;
    let offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let (ma, mi) = it.next()?.split_once(':')?;
    let major = u32::from_str_radix(ma, 16).ok()?;
    let minor = u32::from_str_radix(mi, 16).ok()?;
    let inode = it.next()?.parse().ok()?;
    let path = it.next().unwrap_or("").trim();
    Some(Raw {
        start,
        end,
        perms,
        offset,
        key: (major, minor, inode),
        path,
        pkey: 0,
        flags: VmFlags::default(),
    })
}

/// Each mapping's start and policy in numa_maps text.
fn policies(numa_maps: &str) -> impl Iterator<Item = (u64, &str)> {
    numa_maps.lines().filter_map(|l| {
        let (start, rest) = l.split_once(' ')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        Some((start, policy_token(rest.trim_start())))
    })
}

/// Whether numa_maps text shows a policy other than `default` anywhere.
pub fn shows_a_policy(numa_maps: &str) -> bool {
    policies(numa_maps).any(|(_, p)| p != "default")
}

/// Builds the window layout from smaps and numa_maps text. Mappings that
/// straddle a window edge are clipped to it (the guards make that
/// impossible in practice).
pub fn window_layout(smaps: &str, numa_maps: &str, w: &Window, ids: &mut Identities) -> Layout {
    let mut raws: Vec<Raw<'_>> = Vec::new();
    for line in smaps.lines() {
        if let Some(h) = header(line) {
            raws.push(h);
        } else if let Some(last) = raws.last_mut() {
            if let Some(v) = line.strip_prefix("VmFlags:") {
                last.flags = VmFlags::from_words(v);
            } else if let Some(v) = line.strip_prefix("ProtectionKey:") {
                last.pkey = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let policies: HashMap<u64, &str> = policies(numa_maps).collect();
    let ps = w.page_size;
    let mut out = Layout::default();
    for r in raws {
        let Some(shown) = w.shown(r.start, r.end) else {
            continue;
        };
        let start = shown.from;
        let mut name = None;
        // A SysV segment's inode is its id, which may be 0 (the first
        // segment a booted machine makes): a declared file is never taken
        // for anonymous memory.
        let declared = ids.files.get(&r.key).cloned();
        let no_file = r.key.2 == 0 && declared.is_none();
        let file = if no_file {
            if let Some(n) = r
                .path
                .strip_prefix("[anon:")
                .and_then(|p| p.strip_suffix(']'))
            {
                name = Some(n.to_string());
                FileId::Anon
            } else if r.path.starts_with('[') {
                FileId::Special(r.path.to_string())
            } else {
                FileId::Anon
            }
        } else if let Some(n) = declared {
            FileId::File(n)
        } else if let Some(n) = r
            .path
            .strip_prefix("[anon_shmem:")
            .and_then(|p| p.strip_suffix(']'))
        {
            name = Some(n.to_string());
            FileId::Shmem(ids.shm(r.key))
        } else if r.path.starts_with("/dev/zero") || r.path.starts_with("/SYSV") {
            FileId::Shmem(ids.shm(r.key))
        } else {
            FileId::Path(r.path.to_string())
        };
        let policy = policies
            .get(&r.start)
            .filter(|p| **p != "default")
            .map(|p| p.to_string());
        out.0.push(MapEntry {
            far: shown.far,
            start_page: shown.start_page,
            end_page: shown.end_page,
            perms: r.perms,
            // maps shows no offset for anonymous memory, cut or not.
            offset: w.offset_shown(match no_file {
                true => (r.offset / ps) as i64,
                false => (r.offset / ps) as i64 + ((start - r.start) / ps) as i64,
            }),
            file,
            name,
            policy,
            pkey: r.pkey,
            vm_flags: r.flags,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Window = Window {
        base: 0x1000_0000_0000,
        pages: 16,
        page_size: 4096,
        far: None,
    };

    const SMAPS: &str = "\
0fffffffefff-100000000000 ---s 00000000 00:01 1234                       /dev/zero (deleted)
Size:                  4 kB
VmFlags: mr mw me ms sd
100000000000-100000004000 rw-p 00000000 00:00 0 
Size:                 16 kB
ProtectionKey:         0
VmFlags: rd wr mr mw me ac
100000004000-100000006000 r--s 00002000 00:01 77                         /memfd:f1 (deleted)
ProtectionKey:         2
VmFlags: rd sh mr mw me ms
100000006000-100000007000 rw-s 00000000 00:01 99                         /dev/zero (deleted)
VmFlags: rd wr sh mr mw me ms
100000007000-100000008000 rw-p 00000000 00:00 0                          [anon:heap]
VmFlags: rd wr mr mw me ac
100000010000-100000011000 ---s 00000000 00:01 1234                       /dev/zero (deleted)
VmFlags: mr mw me ms
";

    #[test]
    fn parses_window() {
        let mut ids = Identities::default();
        ids.files.insert((0, 1, 77), "f1".into());
        let numa = "100000000000 bind:0 anon=1\n100000004000 default file=x\n";
        let l = window_layout(SMAPS, numa, &W, &mut ids);
        let text = l.to_string();
        assert_eq!(
            text,
            "0-4 rw-p 0 anon mpol=bind:0 [rd wr mr mw me ac]\n\
             4-6 r--s 2 f1 pkey=2 [rd sh mr mw me ms]\n\
             6-7 rw-s 0 shm1 [rd wr sh mr mw me ms]\n\
             7-8 rw-p 0 anon name=heap [rd wr mr mw me ac]\n"
        );
    }

    /// A SysV segment's inode is its id, 0 for the first one a booted
    /// machine makes: a declared segment with inode 0 is still the file.
    #[test]
    fn segment_with_inode_zero_is_its_file() {
        let smaps = "\
100000000000-100000002000 rw-s 00000000 00:01 0                          /SYSV00000000 (deleted)
VmFlags: rd wr sh mr mw me ms
100000002000-100000003000 rw-s 00002000 00:01 0                          /SYSV00000000 (deleted)
VmFlags: rd wr sh mr mw me ms
100000003000-100000004000 rw-s 00000000 00:01 1                          /SYSV00000000 (deleted)
VmFlags: rd wr sh mr mw me ms
";
        let mut ids = Identities::default();
        ids.files.insert((0, 1, 0), "s".into());
        let l = window_layout(smaps, "", &W, &mut ids);
        assert_eq!(
            l.to_string(),
            "0-2 rw-s 0 s [rd wr sh mr mw me ms]\n\
             2-3 rw-s 2 s [rd wr sh mr mw me ms]\n\
             3-4 rw-s 0 shm1 [rd wr sh mr mw me ms]\n"
        );
    }

    #[test]
    fn a_policy_shows_unless_all_are_default() {
        let all_default =
            "100000000000 default anon=1 dirty=1\n100000004000 default file=/memfd:f1\n";
        assert!(!shows_a_policy(all_default));
        assert!(!shows_a_policy(""));
        assert!(shows_a_policy(
            "100000000000 default anon=1\n100000004000 interleave:0 anon=2\n"
        ));
        assert!(shows_a_policy("100000000000 prefer (many):0\n"));
    }

    #[test]
    fn dev_split() {
        assert_eq!(dev_parts(0xfe00), (0xfe, 0));
        assert_eq!(dev_parts(1), (0, 1));
    }
}
