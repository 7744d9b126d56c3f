// SPDX-License-Identifier: GPL-2.0-or-later
//! What one step did: its return value, errno, signal, or why it did not
//! run. Produced by the kernel oracle and by the model runner.

use std::fmt;

use crate::scenario::lexer::{format_amount, format_far};
use crate::scenario::Amount;

/// A successful step's return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A plain integer (most calls return 0; `touch read` returns the byte).
    Int(i64),
    /// An address inside the window, relative to its base, normalised so
    /// that `0 <= bytes < page_size` (returned by `mmap`, `mremap`).
    Addr(Amount),
    /// An address in the far region (where the kernel places mappings whose
    /// address it chooses), relative to its top and normalised like `Addr`.
    Far(Amount),
    /// An address outside the window and the far region (compared as
    /// "outside", never by value).
    Outside,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded with this value.
    Ok(Value),
    /// The call failed with this errno (symbolic name, e.g. `ENOMEM`).
    Err(String),
    /// The step raised a signal (`SIGSEGV`), with its si_code name when known.
    Signal { name: String, code: Option<String> },
    /// The step was not run for a reason that is not a failure (e.g. `brk`,
    /// whose heap lies outside the window).
    Skipped(String),
    /// The step was not run because it could reach memory outside the
    /// window: a scenario error.
    Refused(String),
    /// The executing process died or hung during this step.
    ChildCrash(String),
    /// The model cannot tell: the kernel's answer depends on something
    /// outside the address space (whether reclaim took a page). Any
    /// outcome of the kernel's agrees with it.
    Undetermined(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Addr(a) => write!(f, "{}", format_amount(a)),
            Value::Far(a) => f.write_str(&format_far(a)),
            Value::Outside => f.write_str("outside"),
        }
    }
}

impl fmt::Display for Outcome {
    /// Renders in `expect` syntax where one exists (`= 4`, `errno ENOMEM`,
    /// `signal SIGSEGV SEGV_MAPERR`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok(v) => write!(f, "= {v}"),
            Outcome::Err(e) => write!(f, "errno {e}"),
            Outcome::Signal { name, code } => match code {
                Some(c) => write!(f, "signal {name} {c}"),
                None => write!(f, "signal {name}"),
            },
            Outcome::Skipped(why) => write!(f, "skip ({why})"),
            Outcome::Refused(why) => write!(f, "REFUSED ({why})"),
            Outcome::ChildCrash(why) => write!(f, "CRASH ({why})"),
            Outcome::Undetermined(why) => write!(f, "UNDETERMINED ({why})"),
        }
    }
}
