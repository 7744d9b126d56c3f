// SPDX-License-Identifier: GPL-2.0-or-later
//! One scenario as a standalone C program: the steps as raw system calls
//! with the arguments the lab resolves (through the same [`run_step`] both
//! of its machines use, here with a machine that writes C instead of
//! calling), each answer and the window's layout compared with what Linux
//! answered when the scenario was exported, TAP on stdout.

use std::fmt::Write as _;

use crate::layout::{FileId, Layout, MapEntry};
use crate::machine::{run_step, Bindings, Fd, Machine, NodeMask, Reply};
use crate::oracle::KernelTrace;
use crate::outcome::{Outcome, Value};
use crate::scenario::names::{
    errno_number, signal_code_number, signal_number, table_name, SMAPS, STATUS,
};
use crate::scenario::{AddrArg, Arg, FileSource, Scenario, StepKind};
use crate::window::Window;

/// The runtime every program starts with.
const PRELUDE: &str = include_str!("prelude.c");

/// Why a scenario cannot be exported.
pub type NotExported = String;

/// A machine that writes each call as C: `r = ...;`, or a touch that also
/// sets `sig` and `code`.
#[derive(Default)]
struct Emitter {
    code: String,
}

impl Emitter {
    fn sys(&mut self, nr: &str, args: &[u64]) -> Reply {
        self.sys_fd(nr, None, args)
    }

    /// Opens a block holding the node mask (a static array, or nothing
    /// for NULL) and gives the mask and `maxnode` arguments; the call's
    /// line closes the block.
    fn node_arg(&mut self, nodes: Option<&NodeMask>) -> (String, u64) {
        match nodes {
            Some(m) => {
                let words: Vec<String> = m.iter().map(|w| format!("{w:#x}UL")).collect();
                let _ = writeln!(
                    self.code,
                    "\t{{ static unsigned long mask[16] = {{ {} }};",
                    words.join(", ")
                );
                ("(long)(uintptr_t)mask".to_string(), m.len() as u64 * 64 + 1)
            }
            None => {
                let _ = writeln!(self.code, "\t{{");
                ("0".to_string(), 0)
            }
        }
    }

    /// A system call whose first argument is the descriptor `fd`.
    fn sys_fd(&mut self, nr: &str, fd: Option<Fd>, args: &[u64]) -> Reply {
        let mut a: Vec<String> = fd.map(fd_expr).into_iter().collect();
        a.extend(args.iter().map(|v| format!("(long){v:#x}UL")));
        a.resize(6, "0".into());
        let _ = writeln!(self.code, "\tr = sys({nr}, {});", a.join(", "));
        Ok(0)
    }
}

/// The userfaultfd range ioctls' numbers (the runner's, as C expects them).
use crate::oracle::runner::uffd::{
    UFFDIO_CONTINUE, UFFDIO_COPY, UFFDIO_MOVE, UFFDIO_POISON, UFFDIO_WRITEPROTECT, UFFDIO_ZEROPAGE,
};

impl Emitter {
    /// A userfaultfd range ioctl on the words of its structure; `count`
    /// is the index of the word the kernel writes the bytes done into (-1:
    /// none), answered as the runner answers.
    fn uffd_range(&mut self, cmd: u64, words: &[u64], count: i32) -> Reply {
        let w: Vec<String> = words.iter().map(|v| format!("{v:#x}UL")).collect();
        let _ = writeln!(
            self.code,
            "\t{{ uint64_t w[] = {{ {} }}; r = uffd_range({cmd:#x}UL, w, {count}); }}",
            w.join(", ")
        );
        Ok(0)
    }
}

/// A descriptor argument in C: a scenario file's, or a number.
fn fd_expr(fd: Fd) -> String {
    match fd {
        Fd::File(i) => format!("(long)file_fd[{i}]"),
        Fd::Raw(n) => format!("(long){n}"),
    }
}

/// A C string literal.
fn c_string(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

impl Machine for Emitter {
    fn mmap(&mut self, addr: u64, len: u64, prot: u64, flags: u64, fd: Fd, off: u64) -> Reply {
        let fd = fd_expr(fd);
        let _ = writeln!(
            self.code,
            "\tr = sys(SYS_mmap, (long){addr:#x}UL, (long){len:#x}UL, (long){prot:#x}UL, \
             (long){flags:#x}UL, {fd}, (long){off:#x}UL);"
        );
        Ok(0)
    }
    fn munmap(&mut self, addr: u64, len: u64) -> Reply {
        self.sys("SYS_munmap", &[addr, len])
    }
    fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> Reply {
        self.sys("SYS_mprotect", &[addr, len, prot])
    }
    fn pkey_mprotect(&mut self, addr: u64, len: u64, prot: u64, pkey: i64) -> Reply {
        self.sys("SYS_pkey_mprotect", &[addr, len, prot, pkey as u64])
    }
    fn pkey_alloc(&mut self, flags: u64, access: u64) -> Reply {
        self.sys("SYS_pkey_alloc", &[flags, access])
    }
    fn pkey_free(&mut self, pkey: i64) -> Reply {
        self.sys("SYS_pkey_free", &[pkey as u64])
    }
    fn mremap(&mut self, addr: u64, old_len: u64, new_len: u64, flags: u64, new: u64) -> Reply {
        self.sys("SYS_mremap", &[addr, old_len, new_len, flags, new])
    }
    fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> Reply {
        self.sys("SYS_madvise", &[addr, len, advice])
    }
    fn mlock(&mut self, addr: u64, len: u64) -> Reply {
        self.sys("SYS_mlock", &[addr, len])
    }
    fn mlock2(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        self.sys("SYS_mlock2", &[addr, len, flags])
    }
    fn munlock(&mut self, addr: u64, len: u64) -> Reply {
        self.sys("SYS_munlock", &[addr, len])
    }
    fn mlockall(&mut self, flags: u64) -> Reply {
        self.sys("SYS_mlockall", &[flags])
    }
    fn munlockall(&mut self) -> Reply {
        self.sys("SYS_munlockall", &[])
    }
    fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        // Not every libc names it yet; the number is x86-64's.
        self.sys("462", &[addr, len, flags])
    }
    fn mbind(
        &mut self,
        addr: u64,
        len: u64,
        mode: u64,
        nodes: Option<&NodeMask>,
        flags: u64,
    ) -> Reply {
        let (mask, maxnode) = self.node_arg(nodes);
        let _ = writeln!(
            self.code,
            "\tr = sys(SYS_mbind, (long){addr:#x}UL, (long){len:#x}UL, (long){mode:#x}UL, \
             {mask}, (long){maxnode}, (long){flags:#x}UL); }}"
        );
        Ok(0)
    }
    fn set_mempolicy(&mut self, mode: u64, nodes: Option<&NodeMask>) -> Reply {
        let (mask, maxnode) = self.node_arg(nodes);
        let _ = writeln!(
            self.code,
            "\tr = sys(SYS_set_mempolicy, (long){mode:#x}UL, {mask}, (long){maxnode}, 0, 0, 0); }}"
        );
        Ok(0)
    }
    fn get_mempolicy(&mut self, nodes: bool, flags: u64, addr: u64) -> Reply {
        let _ = writeln!(
            self.code,
            "\tr = get_mempolicy_word({}, {flags:#x}UL, {addr:#x}UL);",
            u8::from(nodes)
        );
        Ok(0)
    }
    fn set_mempolicy_home_node(&mut self, addr: u64, len: u64, node: u64, flags: u64) -> Reply {
        self.sys(
            "450 /* set_mempolicy_home_node */",
            &[addr, len, node, flags],
        )
    }
    fn uffd_register(&mut self, addr: u64, len: u64, modes: u64) -> Reply {
        let _ = writeln!(
            self.code,
            "\tr = uffd_register({addr:#x}UL, {len:#x}UL, {modes:#x}UL);"
        );
        Ok(0)
    }
    fn uffd_unregister(&mut self, addr: u64, len: u64) -> Reply {
        let _ = writeln!(self.code, "\tr = uffd_unregister({addr:#x}UL, {len:#x}UL);");
        Ok(0)
    }
    fn uffd_copy(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        self.uffd_range(UFFDIO_COPY, &[dst, src, len, mode, 0], 4)
    }
    fn uffd_zeropage(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_range(UFFDIO_ZEROPAGE, &[addr, len, mode, 0], 3)
    }
    fn uffd_writeprotect(&mut self, addr: u64, len: u64, on: bool) -> Reply {
        self.uffd_range(UFFDIO_WRITEPROTECT, &[addr, len, u64::from(on)], -1)
    }
    fn uffd_continue(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_range(UFFDIO_CONTINUE, &[addr, len, mode, 0], 3)
    }
    fn uffd_move(&mut self, dst: u64, src: u64, len: u64, mode: u64) -> Reply {
        self.uffd_range(UFFDIO_MOVE, &[dst, src, len, mode, 0], 4)
    }
    fn uffd_poison(&mut self, addr: u64, len: u64, mode: u64) -> Reply {
        self.uffd_range(UFFDIO_POISON, &[addr, len, mode, 0], 3)
    }
    fn set_anon_name(&mut self, addr: u64, len: u64, name: Option<&str>) -> Reply {
        let name = name.map_or("0".to_string(), |n| {
            format!("(long)(uintptr_t){}", c_string(n))
        });
        let _ = writeln!(
            self.code,
            "\tr = sys(SYS_prctl, 0x53564d41L, 0L, (long){addr:#x}UL, (long){len:#x}UL, {name}, 0);"
        );
        Ok(0)
    }
    fn memory_merge(&mut self, on: bool) -> Reply {
        let _ = writeln!(
            self.code,
            "\tr = sys(SYS_prctl, 67L, {}L, 0, 0, 0, 0);",
            u8::from(on)
        );
        Ok(0)
    }
    fn touch(&mut self, addr: u64, write: Option<u8>) -> Reply {
        let (w, v) = write.map_or((0, 0), |v| (1, v));
        let _ = writeln!(
            self.code,
            "\tr = touch({addr:#x}UL, {w}, {v}, &sig, &code);"
        );
        Ok(0)
    }
    fn wait(&mut self) -> Reply {
        Err(Outcome::Refused(
            "an exported program stops at `wait`: the parent's steps are not checked".into(),
        ))
    }
    fn touch_exec(&mut self, _addr: u64) -> Reply {
        Err(Outcome::Refused(
            "an exported program has no instruction-fetch probe".into(),
        ))
    }
    fn shmat(&mut self, _segment: Fd, _addr: u64, _flags: u64) -> Reply {
        Err(Outcome::Refused(
            "an exported program makes no SysV segments".into(),
        ))
    }
    fn shmdt(&mut self, addr: u64) -> Reply {
        self.sys("SYS_shmdt", &[addr])
    }
    fn switch(&mut self, _to_parent: bool) -> Reply {
        Err(Outcome::Refused(
            "an exported program stops at `in`: only the first process's steps are checked".into(),
        ))
    }
    fn fork(&mut self) -> Reply {
        let _ = writeln!(self.code, "\tr = do_fork();");
        Ok(0)
    }
    fn msync(&mut self, addr: u64, len: u64, flags: u64) -> Reply {
        self.sys("SYS_msync", &[addr, len, flags])
    }
    fn memory_merge_get(&mut self) -> Reply {
        self.sys("SYS_prctl", &[68])
    }
    fn mincore(&mut self, addr: u64, len: u64) -> Reply {
        let _ = writeln!(self.code, "\tr = mincore_mask({addr:#x}UL, {len:#x}UL);");
        Ok(0)
    }
    fn status(&mut self, field: u64) -> Reply {
        let name = field_name(STATUS, field)?;
        let _ = writeln!(self.code, "\tr = status_kb({});", c_string(name));
        Ok(0)
    }
    fn smaps(&mut self, addr: u64, field: u64) -> Reply {
        let name = field_name(SMAPS, field)?;
        let _ = writeln!(
            self.code,
            "\tr = smaps_kb({addr:#x}UL, {});",
            c_string(name)
        );
        Ok(0)
    }
    fn setrlimit(&mut self, resource: u64, soft: u64, hard: u64) -> Reply {
        let _ = writeln!(
            self.code,
            "\tr = set_rlimit({resource}, {soft:#x}UL, {hard:#x}UL);"
        );
        Ok(0)
    }
    fn drop_cap(&mut self, cap: u64) -> Reply {
        let _ = writeln!(self.code, "\tr = drop_cap({cap});");
        Ok(0)
    }
    fn sysctl(&mut self, _name: u64, _value: i64) -> Reply {
        Err(Outcome::Refused(
            "an exported program does not change the machine's sysctls".into(),
        ))
    }
    fn ftruncate(&mut self, fd: Fd, size: u64) -> Reply {
        self.sys_fd("SYS_ftruncate", Some(fd), &[size])
    }
    fn add_seals(&mut self, fd: Fd, seals: u64) -> Reply {
        self.sys_fd("SYS_fcntl", Some(fd), &[libc::F_ADD_SEALS as u64, seals])
    }
    fn pwrite(&mut self, fd: Fd, off: u64, value: u8) -> Reply {
        let _ = writeln!(
            self.code,
            "\t{{ static unsigned char byte = {value}; r = sys(SYS_pwrite64, {}, \
             (long)(uintptr_t)&byte, 1L, (long){off:#x}UL, 0, 0); }}",
            fd_expr(fd)
        );
        Ok(0)
    }
    fn fallocate(&mut self, fd: Fd, mode: u64, off: u64, len: u64) -> Reply {
        self.sys_fd("SYS_fallocate", Some(fd), &[mode, off, len])
    }
    fn process_madvise(&mut self, advice: u64, ranges: &[(u64, u64)], flags: u64) -> Reply {
        let iov: Vec<String> = ranges
            .iter()
            .map(|(a, l)| format!("{{ (void *)(uintptr_t){a:#x}UL, {l:#x}UL }}"))
            .collect();
        let iov = match iov.is_empty() {
            true => "{ { 0, 0 } }".to_string(),
            false => format!("{{ {} }}", iov.join(", ")),
        };
        let _ = writeln!(
            self.code,
            "	{{ static struct iovec iov[] = {iov};
	  r = self_process_madvise(iov, {}, {advice:#x}UL, {flags:#x}UL); }}",
            ranges.len()
        );
        Ok(0)
    }
    fn process_mrelease(&mut self, flags: u64) -> Reply {
        let _ = writeln!(self.code, "\tr = self_process_mrelease({flags:#x}UL);");
        Ok(0)
    }
    fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
    ) -> Reply {
        self.sys("SYS_remap_file_pages", &[start, size, prot, pgoff, flags])
    }
}

/// The name of row `value` of a lab table, or the step is refused.
fn field_name(table: &'static [(&'static str, u64)], value: u64) -> Result<&'static str, Outcome> {
    table_name(table, value).ok_or_else(|| Outcome::Refused("unknown field".into()))
}

/// The C condition under which the step's answer `r` (and `sig`, `code`
/// after a touch) is what the kernel answered; None if any answer goes.
fn expected(outcome: &Outcome, w: &Window) -> Result<Option<String>, NotExported> {
    Ok(Some(match outcome {
        Outcome::Ok(Value::Int(v)) => format!("r == {v}L"),
        Outcome::Ok(Value::Addr(a)) => {
            let addr = i128::from(w.base) + a.value(w.page_size);
            format!("r == (long){addr:#x}UL")
        }
        // The program has no far region: outside its window is all it can
        // check.
        Outcome::Ok(Value::Outside | Value::Far(_)) => format!(
            "r >= 0 && ((uint64_t)r < {:#x}UL || (uint64_t)r >= {:#x}UL)",
            w.base,
            w.end()
        ),
        Outcome::Err(name) => {
            let n = errno_number(name).ok_or_else(|| format!("unknown errno {name}"))?;
            format!("r == -{n}L")
        }
        Outcome::Signal { name, code } => {
            let s = signal_number(name).ok_or_else(|| format!("unknown signal {name}"))?;
            match code {
                Some(c) => {
                    let c = signal_code_number(name, c)
                        .ok_or_else(|| format!("unknown si_code {c}"))?;
                    format!("r == -1 && sig == {s} && code == {c}")
                }
                None => format!("r == -1 && sig == {s}"),
            }
        }
        Outcome::Undetermined(_) => return Ok(None),
        Outcome::Skipped(_) => return Ok(None),
        Outcome::Refused(why) => return Err(format!("a step was refused: {why}")),
        Outcome::ChildCrash(why) => return Err(format!("the runner crashed: {why}")),
    }))
}

/// One expected mapping as `window_layout` in the prelude prints it.
fn layout_line(e: &MapEntry) -> String {
    let file = match &e.file {
        FileId::Anon => "anon".to_string(),
        FileId::File(n) | FileId::Special(n) | FileId::Path(n) => n.clone(),
        FileId::Shmem(_) => "shm".to_string(),
    };
    let name = e
        .name
        .as_ref()
        .map_or(String::new(), |n| format!(" name={n}"));
    let flags: Vec<&str> = e
        .vm_flags
        .0
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "sd")
        .collect();
    format!(
        "{}-{} {} {} {file}{name} flags={}\n",
        e.start_page,
        e.end_page,
        e.perms,
        e.offset,
        flags.join(" ")
    )
}

/// The window's part of a layout (the program checks no far region).
fn layout_text(l: &Layout) -> String {
    l.0.iter().filter(|e| !e.far).map(layout_line).collect()
}

/// Whether a step (or its block) names a far or bound address.
fn names_far(step: &StepKind) -> bool {
    let far = |a: &Arg| {
        a.addrs()
            .iter()
            .any(|x| matches!(x, AddrArg::Far(_) | AddrArg::Named(..)))
    };
    step.args.iter().any(far) || step.body.iter().any(names_far)
}

/// The program for `sc`, whose run on the live kernel gave `kernel`.
pub fn program(sc: &Scenario, kernel: &KernelTrace, source: &str) -> Result<String, NotExported> {
    let w = kernel
        .window
        .ok_or_else(|| "the scenario did not run on this kernel".to_string())?;
    // The program's process has no far region.
    let w = Window { far: None, ..w };
    if sc.steps.iter().any(|s| s.kind.keyword() == "touch exec") {
        return Err(
            "`touch exec` is not exported (the program has no instruction-fetch probe)".into(),
        );
    }
    if sc.files.iter().any(|f| f.source == FileSource::Shm) {
        return Err(
            "SysV segments are not exported (the program would have to make and name them)".into(),
        );
    }
    if sc.steps.iter().any(|s| names_far(&s.kind)) {
        return Err(
            "steps name far addresses (`far-N`, `@NAME`), which the program has no region for"
                .into(),
        );
    }
    if kernel.trace.steps.len() != sc.steps.len() {
        return Err("the kernel's run stopped early".into());
    }
    if sc.steps.iter().any(|s| s.kind.keyword() == "repeat") {
        return Err("repeat blocks are not exported (their iterations would be unrolled)".into());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* Generated by `vmalab export --c` from {source}: do not edit.\n * Checks \
         every step's answer and the window's layout against what Linux {} \
         answered when it was exported. */",
        kernel.kernel.as_deref().unwrap_or("(unknown)")
    );
    out.push_str(PRELUDE);
    out.push_str("\nint main(void)\n{\n\tlong r = 0;\n\tint sig = 0, code = 0;\n\n");
    out.push_str("\tsetvbuf(stdout, NULL, _IONBF, 0);\n");
    let _ = writeln!(out, "\tPS = (uint64_t)sysconf(_SC_PAGESIZE);");
    let _ = writeln!(
        out,
        "\tif (PS != {}UL)\n\t\tbail(\"this scenario was exported for {}-byte pages\");",
        w.page_size, w.page_size
    );
    let _ = writeln!(out, "\topen_window({:#x}UL, {}UL);", w.base, w.pages);
    for f in &sc.files {
        let size = f
            .size
            .to_u64(w.page_size)
            .ok_or_else(|| format!("file {}: size does not fit", f.name))?;
        let source = match f.source {
            FileSource::Memfd => 0,
            FileSource::DevZero => 1,
            FileSource::Pipe => 2,
            FileSource::Dir => 3,
            FileSource::Socket => 4,
            FileSource::Secret => 5,
            // Refused above.
            FileSource::Shm => 6,
        };
        let _ = writeln!(
            out,
            "\tmake_file({}, {size:#x}UL, {}, {}, {}, {source});",
            c_string(&f.name),
            u8::from(f.readable),
            u8::from(f.writable),
            u8::from(f.sealable)
        );
    }
    for (step, result) in sc.steps.iter().zip(&kernel.trace.steps) {
        let what = c_string(&format!("line {}: {}", step.line, step.kind));
        let _ = writeln!(
            out,
            "\n\t/* {} */",
            step.kind.to_string().replace("*/", "* /")
        );
        let mut m = Emitter::default();
        let admitted = run_step(&mut m, &w, &mut Bindings::default(), &sc.files, &step.kind);
        if let Outcome::Skipped(why) | Outcome::Refused(why) = &admitted {
            let _ = writeln!(out, "\tskip({what}, {});", c_string(why));
            // The steps after `wait` or `in` run in another process: the
            // program checks none of them.
            if matches!(step.kind.keyword(), "wait" | "in") {
                break;
            }
            continue;
        }
        if let Outcome::Skipped(why) = &result.outcome {
            // The runner left it out on the kernel (a call that would not
            // return there, say): so does the program.
            let _ = writeln!(out, "\tskip({what}, {});", c_string(why));
            continue;
        }
        out.push_str(&m.code);
        match expected(&result.outcome, &w)? {
            Some(cond) => {
                let _ = writeln!(out, "\treport({cond}, {what});");
                let _ = writeln!(
                    out,
                    "\tif (!({cond}))\n\t\tprintf(\"# answer %ld (signal %d, code %d), expected {}\\n\", r, sig, code);",
                    result.outcome.to_string().replace(['"', '\\', '%'], "?")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "\t(void)r;\n\tskip({what}, \"the kernel's answer is not determined\");"
                );
            }
        }
        let layout = c_string(&layout_text(&result.layout));
        let _ = writeln!(
            out,
            "\tlayout_is({}, {layout});",
            c_string(&format!("layout after line {}", step.line))
        );
    }
    out.push_str("\t(void)sig;\n\t(void)code;\n\treturn finish();\n}\n");
    Ok(out)
}

/// The program for a scenario that cannot be exported: a TAP skip.
pub fn skipped(source: &str, why: &str) -> String {
    format!(
        "/* Generated by `vmalab export --c` from {source}: not exportable. */\n\
         #include <stdio.h>\n\nint main(void)\n{{\n\tprintf(\"1..0 # SKIP %s\\n\", {});\n\treturn 0;\n}}\n",
        c_string(why)
    )
}
