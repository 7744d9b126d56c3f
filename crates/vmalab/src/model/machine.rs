// SPDX-License-Identifier: GPL-2.0-or-later
//! The model as a [`Machine`]: each step as the `vma` system call it names,
//! on the current process of the run, with the page contents the model
//! keeps beside the address space (written bytes follow their pages through
//! fork, mremap and discards, so `touch read` answers as the kernel does).

use super::content::{Byte, Content, FileContent};
use super::runner::{ModelOptions, PlantedBug};
use crate::machine::{Fd, Machine, NodeMask, Reply};
use crate::outcome::Outcome;
use vma::config::PAGE_SHIFT;
use vma::sys::UffdFill;
use vma::{Access, AnonVma, Errno, File, Mm, Signal, VmFlags};

/// One process of the run (the parent stays alive after `fork`, holding
/// its `anon_vma`s, as the kernel's parent does while it waits).
struct Proc {
    mm: Mm,
    content: Content,
    /// For a parent: its shared pages before it forked the child it waits
    /// for (see `vma::Mm::child_exited`).
    shared_at_fork: vma::sys::RangeSet,
    /// The userfaultfd this process holds, as the depth in the chain of
    /// processes of the one that opened it (and whose address space it
    /// acts on): its own, once it used one, or its parent's, inherited at
    /// fork. A parent never holds its child's.
    uffd: Option<usize>,
}

/// What every process of a run shares: the files and their contents.
struct Shared<'a> {
    files: &'a [(String, File)],
    content: FileContent,
}

impl Shared<'_> {
    /// The scenario file a descriptor names, if it is open for calls: an
    /// `O_PATH` descriptor (neither readable nor writable) is as good as
    /// none to mmap, ftruncate, fcntl and the rest (EBADF), and a SysV
    /// segment has no descriptor at all (the runner passes -1).
    fn open_file(&self, fd: Fd) -> Option<&File> {
        match fd {
            Fd::File(i) => self.files.get(i).map(|(_, f)| f),
            Fd::Raw(_) => None,
        }
        .filter(|f| (f.inner().readable || f.inner().writable) && !f.inner().sysv_segment)
    }

    /// The SysV segment a step names (a scenario file that is one).
    fn segment(&self, fd: Fd) -> Option<&File> {
        match fd {
            Fd::File(i) => self.files.get(i).map(|(_, f)| f),
            Fd::Raw(_) => None,
        }
        .filter(|f| f.inner().sysv_segment)
    }
}

/// The task's credentials beyond what `vma::Config` holds: hard resource
/// limits (by row of the scenario's RLIMIT table) and the effective
/// capability set, so `setrlimit` answers EPERM as the kernel does.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Creds {
    /// Hard limits of RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK, RLIMIT_AS.
    pub hard: [u64; 4],
    /// `CapEff`.
    pub caps: u64,
}

/// The model as a [`Machine`]: the current process, the ancestors a fork
/// left waiting, the children `in parent` left waiting (nearest first),
/// left waiting, and what they share.
pub(super) struct Model<'a> {
    creds: Creds,
    proc: Proc,
    ancestors: Vec<Proc>,
    /// Children waiting after `in parent`, the current process's own
    /// first: the process chain goes on below it.
    descendants: Vec<Proc>,
    shared: Shared<'a>,
    page_size: u64,
    opts: ModelOptions,
    /// VMAs the oracle runner holds beyond the ones this model has too
    /// (guards, far top): `vm.max_map_count` is lowered by as many.
    pub(super) runner_extra_vmas: usize,
}

impl<'a> Model<'a> {
    /// A run that starts with one process, `mm`, sharing `files`.
    pub(super) fn new(
        mm: Mm,
        files: &'a [(String, File)],
        page_size: u64,
        opts: ModelOptions,
        creds: Creds,
    ) -> Self {
        Model {
            creds,
            proc: Proc {
                mm,
                content: Content::default(),
                shared_at_fork: Default::default(),
                uffd: None,
            },
            ancestors: Vec::new(),
            descendants: Vec::new(),
            shared: Shared {
                files,
                content: FileContent::default(),
            },
            page_size,
            opts,
            runner_extra_vmas: crate::window::RUNNER_VMAS,
        }
    }

    /// The address space of the process that runs the next step.
    pub(super) fn current(&self) -> &Mm {
        &self.proc.mm
    }

    /// The current process's address space, the run over (the ancestors
    /// are dropped).
    pub(super) fn into_current(self) -> Mm {
        self.proc.mm
    }

    /// Runs an ordinary call on the current process and settles page
    /// contents after it.
    fn plain(&mut self, f: impl FnOnce(&mut Proc, &mut Shared, u64) -> Reply) -> Reply {
        let ps = self.page_size;
        let p = &mut self.proc;
        p.mm.take_undetermined();
        let reply = f(p, &mut self.shared, ps);
        // What the step threw away is gone before a later step maps the
        // same pages again (a populate after MADV_REMOVE must not bring
        // back the old bytes).
        p.content.sync(&p.mm, &mut self.shared.content, ps);
        p.content.adopt_copies(&p.mm, &self.shared.content, ps);
        if p.mm.take_undetermined() {
            Err(reclaim_undetermined())
        } else {
            reply
        }
    }

    /// A call on the current process's address space alone.
    fn mm(&mut self, f: impl FnOnce(&mut Mm) -> Result<(), Errno>) -> Reply {
        self.plain(|p, _, _| unit(f(&mut p.mm)))
    }

    /// The open file a file step names (scenario files only; any other
    /// descriptor is not open here).
    fn file(&self, fd: Fd) -> Result<File, Outcome> {
        self.shared
            .open_file(fd)
            .cloned()
            .ok_or_else(|| errno(Errno::EBADF))
    }

    /// Runs `f` on every address space of the run: a file's pages are
    /// dropped from every process that maps it.
    fn each_mm(&mut self, mut f: impl FnMut(&mut Mm)) {
        for p in self.others_mut() {
            f(&mut p.mm);
        }
        f(&mut self.proc.mm);
    }

    /// Every process of the run but the current one.
    fn others_mut(&mut self) -> impl Iterator<Item = &mut Proc> {
        self.ancestors.iter_mut().chain(self.descendants.iter_mut())
    }

    /// The address space the current process's userfaultfd acts on (it
    /// opens one on first use): its own or an ancestor's.
    fn uffd_mm(&mut self) -> &mut Mm {
        let here = self.ancestors.len();
        let owner = *self.proc.uffd.get_or_insert(here);
        match self.ancestors.get_mut(owner) {
            Some(p) if owner < here => &mut p.mm,
            _ => &mut self.proc.mm,
        }
    }

    /// A userfaultfd fill on the address space the process's userfaultfd
    /// acts on, with the contents of the pages it filled: a copy's bytes
    /// (read from the calling process), zeros, or the file's page.
    fn uffd_fill(&mut self, kind: UffdFill, dst: u64, len: u64, mode: u64) -> Reply {
        let ps = self.page_size;
        let here = self.ancestors.len();
        let owner = *self.proc.uffd.get_or_insert(here);
        let src = match kind {
            UffdFill::Copy(src) => {
                let p = &self.proc;
                let end = src.saturating_add(len.min(u64::MAX / 2));
                p.content
                    .bytes_in(&p.mm, &self.shared.content, (src, end), ps)
            }
            _ => Vec::new(),
        };
        // A shared mapping's new pages are the file's, which every process
        // of the run sees.
        let file_pages = {
            let mm = match self.ancestors.get(owner) {
                Some(a) if owner < here => &a.mm,
                _ => &self.proc.mm,
            };
            mm.vma_at(dst)
                .and_then(|id| mm.get(id))
                .filter(|v| v.flags.contains(VmFlags::SHARED))
                .and_then(|v| {
                    let f = v.file.clone()?;
                    Some((f, v.pgoff + ((dst - v.start) >> PAGE_SHIFT)))
                })
        };
        let (target, caller) = match self.ancestors.get_mut(owner) {
            Some(a) if owner < here => (a, Some(&mut self.proc)),
            _ => (&mut self.proc, None),
        };
        target.mm.take_undetermined();
        // The file pages are the run's: the process acted on sees the ones
        // the caller (which ran last) knows, and hands them back after.
        if let Some(c) = &caller {
            target.mm.adopt_file_state(&c.mm);
        }
        let r = target
            .mm
            .uffd_fill(kind, dst, len, mode, caller.map(|c| &mut c.mm));
        if owner < here {
            if let Some(a) = self.ancestors.get(owner) {
                self.proc.mm.adopt_file_state(&a.mm);
            }
        }
        let target = match self.ancestors.get_mut(owner) {
            Some(a) if owner < here => a,
            _ => &mut self.proc,
        };
        if let Ok(done) = r {
            let mut at = 0;
            while at < done {
                let page = dst + at;
                let bytes: Vec<(u64, Byte)> = match kind {
                    UffdFill::Copy(s) => src
                        .iter()
                        .filter(|(a, _)| *a >= s + at && *a < s + at + ps)
                        .map(|&(a, v)| (a - (s + at), v))
                        .collect(),
                    _ => Vec::new(),
                };
                fill_content(target, &mut self.shared.content, kind, page, &bytes, ps);
                at += ps;
            }
        }
        let undetermined = target.mm.take_undetermined();
        let new_file_pages = matches!(kind, UffdFill::Copy(_) | UffdFill::Zeropage);
        if let (Ok(done), Some((file, first)), true) = (r, &file_pages, new_file_pages) {
            let last = first + done / ps;
            self.each_mm(|mm| mm.file_written(file, *first, last));
        }
        // Only the current process knows every file page there is: the
        // others keep their private memory as the fill left it.
        let p = &mut self.proc;
        p.content.sync(&p.mm, &mut self.shared.content, ps);
        p.content.adopt_copies(&p.mm, &self.shared.content, ps);
        if undetermined || self.proc.mm.take_undetermined() {
            return Err(reclaim_undetermined());
        }
        r.map(|d| d as i64).map_err(errno)
    }

    /// The waiting children exit, the farthest first, each into the
    /// process above it.
    fn reap_descendants(&mut self) {
        while let Some(child) = self.descendants.pop() {
            let parent = self.descendants.last_mut().unwrap_or(&mut self.proc);
            let shared_at_fork = std::mem::take(&mut parent.shared_at_fork);
            parent.mm.child_reaped(&shared_at_fork);
            drop(child);
        }
    }
}

impl Machine for Model<'_> {
    fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> Reply {
        self.plain(|p, shared, _| {
            let file = match fd {
                Fd::File(_) => shared.open_file(fd),
                Fd::Raw(_) => None,
            };
            match p.mm.mmap(addr, len, prot as u32, flags as u32, file, off) {
                Ok(at) => {
                    p.content.clear(at, at.saturating_add(len));
                    Ok(at as i64)
                }
                Err(e) => Err(errno(e)),
            }
        })
    }

    fn munmap(&mut self, addr: u64, len: u64) -> Reply {
        self.plain(|p, _, _| {
            let r = unit(p.mm.munmap(addr, len));
            forget_unmapped(p);
            r
        })
    }

    fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> Reply {
        let mut prot = prot as u32;
        if self.opts.plant == Some(PlantedBug::MprotectDropsExec) {
            prot &= !vma::sys::consts::PROT_EXEC;
        }
        self.mm(|mm| mm.mprotect(addr, len, prot))
    }

    fn pkey_mprotect(&mut self, addr: u64, len: u64, prot: u64, pkey: i64) -> Reply {
        self.mm(|mm| mm.pkey_mprotect(addr, len, prot as u32, pkey as i32))
    }

    fn pkey_alloc(&mut self, flags: u64, access: u64) -> Reply {
        self.plain(|p, _, _| p.mm.pkey_alloc(flags, access).map(i64::from).map_err(errno))
    }

    fn pkey_free(&mut self, pkey: i64) -> Reply {
        self.mm(|mm| mm.pkey_free(pkey))
    }

    fn mremap(&mut self, addr: u64, old_len: u64, new_len: u64, flags: u64, new: u64) -> Reply {
        self.plain(|p, _, ps| {
            let call = RemapCall {
                old: addr,
                old_len,
                new_len,
                flags: flags as u32,
                new_addr: new,
            };
            remap(p, call, ps)
        })
    }

    fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> Reply {
        let guard = advice == vma::sys::consts::MADV_GUARD_INSTALL as u64;
        if guard && self.proc.mm.guard_install_would_loop(addr, len) {
            return Err(Outcome::Skipped(vma::sys::GUARD_OVER_WP.into()));
        }
        let holes = if advice == u64::from(vma::sys::consts::MADV_REMOVE as u32) {
            file_pages_in(&self.proc.mm, addr, len)
        } else {
            Vec::new()
        };
        let r = self.mm(|mm| mm.madvise(addr, len, advice as i32));
        // MADV_REMOVE punches a hole in the file: the processes waiting
        // for this one lose those pages too (this one dropped its own),
        // even when the call fails later (a gap, a VMA it may not punch);
        // a misaligned start fails before any.
        if advice == u64::from(vma::sys::consts::MADV_REMOVE as u32) && addr % self.page_size == 0 {
            for p in self.others_mut() {
                for (file, first, last) in &holes {
                    p.mm.file_hole_punched(file, *first, *last);
                }
            }
        }
        r
    }

    fn mlock(&mut self, addr: u64, len: u64) -> Reply {
        if self.opts.plant == Some(PlantedBug::MlockLocksNothing) {
            return Ok(0);
        }
        self.mm(|mm| mm.mlock(addr, len))
    }

    fn mlock2(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        self.mm(|mm| mm.mlock2(addr, len, flags as u32))
    }

    fn munlock(&mut self, addr: u64, len: u64) -> Reply {
        self.mm(|mm| mm.munlock(addr, len))
    }

    fn mlockall(&mut self, flags: u64) -> Reply {
        self.mm(|mm| mm.mlockall(flags as u32))
    }

    fn munlockall(&mut self) -> Reply {
        self.mm(|mm| mm.munlockall())
    }

    fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        self.mm(|mm| mm.mseal(addr, len, flags))
    }

    fn mbind(
        &mut self,
        addr: u64,
        len: u64,
        mode: u64,
        nodes: Option<&NodeMask>,
        flags: u64,
    ) -> Reply {
        let mask = model_nodes(nodes);
        self.mm(|mm| mm.mbind(addr, len, mode as u32, mask, flags as u32))
    }

    fn set_mempolicy(&mut self, mode: u64, nodes: Option<&NodeMask>) -> Reply {
        let mask = model_nodes(nodes);
        self.mm(|mm| mm.set_mempolicy(mode as u32, mask))
    }

    fn get_mempolicy(&mut self, nodes: bool, flags: u64, addr: u64) -> Reply {
        self.plain(|p, _, _| {
            let r = p.mm.get_mempolicy(addr, flags).map_err(errno)?;
            Ok(if nodes {
                r.nodes as i64
            } else {
                i64::from(r.policy)
            })
        })
    }

    fn set_mempolicy_home_node(&mut self, addr: u64, len: u64, node: u64, flags: u64) -> Reply {
        self.mm(|mm| mm.set_mempolicy_home_node(addr, len, node, flags))
    }

    fn uffd_register(&mut self, addr: u64, len: u64, modes: u64) -> Reply {
        unit(self.uffd_mm().uffd_register(UFFD_CTX, addr, len, modes))
    }

    fn uffd_unregister(&mut self, addr: u64, len: u64) -> Reply {
        unit(self.uffd_mm().uffd_unregister(UFFD_CTX, addr, len))
    }

    fn uffd_copy(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        self.uffd_fill(UffdFill::Copy(src), dst, len, mode)
    }

    fn uffd_zeropage(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_fill(UffdFill::Zeropage, addr, len, mode)
    }

    fn uffd_writeprotect(&mut self, addr: u64, len: u64, on: bool) -> Reply {
        unit(self.uffd_mm().uffd_writeprotect(addr, len, on))
    }

    fn uffd_continue(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_fill(UffdFill::Continue, addr, len, mode)
    }

    fn uffd_move(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        let here = self.ancestors.len();
        let cross = *self.proc.uffd.get_or_insert(here) != here;
        let ps = self.page_size;
        let r = self
            .uffd_mm()
            .uffd_move(UFFD_CTX, dst, src, len, mode, cross);
        let p = &mut self.proc;
        if let (Ok(done), false) = (r, cross) {
            // The moved pages carry their bytes; the source reads as a hole.
            p.content.relocate(src, done, dst);
        }
        p.content.sync(&p.mm, &mut self.shared.content, ps);
        p.content.adopt_copies(&p.mm, &self.shared.content, ps);
        if p.mm.take_undetermined() {
            return Err(reclaim_undetermined());
        }
        r.map(|d| d as i64).map_err(errno)
    }

    fn uffd_poison(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_fill(UffdFill::Poison, addr, len, mode)
    }

    fn set_anon_name(&mut self, addr: u64, len: u64, name: Option<&str>) -> Reply {
        self.mm(|mm| mm.prctl_set_vma_anon_name(addr, len, name))
    }

    fn memory_merge(&mut self, on: bool) -> Reply {
        self.mm(|mm| mm.prctl_set_memory_merge(on))
    }

    fn touch(&mut self, addr: u64, write: Option<u8>) -> Reply {
        self.plain(|p, shared, ps| touch(p, shared, addr, write, ps))
    }

    fn touch_exec(&mut self, addr: u64) -> Reply {
        self.plain(
            |p, shared, ps| match access(p, shared, addr, Access::Exec, ps) {
                (_, true) => Err(reclaim_undetermined()),
                (fault, false) => fault.map(|()| 0).map_err(signal),
            },
        )
    }

    fn msync(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        // The kernel takes the flags as an int.
        self.plain(|p, _, _| unit(p.mm.msync(addr, len, flags as u32)))
    }

    fn memory_merge_get(&mut self) -> Reply {
        self.plain(|p, _, _| p.mm.prctl_get_memory_merge().map(i64::from).map_err(errno))
    }

    fn mincore(&mut self, addr: u64, len: u64) -> Reply {
        self.plain(|p, _, _| {
            let v = p.mm.mincore(addr, len).map_err(errno)?;
            Ok(v.iter()
                .take(63)
                .enumerate()
                .fold(0, |m, (i, &on)| m | (i64::from(on) << i)))
        })
    }

    fn status(&mut self, _field: u64) -> Reply {
        // VmLck, the only field: locked_vm.
        Ok((self.proc.mm.stats().locked_vm * self.page_size / 1024) as i64)
    }

    fn smaps(&mut self, addr: u64, field: u64) -> Reply {
        let mm = &self.proc.mm;
        let v = mm
            .vma_at(addr)
            .and_then(|id| mm.get(id))
            .ok_or_else(|| errno(Errno::ENOENT))?;
        let pages = mm.pages();
        if pages.unsettled_in(v.start, v.end) {
            return Err(reclaim_undetermined());
        }
        let bytes = |set: &vma::sys::RangeSet| -> u64 {
            set.slice(v.start, v.end).iter().map(|(s, e)| e - s).sum()
        };
        // The zero page is no page of the process: in no Rss.
        let rss = bytes(pages.mapped()) - bytes(pages.zero());
        let private = !v.flags.contains(vma::VmFlags::SHARED);
        let kb = match field {
            0 => v.end - v.start,
            1 => rss,
            2 if private && v.file.is_none() => rss,
            2 if private => bytes(pages.copied()),
            _ => 0,
        };
        Ok((kb / 1024) as i64)
    }

    fn setrlimit(&mut self, resource: u64, soft: u64, hard: u64) -> Reply {
        // `do_prlimit`: a soft limit above the hard one is invalid; only
        // CAP_SYS_RESOURCE may raise a hard limit.
        let Some(slot) = RLIMIT_SLOTS.iter().position(|&r| r == resource) else {
            return Err(errno(Errno::EINVAL));
        };
        if soft > hard {
            return Err(errno(Errno::EINVAL));
        }
        if hard > self.creds.hard[slot] && !self.capable(CAP_SYS_RESOURCE) {
            return Err(errno(Errno::EPERM));
        }
        self.creds.hard[slot] = hard;
        let r = &mut self.proc.mm.config.rlimits;
        *[
            &mut r.data,
            &mut r.stack,
            &mut r.memlock,
            &mut r.address_space,
        ][slot] = soft;
        Ok(0)
    }

    fn drop_cap(&mut self, cap: u64) -> Reply {
        self.creds.caps &= !(1u64 << (cap & 63));
        let c = &mut self.proc.mm.config;
        c.cap_ipc_lock = self.creds.caps & (1 << CAP_IPC_LOCK) != 0;
        c.cap_sys_rawio = self.creds.caps & (1 << CAP_SYS_RAWIO) != 0;
        c.cap_sys_nice = self.creds.caps & (1 << CAP_SYS_NICE) != 0;
        Ok(0)
    }

    fn sysctl(&mut self, name: u64, value: i64) -> Reply {
        let int = i32::try_from(value).map_err(|_| errno(Errno::EINVAL));
        let rawio = self.capable(CAP_SYS_RAWIO);
        let extra = self.runner_extra_vmas;
        let c = &mut self.proc.mm.config;
        match name {
            // proc_dointvec_minmax, at least 0.
            0 => {
                let v = usize::try_from(int?).map_err(|_| errno(Errno::EINVAL))?;
                c.max_map_count = v.saturating_sub(extra);
            }
            // proc_dointvec_minmax, 0 to 2.
            1 => {
                c.overcommit = match int? {
                    0 => vma::config::Overcommit::Guess,
                    1 => vma::config::Overcommit::Always,
                    2 => vma::config::Overcommit::Never,
                    _ => return Err(errno(Errno::EINVAL)),
                }
            }
            // proc_dointvec: any int (a negative ratio commits nothing).
            2 => c.overcommit_ratio = u64::try_from(int?).unwrap_or(0),
            // Writing needs CAP_SYS_RAWIO; proc_doulongvec_minmax.
            3 if !rawio => return Err(errno(Errno::EPERM)),
            3 => c.mmap_min_addr = u64::try_from(value).map_err(|_| errno(Errno::EINVAL))?,
            _ => return Err(errno(Errno::EINVAL)),
        }
        Ok(0)
    }

    fn fork(&mut self) -> Reply {
        if !self.descendants.is_empty() {
            return Err(Outcome::Refused(crate::machine::ONE_CHILD.into()));
        }
        let shared_at_fork = self.proc.mm.pages().shared().clone();
        let child = self.proc.mm.fork().map_err(errno)?;
        let content = self.proc.content.clone();
        let child = Proc {
            mm: child,
            content,
            shared_at_fork: Default::default(),
            uffd: self.proc.uffd,
        };
        let mut parent = std::mem::replace(&mut self.proc, child);
        parent.shared_at_fork = shared_at_fork;
        self.ancestors.push(parent);
        let mm = &self.proc.mm;
        self.proc
            .content
            .retain(|a| mm.vma_at(a).is_some_and(|v| !wiped(mm, v)));
        Ok(0)
    }

    fn switch(&mut self, to_parent: bool) -> Reply {
        if to_parent {
            let parent = self.ancestors.pop().ok_or_else(|| errno(Errno::ECHILD))?;
            let child = std::mem::replace(&mut self.proc, parent);
            self.proc.mm.adopt_file_state(&child.mm);
            self.descendants.insert(0, child);
        } else {
            if self.descendants.is_empty() {
                return Err(errno(Errno::ECHILD));
            }
            let child = self.descendants.remove(0);
            let parent = std::mem::replace(&mut self.proc, child);
            self.proc.mm.adopt_file_state(&parent.mm);
            self.ancestors.push(parent);
        }
        self.plain(|_, _, _| Ok(0))
    }

    fn wait(&mut self) -> Reply {
        if !self.descendants.is_empty() {
            self.reap_descendants();
            return self.plain(|_, _, _| Ok(0));
        }
        let Some(mut parent) = self.ancestors.pop() else {
            return Err(errno(Errno::ECHILD));
        };
        let shared_at_fork = std::mem::take(&mut parent.shared_at_fork);
        parent.mm.child_exited(&self.proc.mm, &shared_at_fork);
        // The child exits: dropping its address space unlinks its VMAs.
        drop(std::mem::replace(&mut self.proc, parent));
        self.plain(|_, _, _| Ok(0))
    }

    fn ftruncate(&mut self, fd: Fd, size: u64) -> Reply {
        let file = self.file(fd)?;
        let old = file.truncate(size).map_err(errno)?;
        let pages = file.size_pages();
        if pages < old {
            self.each_mm(|mm| mm.file_truncated(&file, pages));
        }
        // What lies past the new end reads as zero if the file grows again.
        self.shared.content.clear(file.inner().ino, size, u64::MAX);
        self.plain(|_, _, _| Ok(0))
    }

    fn add_seals(&mut self, fd: Fd, seals: u64) -> Reply {
        let file = self.file(fd)?;
        let seals = u32::try_from(seals).map_err(|_| errno(Errno::EINVAL))?;
        let elsewhere = self
            .ancestors
            .iter()
            .chain(&self.descendants)
            .any(|p| p.mm.maps_file_writably(&file));
        let r = self.proc.mm.add_file_seals(&file, seals, elsewhere);
        unit(r)
    }

    fn pwrite(&mut self, fd: Fd, off: u64, value: u8) -> Reply {
        let file = self.file(fd)?;
        let (first, last) = file.write(off, 1).map_err(errno)?;
        self.each_mm(|mm| mm.file_written(&file, first, last));
        self.shared.content.write(file.inner().ino, off, value);
        self.plain(|_, _, _| Ok(1))
    }

    fn fallocate(&mut self, fd: Fd, mode: u64, off: u64, len: u64) -> Reply {
        let file = self.file(fd)?;
        let mode = u32::try_from(mode).map_err(|_| errno(Errno::EOPNOTSUPP))?;
        match file.fallocate(mode, off, len).map_err(errno)? {
            vma::Falloc::Allocated(first, last) => {
                self.each_mm(|mm| mm.file_written(&file, first, last));
            }
            vma::Falloc::Punched(first, last) => {
                self.each_mm(|mm| mm.file_hole_punched(&file, first, last));
                self.shared
                    .content
                    .clear(file.inner().ino, off, off.saturating_add(len));
            }
        }
        self.plain(|_, _, _| Ok(0))
    }

    fn process_madvise(&mut self, advice: u64, ranges: &[(u64, u64)], flags: u64) -> Reply {
        let guard = advice == vma::sys::consts::MADV_GUARD_INSTALL as u64;
        let mm = &self.proc.mm;
        if guard
            && ranges
                .iter()
                .any(|&(a, l)| mm.guard_install_would_loop(a, l))
        {
            return Err(Outcome::Skipped(vma::sys::GUARD_OVER_WP.into()));
        }
        let remove = advice == u64::from(vma::sys::consts::MADV_REMOVE as u32);
        let holes: Vec<_> = ranges
            .iter()
            .filter(|_| remove)
            .map(|&(a, l)| file_pages_in(&self.proc.mm, a, l))
            .collect();
        // The kernel takes the advice as an int and the flags as an
        // unsigned int.
        let r = self.plain(|p, _, _| {
            let done =
                p.mm.process_madvise(ranges, advice as i32, flags as u32)
                    .map_err(errno)?;
            Ok(done as i64)
        });
        // As for madvise: the holes MADV_REMOVE punched in the ranges it
        // finished reach the processes waiting for this one too.
        if let Ok(done) = r {
            let mut left = done as u64;
            for (range, pieces) in ranges.iter().zip(&holes) {
                if left == 0 || range.1 > left {
                    break;
                }
                left -= range.1;
                for p in &mut self.ancestors {
                    for (file, first, last) in pieces {
                        p.mm.file_hole_punched(file, *first, *last);
                    }
                }
            }
        }
        r
    }

    fn process_mrelease(&mut self, flags: u64) -> Reply {
        self.mm(|mm| mm.process_mrelease(flags as u32))
    }

    fn shmat(&mut self, segment: Fd, addr: u64, flags: u64) -> Reply {
        self.plain(|p, shared, _| {
            let seg = shared.segment(segment);
            // The kernel takes the flags as an int.
            let at = p.mm.shmat(seg, addr, flags as u32).map_err(errno)?;
            let len = seg.map_or(0, File::size_bytes);
            p.content.clear(at, at.saturating_add(len));
            Ok(at as i64)
        })
    }

    fn shmdt(&mut self, addr: u64) -> Reply {
        self.plain(|p, _, _| {
            let r = unit(p.mm.shmdt(addr));
            forget_unmapped(p);
            r
        })
    }

    fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
    ) -> Reply {
        self.plain(|p, _, ps| {
            p.mm.remap_file_pages(start, size, prot, pgoff, flags)
                .map_err(errno)?;
            // The range shows the file's pages at the new offset: nothing
            // private stays (the mapping is shared).
            let (s, len) = (start & !(ps - 1), size & !(ps - 1));
            p.content.clear(s, s.saturating_add(len));
            Ok(0)
        })
    }
}

/// The resources of the scenario's RLIMIT table, in the order of
/// [`Creds::hard`].
const RLIMIT_SLOTS: [u64; 4] = [2, 3, 8, 9];

/// Capability bit numbers the model consults.
const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_RAWIO: u32 = 17;
const CAP_SYS_NICE: u32 = 23;
const CAP_SYS_RESOURCE: u32 = 24;

impl Model<'_> {
    fn capable(&self, bit: u32) -> bool {
        self.creds.caps & (1 << bit) != 0
    }
}

/// A fork child's `VM_WIPEONFORK` memory reads as zero.
fn wiped(mm: &Mm, v: vma::VmaId) -> bool {
    mm.get(v).unwrap().flags.contains(vma::VmFlags::WIPEONFORK)
}

/// The contents of one page a userfaultfd fill reports done: a copy's
/// `bytes` or zeros in a new page (the file's for a shared mapping, else
/// the process's), nothing for `UFFDIO_CONTINUE` (the file's page shows)
/// or a poison marker.
fn fill_content(
    p: &mut Proc,
    files: &mut FileContent,
    kind: UffdFill,
    page: u64,
    bytes: &[(u64, Byte)],
    ps: u64,
) {
    if matches!(kind, UffdFill::Continue | UffdFill::Poison) {
        return;
    }
    let Some(v) = p.mm.vma_at(page).and_then(|id| p.mm.get(id)) else {
        return;
    };
    match &v.file {
        Some(f) if v.flags.contains(VmFlags::SHARED) => {
            let off = v.pgoff * ps + (page - v.start);
            files.fill(f.inner().ino, off, ps, bytes);
        }
        _ => p.content.fill(page, ps, bytes),
    }
}

/// The one userfaultfd context the oracle's runner opens.
const UFFD_CTX: vma::UffdCtx = vma::UffdCtx(1);

fn errno(e: Errno) -> Outcome {
    Outcome::Err(e.name().map_or_else(|| format!("E{}", e.0), str::to_string))
}

fn unit(r: Result<(), Errno>) -> Reply {
    r.map(|()| 0).map_err(errno)
}

/// A one-byte access on the model: the fault, then the byte read or
/// written in the model's page contents.
/// One access's fault on the model, with the page contents settled around
/// it; and whether its outcome depended on what reclaim took.
fn access(
    p: &mut Proc,
    shared: &mut Shared,
    at: u64,
    acc: Access,
    ps: u64,
) -> (Result<(), vma::sys::Signal>, bool) {
    // Before the access maps the page again: forget what was discarded.
    p.content.sync(&p.mm, &mut shared.content, ps);
    let fault = p.mm.fault(at, acc);
    p.content.adopt_copies(&p.mm, &shared.content, ps);
    (fault, p.mm.take_undetermined())
}

fn touch(p: &mut Proc, shared: &mut Shared, at: u64, write: Option<u8>, ps: u64) -> Reply {
    let acc = if write.is_some() {
        Access::Write
    } else {
        Access::Read
    };
    let (fault, undetermined) = access(p, shared, at, acc, ps);
    let mm = &mut p.mm;
    if undetermined {
        // Whether the access faulted depended on what reclaim took: a
        // write may or may not have landed.
        if write.is_some() {
            p.content.write(mm, &mut shared.content, (at, None), ps);
        }
        return Err(reclaim_undetermined());
    }
    match fault {
        Ok(()) => match write {
            Some(value) => {
                p.content
                    .write(mm, &mut shared.content, (at, Some(value)), ps);
                Ok(0)
            }
            None => match p.content.read(mm, &shared.content, at, ps) {
                Some(byte) => Ok(i64::from(byte)),
                None => Err(Outcome::Undetermined(
                    "an earlier write here depended on what reclaim took".into(),
                )),
            },
        },
        Err(sig) => Err(signal(sig)),
    }
}

/// The outcome of a step whose answer depended on what reclaim took.
fn reclaim_undetermined() -> Outcome {
    Outcome::Undetermined("depends on what reclaim took".into())
}

/// `mremap` on the model, carrying the moved pages' contents along.
fn remap(p: &mut Proc, call: RemapCall, ps: u64) -> Reply {
    let align = |l: u64| l.wrapping_add(ps - 1) & !(ps - 1);
    let mm = &mut p.mm;
    let pieces = mapped_pieces(mm, call.old, align(call.old_len));
    let target = mappings(mm, call.new_addr, align(call.old_len));
    let r = mm.mremap(
        call.old,
        call.old_len,
        call.new_len,
        call.flags,
        call.new_addr,
    );
    // Content moves by whole pages, as the kernel aligns lengths.
    let call = RemapCall {
        old_len: align(call.old_len),
        new_len: align(call.new_len),
        ..call
    };
    carry_content(p, &call, (&pieces, &target), r);
    r.map(|at| at as i64).map_err(errno)
}

/// The arguments of one `mremap` step, resolved.
struct RemapCall {
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u32,
    new_addr: u64,
}

/// A mapped range `[start, end)`.
type Piece = (u64, u64);

/// What maps a range `[start, end)`: the identity a move there would
/// change -- the file, the page offset at `start`, the `anon_vma` and the
/// flags. Ranges alone cannot tell a move that lands exactly on a VMA (or
/// on a split piece of one) from the VMA that was there.
#[derive(Clone, PartialEq, Debug)]
struct Mapping {
    start: u64,
    end: u64,
    ino: Option<u64>,
    pgoff: u64,
    anon_vma: Option<AnonVma>,
    flags: VmFlags,
}

/// The mappings of `[start, start + len)`, clipped to it.
fn mappings(mm: &Mm, start: u64, len: u64) -> Vec<Mapping> {
    let end = start.saturating_add(len);
    let mut out = Vec::new();
    let mut at = start;
    while let Some(id) = mm.find_vma_intersection(at, end) {
        let v = mm.get(id).unwrap();
        let s = v.start.max(start);
        out.push(Mapping {
            start: s,
            end: v.end.min(end),
            ino: v.file.as_ref().map(|f| f.inner().ino),
            pgoff: v.pgoff.wrapping_add((s - v.start) >> PAGE_SHIFT),
            anon_vma: v.anon_vma.clone(),
            flags: v.flags,
        });
        at = v.end;
    }
    out
}

/// The mapped pieces of `[start, start + len)`, before a remap moves them.
fn mapped_pieces(mm: &Mm, start: u64, len: u64) -> Vec<(u64, u64)> {
    let end = start.saturating_add(len);
    let mut pieces = Vec::new();
    let mut at = start;
    while let Some(id) = mm.find_vma_intersection(at, end) {
        let v = mm.get(id).unwrap();
        pieces.push((v.start.max(start), v.end.min(end)));
        at = v.end;
    }
    pieces
}

/// Private memory follows its pages through an `mremap`: each mapped piece
/// of the source that moved lands at the same offset from the destination
/// (replacing what a fixed move unmapped there); with `MREMAP_DONTUNMAP`
/// the source reads zero after. A failed multi-VMA move has carried the
/// pieces it moved before failing.
fn carry_content(
    p: &mut Proc,
    c: &RemapCall,
    (pieces, target): (&[Piece], &[Mapping]),
    r: Result<u64, Errno>,
) {
    use vma::sys::consts::{MREMAP_DONTUNMAP, MREMAP_FIXED};
    let moves = c.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
    let fixed = c.flags & MREMAP_FIXED != 0;
    // A failure that left the target range as it was (an argument check)
    // moved nothing.
    let target_untouched = || mappings(&p.mm, c.new_addr, c.old_len) == target;
    let (to, limit) = match r {
        Ok(at) if at != c.old || moves => (at, c.new_len),
        Err(_) if fixed && !target_untouched() => (c.new_addr, c.old_len),
        _ => {
            forget_unmapped(p);
            return;
        }
    };
    // A successful move of one VMA lands in a range that held nothing
    // before (free, or unmapped by MREMAP_FIXED): no byte there survives,
    // even where no piece lands (the grown part, which a locked VMA
    // populates at once). A move of several pieces (or with holes) unmaps
    // only where each piece lands.
    let one_vma = pieces == [(c.old, c.old.saturating_add(c.old_len))];
    if r.is_ok() && one_vma {
        p.content.clear(to, to.saturating_add(c.new_len));
    }
    let limit = c.old.saturating_add(limit);
    for &(s, e) in pieces {
        let e = e.min(limit);
        let dest = to.wrapping_add(s - c.old);
        // A failed move carried the pieces before the failure: their source
        // is unmapped, or, with MREMAP_DONTUNMAP, one VMA other than the
        // one that was there now maps all of their destination.
        let moved = match r {
            Ok(_) => true,
            Err(_) if c.flags & MREMAP_DONTUNMAP != 0 => {
                let dest_end = dest.saturating_add(e.saturating_sub(s));
                let now = mappings(&p.mm, dest, e.saturating_sub(s));
                let whole = matches!(&now[..], [m] if m.start == dest && m.end == dest_end);
                whole && now != clip(target, dest, dest_end)
            }
            Err(_) => p.mm.vma_at(s).is_none(),
        };
        if s >= e || !moved {
            continue;
        }
        p.content.clear(dest, dest.saturating_add(e - s));
        p.content.relocate(s, e - s, dest);
    }
    if r.is_ok() {
        for &(s, e) in pieces {
            p.content.clear(s, e);
        }
    }
    forget_unmapped(p);
}

/// The parts of `mappings` inside `[start, end)`.
fn clip(mappings: &[Mapping], start: u64, end: u64) -> Vec<Mapping> {
    mappings
        .iter()
        .filter(|m| m.start.max(start) < m.end.min(end))
        .map(|m| {
            let s = m.start.max(start);
            Mapping {
                start: s,
                end: m.end.min(end),
                pgoff: m.pgoff.wrapping_add((s - m.start) >> PAGE_SHIFT),
                ..m.clone()
            }
        })
        .collect()
}

/// Drops written bytes that are no longer mapped.
fn forget_unmapped(p: &mut Proc) {
    let mm = &p.mm;
    p.content.retain(|a| mm.vma_at(a).is_some());
}

/// The signal and si_code names the oracle reports.
fn signal(s: Signal) -> Outcome {
    let (name, code) = match s {
        Signal::SegvMaperr => ("SIGSEGV", "SEGV_MAPERR"),
        Signal::SegvAccerr => ("SIGSEGV", "SEGV_ACCERR"),
        Signal::SegvPkuerr => ("SIGSEGV", "SEGV_PKUERR"),
        Signal::Bus => ("SIGBUS", "BUS_ADRERR"),
        Signal::BusMceerr => ("SIGBUS", "BUS_MCEERR_AR"),
    };
    Outcome::Signal {
        name: name.into(),
        code: Some(code.into()),
    }
}

/// The file pages that MADV_REMOVE of `[addr, addr + len)` punches, VMA
/// by VMA up to the first it may not punch: `(file, first page offset, end
/// page offset)`.
fn file_pages_in(mm: &Mm, addr: u64, len: u64) -> Vec<(File, u64, u64)> {
    let end = addr.saturating_add(len);
    mm.vmas()
        .filter(|(_, v)| v.start < end && v.end > addr)
        .take_while(|(_, v)| vma::sys::remove_allowed(v).is_ok())
        .filter_map(|(_, v)| {
            let file = v.file.clone()?;
            let (s, e) = (addr.max(v.start), end.min(v.end));
            let first = v.pgoff + ((s - v.start) >> PAGE_SHIFT);
            let last = v.pgoff + ((e - v.start).div_ceil(1 << PAGE_SHIFT));
            Some((file, first, last))
        })
        .collect()
}

/// A scenario's node mask as the model's 64 bits. A node above 63 is never
/// online, so it matters only where it is the only one (EINVAL): it then
/// stands as node 63.
fn model_nodes(nodes: Option<&NodeMask>) -> u64 {
    let mask = nodes.map_or(0, |n| n[0]);
    if mask == 0 && nodes.is_some_and(|n| n.iter().any(|&w| w != 0)) {
        1 << 63
    } else {
        mask
    }
}
