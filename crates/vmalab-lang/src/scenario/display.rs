// SPDX-License-Identifier: GPL-2.0-or-later
//! Canonical text of a scenario: parsing it gives back the same scenario
//! (line numbers aside). The oracle runner receives scenarios in this form.

use std::fmt;

use super::ast::*;
use super::lexer::{format_addr as addr, format_amount as amt, format_far as far};
use super::steps::Param;

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "name {}", self.name)?;
        if let Some(v) = self.min_kernel {
            writeln!(f, "min-kernel {v}")?;
        }
        for r in &self.requires {
            writeln!(f, "requires {r}")?;
        }
        writeln!(f, "window {}", self.window_pages)?;
        for file in &self.files {
            let what = match file.source {
                FileSource::Memfd => format!("pages={}", amt(&file.size)),
                FileSource::DevZero => "/dev/zero".to_string(),
                FileSource::Pipe => "pipe".to_string(),
                FileSource::Dir => "dir".to_string(),
                FileSource::Socket => "socket".to_string(),
                FileSource::Shm => format!("shm pages={}", amt(&file.size)),
                FileSource::Secret => format!("secret pages={}", amt(&file.size)),
            };
            let mode = match (file.readable, file.writable) {
                (true, true) => "rw",
                (true, false) => "ro",
                (false, true) => "wo",
                (false, false) => "path",
            };
            let sealable = if file.sealable { " sealable" } else { "" };
            writeln!(f, "file {} {what} {mode}{sealable}", file.name)?;
        }
        for step in &self.steps {
            writeln!(f, "{}", step.kind)?;
            for e in &step.expect {
                write!(f, "{e}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for StepKind {
    /// The step as one scenario line: its keyword, then each argument as
    /// its parameter spells it (optional keys left out at their default).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.bind {
            write!(f, "@{name} = ")?;
        }
        f.write_str(self.keyword())?;
        for (p, a) in self.spec.params.iter().zip(&self.args) {
            write_arg(f, p, a)?;
        }
        if !self.body.is_empty() {
            for s in &self.body {
                write!(f, "\n  {s}")?;
            }
            f.write_str("\nend")?;
        }
        Ok(())
    }
}

/// One argument with its leading space, or nothing if it is left out.
fn write_arg(f: &mut fmt::Formatter<'_>, p: &Param, a: &Arg) -> fmt::Result {
    let key = match p {
        Param::Key(k, _) => *k,
        _ => "",
    };
    match (p, a) {
        (_, Arg::Addr(x) | Arg::OptAddr(Some(x))) => write!(f, " {}", addr(x)),
        (Param::Limit(_), Arg::Amount(x)) if *x == UNLIMITED => f.write_str(" unlimited"),
        (Param::Key(..), Arg::Amount(x)) if *x == Amount::default() => Ok(()),
        (Param::Key(..), Arg::Amount(x)) => write!(f, " {key}={}", amt(x)),
        (_, Arg::Amount(x)) => write!(f, " {}", amt(x)),
        (Param::Key(..), Arg::Flags(x)) if x.value == 0 => Ok(()),
        (Param::Key(..), Arg::Flags(x)) => write!(f, " {key}={}", x.text),
        (_, Arg::Flags(x)) => write!(f, " {}", x.text),
        (Param::OptByte(_, default), Arg::Int(n)) if n == default => Ok(()),
        (_, Arg::Int(n)) => write!(f, " {n}"),
        (Param::Choice { no, yes, .. }, Arg::Bool(b)) => {
            write!(f, " {}", if *b { yes } else { no })
        }
        (_, Arg::Word(Some(w))) => write!(f, " {w}"),
        (Param::File, Arg::Fd(FdArg::File(n))) => write!(f, " {n}"),
        (_, Arg::Fd(FdArg::Raw(-1))) => Ok(()),
        (_, Arg::Fd(FdArg::Raw(n))) => write!(f, " {key}={n}"),
        (_, Arg::Fd(FdArg::File(n))) => write!(f, " {key}={n}"),
        (_, Arg::Nodes(Some(n))) => {
            let list: Vec<String> = n.iter().map(u32::to_string).collect();
            write!(f, " {key}={}", list.join(","))
        }
        (_, Arg::Ranges(pairs)) => {
            for (a, l) in pairs {
                write!(f, " {} {}", addr(a), amt(l))?;
            }
            Ok(())
        }
        (_, Arg::OptAddr(None) | Arg::Word(None) | Arg::Nodes(None) | Arg::Bool(_)) => Ok(()),
    }
}

impl fmt::Display for Expect {
    /// The expectation as scenario text, including its newline(s).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Ok => writeln!(f, "expect ok"),
            Expect::Skip => writeln!(f, "expect skip"),
            Expect::Value(ExpectValue::Outside) => writeln!(f, "expect = outside"),
            Expect::Value(ExpectValue::Far(a)) => writeln!(f, "expect = {}", far(a)),
            Expect::Value(ExpectValue::Amount(a)) => writeln!(f, "expect = {}", amt(a)),
            Expect::Errno(e) => writeln!(f, "expect errno {e}"),
            Expect::Signal { name, code } => match code {
                Some(c) => writeln!(f, "expect signal {name} {c}"),
                None => writeln!(f, "expect signal {name}"),
            },
            Expect::Layout(l) => {
                writeln!(f, "expect layout")?;
                for e in &l.0 {
                    writeln!(f, "  {e}")?;
                }
                writeln!(f, "end")
            }
            Expect::When { condition, then } => {
                let inner = then.to_string();
                let rest = inner.strip_prefix("expect ").unwrap_or(&inner);
                write!(f, "expect when {condition} {rest}")
            }
        }
    }
}
