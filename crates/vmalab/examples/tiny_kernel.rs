// SPDX-License-Identifier: GPL-2.0-or-later
//! `vma` embedded as a tiny kernel would embed it: the address space is an
//! [`Mm`] whose [`Env`] owns real page tables over a simulated physical
//! memory. A user access asks the `Mm` first (`fault`: may it happen, and
//! with which signal if not), then reads or writes the frame the page
//! tables map; `zap` and `move_page_tables` are where the VMA layer tells
//! the page tables what its calls did. So what a program wrote reads back
//! -- after mprotect, mremap, MADV_DONTNEED, munmap -- exactly as on Linux.
//!
//! The example checks itself against the live kernel: the same calls and
//! accesses in a window of this process, comparing every result, every
//! byte read and the window's layout. It exits non-zero on a difference.
//!
//! `cargo run --release -p vmalab --example tiny_kernel`

use std::collections::BTreeMap;
use std::process::ExitCode;

use vma::sys::consts::*;
use vma::{Access, Env, Mm, Signal, PAGE_SIZE};

/// Pages in the window both sides use.
const WINDOW: u64 = 64;
/// Where in each page the example writes.
const OFFSET: u64 = 123;

/// The tiny kernel's page tables: virtual page number -> frame.
#[derive(Default)]
struct PageTables {
    frames: BTreeMap<u64, Box<[u8; PAGE_SIZE as usize]>>,
}

impl PageTables {
    /// The frame mapped at `addr`, allocating a zeroed one on first use
    /// (the anonymous-page fault's zero fill).
    fn frame(&mut self, addr: u64) -> &mut [u8; PAGE_SIZE as usize] {
        self.frames
            .entry(addr / PAGE_SIZE)
            .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]))
    }
}

impl Env for PageTables {
    fn zap(&mut self, start: u64, end: u64) {
        let gone: Vec<u64> = self
            .frames
            .range(start / PAGE_SIZE..end.div_ceil(PAGE_SIZE))
            .map(|(&vpn, _)| vpn)
            .collect();
        for vpn in gone {
            self.frames.remove(&vpn);
        }
    }

    fn move_page_tables(&mut self, from: u64, to: u64, len: u64) -> u64 {
        let moving: Vec<u64> = self
            .frames
            .range(from / PAGE_SIZE..(from + len) / PAGE_SIZE)
            .map(|(&vpn, _)| vpn)
            .collect();
        for vpn in moving {
            if let Some(f) = self.frames.remove(&vpn) {
                self.frames
                    .insert(vpn - from / PAGE_SIZE + to / PAGE_SIZE, f);
            }
        }
        len
    }
}

/// The tiny kernel: an address space and its page tables.
struct Tiny {
    mm: Mm<PageTables>,
}

impl Tiny {
    /// A user write of `value` at `addr`.
    fn write(&mut self, addr: u64, value: u8) -> Result<(), Signal> {
        self.mm.fault(addr, Access::Write)?;
        self.mm.env.frame(addr)[(addr % PAGE_SIZE) as usize] = value;
        Ok(())
    }

    /// A user read at `addr`.
    fn read(&mut self, addr: u64) -> Result<u8, Signal> {
        self.mm.fault(addr, Access::Read)?;
        Ok(self.mm.env.frame(addr)[(addr % PAGE_SIZE) as usize])
    }
}

/// A result as the kernel's register holds it: value or -errno.
fn model_ret(r: Result<u64, vma::Errno>) -> i64 {
    match r {
        Ok(v) => v as i64,
        Err(e) => -i64::from(e.0),
    }
}

fn kernel_ret(r: i64) -> i64 {
    if r == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

/// One step, done on both sides: the kernel's result and the model's.
enum Step {
    Mmap(u64, u64, u32),
    Mprotect(u64, u64, u32),
    Mremap(u64, u64, u64),
    Dontneed(u64, u64),
    Munmap(u64, u64),
    Write(u64, u8),
}

struct Lab {
    base: u64,
    tiny: Tiny,
    failures: u32,
}

impl Lab {
    fn at(&self, page: u64) -> u64 {
        self.base + page * PAGE_SIZE
    }

    fn run(&mut self, step: &Step) {
        let p = |n: u64| n * PAGE_SIZE;
        let (kernel, model, what) = match *step {
            Step::Mmap(page, n, prot) => {
                let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
                // SAFETY: MAP_FIXED inside the window this program reserved.
                let k = unsafe {
                    libc::mmap(
                        self.at(page) as *mut _,
                        p(n) as usize,
                        prot as i32,
                        flags as i32,
                        -1,
                        0,
                    )
                };
                let k = if k == libc::MAP_FAILED { -1 } else { k as i64 };
                let m = self.tiny.mm.mmap(self.at(page), p(n), prot, flags, None, 0);
                (kernel_ret(k), model_ret(m), format!("mmap {page} {n}"))
            }
            Step::Mprotect(page, n, prot) => {
                // SAFETY: a range of the window.
                let k =
                    unsafe { libc::mprotect(self.at(page) as *mut _, p(n) as usize, prot as i32) };
                let m = self.tiny.mm.mprotect(self.at(page), p(n), prot).map(|()| 0);
                (
                    kernel_ret(k.into()),
                    model_ret(m),
                    format!("mprotect {page} {n}"),
                )
            }
            Step::Mremap(page, n, to) => {
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
                // SAFETY: source and destination lie in the window.
                let k = unsafe {
                    libc::mremap(
                        self.at(page) as *mut _,
                        p(n) as usize,
                        p(n) as usize,
                        flags as i32,
                        self.at(to) as *mut libc::c_void,
                    )
                };
                let k = if k == libc::MAP_FAILED { -1 } else { k as i64 };
                let m = self
                    .tiny
                    .mm
                    .mremap(self.at(page), p(n), p(n), flags, self.at(to));
                (
                    kernel_ret(k),
                    model_ret(m),
                    format!("mremap {page} {n} -> {to}"),
                )
            }
            Step::Dontneed(page, n) => {
                // SAFETY: a range of the window.
                let k = unsafe {
                    libc::madvise(self.at(page) as *mut _, p(n) as usize, libc::MADV_DONTNEED)
                };
                let m = self
                    .tiny
                    .mm
                    .madvise(self.at(page), p(n), libc::MADV_DONTNEED)
                    .map(|()| 0);
                (
                    kernel_ret(k.into()),
                    model_ret(m),
                    format!("madvise {page} {n} DONTNEED"),
                )
            }
            Step::Munmap(page, n) => {
                // SAFETY: a range of the window.
                let k = unsafe { libc::munmap(self.at(page) as *mut _, p(n) as usize) };
                let m = self.tiny.mm.munmap(self.at(page), p(n)).map(|()| 0);
                (
                    kernel_ret(k.into()),
                    model_ret(m),
                    format!("munmap {page} {n}"),
                )
            }
            Step::Write(page, value) => {
                let addr = self.at(page) + OFFSET;
                // The model says whether the write may happen; the kernel
                // side only writes where it may (a real fault would kill
                // this process).
                let writable = kernel_writable(addr);
                if writable {
                    // SAFETY: this process's own maps say the page is
                    // mapped writable.
                    unsafe { (addr as *mut u8).write_volatile(value) };
                }
                let m = self.tiny.write(addr, value);
                (
                    i64::from(!writable),
                    i64::from(m.is_err()),
                    format!("write {page}"),
                )
            }
        };
        if kernel != model {
            println!("not ok - {what}: kernel {kernel}, model {model}");
            self.failures += 1;
        }
        self.compare(&what);
    }

    /// Compares the window's layout and every readable byte.
    fn compare(&mut self, after: &str) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let kernel = window_lines(&maps, self.base);
        let model = window_lines(&self.tiny.mm.maps().to_string(), self.base);
        if kernel != model {
            println!("not ok - layout after {after}\n# kernel:\n{kernel}# model:\n{model}");
            self.failures += 1;
        }
        for page in 0..WINDOW {
            let addr = self.at(page) + OFFSET;
            let Ok(m) = self.tiny.read(addr) else {
                continue;
            };
            // SAFETY: the model (whose layout matches this process's)
            // says the page is mapped readable.
            let k = unsafe { (addr as *const u8).read_volatile() };
            if k != m {
                println!(
                    "not ok - after {after}: page {page} reads {k} on the kernel, {m} on the model"
                );
                self.failures += 1;
            }
        }
    }
}

/// The mappings of a maps text: start, end and the perms column.
fn mappings(maps: &str) -> impl Iterator<Item = (u64, u64, &str)> {
    maps.lines().filter_map(|line| {
        let mut w = line.split_whitespace();
        let (s, e) = w.next()?.split_once('-')?;
        let perms = w.next()?;
        Some((
            u64::from_str_radix(s, 16).ok()?,
            u64::from_str_radix(e, 16).ok()?,
            perms,
        ))
    })
}

/// Whether this process's maps show `addr` mapped writable: the kernel's
/// side of a write's fate, asked without taking the fault.
fn kernel_writable(addr: u64) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let writable = mappings(&maps)
        .any(|(s, e, perms)| (s..e).contains(&addr) && perms.as_bytes().get(1) == Some(&b'w'));
    writable
}

/// The window's lines of a maps text, as `START-END PERMS` in pages.
fn window_lines(maps: &str, base: u64) -> String {
    mappings(maps)
        .filter(|&(s, e, _)| s >= base && e <= base + WINDOW * PAGE_SIZE)
        .map(|(s, e, perms)| {
            format!(
                "{}-{} {perms}\n",
                (s - base) / PAGE_SIZE,
                (e - base) / PAGE_SIZE
            )
        })
        .collect()
}

fn main() -> ExitCode {
    let host = vmalab::host::HostConfig::detect();
    let config = vmalab::model::config_for(&host);
    // SAFETY: a fresh mapping wherever the kernel puts it, released at
    // once: the window is then free on the kernel side, as on the model's.
    let base = unsafe {
        let w = libc::mmap(
            std::ptr::null_mut(),
            (WINDOW * PAGE_SIZE) as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if w == libc::MAP_FAILED {
            eprintln!("tiny_kernel: cannot reserve a window");
            return ExitCode::from(2);
        }
        libc::munmap(w, (WINDOW * PAGE_SIZE) as usize);
        w as u64
    };
    let mut lab = Lab {
        base,
        tiny: Tiny {
            mm: Mm::with_env(config, PageTables::default()),
        },
        failures: 0,
    };
    let rw = PROT_READ | PROT_WRITE;
    let mut steps = vec![Step::Mmap(0, 16, rw)];
    steps.extend((0..16).map(|i| Step::Write(i, i as u8 + 1)));
    steps.extend([
        Step::Mprotect(4, 4, PROT_READ),
        Step::Write(5, 99),
        Step::Mremap(8, 4, 40),
        Step::Write(41, 77),
        Step::Dontneed(0, 2),
        Step::Munmap(12, 2),
        Step::Mmap(12, 2, rw),
        Step::Mprotect(4, 4, rw),
        Step::Write(5, 55),
        Step::Mremap(40, 4, 8),
        Step::Munmap(0, 64),
    ]);
    for s in &steps {
        lab.run(s);
    }
    println!(
        "tiny_kernel: {} steps, {} frames at the end, {} differences from the live kernel",
        steps.len(),
        lab.tiny.mm.env.frames.len(),
        lab.failures
    );
    if lab.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
