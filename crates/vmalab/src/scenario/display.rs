// SPDX-License-Identifier: GPL-2.0-or-later
//! Canonical text of a scenario: parsing it gives back the same scenario
//! (line numbers aside). The oracle runner receives scenarios in this form.

use std::fmt;

use super::ast::*;
use super::lexer::{format_addr as addr, format_amount as amt};

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
            writeln!(
                f,
                "file {} pages={} {}",
                file.name,
                amt(&file.size),
                if file.writable { "rw" } else { "ro" }
            )?;
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
    /// The step as one scenario line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.keyword();
        match self {
            StepKind::Mmap {
                addr: a,
                len,
                prot,
                flags,
                fd,
                off,
            } => {
                write!(
                    f,
                    "{k} {} {} {} {}",
                    addr(a),
                    amt(len),
                    prot.text,
                    flags.text
                )?;
                match fd {
                    FdArg::Raw(-1) => {}
                    FdArg::Raw(n) => write!(f, " fd={n}")?,
                    FdArg::File(n) => write!(f, " fd={n}")?,
                }
                if *off != Amount::default() {
                    write!(f, " off={}", amt(off))?;
                }
                Ok(())
            }
            StepKind::Munmap { addr: a, len }
            | StepKind::Mlock { addr: a, len }
            | StepKind::Munlock { addr: a, len }
            | StepKind::UffdUnregister { addr: a, len } => {
                write!(f, "{k} {} {}", addr(a), amt(len))
            }
            StepKind::Mprotect { addr: a, len, prot } => {
                write!(f, "{k} {} {} {}", addr(a), amt(len), prot.text)
            }
            StepKind::PkeyMprotect {
                addr: a,
                len,
                prot,
                pkey,
            } => write!(f, "{k} {} {} {} {pkey}", addr(a), amt(len), prot.text),
            StepKind::PkeyAlloc { flags, access } => {
                write!(f, "{k} {} {}", flags.text, access.text)
            }
            StepKind::PkeyFree { pkey } => write!(f, "{k} {pkey}"),
            StepKind::Mremap {
                addr: a,
                old_len,
                new_len,
                flags,
                new_addr,
            } => {
                write!(
                    f,
                    "{k} {} {} {} {}",
                    addr(a),
                    amt(old_len),
                    amt(new_len),
                    flags.text
                )?;
                if let Some(n) = new_addr {
                    write!(f, " {}", addr(n))?;
                }
                Ok(())
            }
            StepKind::Madvise {
                addr: a,
                len,
                advice,
            } => write!(f, "{k} {} {} {}", addr(a), amt(len), advice.text),
            StepKind::Mlock2 {
                addr: a,
                len,
                flags,
            }
            | StepKind::Mseal {
                addr: a,
                len,
                flags,
            } => write!(f, "{k} {} {} {}", addr(a), amt(len), flags.text),
            StepKind::UffdRegister {
                addr: a,
                len,
                modes,
            } => write!(f, "{k} {} {} {}", addr(a), amt(len), modes.text),
            StepKind::Mlockall { flags } => write!(f, "{k} {}", flags.text),
            StepKind::Munlockall | StepKind::Fork => f.write_str(k),
            StepKind::Mbind {
                addr: a,
                len,
                mode,
                nodes,
                flags,
            } => {
                write!(f, "{k} {} {} {}", addr(a), amt(len), mode.text)?;
                if let Some(n) = nodes {
                    let list: Vec<String> = n.iter().map(u32::to_string).collect();
                    write!(f, " nodes={}", list.join(","))?;
                }
                if flags.value != 0 {
                    write!(f, " flags={}", flags.text)?;
                }
                Ok(())
            }
            StepKind::Brk { addr: a } => write!(f, "{k} {}", addr(a)),
            StepKind::SetAnonName { addr: a, len, name } => {
                write!(f, "{k} {} {}", addr(a), amt(len))?;
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                Ok(())
            }
            StepKind::MemoryMerge { on } => {
                write!(f, "{k} {}", if *on { "on" } else { "off" })
            }
            StepKind::Touch { access, addr: a } => {
                let acc = match access {
                    Access::Read => "read",
                    Access::Write => "write",
                };
                write!(f, "{k} {acc} {}", addr(a))
            }
        }
    }
}

impl fmt::Display for Expect {
    /// The expectation as scenario text, including its newline(s).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Ok => writeln!(f, "expect ok"),
            Expect::Skip => writeln!(f, "expect skip"),
            Expect::Value(ExpectValue::Outside) => writeln!(f, "expect = outside"),
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
