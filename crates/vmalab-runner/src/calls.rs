// SPDX-License-Identifier: GPL-2.0-or-later
//! The live kernel as a [`Machine`]: each step is the raw system call with
//! the arguments `machine::run_step` resolved, so the kernel sees exactly
//! what the model is given.

use std::ffi::CString;
use std::os::fd::AsRawFd;

use super::{raw, touch, uffd, Runner, L, PR_SET_MEMORY_MERGE, PR_SET_VMA};
use super::{ALLOW_SYSCTL_ENV, PR_GET_MEMORY_MERGE, PR_SET_VMA_ANON_NAME, SYS_MSEAL};
use vmalab_lang::machine::{Fd, Machine, NodeMask, Reply};
use vmalab_lang::outcome::Outcome;
use vmalab_lang::scenario::names::{
    errno_name, signal_code_name, signal_name, table_name, SMAPS, STATUS, SYSCTL,
};

/// A system call's answer as a [`Reply`].
/// `MADV_GUARD_INSTALL`.
const GUARD_INSTALL: u64 = 102;

fn reply(r: Result<i64, i32>) -> Reply {
    r.map_err(|e| Outcome::Err(errno_name(e)))
}

/// A node mask argument and its `maxnode`: all 1024 bits, or NULL.
fn node_arg(nodes: Option<&NodeMask>) -> (L, L) {
    match nodes {
        Some(mask) => (mask.as_ptr() as L, (mask.len() * 64 + 1) as L),
        None => (0, 0),
    }
}

impl Runner<'_> {
    /// A pidfd of this process, opened for one call (the caller closes
    /// it): after a fork the child names its own address space, not its
    /// parent's.
    fn own_pidfd(&self) -> Result<i64, Outcome> {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        reply(raw(libc::SYS_pidfd_open, &[L::from(pid), 0]))
    }

    /// The descriptor a step names: a scenario file's, or a raw number.
    fn file_fd(&self, fd: Fd) -> Result<L, Outcome> {
        Ok(match fd {
            Fd::File(i) => self
                .fds
                .get(i)
                .ok_or_else(|| refused("unknown file"))?
                .as_ref()
                .map_or(-1, |f| L::from(f.as_raw_fd())),
            Fd::Raw(n) => n as L,
        })
    }
}

impl Machine for Runner<'_> {
    fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> Reply {
        let fd = self.file_fd(fd)?;
        let args = [addr as L, len as L, prot as L, flags as L, fd, off as L];
        reply(raw(libc::SYS_mmap, &args))
    }

    fn munmap(&mut self, addr: u64, len: u64) -> Reply {
        reply(raw(libc::SYS_munmap, &[addr as L, len as L]))
    }

    fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> Reply {
        reply(raw(libc::SYS_mprotect, &[addr as L, len as L, prot as L]))
    }

    fn pkey_mprotect(&mut self, addr: u64, len: u64, prot: u64, pkey: i64) -> Reply {
        let args = [addr as L, len as L, prot as L, pkey as L];
        reply(raw(libc::SYS_pkey_mprotect, &args))
    }

    fn pkey_alloc(&mut self, flags: u64, access: u64) -> Reply {
        reply(raw(libc::SYS_pkey_alloc, &[flags as L, access as L]))
    }

    fn pkey_free(&mut self, pkey: i64) -> Reply {
        reply(raw(libc::SYS_pkey_free, &[pkey as L]))
    }

    fn mremap(&mut self, addr: u64, old_len: u64, new_len: u64, flags: u64, new: u64) -> Reply {
        let args = [addr as L, old_len as L, new_len as L, flags as L, new as L];
        reply(raw(libc::SYS_mremap, &args))
    }

    fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> Reply {
        if advice == GUARD_INSTALL && uffd::write_protected_in(addr, len) {
            return Err(Outcome::Skipped(uffd::GUARD_OVER_WP.into()));
        }
        reply(raw(libc::SYS_madvise, &[addr as L, len as L, advice as L]))
    }

    fn mlock(&mut self, addr: u64, len: u64) -> Reply {
        reply(raw(libc::SYS_mlock, &[addr as L, len as L]))
    }

    fn mlock2(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        reply(raw(libc::SYS_mlock2, &[addr as L, len as L, flags as L]))
    }

    fn munlock(&mut self, addr: u64, len: u64) -> Reply {
        reply(raw(libc::SYS_munlock, &[addr as L, len as L]))
    }

    fn mlockall(&mut self, flags: u64) -> Reply {
        reply(raw(libc::SYS_mlockall, &[flags as L]))
    }

    fn munlockall(&mut self) -> Reply {
        reply(raw(libc::SYS_munlockall, &[]))
    }

    fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        reply(raw(SYS_MSEAL, &[addr as L, len as L, flags as L]))
    }

    fn mbind(
        &mut self,
        addr: u64,
        len: u64,
        mode: u64,
        nodes: Option<&NodeMask>,
        flags: u64,
    ) -> Reply {
        let (ptr, maxnode) = node_arg(nodes);
        let args = [addr as L, len as L, mode as L, ptr, maxnode, flags as L];
        reply(raw(libc::SYS_mbind, &args))
    }

    fn set_mempolicy(&mut self, mode: u64, nodes: Option<&NodeMask>) -> Reply {
        let (ptr, maxnode) = node_arg(nodes);
        reply(raw(libc::SYS_set_mempolicy, &[mode as L, ptr, maxnode]))
    }

    fn get_mempolicy(&mut self, nodes: bool, flags: u64, addr: u64) -> Reply {
        let mut policy: libc::c_int = 0;
        let mut mask: NodeMask = [0; 16];
        let maxnode = (mask.len() * 64 + 1) as L;
        let args = [
            &mut policy as *mut libc::c_int as L,
            mask.as_mut_ptr() as L,
            maxnode,
            addr as L,
            flags as L,
        ];
        reply(raw(libc::SYS_get_mempolicy, &args))?;
        Ok(if nodes {
            mask[0] as i64
        } else {
            i64::from(policy)
        })
    }

    fn set_mempolicy_home_node(&mut self, addr: u64, len: u64, node: u64, flags: u64) -> Reply {
        // x86-64's number; libc names it only on newer versions.
        const SYS_SET_MEMPOLICY_HOME_NODE: libc::c_long = 450;
        let args = [addr as L, len as L, node as L, flags as L];
        reply(raw(SYS_SET_MEMPOLICY_HOME_NODE, &args))
    }

    fn uffd_register(&mut self, addr: u64, len: u64, modes: u64) -> Reply {
        reply(self.uffd()?.register(addr, len, modes).map(|()| 0))
    }

    fn uffd_unregister(&mut self, addr: u64, len: u64) -> Reply {
        reply(self.uffd()?.unregister(addr, len).map(|()| 0))
    }

    fn uffd_copy(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        let mut w = [dst, src, len, mode, 0];
        reply(self.uffd()?.range_ioctl(uffd::UFFDIO_COPY, &mut w, Some(4)))
    }

    fn uffd_zeropage(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        let mut w = [addr, len, mode, 0];
        reply(
            self.uffd()?
                .range_ioctl(uffd::UFFDIO_ZEROPAGE, &mut w, Some(3)),
        )
    }

    fn uffd_writeprotect(&mut self, addr: u64, len: u64, on: bool) -> Reply {
        let mut w = [addr, len, u64::from(on)];
        reply(
            self.uffd()?
                .range_ioctl(uffd::UFFDIO_WRITEPROTECT, &mut w, None),
        )
    }

    fn uffd_continue(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        let mut w = [addr, len, mode, 0];
        reply(
            self.uffd()?
                .range_ioctl(uffd::UFFDIO_CONTINUE, &mut w, Some(3)),
        )
    }

    fn uffd_move(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        let mut w = [dst, src, len, mode, 0];
        reply(self.uffd()?.range_ioctl(uffd::UFFDIO_MOVE, &mut w, Some(4)))
    }

    fn uffd_poison(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        let mut w = [addr, len, mode, 0];
        reply(
            self.uffd()?
                .range_ioctl(uffd::UFFDIO_POISON, &mut w, Some(3)),
        )
    }

    fn set_anon_name(&mut self, addr: u64, len: u64, name: Option<&str>) -> Reply {
        let c = match name {
            Some(n) => Some(CString::new(n).map_err(|_| refused("name contains NUL"))?),
            None => None,
        };
        let ptr = c.as_ref().map_or(0, |c| c.as_ptr() as L);
        let args = [PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr as L, len as L, ptr];
        reply(raw(libc::SYS_prctl, &args))
    }

    fn memory_merge(&mut self, on: bool) -> Reply {
        let args = [PR_SET_MEMORY_MERGE, L::from(on), 0, 0, 0];
        reply(raw(libc::SYS_prctl, &args))
    }

    fn touch(&mut self, addr: u64, write: Option<u8>) -> Reply {
        if !touch::SUPPORTED {
            return Err(Outcome::Skipped(
                "touch is implemented for x86_64 only".into(),
            ));
        }
        match touch::touch(addr, write) {
            Ok(v) => Ok(i64::from(v)),
            Err((sig, code)) => {
                let name = signal_name(sig);
                Err(Outcome::Signal {
                    code: Some(signal_code_name(&name, code)),
                    name,
                })
            }
        }
    }

    fn touch_exec(&mut self, addr: u64) -> Reply {
        if !touch::SUPPORTED {
            return Err(Outcome::Skipped(
                "touch is implemented for x86_64 only".into(),
            ));
        }
        match touch::exec(addr) {
            Ok(()) => Ok(0),
            Err((sig, code)) => {
                let name = signal_name(sig);
                Err(Outcome::Signal {
                    code: Some(signal_code_name(&name, code)),
                    name,
                })
            }
        }
    }

    fn fork(&mut self) -> Reply {
        self.fork_step()
    }

    fn wait(&mut self) -> Reply {
        self.wait_step()
    }

    fn switch(&mut self, to_parent: bool) -> Reply {
        self.switch_step(to_parent)
    }

    fn msync(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        reply(raw(libc::SYS_msync, &[addr as L, len as L, flags as L]))
    }

    fn memory_merge_get(&mut self) -> Reply {
        reply(raw(libc::SYS_prctl, &[PR_GET_MEMORY_MERGE, 0, 0, 0, 0]))
    }

    fn mincore(&mut self, addr: u64, len: u64) -> Reply {
        // At most 63 pages unless the kernel rejects the range first (the
        // step's window rule); a spare byte keeps any answer in bounds.
        let mut vec = [0u8; 64];
        reply(raw(
            libc::SYS_mincore,
            &[addr as L, len as L, vec.as_mut_ptr() as L],
        ))?;
        let pages = len.div_ceil(self.w.page_size).min(63) as usize;
        Ok(vec[..pages]
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | (i64::from(b & 1) << i)))
    }

    fn status(&mut self, field: u64) -> Reply {
        let name = name_of(STATUS, field)?;
        let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        kb_field(text.lines(), name)
    }

    fn smaps(&mut self, addr: u64, field: u64) -> Reply {
        let name = name_of(SMAPS, field)?;
        let text = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        // The VMA's block: from its header line to the next header.
        let mut lines = text.lines().skip_while(|l| !header_holds(l, addr));
        let Some(_) = lines.next() else {
            return Err(Outcome::Err("ENOENT".into()));
        };
        kb_field(lines.take_while(|l| !is_header(l)), name)
    }

    fn setrlimit(&mut self, resource: u64, soft: u64, hard: u64) -> Reply {
        let new = [soft, hard];
        let args = [0, resource as L, new.as_ptr() as L, 0];
        reply(raw(libc::SYS_prlimit64, &args))
    }

    fn drop_cap(&mut self, cap: u64) -> Reply {
        // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
        let header: [u32; 2] = [0x2008_0522, 0];
        let mut data = [0u32; 6];
        reply(raw(
            libc::SYS_capget,
            &[header.as_ptr() as L, data.as_mut_ptr() as L],
        ))?;
        let (word, bit) = ((cap / 32) as usize * 3, 1u32 << (cap % 32));
        for set in &mut data[word..word + 3] {
            *set &= !bit;
        }
        reply(raw(
            libc::SYS_capset,
            &[header.as_ptr() as L, data.as_ptr() as L],
        ))
    }

    fn sysctl(&mut self, name: u64, value: i64) -> Reply {
        if std::env::var_os(ALLOW_SYSCTL_ENV).is_none() {
            return Err(refused(
                "sysctl changes the whole machine: pass --allow-sysctl, or run in a booted kernel",
            ));
        }
        let path = sysctl_path(name).ok_or_else(|| refused("unknown sysctl"))?;
        std::fs::write(&path, format!("{value}\n"))
            .map(|()| 0)
            .map_err(|e| Outcome::Err(errno_name(e.raw_os_error().unwrap_or(libc::EIO))))
    }

    fn ftruncate(&mut self, fd: Fd, size: u64) -> Reply {
        let fd = self.file_fd(fd)?;
        reply(raw(libc::SYS_ftruncate, &[fd, size as L]))
    }

    fn add_seals(&mut self, fd: Fd, seals: u64) -> Reply {
        let fd = self.file_fd(fd)?;
        let args = [fd, L::from(libc::F_ADD_SEALS), seals as L];
        reply(raw(libc::SYS_fcntl, &args))
    }

    fn pwrite(&mut self, fd: Fd, off: u64, value: u8) -> Reply {
        let fd = self.file_fd(fd)?;
        let byte = [value];
        let args = [fd, byte.as_ptr() as L, 1, off as L];
        reply(raw(libc::SYS_pwrite64, &args))
    }

    fn fallocate(&mut self, fd: Fd, mode: u64, off: u64, len: u64) -> Reply {
        let fd = self.file_fd(fd)?;
        reply(raw(
            libc::SYS_fallocate,
            &[fd, mode as L, off as L, len as L],
        ))
    }

    fn process_mrelease(&mut self, flags: u64) -> Reply {
        // x86-64's number; libc names it only on newer versions.
        const SYS_PROCESS_MRELEASE: libc::c_long = 448;
        let pidfd = self.own_pidfd()?;
        let r = raw(SYS_PROCESS_MRELEASE, &[pidfd as L, flags as L]);
        // SAFETY: the descriptor was opened above and is used nowhere else.
        unsafe { libc::close(pidfd as libc::c_int) };
        reply(r)
    }

    fn process_madvise(&mut self, advice: u64, ranges: &[(u64, u64)], flags: u64) -> Reply {
        if advice == GUARD_INSTALL && ranges.iter().any(|&(a, l)| uffd::write_protected_in(a, l)) {
            return Err(Outcome::Skipped(uffd::GUARD_OVER_WP.into()));
        }
        let iov: Vec<libc::iovec> = ranges
            .iter()
            .map(|&(a, l)| libc::iovec {
                iov_base: a as *mut libc::c_void,
                iov_len: l as usize,
            })
            .collect();
        let pidfd = self.own_pidfd()?;
        let r = raw(
            libc::SYS_process_madvise,
            &[
                pidfd as L,
                iov.as_ptr() as L,
                iov.len() as L,
                advice as L,
                flags as L,
            ],
        );
        // SAFETY: the descriptor was opened above and is used nowhere else.
        unsafe { libc::close(pidfd as libc::c_int) };
        reply(r)
    }

    fn shmat(&mut self, segment: Fd, addr: u64, flags: u64) -> Reply {
        // A file that is no segment passes an id no segment has.
        let id = match segment {
            Fd::File(i) => self.segments.get(i).copied().flatten().unwrap_or(-1),
            Fd::Raw(n) => n as i32,
        };
        reply(raw(libc::SYS_shmat, &[id as L, addr as L, flags as L]))
    }

    fn shmdt(&mut self, addr: u64) -> Reply {
        reply(raw(libc::SYS_shmdt, &[addr as L]))
    }

    fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
    ) -> Reply {
        reply(raw(
            libc::SYS_remap_file_pages,
            &[start as L, size as L, prot as L, pgoff as L, flags as L],
        ))
    }
}

/// The name of row `value` of a lab table, or the step is refused.
fn name_of(table: &'static [(&'static str, u64)], value: u64) -> Result<&'static str, Outcome> {
    table_name(table, value).ok_or_else(|| refused("unknown field"))
}

/// The value of `NAME:   N kB` among `lines`.
fn kb_field<'a>(mut lines: impl Iterator<Item = &'a str>, name: &str) -> Reply {
    lines
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| refused(&format!("no {name} field")))
}

/// Whether an smaps line is a VMA header (`start-end perms ...`).
fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(s, e)| {
            u64::from_str_radix(s, 16).is_ok() && u64::from_str_radix(e, 16).is_ok()
        })
}

/// Whether an smaps header line's range holds `addr`.
fn header_holds(line: &str, addr: u64) -> bool {
    let range = line
        .split_whitespace()
        .next()
        .and_then(|r| r.split_once('-'));
    match range.map(|(s, e)| (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16))) {
        Some((Ok(s), Ok(e))) => s <= addr && addr < e,
        _ => false,
    }
}

/// The /proc/sys file of the sysctl at index `name` of the sysctl table.
pub fn sysctl_path(name: u64) -> Option<String> {
    let n = table_name(SYSCTL, name)?;
    Some(format!("/proc/sys/{}", n.replace('.', "/")))
}

/// An argument that cannot be passed.
fn refused(why: &str) -> Outcome {
    Outcome::Refused(why.into())
}
