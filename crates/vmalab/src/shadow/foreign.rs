// SPDX-License-Identifier: GPL-2.0-or-later
//! Replaying logs other tools write -- `strace -f -ttt -X raw` output and
//! syzkaller reproducer programs -- on the model, best effort.
//!
//! Neither log holds what a vmalab trace holds: no snapshot of the address
//! space (the mappings execve made, the stack, the vDSO are unknown), no
//! faults (so anon_vma state, and with it some merges, are guessed), no
//! layouts to compare. What can be checked is each call's result: a call
//! the kernel placed (mmap without MAP_FIXED, a moving mremap) is replayed
//! at the kernel's address, and a call that fails on the model only
//! because it touches memory the log never showed being mapped is counted
//! apart, not as a divergence.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{bail, Context};
use vma::{Errno, File, FileKind, Mm};

use super::call::{nr_of, show_result, Call, Raw};

use vma::sys::consts::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE};

/// `clone(2)`'s flag for a child that shares the address space.
const CLONE_VM: u64 = libc::CLONE_VM as u64;
/// Files of unknown size are taken to be this long (pages): a log shows
/// no file sizes, and a mapping past the end is not an error.
const UNKNOWN_FILE_PAGES: u64 = 1 << 30;

/// What a replay of a foreign log found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForeignSummary {
    /// Address spaces (processes after fork or exec).
    pub spaces: u64,
    /// Modelled calls replayed.
    pub calls: u64,
    /// Calls whose recorded result the model gave.
    pub agree: u64,
    /// Calls whose recorded result the model did not give.
    pub differ: u64,
    /// Calls that failed on the model only because they touch memory the
    /// log never showed being mapped.
    pub unseen_memory: u64,
    /// The first differences, one line each.
    pub differences: Vec<String>,
}

impl ForeignSummary {
    /// The closing lines: counts, and what a log without faults or
    /// snapshots cannot show.
    pub fn report(&self, kind: &str) -> String {
        let mut s = String::new();
        for d in &self.differences {
            let _ = writeln!(s, "differs: {d}");
        }
        let _ = writeln!(
            s,
            "replay ({kind}, best effort): {} address spaces, {} calls: {} agree, {} differ, \
             {} on memory the log never mapped",
            self.spaces, self.calls, self.agree, self.differ, self.unseen_memory
        );
        s.push_str(
            "note: the log shows no faults and no initial layout, so anon_vma state (and the \
             merges it decides) is guessed and memory execve made is unknown\n",
        );
        s
    }
}

/// Per-process models, keyed by the log's process names.
struct Replay {
    config: vma::Config,
    /// Process -> index into `mms` (threads share one).
    spaces: HashMap<String, usize>,
    mms: Vec<Mm>,
    files: HashMap<(usize, String), File>,
    /// Spaces whose program break is known.
    brk_known: std::collections::HashSet<usize>,
    summary: ForeignSummary,
    /// Print each call with the model's result (for syzkaller programs,
    /// which record no results).
    echo: bool,
}

impl Replay {
    fn new(config: vma::Config, echo: bool) -> Replay {
        Replay {
            config,
            spaces: HashMap::new(),
            mms: Vec::new(),
            files: HashMap::new(),
            brk_known: Default::default(),
            summary: ForeignSummary::default(),
            echo,
        }
    }

    /// The address space of `proc`, a new empty one the first time.
    fn space(&mut self, proc: &str) -> usize {
        if let Some(&i) = self.spaces.get(proc) {
            return i;
        }
        let i = self.new_space(Mm::new(self.config.clone()));
        self.spaces.insert(proc.to_string(), i);
        i
    }

    fn new_space(&mut self, mm: Mm) -> usize {
        self.mms.push(mm);
        self.summary.spaces += 1;
        self.mms.len() - 1
    }

    /// `child` starts: a copy of `parent`'s address space, or the same one
    /// for a thread.
    fn clone_process(&mut self, parent: &str, child: &str, shares_vm: bool) {
        let p = self.space(parent);
        let i = if shares_vm {
            p
        } else {
            match self.mms[p].fork() {
                Ok(mm) => self.new_space(mm),
                Err(_) => p,
            }
        };
        self.spaces.insert(child.to_string(), i);
    }

    /// `proc` executed a new program: a new, empty address space.
    fn exec(&mut self, proc: &str) {
        let i = self.new_space(Mm::new(self.config.clone()));
        self.spaces.insert(proc.to_string(), i);
    }

    /// The program break of a space is unknown until its first `brk`
    /// answers (`brk(NULL)` right after exec, usually): the kernel's
    /// answer then is where the heap starts.
    fn learn_brk(&mut self, space: usize, brk: u64) {
        if !self.brk_known.insert(space) || self.mms[space].map_count() != 0 {
            return;
        }
        let process = vma::SeedProcess {
            start_brk: brk,
            brk,
            start_stack: None,
            mmap_base: None,
        };
        let _ = self.mms[space].seed(&[], process);
    }

    /// The file a descriptor (or syzkaller resource) names in a space.
    fn file(&mut self, space: usize, fd: &str) -> File {
        self.files
            .entry((space, fd.to_string()))
            .or_insert_with(|| {
                File::new(
                    &format!("fd:{fd}"),
                    UNKNOWN_FILE_PAGES,
                    FileKind::Regular,
                    true,
                    true,
                )
            })
            .clone()
    }

    /// Replays one call of `proc`; `recorded` is the kernel's result if
    /// the log has one.
    fn call(&mut self, proc: &str, raw: Raw, fd: Option<&str>, recorded: Option<i64>, at: &str) {
        let Some(call) = Call::decode(&raw) else {
            return;
        };
        let call = placed_where_the_kernel_placed_it(call, recorded);
        let space = self.space(proc);
        if let (Call::Brk { .. }, Some(brk)) = (call, recorded) {
            self.learn_brk(space, brk as u64);
        }
        let file = match (call, fd) {
            (Call::Mmap { flags, .. }, Some(fd)) if flags & MAP_ANONYMOUS == 0 => {
                Some(self.file(space, fd))
            }
            _ => None,
        };
        let Some(model) = call.apply(&mut self.mms[space], file.as_ref()) else {
            return;
        };
        self.summary.calls += 1;
        if self.echo {
            println!("{call} = {}", show_result(model));
        }
        match recorded {
            None => {}
            Some(k) if k == model => self.summary.agree += 1,
            Some(k) if k >= 0 && model == -i64::from(Errno::ENOMEM.0) => {
                self.summary.unseen_memory += 1;
            }
            Some(k) => {
                self.summary.differ += 1;
                if self.summary.differences.len() < 20 {
                    self.summary.differences.push(format!(
                        "{at}: {call}: kernel {}, model {}",
                        show_result(k),
                        show_result(model)
                    ));
                }
            }
        }
    }
}

/// A call the kernel placed, made to land where the kernel put it: the
/// model does not know the layout around it, so its own choice would
/// differ for reasons that say nothing about the rules.
fn placed_where_the_kernel_placed_it(call: Call, recorded: Option<i64>) -> Call {
    let Some(at) = recorded.filter(|&r| r >= 0).map(|r| r as u64) else {
        return call;
    };
    match call {
        Call::Mmap {
            len,
            prot,
            flags,
            fd,
            off,
            ..
        } if flags & MAP_FIXED == 0 => Call::Mmap {
            addr: at,
            len,
            prot,
            flags: flags | MAP_FIXED,
            fd,
            off,
        },
        Call::Mremap {
            addr,
            old,
            new,
            flags,
            ..
        } if flags & MREMAP_MAYMOVE != 0 && flags & MREMAP_FIXED == 0 && at != addr => {
            Call::Mremap {
                addr,
                old,
                new,
                flags: flags | MREMAP_FIXED,
                to: at,
            }
        }
        c => c,
    }
}

/// Splits an argument list at its top-level commas.
fn split_args(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut prev = '\0';
    for (i, c) in text.char_indices() {
        match c {
            '"' if prev != '\\' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    if !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
}

/// A number as strace (`-X raw`) or syzkaller prints it: hex, decimal
/// (possibly negative), `NULL` or `nil`.
fn number(word: &str) -> Option<u64> {
    let w = word.trim();
    if w == "NULL" || w == "nil" {
        return Some(0);
    }
    if let Some(h) = w.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok();
    }
    if let Some(d) = w.strip_prefix('-') {
        return d.parse::<u64>().ok().map(u64::wrapping_neg);
    }
    w.parse().ok()
}

/// The arguments of a modelled call as a raw register set.
fn raw_args(name: &str, args: &[&str], value: impl Fn(&str) -> Option<u64>) -> Option<Raw> {
    let nr = nr_of(name)?;
    let mut regs = [0u64; 6];
    for (r, a) in regs.iter_mut().zip(args) {
        *r = value(a)?;
    }
    Some(Raw { nr, args: regs })
}

/// What an strace line holds once its prefix is taken off.
struct StraceCall<'a> {
    name: &'a str,
    args: &'a str,
    /// The result: a value, a negative errno, or None (`?`).
    result: Option<i64>,
}

/// `name(args) = result ...`, or None for other lines (signals, exits).
fn strace_call(text: &str) -> Option<StraceCall<'_>> {
    let open = text.find('(')?;
    let name = &text[..open];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    // strace pads short calls: `brk(NULL)       = 0x...`.
    let eq = text.rfind(" = ")?;
    let close = text[..eq].trim_end().strip_suffix(')')?.len();
    let args = text.get(open + 1..close)?;
    let mut result_words = text[eq + 3..].split_whitespace();
    let first = result_words.next()?;
    let result = if first == "?" {
        None
    } else if first == "-1" {
        let errno = result_words.next().and_then(Errno::from_name)?;
        Some(-i64::from(errno.0))
    } else {
        number(first).map(|v| v as i64)
    };
    Some(StraceCall { name, args, result })
}

/// The process a line belongs to and the rest of it: `[pid N] `, or a
/// leading pid (strace -f -o), then an optional timestamp.
fn strace_prefix(line: &str) -> (&str, &str) {
    let mut rest = line.trim_start();
    let mut proc = "first";
    if let Some(r) = rest.strip_prefix("[pid ") {
        if let Some((pid, after)) = r.split_once(']') {
            proc = pid.trim();
            rest = after.trim_start();
        }
    } else if let Some((first, after)) = rest.split_once(' ') {
        if !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) {
            proc = first;
            rest = after.trim_start();
        }
    }
    if let Some((first, after)) = rest.split_once(' ') {
        let is_time = first
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ':')
            && first.contains(['.', ':']);
        if is_time {
            rest = after.trim_start();
        }
    }
    (proc, rest)
}

/// Replays an strace log (`strace -f -ttt -X raw -e
/// trace=%memory,%process`) on a model configured like this machine.
pub fn replay_strace(
    path: &std::path::Path,
    config: vma::Config,
) -> anyhow::Result<ForeignSummary> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut r = Replay::new(config, false);
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut first_proc: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        let (mut proc, body) = strace_prefix(line);
        // Lines of the first process carry no pid until a second appears.
        if proc == "first" {
            proc = first_proc.as_deref().unwrap_or("first");
        } else if first_proc.is_none()
            && !r.spaces.contains_key(proc)
            && r.spaces.contains_key("first")
        {
            first_proc = Some(proc.to_string());
            let i = r.spaces["first"];
            r.spaces.insert(proc.to_string(), i);
        }
        let joined;
        let body = if let Some(head) = body.strip_suffix("<unfinished ...>") {
            pending.insert(proc.to_string(), head.trim_end().to_string());
            continue;
        } else if let Some(rest) = body.strip_prefix("<... ") {
            let Some((_, tail)) = rest.split_once(" resumed>") else {
                bail!("{at}: malformed resumption `{line}`");
            };
            let Some(head) = pending.remove(proc) else {
                continue; // its start came before the log did
            };
            joined = format!("{head}{tail}");
            joined.as_str()
        } else {
            body
        };
        let Some(c) = strace_call(body) else {
            continue;
        };
        let args = split_args(c.args);
        match c.name {
            "clone" | "clone3" | "fork" | "vfork" => {
                let Some(child) = c.result.filter(|&p| p > 0) else {
                    continue;
                };
                let flags = args
                    .iter()
                    .find_map(|a| a.trim_start_matches('{').strip_prefix("flags="))
                    .and_then(number)
                    .unwrap_or(0);
                let shares = c.name == "vfork" || flags & CLONE_VM != 0;
                r.clone_process(proc, &child.to_string(), shares);
            }
            "execve" | "execveat" if c.result == Some(0) => r.exec(proc),
            name if nr_of(name).is_some() => {
                let raw = raw_args(name, &args, number).with_context(|| {
                    format!("{at}: cannot read the arguments of `{body}` (record with -X raw)")
                })?;
                let fd = (name == "mmap").then(|| args.get(4).copied()).flatten();
                r.call(proc, raw, fd, c.result, &at);
            }
            _ => {}
        }
    }
    Ok(r.summary)
}

/// Where syzkaller's executor maps its data region on x86-64 before a
/// program runs (a page of PROT_NONE on each side).
const SYZ_DATA_OFFSET: u64 = 0x2000_0000_0000;
const SYZ_DATA_LEN: u64 = 0x100_0000;
/// The base syzkaller's program text writes data addresses against:
/// `&(0x7f0000001000)` is the data region's second page.
const SYZ_TEXT_BASE: u64 = 0x7f00_0000_0000;

/// A syzkaller argument as a register: `&(0xADDR/0xLEN)=...` is ADDR moved
/// from the text's base to the data region, a resource `rN` stands for a
/// descriptor (the file is looked up by name).
fn syz_value(arg: &str) -> Option<u64> {
    if let Some(r) = arg.strip_prefix("&(") {
        let end = r.find([')', '/'])?;
        let a = number(&r[..end])?;
        return Some(match a.checked_sub(SYZ_TEXT_BASE) {
            Some(off) if off < SYZ_DATA_LEN * 2 => SYZ_DATA_OFFSET + off,
            _ => a,
        });
    }
    if arg.starts_with('r') && arg[1..].chars().all(|c| c.is_ascii_digit()) {
        return Some(3);
    }
    if arg.starts_with('@') || arg.starts_with('"') || arg.starts_with('{') {
        return Some(0);
    }
    number(arg)
}

/// Replays a syzkaller program's memory calls on the model, after the
/// mappings syzkaller's executor makes, printing each call's result and
/// the final layout. A program holds no results: nothing is compared.
pub fn replay_syz(path: &std::path::Path, config: vma::Config) -> anyhow::Result<ForeignSummary> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut r = Replay::new(config, true);
    let base = SYZ_DATA_OFFSET;
    let space = r.space("syz");
    let data_region = [
        (base - 0x1000, 0x1000, 0),
        (base, SYZ_DATA_LEN, 7),
        (base + SYZ_DATA_LEN, 0x1000, 0),
    ];
    for (addr, len, prot) in data_region {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        r.mms[space]
            .mmap(addr, len, prot, flags, None, 0)
            .map_err(|e| anyhow::anyhow!("mapping syzkaller's data region: {e:?}"))?;
    }
    for (n, line) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let body = match line.split_once(" = ") {
            Some((res, call)) if res.starts_with('r') && !res.contains('(') => call,
            _ => line,
        };
        let Some(open) = body.find('(') else {
            bail!("{at}: not a syzkaller call: `{line}`");
        };
        let name = body[..open].split('$').next().unwrap_or("");
        if nr_of(name).is_none() {
            continue;
        }
        let Some(close) = body.rfind(')') else {
            bail!("{at}: unterminated call: `{line}`");
        };
        let args = split_args(&body[open + 1..close]);
        let raw = raw_args(name, &args, syz_value)
            .with_context(|| format!("{at}: cannot read the arguments of `{line}`"))?;
        let fd = (name == "mmap")
            .then(|| args.get(4).copied())
            .flatten()
            .filter(|a| a.starts_with('r'));
        r.call("syz", raw, fd, None, &at);
    }
    print!("{}", r.mms[space].maps());
    Ok(r.summary)
}

/// Which kind of log a file holds, from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// A trace `vmalab record` wrote.
    Vmalab,
    /// A syzkaller program.
    Syzkaller,
    /// strace output.
    Strace,
}

/// Tells the log kinds apart: a vmalab trace names itself, syzkaller
/// programs point into their data region with `&(0x...)`, anything else
/// is taken for strace.
pub fn detect(text: &str) -> LogKind {
    if text.starts_with("vmalab-trace ") {
        LogKind::Vmalab
    } else if text.contains("&(0x") || text.contains("=nil") {
        LogKind::Syzkaller
    } else {
        LogKind::Strace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_lines_come_apart() {
        let (p, b) = strace_prefix("[pid  4242] 1733571234.123456 munmap(0x7f0000, 4096) = 0");
        assert_eq!(p, "4242");
        let c = strace_call(b).unwrap();
        assert_eq!(
            (c.name, c.args, c.result),
            ("munmap", "0x7f0000, 4096", Some(0))
        );
        let (p, b) = strace_prefix("17 mmap(NULL, 8192, 0x3, 0x22, -1, 0) = -1 ENOMEM (Cannot)");
        assert_eq!(p, "17");
        assert_eq!(strace_call(b).unwrap().result, Some(-12));
        assert_eq!(split_args("a, {b, c}, \"d,e\", f").len(), 4);
        assert_eq!(number("-1"), Some(u64::MAX));
        assert!(strace_call("+++ exited with 0 +++").is_none());
        assert_eq!(
            strace_call("brk(NULL)       = 0x55").unwrap().result,
            Some(0x55)
        );
    }

    #[test]
    fn syz_arguments_are_registers() {
        assert_eq!(syz_value("&(0x20000000/0x3000)=nil"), Some(0x2000_0000));
        assert_eq!(syz_value("&(0x7f0000001000)"), Some(0x2000_0000_1000));
        assert_eq!(syz_value("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(syz_value("r0"), Some(3));
    }

    #[test]
    fn kernel_placements_are_kept() {
        let c = Call::Mmap {
            addr: 0,
            len: 4096,
            prot: 3,
            flags: 0x22,
            fd: -1,
            off: 0,
        };
        match placed_where_the_kernel_placed_it(c, Some(0x7000_0000)) {
            Call::Mmap { addr, flags, .. } => {
                assert_eq!(addr, 0x7000_0000);
                assert_eq!(flags & MAP_FIXED, MAP_FIXED);
            }
            other => panic!("{other}"),
        }
    }
}
