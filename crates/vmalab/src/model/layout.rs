// SPDX-License-Identifier: GPL-2.0-or-later
//! The model's window layout in the checker's form: window pages, perms,
//! offset (0 for anonymous memory, as the kernel shows), file identity,
//! name, policy, pkey and smaps flags.

use std::collections::HashMap;

use crate::layout::{FileId, Layout, MapEntry, Perms, VmFlags};
use crate::window::Window;
use vma::{Env, Mm, PolicyMode};

/// Names the model's files the way the oracle names the kernel's: scenario
/// files by their name, other shared memory `shmN` in order of first
/// appearance in the run.
#[derive(Clone, Default)]
pub struct FileNames {
    /// Inode number -> scenario file name.
    pub declared: HashMap<u64, String>,
    /// Inode number -> N of `shmN`.
    shm: HashMap<u64, u32>,
}

impl FileNames {
    fn shm(&mut self, ino: u64) -> u32 {
        let next = self.shm.len() as u32 + 1;
        *self.shm.entry(ino).or_insert(next)
    }
}

/// The mappings of `mm` inside the window and the far region.
pub fn window_layout<E: Env>(mm: &Mm<E>, w: &Window, names: &mut FileNames) -> Layout {
    let mut out = Layout::default();
    for (_, vma) in mm.vmas() {
        let Some(shown) = w.shown(vma.start, vma.end) else {
            continue;
        };
        let start = shown.from;
        let e = mm.map_entry(vma);
        let file = match &vma.file {
            None => FileId::Anon,
            Some(f) => match names.declared.get(&f.inner().ino) {
                Some(n) => FileId::File(n.clone()),
                None if f.inner().anon_shmem => FileId::Shmem(names.shm(f.inner().ino)),
                None => FileId::Path(f.inner().path.clone()),
            },
        };
        let offset = if vma.file.is_some() {
            w.offset_shown((vma.pgoff + (start - vma.start) / w.page_size) as i64)
        } else {
            0
        };
        let name = vma.anon_name.as_ref().map(|n| n.to_string());
        out.0.push(MapEntry {
            far: shown.far,
            start_page: shown.start_page,
            end_page: shown.end_page,
            perms: Perms {
                read: e.perms[0] == b'r',
                write: e.perms[1] == b'w',
                exec: e.perms[2] == b'x',
                shared: e.perms[3] == b's',
            },
            offset,
            file,
            name,
            policy: mm.numa_policy(vma).map(policy_text),
            pkey: vma.flags.pkey(),
            vm_flags: VmFlags(
                vma.flags
                    .mnemonics()
                    .map(|m| mm.config.smaps_mnemonic(m).to_string())
                    .collect(),
            ),
        });
    }
    out
}

/// A policy as numa_maps prints it (`mpol_to_str`): `bind:0-1`,
/// `interleave:0`, `prefer:0`, `local`, `prefer (many):0`,
/// `weighted interleave:0`, with mode flags after `=` (`bind=static:0`,
/// `bind=relative|balancing:0`).
fn policy_text(p: &vma::MemPolicy) -> String {
    use vma::sys::consts::{MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES};
    let flags = u32::from(p.flags);
    let mut mode_flags = String::new();
    if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING) != 0 {
        mode_flags.push('=');
        if flags & MPOL_F_STATIC_NODES != 0 {
            mode_flags.push_str("static");
        } else if flags & MPOL_F_RELATIVE_NODES != 0 {
            mode_flags.push_str("relative");
        }
        if flags & MPOL_F_NUMA_BALANCING != 0 {
            if mode_flags.len() > 1 {
                mode_flags.push('|');
            }
            mode_flags.push_str("balancing");
        }
    }
    let mode = match p.mode {
        PolicyMode::Preferred => "prefer",
        PolicyMode::Bind => "bind",
        PolicyMode::Interleave => "interleave",
        PolicyMode::Local => return "local".to_string(),
        PolicyMode::PreferredMany => "prefer (many)",
        PolicyMode::WeightedInterleave => "weighted interleave",
    };
    format!("{mode}{mode_flags}:{}", nodelist(p.nodes))
}

/// A node mask in the kernel's list form (`0-2,5`).
fn nodelist(mask: u64) -> String {
    let mut parts = Vec::new();
    let mut n = 0;
    while n < 64 {
        if mask & (1 << n) != 0 {
            let start = n;
            while n + 1 < 64 && mask & (1 << (n + 1)) != 0 {
                n += 1;
            }
            parts.push(if start == n {
                format!("{n}")
            } else {
                format!("{start}-{n}")
            });
        }
        n += 1;
    }
    parts.join(",")
}
