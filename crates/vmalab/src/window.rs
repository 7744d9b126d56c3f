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
use crate::scenario::{AddrArg, Amount, Arg, StepKind};

/// VMAs the oracle runner holds outside its window, its two guards
/// included: it pads itself up to this count before the first step, so
/// that `vm.max_map_count` runs out at the same step in the kernel and in
/// the model (whose only VMAs outside the window are the two guards).
pub const RUNNER_VMAS: usize = 64;

/// How far the model lowers `vm.max_map_count`: the runner's VMAs beyond
/// the two guards both sides have.
pub const RUNNER_EXTRA_VMAS: usize = RUNNER_VMAS - 2;

/// Where a scenario's page 0 is, how many pages it spans, and the page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub base: u64,
    pub pages: u64,
    pub page_size: u64,
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

    /// The absolute address an argument names.
    pub fn resolve(&self, a: &AddrArg) -> Result<u64, String> {
        match a {
            AddrArg::Absolute(v) => Ok(*v),
            AddrArg::Window(am) => u64::try_from(i128::from(self.base) + am.value(self.page_size))
                .map_err(|_| "address is outside the 64-bit address space".to_string()),
        }
    }

    /// A length argument in bytes.
    pub fn length(&self, a: &Amount) -> Result<u64, String> {
        a.to_u64(self.page_size)
            .ok_or_else(|| "length is negative or does not fit in 64 bits".to_string())
    }

    /// Classifies `[start, start + len)` rounded out to pages.
    pub fn reach(&self, start: u64, len: u64) -> Reach {
        let ps = u128::from(self.page_size);
        let floor = u128::from(start) / ps * ps;
        let end = (u128::from(start) + u128::from(len)).div_ceil(ps) * ps;
        if end > 1 << 64 || start >= 1 << 63 {
            Reach::Absurd
        } else if floor >= u128::from(self.base) && end <= u128::from(self.end()) {
            Reach::Inside
        } else {
            Reach::Outside
        }
    }

    /// The value a returned address reports as.
    pub fn value_of(&self, addr: u64) -> Value {
        if addr >= self.base && addr < self.end() {
            let off = addr - self.base;
            Value::Addr(Amount {
                pages: i128::from(off / self.page_size),
                bytes: i128::from(off % self.page_size),
            })
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

/// The address argument at `i` (a left-out address is 0).
fn addr_at(args: &[Arg], i: usize) -> AddrArg {
    match args.get(i) {
        Some(Arg::Addr(a) | Arg::OptAddr(Some(a))) => *a,
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

    const W: Window = Window {
        base: 0x1000_0000_0000,
        pages: 64,
        page_size: 4096,
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
