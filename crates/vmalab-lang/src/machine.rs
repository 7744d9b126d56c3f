// SPDX-License-Identifier: GPL-2.0-or-later
//! The machine a scenario runs on -- the model (`vma::Mm`) or the live
//! kernel (the oracle runner) -- as one trait, and the one function that
//! admits a step, resolves its arguments and runs it. Both sides go through
//! [`run_step`], so they get the same resolved arguments and refuse the
//! same steps.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;

use crate::outcome::{Outcome, Value};
use crate::scenario::steps::{Param, Returns};
use crate::scenario::{AddrArg, Amount, Arg, FdArg, FileDecl, StepKind};
use crate::window::{off_arg, Admission, Window};

/// A call's answer: its raw return value, or the outcome that replaces a
/// success (an errno, a signal, a reason it could not run).
pub type Reply = Result<i64, Outcome>;

/// Node masks are 1024 bits, as `mbind(2)` reads them on x86-64
/// distribution kernels (`MAX_NUMNODES`).
pub type NodeMask = [u64; 16];

/// Why a process with a waiting child may not fork: a run is a chain of
/// processes, one child each (both sides refuse alike).
pub const ONE_CHILD: &str =
    "fork in a process whose child waits (`in parent`): only one child at a time";

/// A resolved file descriptor argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    /// The scenario's file at this index of its `file` declarations.
    File(usize),
    /// A raw number (-1: none).
    Raw(i64),
}

/// Something that runs the scenario steps: the memory system calls with
/// their resolved arguments (absolute addresses, byte lengths), plus the
/// lab actions `touch` and `fork`. Steps are only called once the window
/// rule admitted them.
pub trait Machine {
    fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> Reply;
    fn munmap(&mut self, addr: u64, len: u64) -> Reply;
    fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> Reply;
    fn pkey_mprotect(&mut self, addr: u64, len: u64, prot: u64, pkey: i64) -> Reply;
    fn pkey_alloc(&mut self, flags: u64, access: u64) -> Reply;
    fn pkey_free(&mut self, pkey: i64) -> Reply;
    fn mremap(&mut self, addr: u64, old_len: u64, new_len: u64, flags: u64, new: u64) -> Reply;
    fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> Reply;
    fn mlock(&mut self, addr: u64, len: u64) -> Reply;
    fn mlock2(&mut self, addr: u64, len: u64, flags: u64) -> Reply;
    fn munlock(&mut self, addr: u64, len: u64) -> Reply;
    fn mlockall(&mut self, flags: u64) -> Reply;
    fn munlockall(&mut self) -> Reply;
    fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> Reply;
    /// `nodes`: `None` passes a NULL mask.
    fn mbind(
        &mut self,
        addr: u64,
        len: u64,
        mode: u64,
        nodes: Option<&NodeMask>,
        flags: u64,
    ) -> Reply;
    /// `set_mempolicy(mode, nodes, maxnode)`; `None` passes a NULL mask.
    fn set_mempolicy(&mut self, mode: u64, nodes: Option<&NodeMask>) -> Reply;
    /// `get_mempolicy(&policy, nmask, maxnode, addr, flags)`: the policy
    /// word, or with `nodes` the first 64 bits of the node mask.
    fn get_mempolicy(&mut self, nodes: bool, flags: u64, addr: u64) -> Reply;
    /// `set_mempolicy_home_node(start, len, home_node, flags)`.
    fn set_mempolicy_home_node(&mut self, addr: u64, len: u64, node: u64, flags: u64) -> Reply;
    /// Registers with the process's one userfaultfd (opened on first use).
    fn uffd_register(&mut self, addr: u64, len: u64, modes: u64) -> Reply;
    fn uffd_unregister(&mut self, addr: u64, len: u64) -> Reply;
    /// `UFFDIO_COPY` of `len` bytes from `src` to `dst` with `mode`
    /// (`UFFDIO_COPY_MODE_*`). The userfaultfd ioctls that fill pages
    /// (copy, zeropage, continue, poison, move) answer the byte count the
    /// kernel writes back whenever it is positive (all of `len`, or a part
    /// when the ioctl itself failed with EAGAIN), else the ioctl's errno.
    fn uffd_copy(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply;
    /// `UFFDIO_ZEROPAGE`.
    fn uffd_zeropage(&mut self, addr: u64, len: u64, mode: u64) -> Reply;
    /// `UFFDIO_WRITEPROTECT`: protect (`on`) or resolve the range.
    fn uffd_writeprotect(&mut self, addr: u64, len: u64, on: bool) -> Reply;
    /// `UFFDIO_CONTINUE`.
    fn uffd_continue(&mut self, addr: u64, len: u64, mode: u64) -> Reply;
    /// `UFFDIO_MOVE` (6.8) of `len` bytes from `src` to `dst`.
    fn uffd_move(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply;
    /// `UFFDIO_POISON` (6.6).
    fn uffd_poison(&mut self, addr: u64, len: u64, mode: u64) -> Reply;
    /// `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...)`; `None` clears.
    fn set_anon_name(&mut self, addr: u64, len: u64, name: Option<&str>) -> Reply;
    /// `prctl(PR_SET_MEMORY_MERGE, on)`.
    fn memory_merge(&mut self, on: bool) -> Reply;
    /// A one-byte access: a read (`None`) returns the byte, a write
    /// stores its value.
    fn touch(&mut self, addr: u64, write: Option<u8>) -> Reply;
    /// An instruction fetch at `addr`: `= 0` once the instruction there
    /// was fetched (whatever it then did), else the fetch's signal.
    fn touch_exec(&mut self, addr: u64) -> Reply;
    /// `fork()`: the following steps run in the child.
    fn fork(&mut self) -> Reply;
    /// In a process with a child that `in parent` left waiting: that
    /// child exits (its own waiting child first) and this process goes on.
    /// Otherwise the current process exits and its parent, which waited
    /// for it, runs the steps that follow (`= 0`); ECHILD in a process
    /// that has not forked.
    fn wait(&mut self) -> Reply;
    /// `in parent`: the current process waits and its parent runs the
    /// steps that follow; `in child` (`to_parent` false): the child that
    /// waits so runs them, and this process waits. ECHILD where there is
    /// no such process.
    fn switch(&mut self, to_parent: bool) -> Reply;
    fn msync(&mut self, addr: u64, len: u64, flags: u64) -> Reply;
    /// `prctl(PR_GET_MEMORY_MERGE)`.
    fn memory_merge_get(&mut self) -> Reply;
    /// `mincore`: the residency vector as a bit mask (bit i: page i; at
    /// most 63 pages, by the step's window rule).
    fn mincore(&mut self, addr: u64, len: u64) -> Reply;
    /// A /proc/self/status field (index into `names::STATUS`), in kB.
    fn status(&mut self, field: u64) -> Reply;
    /// An smaps field (index into `names::SMAPS`) of the VMA at `addr`, in
    /// kB; ENOENT where no VMA is.
    fn smaps(&mut self, addr: u64, field: u64) -> Reply;
    /// `prlimit64(0, resource, {soft, hard}, NULL)` for one of the
    /// resources the VMA layer checks.
    fn setrlimit(&mut self, resource: u64, soft: u64, hard: u64) -> Reply;
    /// Removes capability `cap` from the effective, permitted and
    /// inheritable sets (`capset`).
    fn drop_cap(&mut self, cap: u64) -> Reply;
    /// Writes `value` to the sysctl at index `name` of the sysctl table
    /// (`names::SYSCTL`).
    fn sysctl(&mut self, name: u64, value: i64) -> Reply;
    /// `ftruncate(fd, size)` on a scenario file.
    fn ftruncate(&mut self, fd: Fd, size: u64) -> Reply;
    /// `fcntl(fd, F_ADD_SEALS, seals)` on a scenario file.
    fn add_seals(&mut self, fd: Fd, seals: u64) -> Reply;
    /// `pwrite(fd, &value, 1, off)` on a scenario file: the bytes written.
    fn pwrite(&mut self, fd: Fd, off: u64, value: u8) -> Reply;
    /// `fallocate(fd, mode, off, len)` on a scenario file.
    fn fallocate(&mut self, fd: Fd, mode: u64, off: u64, len: u64) -> Reply;
    /// `process_madvise(pidfd_open(getpid()), iov, n, advice, flags)`
    /// with the `(start, len)` pairs as the iovec: the bytes advised.
    fn process_madvise(&mut self, advice: u64, ranges: &[(u64, u64)], flags: u64) -> Reply;
    /// `process_mrelease(pidfd_open(getpid()), flags)`.
    fn process_mrelease(&mut self, flags: u64) -> Reply;
    /// `shmat(shmid, addr, flags)` of the SysV segment `segment` names (a
    /// file that is no segment passes an invalid id): the address.
    fn shmat(&mut self, segment: Fd, addr: u64, flags: u64) -> Reply;
    /// `shmdt(addr)`.
    fn shmdt(&mut self, addr: u64) -> Reply;
    /// `remap_file_pages(start, size, prot, pgoff, flags)`.
    fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
    ) -> Reply;
}

/// A resolved argument.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Word(u64),
    Int(i64),
    Bool(bool),
    Fd(Fd),
    Nodes(Option<NodeMask>),
    Name(Option<String>),
    Ranges(Vec<(u64, u64)>),
}

/// A step's resolved arguments, read by position as the step table's
/// `call` does. Reading one as the wrong kind gives a neutral value and
/// marks the arguments, which [`run_step`] then reports (a table error,
/// caught by the table's tests, never a panic).
#[derive(Debug, Default)]
pub struct Args {
    vals: Vec<Val>,
    mismatch: Cell<bool>,
}

impl Args {
    fn get(&self, i: usize) -> Option<&Val> {
        self.vals.get(i)
    }

    fn wrong<T>(&self, neutral: T) -> T {
        self.mismatch.set(true);
        neutral
    }

    /// A machine word: an address, a length, an offset or flags.
    pub fn word(&self, i: usize) -> u64 {
        match self.get(i) {
            Some(Val::Word(w)) => *w,
            _ => self.wrong(0),
        }
    }

    pub fn int(&self, i: usize) -> i64 {
        match self.get(i) {
            Some(Val::Int(v)) => *v,
            _ => self.wrong(0),
        }
    }

    pub fn bool(&self, i: usize) -> bool {
        match self.get(i) {
            Some(Val::Bool(b)) => *b,
            _ => self.wrong(false),
        }
    }

    pub fn fd(&self, i: usize) -> Fd {
        match self.get(i) {
            Some(Val::Fd(f)) => *f,
            _ => self.wrong(Fd::Raw(-1)),
        }
    }

    pub fn nodes(&self, i: usize) -> Option<&NodeMask> {
        match self.get(i) {
            Some(Val::Nodes(n)) => n.as_ref(),
            _ => self.wrong(None),
        }
    }

    /// `(start, len)` pairs, absolute and in bytes.
    pub fn ranges(&self, i: usize) -> &[(u64, u64)] {
        match self.get(i) {
            Some(Val::Ranges(r)) => r,
            _ => self.wrong(&[]),
        }
    }

    pub fn name(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Some(Val::Name(n)) => n.as_deref(),
            _ => self.wrong(None),
        }
    }
}

/// Resolves a step's arguments against the window and the scenario's
/// files; `Err` names an argument that cannot be passed.
pub fn resolve(w: &Window, files: &[FileDecl], step: &StepKind) -> Result<Args, String> {
    let vals = step
        .spec
        .params
        .iter()
        .zip(&step.args)
        .map(|(p, a)| resolve_one(w, files, p, a))
        .collect::<Result<_, _>>()?;
    Ok(Args {
        vals,
        mismatch: Cell::new(false),
    })
}

/// One argument: addresses made absolute, amounts in bytes, flags as their
/// value, files as their index, node lists as a mask.
fn resolve_one(w: &Window, files: &[FileDecl], p: &Param, a: &Arg) -> Result<Val, String> {
    Ok(match a {
        Arg::Addr(x) => Val::Word(w.resolve(x)?),
        Arg::OptAddr(x) => Val::Word(x.as_ref().map_or(Ok(0), |a| w.resolve(a))?),
        Arg::Amount(x) if matches!(p, Param::Key(..)) => Val::Word(off_arg(x, w.page_size)),
        Arg::Amount(x) if matches!(p, Param::Limit(_)) => Val::Word(
            x.to_u64(w.page_size)
                .ok_or("a limit is negative or does not fit in 64 bits")?,
        ),
        Arg::Amount(x) => Val::Word(w.length(x)?),
        Arg::Flags(x) => Val::Word(x.value),
        Arg::Int(v) => Val::Int(*v),
        Arg::Bool(b) => Val::Bool(*b),
        Arg::Word(Some(n)) if n.contains('\0') => return Err("name contains NUL".into()),
        Arg::Word(n) => Val::Name(n.clone()),
        Arg::Fd(FdArg::Raw(n)) => Val::Fd(Fd::Raw(*n)),
        Arg::Fd(FdArg::File(n)) => Val::Fd(Fd::File(
            files
                .iter()
                .position(|f| f.name == *n)
                .ok_or("unknown file")?,
        )),
        Arg::Nodes(list) => Val::Nodes(list.as_deref().map(node_mask)),
        Arg::Ranges(pairs) => Val::Ranges(
            pairs
                .iter()
                .map(|(a, l)| Ok((w.resolve(a)?, w.length(l)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// The mask of a node list (nodes are below 1024: the parser's bound).
fn node_mask(list: &[u32]) -> NodeMask {
    let mut mask = [0u64; 16];
    for &n in list {
        if let Some(word) = mask.get_mut((n / 64) as usize) {
            *word |= 1 << (n % 64);
        }
    }
    mask
}

/// The results steps bound to names (`@a = mmap ...`), each as the window
/// or far address it returned: the same on every side that agrees, so a
/// later `@a+1` names the same page of each side's own mapping.
#[derive(Clone, Debug, Default)]
pub struct Bindings(BTreeMap<String, AddrArg>);

impl Bindings {
    /// Records what a binding step returned; a failure or an address
    /// outside the window and the far region leaves the name unbound.
    fn record(&mut self, name: &str, outcome: &Outcome) {
        let addr = match outcome {
            Outcome::Ok(Value::Addr(a)) => Some(AddrArg::Window(*a)),
            Outcome::Ok(Value::Far(a)) => Some(AddrArg::Far(*a)),
            _ => None,
        };
        match addr {
            Some(a) => self.0.insert(name.to_string(), a),
            None => self.0.remove(name),
        };
    }

    /// The bindings as text, one `NAME window|far PAGES BYTES` per line
    /// (for a fork child to hand its names back to the parent it resumes).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (name, a) in &self.0 {
            let (kind, am) = match a {
                AddrArg::Window(am) => ("window", am),
                AddrArg::Far(am) => ("far", am),
                _ => continue,
            };
            out.push_str(&format!("{name} {kind} {} {}\n", am.pages, am.bytes));
        }
        out
    }

    /// Reads what [`Bindings::encode`] wrote; lines it cannot read are
    /// left out.
    pub fn decode(text: &str) -> Bindings {
        let mut b = Bindings::default();
        for line in text.lines() {
            let w: Vec<&str> = line.split(' ').collect();
            let [name, kind, pages, bytes] = w.as_slice() else {
                continue;
            };
            let (Ok(pages), Ok(bytes)) = (pages.parse(), bytes.parse()) else {
                continue;
            };
            let am = Amount { pages, bytes };
            let a = match *kind {
                "window" => AddrArg::Window(am),
                "far" => AddrArg::Far(am),
                _ => continue,
            };
            b.0.insert(name.to_string(), a);
        }
        b
    }

    /// The step with each `@NAME+N` replaced by the address it names plus
    /// N; `Err` names a name that holds no address.
    fn substitute<'a>(&self, step: &'a StepKind) -> Result<Cow<'a, StepKind>, String> {
        let named = |a: &Arg| a.addrs().iter().any(|x| matches!(x, AddrArg::Named(..)));
        if !step.args.iter().any(named) {
            return Ok(Cow::Borrowed(step));
        }
        let mut out = step.clone();
        for a in out.args.iter_mut().flat_map(Arg::addrs_mut) {
            let AddrArg::Named(name, off) = a else {
                continue;
            };
            let plus = |b: &Amount| Amount {
                pages: b.pages + off.pages,
                bytes: b.bytes + off.bytes,
            };
            *a = match self.0.get(name.as_str()) {
                Some(AddrArg::Window(b)) => AddrArg::Window(plus(b)),
                Some(AddrArg::Far(b)) => AddrArg::Far(plus(b)),
                _ => {
                    return Err(format!(
                        "`@{name}` holds no address in the window or the far region (its step failed or placed it elsewhere)"
                    ))
                }
            };
        }
        Ok(Cow::Owned(out))
    }
}

/// Admits, resolves and runs one step on `m`: the only way either side
/// runs a step. A step binding a name records its result in `names`.
pub fn run_step(
    m: &mut dyn Machine,
    w: &Window,
    names: &mut Bindings,
    files: &[FileDecl],
    step: &StepKind,
) -> Outcome {
    let outcome = match names.substitute(step) {
        Ok(s) => run_resolved(m, w, names, files, &s),
        Err(why) => Outcome::Skipped(why),
    };
    if let Some(name) = &step.bind {
        names.record(name, &outcome);
    }
    outcome
}

/// [`run_step`] once names are replaced.
fn run_resolved(
    m: &mut dyn Machine,
    w: &Window,
    names: &mut Bindings,
    files: &[FileDecl],
    step: &StepKind,
) -> Outcome {
    if !step.body.is_empty() {
        return run_repeat(m, w, names, files, step);
    }
    match w.admit(step) {
        Admission::Run => {}
        Admission::Skip(why) => return Outcome::Skipped(why),
        Admission::Refuse(why) => return Outcome::Refused(why),
    }
    if let Err(why) = w.admit_segments(step, files) {
        return Outcome::Refused(why);
    }
    let args = match resolve(w, files, step) {
        Ok(a) => a,
        Err(why) => return Outcome::Refused(why),
    };
    let reply = (step.spec.call)(m, &args);
    if args.mismatch.get() {
        return Outcome::Refused(format!(
            "internal: `{}` reads an argument of another kind than its table declares",
            step.keyword()
        ));
    }
    match reply {
        Ok(v) if step.spec.returns == Returns::Address => Outcome::Ok(w.value_of(v as u64)),
        Ok(v) => Outcome::Ok(Value::Int(v)),
        Err(o) => o,
    }
}

/// A `repeat N stride=S` block: the body N times, iteration `i` in the
/// window moved up by `i * S` pages (and shortened by as much, so the
/// window rule still keeps every range inside the scenario's window). The
/// first outcome that is not a success ends the block and is its outcome;
/// a block that runs to the end answers N.
fn run_repeat(
    m: &mut dyn Machine,
    w: &Window,
    names: &mut Bindings,
    files: &[FileDecl],
    step: &StepKind,
) -> Outcome {
    let count = match step.args.first() {
        Some(Arg::Int(n)) => *n,
        _ => return Outcome::Refused("repeat: no iteration count".into()),
    };
    let stride = match step.args.get(1) {
        Some(Arg::Amount(a)) => u64::try_from(a.pages).unwrap_or(u64::MAX),
        _ => 0,
    };
    for i in 0..count.max(0) as u64 {
        let shift = i.saturating_mul(stride);
        if shift >= w.pages && stride != 0 {
            return Outcome::Refused(format!(
                "repeat: iteration {i} would start {shift} pages into a {}-page window",
                w.pages
            ));
        }
        let here = Window {
            base: w.base + shift * w.page_size,
            pages: w.pages - shift,
            ..*w
        };
        for s in &step.body {
            match run_step(m, &here, names, files, s) {
                Outcome::Ok(_) => {}
                other => return other,
            }
        }
    }
    Outcome::Ok(Value::Int(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_kind_is_reported_not_run() {
        let args = Args {
            vals: vec![Val::Int(1)],
            mismatch: Cell::new(false),
        };
        assert_eq!(args.word(0), 0);
        assert!(args.mismatch.get());
    }

    #[test]
    fn node_lists_become_one_mask() {
        let m = node_mask(&[0, 65, 1023]);
        assert_eq!((m[0], m[1], m[15]), (1, 2, 1 << 63));
    }
}
