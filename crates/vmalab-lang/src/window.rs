// SPDX-License-Identifier: GPL-2.0-or-later
//! The window a scenario runs in, and the rule that decides which steps may
//! run: a pure function of the step and the window, shared by the kernel
//! oracle and the model runner (through `machine::run_step`) so both refuse
//! the same steps. Which arguments form ranges is declared per step, as
//! `Rule`s, in the step table (`scenario/steps.rs`).
//!
//! The rule (also in `docs/scenario.md`): a step's memory range, rounded out
//! to whole pages, must lie inside the window, or be *absurd*: its rounded
//! end passes 2^64 (it wraps) or it starts at or above 2^63 (the kernel half,
//! where no user mapping can exist). Linux rejects absurd ranges in argument
//! validation before looking at any mapping, so they cannot touch memory
//! outside the window and are passed through for overflow tests. Anything
//! else is refused. Non-fixed `mmap` hints are free (the kernel never
//! replaces a mapping for a hint); `touch` must be inside; `brk` is skipped;
//! `MADV_HWPOISON`/`MADV_SOFT_OFFLINE` are refused because they would retire
//! the host's physical pages.

use crate::outcome::Value;
use crate::scenario::steps::Rule;
use crate::scenario::{AddrArg, Amount, Arg, FdArg, FileDecl, FileSource, StepKind};

/// VMAs the oracle runner holds outside its window, its two guards and
/// the far region's neighbours included: it pads itself up to this count
/// before the first step, so that `vm.max_map_count` runs out at the same
/// step in the kernel and in the model (whose only VMAs outside the window
/// are the two guards and the far region's top page), which lowers its
/// limit by the difference.
pub const RUNNER_VMAS: usize = 64;

/// How far below its top the far region reaches, in pages (16 GiB with
/// 4 KiB pages): the part of the open area below the runner's lowest
/// mapping that steps may name (`far-N`, `@NAME`).
pub const FAR_PAGES: u64 = 1 << 22;

/// The alignment of the far region's top: a PMD, so that the kernel's
/// huge-page alignment of large anonymous mappings places them at the same
/// far addresses on every side.
pub const FAR_ALIGN: u64 = 2 << 20;

/// Where a scenario's page 0 is, how many pages it spans, and the page size;
/// and where the far region is.
///
/// The far region is where mappings the kernel places itself land
/// (`mmap` without `MAP_FIXED` whose hint is taken, `mremap` that moves):
/// the top of the open area the top-down allocator searches first, below
/// every mapping of the runner's own. Each side makes its top the same
/// (PMD-aligned, a PROT_NONE shared-anonymous mapping just above it, every
/// hole above it filled), so the kernel places a mapping at the same
/// distance below the top on every side, and steps can name it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub base: u64,
    pub pages: u64,
    pub page_size: u64,
    /// The far region's top; `None` where the kernel allocates bottom-up
    /// (the legacy mmap layout), which leaves no such region.
    pub far: Option<u64>,
}

/// The part of a mapping a layout shows (see [`Window::shown`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    /// In the far region: pages count down from its top.
    pub far: bool,
    pub start_page: u64,
    pub end_page: u64,
    /// The first byte shown (the mapping's start unless it was cut).
    pub from: u64,
}

/// How a byte range relates to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Entirely inside (after rounding out to pages).
    Inside,
    /// Wraps past 2^64 or starts in the kernel half: rejected by the kernel
    /// before it looks at mappings.
    Absurd,
    /// Reaches memory outside the window.
    Outside,
}

/// Whether a step may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    Run,
    /// Not runnable here, not an error (`brk`).
    Skip(String),
    /// Could touch memory outside the window: a scenario error.
    Refuse(String),
}

impl Window {
    /// One past the window's last byte (saturating: a window is never
    /// allowed to reach the top of the address space anyway).
    pub fn end(&self) -> u64 {
        self.base
            .saturating_add(self.pages.saturating_mul(self.page_size))
    }

    /// The absolute address an argument names. `@NAME` addresses are
    /// replaced by what they are bound to before they get here
    /// (`machine::run_step`).
    pub fn resolve(&self, a: &AddrArg) -> Result<u64, String> {
        let (origin, am) = match a {
            AddrArg::Absolute(v) => return Ok(*v),
            AddrArg::Window(am) => (self.base, am),
            AddrArg::Far(am) => (self.far.ok_or(NO_FAR)?, am),
            AddrArg::Named(name, _) => return Err(format!("`@{name}` is not bound")),
        };
        u64::try_from(i128::from(origin) + am.value(self.page_size))
            .map_err(|_| "address is outside the 64-bit address space".to_string())
    }

    /// The far region's bottom and top, if there is one.
    pub fn far_range(&self) -> Option<(u64, u64)> {
        self.far
            .map(|top| (top.saturating_sub(FAR_PAGES * self.page_size), top))
    }

    /// A length argument in bytes.
    pub fn length(&self, a: &Amount) -> Result<u64, String> {
        a.to_u64(self.page_size)
            .ok_or_else(|| "length is negative or does not fit in 64 bits".to_string())
    }

    /// Where the mapping `[start, end)` shows in layouts: its part inside
    /// the window, else its part inside the far region; `None` if neither.
    pub fn shown(&self, start: u64, end: u64) -> Option<Shown> {
        let ps = self.page_size;
        if end > self.base && start < self.end() {
            let (s, e) = (start.max(self.base), end.min(self.end()));
            return Some(Shown {
                far: false,
                start_page: (s - self.base) / ps,
                end_page: (e - self.base) / ps,
                from: s,
            });
        }
        let (lo, top) = self.far_range()?;
        if end <= lo || start >= top {
            return None;
        }
        let (s, e) = (start.max(lo), end.min(top));
        Some(Shown {
            far: true,
            start_page: (top - s) / ps,
            end_page: (top - e) / ps,
            from: s,
        })
    }

    /// A mapping's file offset (in pages) as layouts show it. An anonymous
    /// VMA with a file (private `/dev/zero`) shows its own page index,
    /// which a move sets from its new address: where that address is in
    /// the far region, whose absolute place differs between the kernel and
    /// the model, the offset is shown relative to the region's top (a
    /// negative number of pages) so both sides agree.
    pub fn offset_shown(&self, pgoff: i64) -> i64 {
        let ps = self.page_size as i128;
        match self.far_range() {
            Some((lo, top))
                if (i128::from(lo)..i128::from(top)).contains(&(i128::from(pgoff) * ps)) =>
            {
                pgoff - (top / self.page_size) as i64
            }
            _ => pgoff,
        }
    }

    /// Classifies `[start, start + len)` rounded out to pages.
    pub fn reach(&self, start: u64, len: u64) -> Reach {
        let ps = u128::from(self.page_size);
        let floor = u128::from(start) / ps * ps;
        let end = (u128::from(start) + u128::from(len)).div_ceil(ps) * ps;
        let within = |lo: u64, hi: u64| floor >= u128::from(lo) && end <= u128::from(hi);
        if end > 1 << 64 || start >= 1 << 63 {
            Reach::Absurd
        } else if within(self.base, self.end())
            || self.far_range().is_some_and(|(lo, hi)| within(lo, hi))
        {
            Reach::Inside
        } else {
            Reach::Outside
        }
    }

    /// The value a returned address reports as.
    pub fn value_of(&self, addr: u64) -> Value {
        let ps = i128::from(self.page_size);
        let split = |off: i128| Amount {
            pages: off.div_euclid(ps),
            bytes: off.rem_euclid(ps),
        };
        if addr >= self.base && addr < self.end() {
            Value::Addr(split(i128::from(addr - self.base)))
        } else if let Some((_, top)) = self
            .far_range()
            .filter(|&(lo, top)| addr >= lo && addr < top)
        {
            Value::Far(split(i128::from(addr) - i128::from(top)))
        } else {
            Value::Outside
        }
    }

    /// Checks one range argument pair.
    fn range_ok(&self, what: &str, addr: &AddrArg, len: &Amount) -> Result<(), String> {
        let start = self.resolve(addr)?;
        let len = self.length(len)?;
        match self.reach(start, len) {
            Reach::Inside | Reach::Absurd => Ok(()),
            Reach::Outside => Err(format!(
                "{what} range reaches outside the window of {} pages",
                self.pages
            )),
        }
    }

    /// Applies the window rule to a step: its table entry's rules, in order.
    pub fn admit(&self, step: &StepKind) -> Admission {
        let far_arg = |a: &Arg| a.addrs().iter().any(|x| matches!(x, AddrArg::Far(_)));
        if self.far.is_none() && step.args.iter().any(far_arg) {
            return Admission::Skip(NO_FAR.into());
        }
        for rule in step.spec.rules {
            if let Rule::Skip(why) = rule {
                return Admission::Skip(why.to_string());
            }
            if let Err(why) = self.check(rule, &step.args) {
                return Admission::Refuse(why);
            }
        }
        Admission::Run
    }

    /// The window rule of SysV attaches (`Rule::Segment`), which needs the
    /// segment's size: an attach at an address maps the whole segment
    /// there. An address of 0 is the kernel's choice; a file that is no
    /// segment maps nothing (EINVAL).
    pub fn admit_segments(&self, step: &StepKind, files: &[FileDecl]) -> Result<(), String> {
        for rule in step.spec.rules {
            let Rule::Segment { file, addr, flags } = *rule else {
                continue;
            };
            let segment = match step.args.get(file) {
                Some(Arg::Fd(FdArg::File(n))) => files
                    .iter()
                    .find(|f| f.name == *n && f.source == FileSource::Shm),
                _ => None,
            };
            let Some(segment) = segment else {
                continue;
            };
            let mut at = self.resolve(&addr_at(&step.args, addr))?;
            if at == 0 {
                continue;
            }
            let flags = flags_at(&step.args, flags);
            if flags & u64::from(vma::sys::consts::SHM_RND) != 0 {
                at &= !(self.page_size - 1);
                // Rounded down to 0 under SHM_REMAP: EINVAL, nothing maps.
                if at == 0 && flags & u64::from(vma::sys::consts::SHM_REMAP) != 0 {
                    continue;
                }
            }
            let size = segment
                .size
                .to_u64(self.page_size)
                .ok_or("segment size does not fit in 64 bits")?;
            if self.reach(at, size) == Reach::Outside {
                return Err(format!(
                    "shmat of `{}` reaches outside the window of {} pages",
                    segment.name, self.pages
                ));
            }
        }
        Ok(())
    }

    /// One rule on a step's arguments.
    fn check(&self, rule: &Rule, args: &[Arg]) -> Result<(), String> {
        match *rule {
            Rule::Range { label, addr, len } => {
                self.range_ok(label, &addr_at(args, addr), &amount_at(args, len))
            }
            Rule::RangeIf {
                label,
                addr,
                len,
                flags,
                mask,
            } => {
                let (a, l) = (addr_at(args, addr), amount_at(args, len));
                if flags_at(args, flags) & mask != 0 {
                    self.range_ok(label, &a, &l)
                } else {
                    self.resolve(&a).and(self.length(&l)).map(|_| ())
                }
            }
            // An optional address left out is NULL, which reaches nothing.
            Rule::Inside { addr, .. } if matches!(args.get(addr), Some(Arg::OptAddr(None))) => {
                Ok(())
            }
            Rule::Inside { addr, why } => {
                match self.reach(self.resolve(&addr_at(args, addr))?, 1) {
                    Reach::Inside => Ok(()),
                    _ => Err(why.into()),
                }
            }
            Rule::Forbid { arg, values, why } => match values.contains(&flags_at(args, arg)) {
                true => Err(why.into()),
                false => Ok(()),
            },
            Rule::FitsOffT { arg } => match fits_off_t(&amount_at(args, arg), self.page_size) {
                true => Ok(()),
                false => Err("offset does not fit in 64 bits".into()),
            },
            Rule::Known { arg, kind } => {
                let text = match args.get(arg) {
                    Some(Arg::Flags(f)) => f.text.as_str(),
                    _ => "",
                };
                match kind.table().iter().any(|&(n, _)| n == text) {
                    true => Ok(()),
                    false => Err(format!("`{text}` is not one {} name", kind.describe())),
                }
            }
            Rule::MaxPages {
                addr,
                len,
                pages,
                why,
            } => {
                let a = self.resolve(&addr_at(args, addr))?;
                let l = self.length(&amount_at(args, len))?;
                let max = u128::from(pages) * u128::from(self.page_size);
                match self.reach(a, l) {
                    Reach::Absurd => Ok(()),
                    _ if u128::from(l) <= max => Ok(()),
                    _ => Err(why.into()),
                }
            }
            // Needs the scenario's files: see `admit_segments`.
            Rule::Segment { .. } => Ok(()),
            Rule::Ranges { label, arg } => match args.get(arg) {
                Some(Arg::Ranges(pairs)) => pairs
                    .iter()
                    .try_for_each(|(a, l)| self.range_ok(label, a, l)),
                _ => Ok(()),
            },
            Rule::Skip(_) => Ok(()),
        }
    }
}

/// Why a far address cannot be resolved.
const NO_FAR: &str = "no far region here: the kernel allocates bottom-up (legacy mmap layout)";

/// The address argument at `i` (a left-out address is 0).
fn addr_at(args: &[Arg], i: usize) -> AddrArg {
    match args.get(i) {
        Some(Arg::Addr(a) | Arg::OptAddr(Some(a))) => a.clone(),
        _ => AddrArg::Absolute(0),
    }
}

/// The amount argument at `i`.
fn amount_at(args: &[Arg], i: usize) -> Amount {
    match args.get(i) {
        Some(Arg::Amount(a)) => *a,
        _ => Amount::default(),
    }
}

/// The value of the flags argument at `i`.
fn flags_at(args: &[Arg], i: usize) -> u64 {
    match args.get(i) {
        Some(Arg::Flags(f)) => f.value,
        _ => 0,
    }
}

/// True if an offset amount fits the kernel's 64-bit `off_t` argument
/// (negative values are passed as their two's complement).
fn fits_off_t(off: &Amount, page_size: u64) -> bool {
    let v = off.value(page_size);
    v >= i128::from(i64::MIN) && v <= i128::from(u64::MAX)
}

/// The offset argument as the register value passed to the kernel.
pub fn off_arg(off: &Amount, page_size: u64) -> u64 {
    off.value(page_size) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 0x7fff_f7e0_0000;

    const W: Window = Window {
        base: 0x1000_0000_0000,
        pages: 64,
        page_size: 4096,
        far: Some(TOP),
    };

    #[test]
    fn reach_rules() {
        assert_eq!(W.reach(W.base, 64 * 4096), Reach::Inside);
        assert_eq!(W.reach(W.base + 100, 1), Reach::Inside);
        assert_eq!(W.reach(W.end(), 0), Reach::Inside);
        assert_eq!(W.reach(W.base, 64 * 4096 + 1), Reach::Outside);
        assert_eq!(W.reach(W.base - 1, 1), Reach::Outside);
        assert_eq!(W.reach(0, 4096), Reach::Outside);
        assert_eq!(W.reach(W.base, u64::MAX), Reach::Absurd);
        assert_eq!(W.reach(1 << 63, 4096), Reach::Absurd);
        assert_eq!(W.reach(TOP - 4 * 4096, 4 * 4096), Reach::Inside);
        assert_eq!(W.reach(TOP - 4 * 4096, 5 * 4096), Reach::Outside);
        let bottom = TOP - FAR_PAGES * 4096;
        assert_eq!(W.reach(bottom, 4096), Reach::Inside);
        assert_eq!(W.reach(bottom - 1, 2), Reach::Outside);
        let none = Window { far: None, ..W };
        assert_eq!(none.reach(TOP - 4096, 4096), Reach::Outside);
    }

    /// Far addresses resolve below the top, and come back as the same
    /// far value; mappings there show with pages counted down.
    #[test]
    fn far_addresses() {
        let a = crate::scenario::lexer::address("far-4+100b", 0).unwrap();
        let addr = W.resolve(&a).unwrap();
        assert_eq!(addr, TOP - 4 * 4096 + 100);
        assert_eq!(
            W.value_of(addr),
            Value::Far(Amount {
                pages: -4,
                bytes: 100
            })
        );
        assert_eq!(W.value_of(TOP).to_string(), "outside");
        let shown = W.shown(TOP - 8 * 4096, TOP - 2 * 4096).unwrap();
        assert_eq!((shown.far, shown.start_page, shown.end_page), (true, 8, 2));
        assert_eq!(W.shown(0x5000, 0x6000), None);
        let none = Window { far: None, ..W };
        assert!(none.resolve(&a).is_err());
    }

    #[test]
    fn admission() {
        let s = crate::scenario::parse(
            "t",
            "mmap 0 64 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\n\
             mmap 60 8 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\n\
             mmap abs:0 8 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS\n\
             munmap 0 0xFFFFFFFFFFFFFFFFb\n\
             mprotect -1 1 PROT_READ\n\
             touch read 64\n\
             brk 0\n\
             mremap 0 4 8 MREMAP_MAYMOVE|MREMAP_FIXED 100\n\
             madvise 0 1 MADV_HWPOISON\n",
        )
        .unwrap();
        let got: Vec<bool> = s
            .steps
            .iter()
            .map(|st| W.admit(&st.kind) == Admission::Run)
            .collect();
        assert_eq!(
            got,
            [true, false, true, true, false, false, false, false, false]
        );
        assert!(matches!(W.admit(&s.steps[6].kind), Admission::Skip(_)));
    }

    #[test]
    fn values() {
        assert_eq!(
            W.value_of(W.base + 4096 + 5),
            Value::Addr(Amount { pages: 1, bytes: 5 })
        );
        assert_eq!(W.value_of(W.end()), Value::Outside);
    }
}
