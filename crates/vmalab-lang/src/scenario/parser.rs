// SPDX-License-Identifier: GPL-2.0-or-later
//! Scenario parser: one step per line, `#` comments, headers before steps,
//! `expect` lines after the step they check. Never panics; every error names
//! file:line:col.

use std::fmt;

use super::ast::*;
use super::lexer::{self, LexError, Word};
use super::names::{self, FlagKind};
use super::steps::{self, KeyKind, Param, STEPS};
use crate::host::{Features, CAPABILITIES, CPU_FEATURES};
use crate::layout::{self, ExpectedLayout};

/// A scenario syntax error at a position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// Parses scenario text. `file` names the source in errors; its stem is the
/// default scenario name.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ParseError> {
    Parser::new(file, text).run()
}

/// Most iterations a `repeat` block may ask for.
pub const MAX_REPEAT: i64 = 1 << 20;

/// Largest window accepted (2^32 pages = 16 TiB with 4 KiB pages).
const MAX_WINDOW_PAGES: u64 = 1 << 32;

/// The largest SysV segment a scenario declares (1 GiB): `shmget` charges
/// it to the commit limit when the runner starts.
const SHM_MAX_BYTES: i128 = 1 << 30;

struct Parser<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    scenario: Scenario,
    seen_name: bool,
    seen_window: bool,
    seen_min_kernel: bool,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        let stem = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario")
            .to_string();
        Parser {
            file,
            lines: text.split('\n').collect(),
            scenario: Scenario {
                name: stem,
                min_kernel: None,
                requires: Vec::new(),
                window_pages: DEFAULT_WINDOW_PAGES,
                files: Vec::new(),
                steps: Vec::new(),
            },
            seen_name: false,
            seen_window: false,
            seen_min_kernel: false,
        }
    }

    /// Builds an error at a 0-based byte column of line `lno` (0-based).
    fn err(&self, lno: usize, byte_col: usize, msg: impl Into<String>) -> ParseError {
        let line = self.lines.get(lno).copied().unwrap_or("");
        let col = line
            .get(..byte_col.min(line.len()))
            .map(|s| s.chars().count())
            .unwrap_or(byte_col)
            + 1;
        ParseError {
            file: self.file.to_string(),
            line: lno + 1,
            col,
            msg: msg.into(),
        }
    }

    fn run(mut self) -> Result<Scenario, ParseError> {
        let mut lno = 0;
        while lno < self.lines.len() {
            let raw = self.lines[lno];
            let text = lexer::strip_comment(raw);
            let ws = lexer::words(text);
            lno = match ws.first() {
                None => lno + 1,
                Some(w) if w.text == "expect" => self.expect(lno, text, &ws)?,
                Some(w) if w.text == "repeat" => self.repeat(lno, text, &ws)?,
                Some(_) => {
                    self.line(lno, text, &ws)
                        .map_err(|(c, m)| self.err(lno, c, m))?;
                    lno + 1
                }
            };
        }
        Ok(self.scenario)
    }

    /// A header or step line.
    fn line(&mut self, lno: usize, text: &str, ws: &[Word<'_>]) -> Result<(), LexError> {
        if ws[0].text.starts_with('@') {
            return self.binding(lno, text, ws);
        }
        let head = ws[0];
        let mut a = Args {
            words: &ws[1..],
            pos: 0,
            end: text.len(),
            head,
        };
        let header = matches!(
            head.text,
            "name" | "min-kernel" | "window" | "file" | "requires"
        );
        if header && !self.scenario.steps.is_empty() {
            return Err((
                head.col,
                format!("`{}` must come before the first step", head.text),
            ));
        }
        let kind = match head.text {
            "name" => {
                let w = a.word("a scenario name")?;
                a.finish()?;
                if self.seen_name {
                    return Err((head.col, "duplicate `name`".into()));
                }
                self.seen_name = true;
                self.scenario.name = w.text.to_string();
                return Ok(());
            }
            "min-kernel" => {
                let w = a.word("a kernel version such as 6.16")?;
                a.finish()?;
                if self.seen_min_kernel {
                    return Err((head.col, "duplicate `min-kernel`".into()));
                }
                self.seen_min_kernel = true;
                self.scenario.min_kernel = Some(parse_version(w.text).ok_or((
                    w.col,
                    format!("bad kernel version `{}` (expected X.Y or X.Y.Z)", w.text),
                ))?);
                return Ok(());
            }
            "window" => {
                let w = a.word("a window size in pages")?;
                a.finish()?;
                if self.seen_window {
                    return Err((head.col, "duplicate `window`".into()));
                }
                self.seen_window = true;
                let n = lexer::number(w.text, w.col)?;
                if n == 0 || n > MAX_WINDOW_PAGES {
                    return Err((
                        w.col,
                        format!("window must be 1..={MAX_WINDOW_PAGES} pages"),
                    ));
                }
                self.scenario.window_pages = n;
                return Ok(());
            }
            "requires" => {
                let w = a.word("a build option, CPU feature or capability such as pku")?;
                a.finish()?;
                let r = requirement(w.text, true).ok_or((
                    w.col,
                    format!(
                        "bad requirement `{}` (CONFIG_X, a CPU feature or a capability: {})",
                        w.text,
                        machine_names()
                    ),
                ))?;
                self.scenario.requires.push(r);
                return Ok(());
            }
            "file" => return self.file_decl(lno, &mut a),
            "end" => return Err((head.col, "`end` without `expect layout` or `repeat`".into())),
            _ => self.step(&mut a)?,
        };
        self.check_names(&kind, ws)?;
        self.scenario.steps.push(Step {
            line: lno + 1,
            kind,
            expect: Vec::new(),
        });
        Ok(())
    }

    /// `@NAME = STEP`: a step whose returned address later steps may name.
    fn binding(&mut self, lno: usize, text: &str, ws: &[Word<'_>]) -> Result<(), LexError> {
        let at = ws[0];
        let name = &at.text[1..];
        if name.is_empty() || lexer::name_len(name) != name.len() {
            return Err((
                at.col,
                format!(
                    "`{}` is no result name (`@` then letters, digits, `_`)",
                    at.text
                ),
            ));
        }
        match ws.get(1) {
            Some(eq) if eq.text == "=" => {}
            Some(w) => return Err((w.col, "expected `=` after the result name".into())),
            None => return Err((text.len(), "expected `= STEP` after the result name".into())),
        }
        let Some(head) = ws.get(2).copied() else {
            return Err((text.len(), "expected a step after `=`".into()));
        };
        let mut a = Args {
            words: &ws[3..],
            pos: 0,
            end: text.len(),
            head,
        };
        let mut kind = self.step(&mut a)?;
        if !kind.returns_address() || kind.keyword() == "brk" {
            return Err((
                head.col,
                format!("`{}` returns no address to bind", head.text),
            ));
        }
        self.check_names(&kind, ws)?;
        kind.bind = Some(name.to_string());
        self.scenario.steps.push(Step {
            line: lno + 1,
            kind,
            expect: Vec::new(),
        });
        Ok(())
    }

    /// Every `@NAME` a step uses was bound by an earlier step.
    fn check_names(&self, kind: &StepKind, ws: &[Word<'_>]) -> Result<(), LexError> {
        for a in kind.args.iter().flat_map(Arg::addrs) {
            let AddrArg::Named(name, _) = a else {
                continue;
            };
            if !self
                .scenario
                .steps
                .iter()
                .any(|s| s.kind.bind.as_deref() == Some(name))
            {
                let col = ws
                    .iter()
                    .skip(1)
                    .find(|w| {
                        w.text
                            .strip_prefix('@')
                            .is_some_and(|t| t.starts_with(name.as_str()))
                    })
                    .map_or(0, |w| w.col);
                return Err((col, format!("`@{name}` is not bound by an earlier step")));
            }
        }
        Ok(())
    }

    fn file_decl(&mut self, lno: usize, a: &mut Args<'_, '_>) -> Result<(), LexError> {
        let w = a.word("a file name")?;
        let name = w.text;
        let valid = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
        let reserved = name == "anon"
            || name
                .strip_prefix("shm")
                .is_some_and(|n| n.parse::<u32>().is_ok());
        if !valid || reserved {
            return Err((
                w.col,
                format!("bad file name `{name}` (letters, digits, _ . -; not `anon` or shmN)"),
            ));
        }
        if self.scenario.files.iter().any(|f| f.name == name) {
            return Err((w.col, format!("file `{name}` declared twice")));
        }
        let has_dev_zero = self
            .scenario
            .files
            .iter()
            .any(|f| f.source == FileSource::DevZero);
        let mut size = None;
        let mut writable = true;
        let mut readable = true;
        let mut sealable = false;
        let mut source = FileSource::Memfd;
        let mut mode_given = false;
        while let Some(o) = a.next() {
            mode_given |= matches!(o.text, "rw" | "ro" | "wo" | "path");
            if let Some(v) = o
                .text
                .strip_prefix("pages=")
                .or_else(|| o.text.strip_prefix("size="))
            {
                let am = lexer::amount(v, o.col + o.text.len() - v.len())?;
                if am.value(1 << 16) < 0 {
                    return Err((o.col, "file size must not be negative".into()));
                }
                size = Some(am);
            } else if o.text == "rw" {
                (readable, writable) = (true, true);
            } else if o.text == "ro" {
                (readable, writable) = (true, false);
            } else if o.text == "wo" {
                (readable, writable) = (false, true);
            } else if o.text == "path" {
                (readable, writable) = (false, false);
            } else if o.text == "sealable" {
                sealable = true;
            } else if o.text == "/dev/zero" {
                source = FileSource::DevZero;
            } else if o.text == "pipe" {
                source = FileSource::Pipe;
            } else if o.text == "dir" {
                source = FileSource::Dir;
            } else if o.text == "socket" {
                source = FileSource::Socket;
            } else if o.text == "shm" {
                source = FileSource::Shm;
            } else if o.text == "secret" {
                source = FileSource::Secret;
            } else {
                return Err((
                    o.col,
                    format!(
                        "unexpected `{}` (pages=N, rw, ro, wo, path, sealable, /dev/zero, pipe, dir, socket, shm or secret)",
                        o.text
                    ),
                ));
            }
        }
        if source == FileSource::Dir {
            if !mode_given {
                (readable, writable) = (true, false);
            } else if writable {
                return Err((
                    a.end,
                    "a directory opens read-only (ro) or as a path".to_string(),
                ));
            }
        }
        if source == FileSource::Socket && !(readable && writable) {
            return Err((a.end, "a socket opens read-write (rw) only".to_string()));
        }
        if source == FileSource::DevZero && has_dev_zero {
            // Its mappings would show one identity under two names.
            return Err((a.end, "/dev/zero may be declared once".to_string()));
        }
        if source == FileSource::Shm && (sealable || !readable || !writable) {
            // No descriptor: what shmat may ask for is the segment's mode,
            // 0700 here.
            return Err((
                a.end,
                "a SysV segment takes no open mode and no seals".to_string(),
            ));
        }
        if source == FileSource::Secret && (sealable || !readable || !writable) {
            return Err((
                a.end,
                "a memfd_secret file opens read-write and takes no seals".to_string(),
            ));
        }
        let sized = matches!(
            source,
            FileSource::Memfd | FileSource::Shm | FileSource::Secret
        );
        if !sized && (size.is_some() || sealable) {
            return Err((
                a.end,
                "only a memfd has a size (pages=N) and takes seals".to_string(),
            ));
        }
        let size = match source {
            FileSource::Memfd | FileSource::Shm | FileSource::Secret => {
                size.ok_or((a.end, "missing pages=N".to_string()))?
            }
            _ => Amount::default(),
        };
        if source == FileSource::Shm && !(1..=SHM_MAX_BYTES).contains(&size.value(1 << 12)) {
            return Err((
                a.end,
                "a SysV segment is 1 byte to 1 GiB (pages=1b to 262144)".to_string(),
            ));
        }
        self.scenario.files.push(FileDecl {
            name: name.to_string(),
            size,
            source,
            readable,
            writable,
            sealable,
            line: lno + 1,
        });
        Ok(())
    }

    /// A step line: the arguments its entry in the step table declares.
    fn step(&self, a: &mut Args<'_, '_>) -> Result<StepKind, LexError> {
        // A two-word keyword (`touch exec`) first.
        let two = a
            .words
            .first()
            .and_then(|w| steps::spec(&format!("{} {}", a.head.text, w.text)));
        if two.is_some() {
            a.words = &a.words[1..];
        }
        let spec = two
            .or_else(|| steps::spec(a.head.text))
            .ok_or_else(|| unknown_step(a.head))?;
        let mut args = Vec::with_capacity(spec.params.len());
        let mut i = 0;
        while i < spec.params.len() {
            if let Param::File = spec.params[i] {
                args.push(self.file_arg(a)?);
                i += 1;
            } else if let Param::Key(..) = spec.params[i] {
                // Consecutive `KEY=` parameters come in any order.
                let keys = spec.params[i..]
                    .iter()
                    .take_while(|p| matches!(p, Param::Key(..)))
                    .count();
                args.extend(self.keys(a, &spec.params[i..i + keys])?);
                i += keys;
            } else {
                args.push(a.param(spec.params[i])?);
                i += 1;
            }
        }
        a.finish()?;
        if spec.keyword == "touch" && args.first() == Some(&Arg::Bool(false)) {
            if let Some(w) = a.words.get(2) {
                return Err((w.col, "only `touch write` takes a value".into()));
            }
        }
        Ok(StepKind {
            spec,
            args,
            body: Vec::new(),
            bind: None,
        })
    }

    /// A `repeat N [stride=PAGES]` line and its block up to `end`: one
    /// step whose body runs N times. Returns the next line index to read.
    fn repeat(&mut self, lno: usize, text: &str, ws: &[Word<'_>]) -> Result<usize, ParseError> {
        let e = |l: usize, c: usize, m: String| self.err(l, c, m);
        let mut a = Args {
            words: &ws[1..],
            pos: 0,
            end: text.len(),
            head: ws[0],
        };
        let mut kind = self.step(&mut a).map_err(|(c, m)| e(lno, c, m))?;
        let count_col = ws.get(1).map_or(text.len(), |w| w.col);
        match kind.args.first() {
            Some(Arg::Int(n)) if (1..=MAX_REPEAT).contains(n) => {}
            _ => {
                return Err(e(
                    lno,
                    count_col,
                    format!("`repeat`: the count must be 1..={MAX_REPEAT}"),
                ))
            }
        }
        if let Some(Arg::Amount(s)) = kind.args.get(1) {
            if s.bytes != 0 || s.pages < 0 {
                let col = ws.get(2).map_or(text.len(), |w| w.col);
                return Err(e(lno, col, "`stride=` is a number of whole pages".into()));
            }
        }
        let mut at = lno + 1;
        while at < self.lines.len() {
            let body_text = lexer::strip_comment(self.lines[at]);
            let bws = lexer::words(body_text);
            let Some(head) = bws.first().copied() else {
                at += 1;
                continue;
            };
            match head.text {
                "end" => {
                    let end = Args {
                        words: &bws[1..],
                        pos: 0,
                        end: body_text.len(),
                        head,
                    };
                    end.finish().map_err(|(c, m)| e(at, c, m))?;
                    if kind.body.is_empty() {
                        return Err(e(lno, ws[0].col, "`repeat` block without steps".into()));
                    }
                    self.scenario.steps.push(Step {
                        line: lno + 1,
                        kind,
                        expect: Vec::new(),
                    });
                    return Ok(at + 1);
                }
                "expect" | "repeat" | "name" | "min-kernel" | "window" | "file"
                | "requires" => {
                    return Err(e(
                        at,
                        head.col,
                        format!(
                            "`{}` inside a `repeat` block (only steps; expectations go after `end`)",
                            head.text
                        ),
                    ))
                }
                _ => {}
            }
            let mut ba = Args {
                words: &bws[1..],
                pos: 0,
                end: body_text.len(),
                head,
            };
            let step = self.step(&mut ba).map_err(|(c, m)| e(at, c, m))?;
            self.check_names(&step, &bws)
                .map_err(|(c, m)| e(at, c, m))?;
            if step.keyword() == "fork" {
                // Each iteration would fork again from the child: a chain
                // of processes as long as the count.
                return Err(e(at, head.col, "`fork` inside a `repeat` block".into()));
            }
            kind.body.push(step);
            at += 1;
        }
        Err(e(lno, ws[0].col, "`repeat` without a closing `end`".into()))
    }

    /// The `KEY=VALUE` words ending a line, one argument per key (its
    /// default when absent).
    fn keys(&self, a: &mut Args<'_, '_>, keys: &[Param]) -> Result<Vec<Arg>, LexError> {
        let kinds: Vec<(&str, KeyKind)> = keys
            .iter()
            .filter_map(|p| match *p {
                Param::Key(k, kind) => Some((k, kind)),
                _ => None,
            })
            .collect();
        let mut out: Vec<Arg> = kinds.iter().map(|&(_, k)| key_default(k)).collect();
        while let Some(o) = a.next() {
            let found = kinds.iter().enumerate().find_map(|(n, &(k, kind))| {
                let v = o.text.strip_prefix(k)?.strip_prefix('=')?;
                Some((n, kind, v, o.col + k.len() + 1))
            });
            let Some((n, kind, v, vcol)) = found else {
                let list: Vec<String> = kinds.iter().map(|(k, _)| format!("{k}=")).collect();
                return Err((
                    o.col,
                    format!("unexpected `{}` ({})", o.text, list.join(", ")),
                ));
            };
            out[n] = self.key_value(kind, v, vcol)?;
        }
        Ok(out)
    }

    /// A declared file, by name.
    fn file_arg(&self, a: &mut Args<'_, '_>) -> Result<Arg, LexError> {
        let w = a.word("a file name")?;
        if !self.scenario.files.iter().any(|f| f.name == w.text) {
            return Err((
                w.col,
                format!("no file named `{}` (declare it with `file`)", w.text),
            ));
        }
        Ok(Arg::Fd(FdArg::File(w.text.to_string())))
    }

    /// The value of one `KEY=VALUE` word.
    fn key_value(&self, kind: KeyKind, v: &str, vcol: usize) -> Result<Arg, LexError> {
        Ok(match kind {
            KeyKind::Fd if v.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                Arg::Fd(FdArg::Raw(lexer::integer(v, vcol)?))
            }
            KeyKind::Fd if self.scenario.files.iter().any(|f| f.name == v) => {
                Arg::Fd(FdArg::File(v.to_string()))
            }
            KeyKind::Fd => {
                return Err((
                    vcol,
                    format!("no file named `{v}` (declare it with `file`)"),
                ))
            }
            KeyKind::Offset => Arg::Amount(lexer::amount(v, vcol)?),
            KeyKind::Nodes => Arg::Nodes(Some(node_list(v, vcol)?)),
            KeyKind::Flags(k) => Arg::Flags(lexer::flags(v, vcol, k)?),
        })
    }

    /// An `expect` line (and, for `expect layout`, its block). Returns the
    /// next line index to read.
    fn expect(&mut self, lno: usize, text: &str, ws: &[Word<'_>]) -> Result<usize, ParseError> {
        let e = |c: usize, m: String| self.err(lno, c, m);
        if self.scenario.steps.is_empty() {
            return Err(e(ws[0].col, "`expect` before any step".into()));
        }
        let mut a = Args {
            words: &ws[1..],
            pos: 0,
            end: text.len(),
            head: ws[0],
        };
        let mut what = a
            .word("ok, = VALUE, errno NAME, signal NAME, skip, layout or when")
            .map_err(|(c, m)| e(c, m))?;
        let mut conditions = Vec::new();
        while what.text == "when" {
            let w = a
                .word("a CPU feature or capability such as pku or !pku, or kernel>=X.Y")
                .map_err(|(c, m)| e(c, m))?;
            conditions.push(condition_of(w.text).ok_or_else(|| {
                e(
                    w.col,
                    format!(
                        "`{}` is not a CPU feature or capability ({}) nor \
                         kernel>=X.Y[.Z] or kernel<X.Y[.Z]",
                        w.text,
                        machine_names()
                    ),
                )
            })?);
            what = a
                .word("ok, = VALUE, errno NAME, signal NAME, skip, layout or when")
                .map_err(|(c, m)| e(c, m))?;
        }
        let (expect, next) = match what.text {
            "ok" => (Expect::Ok, lno + 1),
            "skip" => (Expect::Skip, lno + 1),
            "=" => {
                let v = a.word("a value").map_err(|(c, m)| e(c, m))?;
                let val = if v.text == "outside" {
                    ExpectValue::Outside
                } else if let Some(far) = lexer::far(v.text, v.col) {
                    ExpectValue::Far(far.map_err(|(c, m)| e(c, m))?)
                } else {
                    ExpectValue::Amount(lexer::amount(v.text, v.col).map_err(|(c, m)| e(c, m))?)
                };
                (Expect::Value(val), lno + 1)
            }
            "errno" => {
                let v = a
                    .word("an errno name such as ENOMEM")
                    .map_err(|(c, m)| e(c, m))?;
                if !names::is_errno_name(v.text) {
                    return Err(e(v.col, format!("unknown errno name `{}`", v.text)));
                }
                (Expect::Errno(v.text.to_string()), lno + 1)
            }
            "signal" => {
                let v = a
                    .word("a signal name such as SIGSEGV")
                    .map_err(|(c, m)| e(c, m))?;
                if !names::is_signal_name(v.text) {
                    return Err(e(v.col, format!("unknown signal name `{}`", v.text)));
                }
                let code = match a.next() {
                    Some(c) => {
                        let known = names::signal_codes(v.text);
                        if !known.iter().any(|(n, _)| *n == c.text) {
                            return Err(e(
                                c.col,
                                format!("`{}` is not a si_code name for {}", c.text, v.text),
                            ));
                        }
                        Some(c.text.to_string())
                    }
                    None => None,
                };
                (
                    Expect::Signal {
                        name: v.text.to_string(),
                        code,
                    },
                    lno + 1,
                )
            }
            "layout" => {
                a.finish().map_err(|(c, m)| e(c, m))?;
                let (layout, next) = self.layout_block(lno)?;
                (Expect::Layout(layout), next)
            }
            other => {
                return Err(e(
                    what.col,
                    format!("unknown expectation `{other}` (ok, =, errno, signal, skip, layout)"),
                ))
            }
        };
        a.finish().map_err(|(c, m)| e(c, m))?;
        // `expect when A when B ...` holds where A and B both hold.
        let expect = conditions
            .into_iter()
            .rev()
            .fold(expect, |then, condition| Expect::When {
                condition,
                then: Box::new(then),
            });
        if let Some(step) = self.scenario.steps.last_mut() {
            step.expect.push(expect);
        }
        Ok(next)
    }

    /// Reads layout lines after `expect layout` up to `end`.
    fn layout_block(&self, start: usize) -> Result<(ExpectedLayout, usize), ParseError> {
        let mut out = ExpectedLayout::default();
        let mut lno = start + 1;
        while lno < self.lines.len() {
            let text = lexer::strip_comment(self.lines[lno]);
            let trimmed = text.trim_start();
            let indent = text.len() - trimmed.len();
            if trimmed.trim_end().is_empty() {
                lno += 1;
                continue;
            }
            if trimmed.trim_end() == "end" {
                for w in out.0.windows(2) {
                    // The window first, then the far region (whose pages
                    // count down), each in address order.
                    let in_order = match (w[0].far, w[1].far) {
                        (false, false) => w[1].start_page >= w[0].end_page,
                        (true, true) => w[1].start_page <= w[0].end_page,
                        (a, b) => !a && b,
                    };
                    if !in_order {
                        return Err(self.err(
                            lno,
                            0,
                            "layout entries overlap or are not sorted by address",
                        ));
                    }
                }
                return Ok((out, lno + 1));
            }
            let entry = layout::parse_entry(trimmed).map_err(|(c, m)| {
                self.err(
                    lno,
                    indent + c,
                    format!("{m} (in `expect layout`; close it with `end`)"),
                )
            })?;
            out.0.push(entry);
            lno += 1;
        }
        Err(self.err(start, 0, "`expect layout` without a closing `end`"))
    }
}

/// Positional argument reader for one line.
struct Args<'w, 'a> {
    words: &'w [Word<'a>],
    pos: usize,
    /// Byte column just past the line's text (for "missing" errors).
    end: usize,
    head: Word<'a>,
}

impl<'a> Args<'_, 'a> {
    fn peek(&self) -> Option<Word<'a>> {
        self.words.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Word<'a>> {
        let w = self.peek();
        self.pos += usize::from(w.is_some());
        w
    }

    fn word(&mut self, what: &str) -> Result<Word<'a>, LexError> {
        self.next()
            .ok_or_else(|| (self.end, format!("`{}`: missing {what}", self.head.text)))
    }

    fn addr(&mut self) -> Result<AddrArg, LexError> {
        let w = self.word("an address (window pages, or abs:NUMBER)")?;
        lexer::address(w.text, w.col)
    }

    fn amount(&mut self, what: &str) -> Result<Amount, LexError> {
        let w = self.word(&format!("{what} (pages, or bytes with a `b` suffix)"))?;
        lexer::amount(w.text, w.col)
    }

    fn integer(&mut self, what: &str) -> Result<i64, LexError> {
        let w = self.word(what)?;
        lexer::integer(w.text, w.col)
    }

    fn flags(&mut self, kind: FlagKind) -> Result<Flags, LexError> {
        let w = self.word(kind.describe())?;
        lexer::flags(w.text, w.col, kind)
    }

    /// One positional parameter.
    fn param(&mut self, p: Param) -> Result<Arg, LexError> {
        Ok(match p {
            Param::Addr => Arg::Addr(self.addr()?),
            Param::OptAddr => Arg::OptAddr(match self.peek() {
                Some(_) => Some(self.addr()?),
                None => None,
            }),
            Param::Len(what) => Arg::Amount(self.amount(what)?),
            Param::Flags(kind) => Arg::Flags(self.flags(kind)?),
            Param::OptFlags(kind, value, text) => Arg::Flags(match self.peek() {
                Some(_) => self.flags(kind)?,
                None => Flags {
                    value,
                    text: text.into(),
                },
            }),
            Param::Int(what) => Arg::Int(self.integer(what)?),
            Param::Choice { what, no, yes } => {
                let w = self.word(what)?;
                match w.text {
                    t if t == yes => Arg::Bool(true),
                    t if t == no => Arg::Bool(false),
                    t => return Err((w.col, format!("expected {what}, found `{t}`"))),
                }
            }
            Param::OptWord => Arg::Word(self.next().map(|w| w.text.to_string())),
            Param::OptByte(what, default) => match self.peek() {
                Some(w) => {
                    let v = lexer::integer(w.text, w.col)?;
                    if !(0..=255).contains(&v) {
                        return Err((w.col, format!("{what} must be 0..=255")));
                    }
                    self.next();
                    Arg::Int(v)
                }
                None => Arg::Int(default),
            },
            Param::Limit(what) => match self.peek() {
                Some(w) if w.text == "unlimited" => {
                    self.next();
                    Arg::Amount(UNLIMITED)
                }
                _ => Arg::Amount(self.amount(&format!("{what} or `unlimited`"))?),
            },
            Param::Key(_, kind) => key_default(kind),
            Param::Ranges => {
                let mut pairs = Vec::new();
                while self.peek().is_some_and(|w| !w.text.contains('=')) {
                    let addr = self.addr()?;
                    pairs.push((addr, self.amount("a range's length")?));
                }
                Arg::Ranges(pairs)
            }
            // Resolved by the parser, which knows the declared files.
            Param::File => return Err((self.end, "a file name is read elsewhere".into())),
        })
    }

    fn finish(&self) -> Result<(), LexError> {
        match self.peek() {
            Some(w) => Err((
                w.col,
                format!(
                    "unexpected `{}` after `{}` arguments",
                    w.text, self.head.text
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The default of an absent `KEY=VALUE` parameter.
fn key_default(kind: KeyKind) -> Arg {
    match kind {
        KeyKind::Fd => Arg::Fd(FdArg::Raw(-1)),
        KeyKind::Offset => Arg::Amount(Amount::default()),
        KeyKind::Nodes => Arg::Nodes(None),
        KeyKind::Flags(_) => Arg::Flags(Flags::raw(0)),
    }
}

/// `N,N,...` after `nodes=` (empty: an empty mask).
fn node_list(v: &str, mut col: usize) -> Result<Vec<u32>, LexError> {
    let mut list = Vec::new();
    if v.is_empty() {
        return Ok(list);
    }
    for n in v.split(',') {
        let node = lexer::number(n, col)?;
        if node >= 1024 {
            return Err((col, "node numbers must be below 1024".into()));
        }
        list.push(node as u32);
        col += n.len() + 1;
    }
    Ok(list)
}

/// The error for a line that starts with no known word.
fn unknown_step(head: Word<'_>) -> LexError {
    let names: Vec<&str> = STEPS.iter().map(|s| s.keyword).collect();
    (
        head.col,
        format!(
            "unknown step `{}` ({} expect; headers: name min-kernel window requires file)",
            head.text,
            names.join(" ")
        ),
    )
}

/// Parses `X.Y` or `X.Y.Z` (a `uname -r` suffix after the numbers is
/// ignored by the caller, not here).
pub fn parse_version(s: &str) -> Option<KernelVersion> {
    let mut it = s.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = match it.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    Some(KernelVersion(major, minor, patch))
}

/// The condition of `expect when`: `kernel>=X.Y[.Z]`, `kernel<X.Y[.Z]`
/// or a CPU feature or capability `[!]NAME`.
fn condition_of(text: &str) -> Option<Condition> {
    if let Some(rest) = text.strip_prefix("kernel") {
        let (at_least, v) = match rest.strip_prefix(">=") {
            Some(v) => (true, v),
            None => (false, rest.strip_prefix('<')?),
        };
        return Some(Condition::Kernel {
            at_least,
            version: parse_version(v)?,
        });
    }
    requirement(text, false).map(Condition::Machine)
}

/// `[!]NAME` as a requirement: a CPU feature or capability, or (where
/// `options` allows) a build option `CONFIG_X`.
fn requirement(text: &str, options: bool) -> Option<Requirement> {
    let (enabled, name) = match text.strip_prefix('!') {
        Some(n) => (false, n),
        None => (true, text),
    };
    let is_option = name.len() > 7
        && name.starts_with("CONFIG_")
        && name[7..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    ((options && is_option) || Features::knows(name)).then(|| Requirement {
        name: name.to_string(),
        enabled,
    })
}

/// The CPU features and capabilities a scenario may name, for messages.
fn machine_names() -> String {
    let cpu = CPU_FEATURES.iter().copied();
    let caps = CAPABILITIES.iter().map(|(n, _)| *n);
    cpu.chain(caps).collect::<Vec<_>>().join(" ")
}
