// SPDX-License-Identifier: GPL-2.0-or-later
//! The line protocol between the oracle runner (which executes a scenario
//! in its own address space) and its parent. Plain text so the runner can
//! later run inside a VM and talk over a serial line.
//!
//! Runner to parent, one item per line:
//!
//! ```text
//! hello vmalab-oracle 2
//! kernel RELEASE MACHINE       # uname of the kernel that runs the steps
//! window BASE_HEX PAGES PAGE_SIZE FAR_TOP_HEX   # far top 0: none
//! begin I                      # step I starts
//! result I OUTCOME             # ok int N | ok addr PAGES BYTES
//!                              # | ok far PAGES BYTES | ok outside
//!                              # | err ENAME | signal SIGNAME [CODE]
//!                              # | skip TEXT | refused TEXT
//! layout I                     # the window after step I, then entries
//! 0-4 rw-p 0 anon [rd wr mr mw me ac]
//! end
//! child-died SIGNAME           # written by a process whose fork child died
//! fatal TEXT                   # setup failed
//! done
//! ```
//!
//! Parent to runner: the scenario's canonical text on stdin.

use anyhow::{anyhow, bail, Context};

use crate::layout::{entry_from_exact, parse_entry, Layout};
use crate::outcome::{Outcome, Value};
use crate::scenario::Amount;
use crate::trace::StepResult;

/// Protocol version in the hello line.
pub const VERSION: u32 = 2;

/// Encodes an outcome for a `result` line.
pub fn encode_outcome(o: &Outcome) -> String {
    let oneline = |s: &str| s.replace('\n', " ");
    match o {
        Outcome::Ok(Value::Int(i)) => format!("ok int {i}"),
        Outcome::Ok(Value::Addr(a)) => format!("ok addr {} {}", a.pages, a.bytes),
        Outcome::Ok(Value::Far(a)) => format!("ok far {} {}", a.pages, a.bytes),
        Outcome::Ok(Value::Outside) => "ok outside".into(),
        Outcome::Err(e) => format!("err {e}"),
        Outcome::Signal { name, code } => match code {
            Some(c) => format!("signal {name} {c}"),
            None => format!("signal {name}"),
        },
        Outcome::Skipped(t) => format!("skip {}", oneline(t)),
        Outcome::Refused(t) => format!("refused {}", oneline(t)),
        Outcome::ChildCrash(t) => format!("crash {}", oneline(t)),
        Outcome::Undetermined(t) => format!("undetermined {}", oneline(t)),
    }
}

/// Decodes the OUTCOME part of a `result` line.
pub fn decode_outcome(s: &str) -> anyhow::Result<Outcome> {
    let mut w = s.splitn(2, ' ');
    let kind = w.next().unwrap_or("");
    let rest = w.next().unwrap_or("");
    let words: Vec<&str> = rest.split_whitespace().collect();
    Ok(match (kind, words.as_slice()) {
        ("ok", ["int", i]) => Outcome::Ok(Value::Int(i.parse()?)),
        ("ok", ["addr", p, b]) => Outcome::Ok(Value::Addr(Amount {
            pages: p.parse()?,
            bytes: b.parse()?,
        })),
        ("ok", ["far", p, b]) => Outcome::Ok(Value::Far(Amount {
            pages: p.parse()?,
            bytes: b.parse()?,
        })),
        ("ok", ["outside"]) => Outcome::Ok(Value::Outside),
        ("err", [e]) => Outcome::Err(e.to_string()),
        ("signal", [n]) => Outcome::Signal {
            name: n.to_string(),
            code: None,
        },
        ("signal", [n, c]) => Outcome::Signal {
            name: n.to_string(),
            code: Some(c.to_string()),
        },
        ("skip", _) => Outcome::Skipped(rest.to_string()),
        ("refused", _) => Outcome::Refused(rest.to_string()),
        ("crash", _) => Outcome::ChildCrash(rest.to_string()),
        ("undetermined", _) => Outcome::Undetermined(rest.to_string()),
        _ => bail!("bad outcome `{s}`"),
    })
}

/// The decoded runner output.
#[derive(Debug, Default)]
pub struct RunnerOutput {
    /// `uname -r` and machine of the runner's kernel.
    pub kernel: Option<String>,
    pub base: u64,
    pub window_pages: u64,
    pub page_size: u64,
    /// The far region's top, if the runner has one.
    pub far: Option<u64>,
    pub steps: Vec<StepResult>,
    /// A step that began but has no result (the process died in it).
    pub unfinished: Option<usize>,
    pub child_died: Option<String>,
    pub fatal: Option<String>,
    pub done: bool,
}

/// Decodes everything the runner printed (possibly cut short).
pub fn decode(text: &str) -> anyhow::Result<RunnerOutput> {
    let mut out = RunnerOutput::default();
    let mut lines = text.lines().enumerate();
    let mut pending: Option<(usize, Outcome)> = None;
    while let Some((n, line)) = lines.next() {
        let ctx = || format!("runner output line {}: `{line}`", n + 1);
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "hello" => {
                if rest != format!("vmalab-oracle {VERSION}") {
                    bail!("runner speaks `{rest}`, expected vmalab-oracle {VERSION}");
                }
            }
            "window" => {
                let v: Vec<&str> = rest.split_whitespace().collect();
                let [b, p, ps, far] = v.as_slice() else {
                    return Err(anyhow!("bad window line")).with_context(ctx);
                };
                let hex = |t: &str| u64::from_str_radix(t.trim_start_matches("0x"), 16);
                out.base = hex(b).with_context(ctx)?;
                out.far = Some(hex(far).with_context(ctx)?).filter(|&t| t != 0);
                out.window_pages = p.parse().with_context(ctx)?;
                out.page_size = ps.parse().with_context(ctx)?;
            }
            "kernel" => out.kernel = Some(rest.to_string()),
            "begin" => out.unfinished = Some(rest.parse().with_context(ctx)?),
            "result" => {
                let (i, o) = rest.split_once(' ').unwrap_or((rest, ""));
                pending = Some((
                    i.parse().with_context(ctx)?,
                    decode_outcome(o).with_context(ctx)?,
                ));
            }
            "layout" => {
                let i: usize = rest.parse().with_context(ctx)?;
                let mut layout = Layout::default();
                loop {
                    let Some((m, l)) = lines.next() else {
                        // Cut short inside a layout: the step is unfinished.
                        return Ok(out);
                    };
                    if l == "end" {
                        break;
                    }
                    let e = parse_entry(l)
                        .map_err(|(_, msg)| anyhow!("runner output line {}: {msg}", m + 1))?;
                    layout.0.push(
                        entry_from_exact(e).ok_or_else(|| {
                            anyhow!("runner output line {}: inexact entry", m + 1)
                        })?,
                    );
                }
                let Some((pi, outcome)) = pending.take().filter(|(pi, _)| *pi == i) else {
                    return Err(anyhow!("layout without result")).with_context(ctx);
                };
                out.steps.push(StepResult {
                    index: pi,
                    outcome,
                    layout,
                });
                out.unfinished = None;
            }
            "child-died" => out.child_died = Some(rest.to_string()),
            "fatal" => out.fatal = Some(rest.to_string()),
            "done" => out.done = true,
            _ => return Err(anyhow!("unknown runner line")).with_context(ctx),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        for o in [
            Outcome::Ok(Value::Int(-3)),
            Outcome::Ok(Value::Addr(Amount { pages: 4, bytes: 7 })),
            Outcome::Ok(Value::Outside),
            Outcome::Err("ENOMEM".into()),
            Outcome::Signal {
                name: "SIGSEGV".into(),
                code: Some("SEGV_MAPERR".into()),
            },
            Outcome::Signal {
                name: "SIGBUS".into(),
                code: None,
            },
            Outcome::Skipped("brk: heap".into()),
            Outcome::Refused("outside the window".into()),
        ] {
            assert_eq!(decode_outcome(&encode_outcome(&o)).unwrap(), o);
        }
    }

    #[test]
    fn decodes_a_run() {
        let text = "hello vmalab-oracle 2\nwindow 0x100000000000 64 4096 0x7f0000000000\nbegin 0\n\
                    result 0 ok addr 0 0\nlayout 0\n0-4 rw-p 0 anon [rd wr]\nend\nbegin 1\n";
        let out = decode(text).unwrap();
        assert_eq!(out.base, 0x1000_0000_0000);
        assert_eq!(out.steps.len(), 1);
        assert_eq!(out.steps[0].layout.0.len(), 1);
        assert_eq!(out.unfinished, Some(1));
        assert!(!out.done);
    }
}
