// SPDX-License-Identifier: GPL-2.0-or-later
//! Recorded address-space histories: `vmalab record` writes what shadowing
//! sees, `vmalab replay` runs it on the model alone, on any machine.
//!
//! The format is text, one event per line, written as it happens:
//!
//! ```text
//! vmalab-trace 1
//! host KEY VALUE                 the kernel's configuration (see vm::report)
//! file ID MAJ:MIN INO PAGES R W SHMEM THP PATH
//!                                an open file description (R W ... are 0/1)
//! seed SPACE START_BRK BRK STACK|-
//! v START END PGOFF FLAGS FILE|- FAULTED
//! end                            an address space taken from a snapshot
//!                                (at exec, or after a call not modelled)
//! fork SPACE PARENT              SPACE is a fork of PARENT now
//! fault SPACE ADDR               an anonymous page the model could not see
//! call SPACE NR A0 A1 A2 A3 A4 A5 FILE|- RESULT
//! layout SPACE                   the kernel's address space after the call
//! <lines as shadowing compares them>
//! end
//! ```
//!
//! Numbers are hexadecimal but for `SPACE`, `NR`, `PAGES`, `RESULT`
//! (signed decimal) and the 0/1 flags. A file ID is a model inode number.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context};
use vma::{File, FileKind, Mm, SeedProcess, SeedVma, VmFlags};

use super::call::{show_result, Call, Raw};
use crate::oracle::smaps::FileKey;

/// The trace format's version.
pub const VERSION: u32 = 1;

/// Writes a trace as events happen.
pub struct Recorder {
    out: Box<dyn Write>,
    declared: HashSet<u64>,
}

impl Recorder {
    /// A trace of a run on a kernel configured as `host`.
    pub fn new(
        mut out: Box<dyn Write>,
        host: &crate::host::HostConfig,
    ) -> anyhow::Result<Recorder> {
        writeln!(out, "vmalab-trace {VERSION}")?;
        for line in crate::vm::report::encode(host).lines() {
            writeln!(out, "host {line}")?;
        }
        Ok(Recorder {
            out,
            declared: HashSet::new(),
        })
    }

    /// Declares `file` once, with its kernel identity.
    pub fn file(&mut self, file: &File, key: FileKey) -> std::io::Result<()> {
        let f = file.inner();
        if !self.declared.insert(f.ino) {
            return Ok(());
        }
        let b = |v: bool| u8::from(v);
        writeln!(
            self.out,
            "file {} {:x}:{:x} {} {} {} {} {} {} {}",
            f.ino,
            key.0,
            key.1,
            key.2,
            file.size_pages(),
            b(f.readable),
            b(f.writable),
            b(f.kind == FileKind::Shmem),
            b(f.thp_aligned),
            f.path
        )
    }

    pub fn seed(&mut self, space: usize, vmas: &[SeedVma], p: &SeedProcess) -> std::io::Result<()> {
        let stack = p.start_stack.map_or("-".to_string(), |s| format!("{s:x}"));
        writeln!(
            self.out,
            "seed {space} {:x} {:x} {stack}",
            p.start_brk, p.brk
        )?;
        for v in vmas {
            let file = v
                .file
                .as_ref()
                .map_or("-".to_string(), |f| f.inner().ino.to_string());
            writeln!(
                self.out,
                "v {:x} {:x} {:x} {:x} {file} {}",
                v.start,
                v.end,
                v.pgoff,
                v.flags.0,
                u8::from(v.faulted)
            )?;
        }
        writeln!(self.out, "end")
    }

    pub fn fork(&mut self, space: usize, parent: usize) -> std::io::Result<()> {
        writeln!(self.out, "fork {space} {parent}")
    }

    pub fn fault(&mut self, space: usize, addr: u64) -> std::io::Result<()> {
        writeln!(self.out, "fault {space} {addr:x}")
    }

    pub fn call(
        &mut self,
        space: usize,
        raw: &Raw,
        file: Option<&File>,
        result: i64,
        layout: &[String],
    ) -> std::io::Result<()> {
        let a = raw.args;
        let file = file.map_or("-".to_string(), |f| f.inner().ino.to_string());
        writeln!(
            self.out,
            "call {space} {} {:x} {:x} {:x} {:x} {:x} {:x} {file} {result}",
            raw.nr, a[0], a[1], a[2], a[3], a[4], a[5]
        )?;
        writeln!(self.out, "layout {space}")?;
        for l in layout {
            writeln!(self.out, "{l}")?;
        }
        writeln!(self.out, "end")
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Options of `vmalab replay`.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Stop after this many calls and print the address space there.
    pub until: Option<u64>,
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub spaces: u64,
    pub calls: u64,
    /// Calls whose result or following layout differed from the recording.
    pub mismatches: u64,
}

/// A replay in progress.
struct Replayer {
    config: vma::Config,
    files: HashMap<u64, File>,
    /// Model inode -> kernel identity.
    keys: HashMap<u64, FileKey>,
    spaces: Vec<Option<Mm>>,
    summary: ReplaySummary,
    /// Do not print mismatches.
    quiet: bool,
}

/// Replays a trace file on the model; errors name the file and line.
pub fn replay(path: &Path, opts: &ReplayOptions) -> anyhow::Result<ReplaySummary> {
    let end = replay_to(path, opts, false, &mut |_| {})?;
    if let (Some(space), Some(mut r)) = (end.stopped_in, end.replayer) {
        print!("{}", r.space(space)?.maps());
        return Ok(r.summary);
    }
    Ok(end.summary)
}

/// The address space that made the last call replayed (the `until`th,
/// or the trace's last), without printing anything.
pub fn replay_space(path: &Path, until: Option<u64>) -> anyhow::Result<Mm> {
    let end = replay_to(path, &ReplayOptions { until }, true, &mut |_| {})?;
    let space = end
        .stopped_in
        .or(end.last_space)
        .ok_or_else(|| anyhow::anyhow!("{}: the trace has no address space", path.display()))?;
    end.replayer
        .and_then(|mut r| r.spaces.get_mut(space)?.take())
        .ok_or_else(|| anyhow::anyhow!("{}: address space {space} is gone", path.display()))
}

/// One call of a trace, just replayed.
pub struct Replayed<'a> {
    /// The call's number in the trace, from 1.
    pub number: u64,
    /// The address space (process) that made it, numbered as the trace does.
    pub space: usize,
    /// The call.
    pub call: &'a Call,
    /// Its address space after it.
    pub mm: &'a Mm,
}

/// Replays a trace quietly up to call `until` (or its end), showing each
/// call and the address space after it to `each`.
pub fn replay_each(
    path: &Path,
    until: Option<u64>,
    each: &mut dyn FnMut(Replayed<'_>),
) -> anyhow::Result<()> {
    replay_to(path, &ReplayOptions { until }, true, each).map(|_| ())
}

/// Where a replay stopped.
struct ReplayEnd {
    summary: ReplaySummary,
    replayer: Option<Replayer>,
    /// The space of the `until`th call, if the replay stopped there.
    stopped_in: Option<usize>,
    /// The space of the last call replayed.
    last_space: Option<usize>,
}

fn replay_to(
    path: &Path,
    opts: &ReplayOptions,
    quiet: bool,
    each: &mut dyn FnMut(Replayed<'_>),
) -> anyhow::Result<ReplayEnd> {
    let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut lines = std::io::BufReader::new(f).lines().enumerate();
    let mut next = || -> anyhow::Result<Option<(usize, String)>> {
        match lines.next() {
            None => Ok(None),
            Some((n, l)) => Ok(Some((
                n + 1,
                l.with_context(|| format!("{}:{}", path.display(), n + 1))?,
            ))),
        }
    };
    let at = |n: usize| format!("{}:{n}", path.display());
    match next()? {
        Some((_, l)) if l == format!("vmalab-trace {VERSION}") => {}
        Some((n, l)) => bail!("{}: not a vmalab trace of version {VERSION}: `{l}`", at(n)),
        None => bail!("{}: empty file", path.display()),
    }
    let mut host_lines = String::new();
    let mut r: Option<Replayer> = None;
    let mut last_space = None;
    while let Some((n, line)) = next()? {
        let words: Vec<&str> = line.split(' ').collect();
        if let Some(rest) = line.strip_prefix("host ") {
            host_lines.push_str(rest);
            host_lines.push('\n');
            continue;
        }
        let rp = match &mut r {
            Some(rp) => rp,
            None => {
                let host = crate::vm::report::decode(&host_lines).with_context(|| at(n))?;
                r.insert(Replayer {
                    config: crate::model::config_for(&host),
                    files: HashMap::new(),
                    keys: HashMap::new(),
                    spaces: Vec::new(),
                    summary: ReplaySummary::default(),
                    quiet,
                })
            }
        };
        let bad = || anyhow::anyhow!("{}: malformed line `{line}`", at(n));
        let hex = |i: usize| -> anyhow::Result<u64> {
            words
                .get(i)
                .and_then(|w| u64::from_str_radix(w, 16).ok())
                .ok_or_else(bad)
        };
        let dec = |i: usize| -> anyhow::Result<usize> {
            words.get(i).and_then(|w| w.parse().ok()).ok_or_else(bad)
        };
        match words[0] {
            "file" => rp.file(&words).ok_or_else(bad)?,
            "seed" => {
                let space = dec(1)?;
                let process = SeedProcess {
                    start_brk: hex(2)?,
                    brk: hex(3)?,
                    start_stack: if words.get(4) == Some(&"-") {
                        None
                    } else {
                        Some(hex(4)?)
                    },
                    mmap_base: None,
                };
                let mut vmas = Vec::new();
                loop {
                    let Some((m, v)) = next()? else {
                        bail!("{}: seed without end", at(n))
                    };
                    if v == "end" {
                        break;
                    }
                    vmas.push(
                        rp.seed_vma(&v)
                            .ok_or_else(|| anyhow::anyhow!("{}: bad VMA `{v}`", at(m)))?,
                    );
                }
                rp.seed(space, &vmas, process).with_context(|| at(n))?;
            }
            "fork" => {
                let (space, parent) = (dec(1)?, dec(2)?);
                let child = rp.space(parent).with_context(|| at(n))?.fork();
                let child = child.map_err(|e| anyhow::anyhow!("{}: fork: {e:?}", at(n)))?;
                rp.summary.spaces += 1;
                rp.put(space, child);
            }
            "fault" => {
                let (space, addr) = (dec(1)?, hex(2)?);
                let _ = rp
                    .space(space)
                    .with_context(|| at(n))?
                    .note_anon_fault(addr);
            }
            "call" => {
                let space = dec(1)?;
                let raw = Raw {
                    nr: words.get(2).and_then(|w| w.parse().ok()).ok_or_else(bad)?,
                    args: [hex(3)?, hex(4)?, hex(5)?, hex(6)?, hex(7)?, hex(8)?],
                };
                let file = match words.get(9) {
                    Some(&"-") => None,
                    Some(w) => Some(
                        w.parse::<u64>()
                            .ok()
                            .and_then(|i| rp.files.get(&i).cloned())
                            .ok_or_else(bad)?,
                    ),
                    None => return Err(bad()),
                };
                let recorded: i64 = words.get(10).and_then(|w| w.parse().ok()).ok_or_else(bad)?;
                let Some((_, l)) = next()? else {
                    bail!("{}: call without layout", at(n))
                };
                if l != format!("layout {space}") {
                    bail!("{}: expected `layout {space}`", at(n + 1));
                }
                let mut kernel = Vec::new();
                loop {
                    let Some((_, v)) = next()? else {
                        bail!("{}: layout without end", at(n))
                    };
                    if v == "end" {
                        break;
                    }
                    kernel.push(v);
                }
                let call = Call::decode(&raw).ok_or_else(bad)?;
                rp.summary.calls += 1;
                rp.call(space, &call, file.as_ref(), recorded, &kernel, n)?;
                last_space = Some(space);
                each(Replayed {
                    number: rp.summary.calls,
                    space,
                    call: &call,
                    mm: rp.space(space).with_context(|| at(n))?,
                });
                if opts.until == Some(rp.summary.calls) {
                    return Ok(ReplayEnd {
                        summary: rp.summary.clone(),
                        replayer: r,
                        stopped_in: Some(space),
                        last_space,
                    });
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(ReplayEnd {
        summary: r.as_ref().map(|r| r.summary.clone()).unwrap_or_default(),
        replayer: r,
        stopped_in: None,
        last_space,
    })
}

impl Replayer {
    fn file(&mut self, w: &[&str]) -> Option<()> {
        let id: u64 = w.get(1)?.parse().ok()?;
        let (ma, mi) = w.get(2)?.split_once(':')?;
        let key = (
            u32::from_str_radix(ma, 16).ok()?,
            u32::from_str_radix(mi, 16).ok()?,
            w.get(3)?.parse().ok()?,
        );
        let pages: u64 = w.get(4)?.parse().ok()?;
        let flag = |i: usize| w.get(i).map(|v| *v == "1");
        let (r, wr, shmem, thp) = (flag(5)?, flag(6)?, flag(7)?, flag(8)?);
        let path = w.get(9..)?.join(" ");
        let file = if thp && !shmem {
            File::on_thp_filesystem(&path, pages, r, wr)
        } else {
            let kind = if shmem {
                FileKind::Shmem
            } else {
                FileKind::Regular
            };
            File::new(&path, pages, kind, r, wr)
        };
        self.keys.insert(file.inner().ino, key);
        self.files.insert(id, file);
        Some(())
    }

    fn seed_vma(&self, line: &str) -> Option<SeedVma> {
        let w: Vec<&str> = line.split(' ').collect();
        let hex = |i: usize| w.get(i).and_then(|v| u64::from_str_radix(v, 16).ok());
        if w.first() != Some(&"v") {
            return None;
        }
        let file = match *w.get(5)? {
            "-" => None,
            id => Some(self.files.get(&id.parse().ok()?)?.clone()),
        };
        Some(SeedVma {
            start: hex(1)?,
            end: hex(2)?,
            pgoff: hex(3)?,
            flags: VmFlags(hex(4)?),
            file,
            faulted: *w.get(6)? == "1",
        })
    }

    fn seed(&mut self, space: usize, vmas: &[SeedVma], p: SeedProcess) -> anyhow::Result<()> {
        let mut mm = Mm::new(self.config.clone());
        mm.seed(vmas, p)
            .map_err(|e| anyhow::anyhow!("seed refused: {e:?}"))?;
        if self.spaces.get(space).is_none_or(|s| s.is_none()) {
            self.summary.spaces += 1;
        }
        self.put(space, mm);
        Ok(())
    }

    fn put(&mut self, space: usize, mm: Mm) {
        if self.spaces.len() <= space {
            self.spaces.resize_with(space + 1, || None);
        }
        self.spaces[space] = Some(mm);
    }

    fn space(&mut self, space: usize) -> anyhow::Result<&mut Mm> {
        self.spaces
            .get_mut(space)
            .and_then(Option::as_mut)
            .with_context(|| format!("no address space {space}"))
    }

    fn call(
        &mut self,
        space: usize,
        call: &Call,
        file: Option<&File>,
        recorded: i64,
        kernel: &[String],
        line: usize,
    ) -> anyhow::Result<()> {
        let keys = &mut self.keys;
        let mm = self
            .spaces
            .get_mut(space)
            .and_then(Option::as_mut)
            .with_context(|| format!("line {line}: no address space {space}"))?;
        let Some(result) = call.apply(mm, file) else {
            return Ok(());
        };
        let model = super::layout_lines(mm, kernel, &mut |f, seen| {
            *keys.entry(f.inner().ino).or_insert(seen)
        });
        if result != recorded || model != kernel {
            self.summary.mismatches += 1;
            if self.quiet {
                return Ok(());
            }
            println!(
                "replay: line {line}: {call}: recorded {}, model {}",
                show_result(recorded),
                show_result(result)
            );
            print!("{}", super::differing_lines(kernel, &model));
        }
        Ok(())
    }
}
