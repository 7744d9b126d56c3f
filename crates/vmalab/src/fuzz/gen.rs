// SPDX-License-Identifier: GPL-2.0-or-later
//! Random scenarios: a window, a file or two, and a sequence of calls with
//! arguments biased towards the interesting cases (adjacent ranges, VMA
//! edges, flags that do and do not merge, faults), as scenario text so
//! that a failing case can be written out and rerun as it is.

use super::rng::Rng;
use crate::scenario::names::FlagKind as K;
use crate::scenario::steps::{Param, Spec, STEPS};
use std::fmt::Write as _;

/// The calls the fuzzer generates: hand-tuned groups of steps, and every
/// other step of the step table with arguments drawn by parameter kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Mmap,
    Munmap,
    Mprotect,
    Touch,
    Fork,
    Mremap,
    Madvise,
    Mlock,
    Mseal,
    Mbind,
    Uffd,
    Prctl,
    Pkey,
    /// A mapping the kernel places (in the far region), bound to a name,
    /// and calls on it and its neighbours there.
    Far,
    /// A step no hand-tuned op generates (see [`Op::all`]).
    Step(&'static Spec),
}

impl Op {
    /// The hand-tuned ops: name for `--weight`, default weight, and the
    /// steps each generates.
    const TUNED: &'static [(Op, &'static str, u32, &'static [&'static str])] = &[
        (Op::Mmap, "mmap", 3, &["mmap", "touch"]),
        (Op::Munmap, "munmap", 1, &["munmap"]),
        (Op::Mprotect, "mprotect", 2, &["mprotect"]),
        (Op::Touch, "touch", 4, &["touch", "touch exec"]),
        (Op::Fork, "fork", 1, &["fork", "wait", "in"]),
        (Op::Mremap, "mremap", 1, &["mremap"]),
        (Op::Madvise, "madvise", 2, &["madvise", "touch"]),
        (
            Op::Mlock,
            "mlock",
            1,
            &["mlock", "mlock2", "munlock", "munlockall"],
        ),
        (Op::Mseal, "mseal", 1, &["mseal"]),
        (
            Op::Mbind,
            "mbind",
            1,
            &[
                "mbind",
                "set_mempolicy",
                "get_mempolicy",
                "set_mempolicy_home_node",
            ],
        ),
        (Op::Uffd, "uffd", 1, &["uffd-register", "uffd-unregister"]),
        (Op::Prctl, "prctl", 1, &["memory-merge", "set-anon-name"]),
        (
            Op::Pkey,
            "pkey",
            1,
            &["pkey_alloc", "pkey_free", "pkey_mprotect"],
        ),
        (Op::Far, "far", 1, &[]),
    ];

    /// Every op with its name and default weight: the tuned ones, then
    /// each table step none of them generates, by its keyword at weight 0
    /// (`--weight mlockall=1` turns one on), so a new call can be fuzzed
    /// as soon as it is in the table.
    pub fn all() -> Vec<(Op, &'static str, u32)> {
        let tuned = Op::TUNED.iter().map(|&(op, name, w, _)| (op, name, w));
        let claimed = |kw: &str| Op::TUNED.iter().any(|t| t.3.contains(&kw));
        let rest = STEPS
            .iter()
            .filter(|s| !claimed(s.keyword))
            .map(|s| (Op::Step(s), s.keyword, 0));
        tuned.chain(rest).collect()
    }
}

/// How often each op is drawn, relative to the others (0: never).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights(Vec<(Op, u32)>);

impl Default for Weights {
    fn default() -> Weights {
        Weights(Op::all().into_iter().map(|(op, _, w)| (op, w)).collect())
    }
}

impl Weights {
    /// The defaults changed by `spec`, a list like `mprotect=3,fork=2,pkey=0`.
    pub fn parse(spec: &str) -> Result<Weights, String> {
        let mut w = Weights::default();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected OP=WEIGHT"))?;
            let value: u32 = value
                .trim()
                .parse()
                .map_err(|_| format!("`{item}`: the weight is not a whole number"))?;
            if value > 1000 {
                return Err(format!("`{item}`: weights go up to 1000"));
            }
            let all = Op::all();
            let op = all
                .iter()
                .find(|(_, n, _)| *n == name.trim())
                .map(|&(op, _, _)| op)
                .ok_or_else(|| {
                    let names: Vec<&str> = all.iter().map(|(_, n, _)| *n).collect();
                    format!("`{name}`: unknown op (one of {})", names.join(", "))
                })?;
            if let Some(slot) = w.0.iter_mut().find(|(o, _)| *o == op) {
                slot.1 = value;
            }
        }
        if w.0.iter().all(|&(_, v)| v == 0) {
            return Err("every weight is 0".into());
        }
        Ok(w)
    }

    /// An op drawn by weight.
    fn draw(&self, rng: &mut Rng) -> Op {
        let total: u64 = self.0.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut at = rng.below(total);
        for &(op, w) in &self.0 {
            if at < u64::from(w) {
                return op;
            }
            at -= u64::from(w);
        }
        Op::Touch
    }

    /// Whether `op` can be drawn.
    fn allows(&self, op: Op) -> bool {
        self.0.iter().any(|&(o, w)| o == op && w > 0)
    }
}

const ADVICES: &[&str] = &[
    "MADV_DONTFORK",
    "MADV_DOFORK",
    "MADV_DONTDUMP",
    "MADV_DODUMP",
    "MADV_WIPEONFORK",
    "MADV_KEEPONFORK",
    "MADV_HUGEPAGE",
    "MADV_NOHUGEPAGE",
    "MADV_SEQUENTIAL",
    "MADV_RANDOM",
    "MADV_NORMAL",
    "MADV_MERGEABLE",
    "MADV_UNMERGEABLE",
    "MADV_DONTNEED",
    "MADV_FREE",
    "MADV_COLD",
    "MADV_PAGEOUT",
    "MADV_WILLNEED",
    "MADV_POPULATE_READ",
    "MADV_POPULATE_WRITE",
    "MADV_REMOVE",
    "MADV_GUARD_INSTALL",
    "MADV_GUARD_INSTALL",
    "MADV_GUARD_REMOVE",
    "MADV_COLLAPSE",
];

/// Window size of generated scenarios, in pages.
const WINDOW: u64 = 32;

const PROTS: &[&str] = &[
    "PROT_READ|PROT_WRITE",
    "PROT_READ|PROT_WRITE",
    "PROT_READ",
    "PROT_NONE",
    "PROT_READ|PROT_EXEC",
    "PROT_EXEC",
    "PROT_READ|PROT_WRITE|PROT_EXEC",
];

/// State of one generated scenario: the ranges recently mapped, so that
/// later steps land on them (their edges, their neighbours) more often
/// than chance would, and the processes forks made.
struct Gen<'a> {
    rng: &'a mut Rng,
    weights: &'a Weights,
    recent: Vec<(u64, u64)>,
    /// Names bound to far mappings so far, with their lengths.
    far: Vec<(usize, u64)>,
    /// The chain of processes the steps so far made (1: no fork), and
    /// which of them runs the next step (0: the first).
    procs: usize,
    cur: usize,
    lines: Vec<String>,
}

/// The files every generated scenario declares that steps with a file
/// parameter draw from: `f1` read-write and open to seals, `f2` read-only
/// (`z`, `/dev/zero`, and `s`, a socket, are mapped by `mmap` only).
const FILES: [&str; 2] = ["f1", "f2"];

/// The SysV segment of scenarios that attach one, and its size in pages.
const SEGMENT: &str = "g";
const SEGMENT_PAGES: u64 = 4;

/// shmat flags, the plain attach and SHM_REMAP the most often.
const SHMAT_FLAGS: &[&str] = &[
    "0",
    "0",
    "SHM_RDONLY",
    "SHM_REMAP",
    "SHM_REMAP",
    "SHM_RND",
    "SHM_EXEC",
    "SHM_RDONLY|SHM_REMAP",
];

/// A scenario of `ops` steps from `rng`, as text named `name`.
pub fn scenario(rng: &mut Rng, name: &str, ops: usize, weights: &Weights) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# generated by vmalab fuzz\nname {name}\nwindow {WINDOW}"
    );
    let _ = writeln!(
        s,
        "file f1 pages=8 rw sealable\nfile f2 pages=4 ro\nfile z /dev/zero\nfile s socket"
    );
    // A SysV segment only where shmat may be drawn: each one is made for
    // the run (and the machine charges it).
    if crate::scenario::steps::spec("shmat").is_some_and(|sp| weights.allows(Op::Step(sp))) {
        let _ = writeln!(s, "file {SEGMENT} shm pages={SEGMENT_PAGES}");
    }
    let mut g = Gen {
        rng,
        weights,
        recent: Vec::new(),
        far: Vec::new(),
        procs: 1,
        cur: 0,
        lines: Vec::new(),
    };
    while g.lines.len() < ops {
        let op = g.weights.draw(g.rng);
        g.step(op);
    }
    g.lines.truncate(ops);
    for l in &g.lines {
        let _ = writeln!(s, "{l}");
    }
    s
}

impl Gen<'_> {
    /// A range: usually on or next to a recent mapping, else anywhere.
    fn range(&mut self) -> (u64, u64) {
        if !self.recent.is_empty() && self.rng.chance(2, 3) {
            let &(s, l) = self.rng.pick(&self.recent);
            let start = match self.rng.below(4) {
                0 => s.saturating_sub(1),
                1 => s + self.rng.below(l),
                _ => s,
            }
            .min(WINDOW - 1);
            let max = (WINDOW - start).min(9);
            return (start, 1 + self.rng.below(max.max(1)));
        }
        range(self.rng)
    }

    /// A page to touch: usually inside a recent mapping (past its file's
    /// end as often as not, for private file mappings of a small file).
    fn page(&mut self) -> u64 {
        if !self.recent.is_empty() && self.rng.chance(3, 4) {
            let &(s, l) = self.rng.pick(&self.recent);
            return (s + self.rng.below(l + 1)).min(WINDOW - 1);
        }
        self.rng.below(WINDOW)
    }

    fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    fn touch(&mut self) {
        let kind = if self.rng.chance(1, 8) {
            "exec"
        } else if self.rng.chance(1, 2) {
            "write"
        } else {
            "read"
        };
        let p = self.page();
        self.push(format!("touch {kind} {p}"));
    }

    /// One drawn op, sometimes followed by the steps that make its state
    /// interesting: attribute changes after fork, touches and userfaultfd
    /// registrations after reclaim advice, touches after a mapping.
    fn step(&mut self, op: Op) {
        match op {
            // A second fork draw ends the child: its parent goes on.
            // Later draws move between the processes: a child exits to
            // its parent or hands it the steps, a parent hands them back
            // or reaps the waiting child.
            Op::Fork if self.procs > 1 || self.cur > 0 => {
                let has_child = self.cur + 1 < self.procs;
                match self.rng.below(4) {
                    0 if has_child => {
                        self.cur += 1;
                        self.push("in child".into());
                    }
                    1 if self.cur > 0 => {
                        self.cur -= 1;
                        self.push("in parent".into());
                    }
                    2 => {
                        if has_child {
                            self.procs = self.cur + 1;
                        } else {
                            self.procs -= 1;
                            self.cur -= 1;
                        }
                        self.push("wait".into());
                    }
                    _ => {}
                }
            }
            Op::Fork => {
                self.procs += 1;
                self.cur += 1;
                self.push("fork".into());
                for _ in 0..self.rng.below(3) {
                    let attr = *self
                        .rng
                        .pick(&[Op::Mprotect, Op::Mlock, Op::Madvise, Op::Mbind]);
                    if self.weights.allows(attr) {
                        self.step(attr);
                    }
                }
            }
            Op::Mmap => {
                let (a, l) = self.range();
                let line = mmap(self.rng, a, l);
                self.recent.push((a, l));
                if self.recent.len() > 4 {
                    self.recent.remove(0);
                }
                self.push(line);
                if self.rng.chance(1, 3) {
                    self.touch();
                }
            }
            Op::Munmap => {
                let (a, l) = self.range();
                self.push(format!("munmap {a} {l}"));
            }
            Op::Mprotect => {
                let (a, l) = self.range();
                let grows = if self.rng.chance(1, 10) {
                    "|PROT_GROWSDOWN"
                } else {
                    ""
                };
                let prot = self.rng.pick(PROTS);
                self.push(format!("mprotect {a} {l} {prot}{grows}"));
            }
            Op::Mremap => {
                let (a, l) = self.range();
                let line = mremap(self.rng, a, l);
                self.push(line);
            }
            Op::Madvise => self.madvise(),
            Op::Mlock => {
                let (a, l) = self.range();
                // No mlockall: it reaches the oracle's whole process, far
                // beyond the window the model sees.
                let line = match self.rng.below(6) {
                    0 => format!("mlock2 {a} {l} MLOCK_ONFAULT"),
                    1 | 2 => format!("munlock {a} {l}"),
                    3 => "munlockall".to_string(),
                    _ => format!("mlock {a} {l}"),
                };
                self.push(line);
            }
            Op::Mseal => {
                if self.rng.chance(1, 3) {
                    let (a, l) = self.range();
                    self.push(format!("mseal {a} {l}"));
                }
            }
            Op::Mbind => self.mempolicy(),
            Op::Uffd => {
                let (a, l) = self.range();
                self.uffd(a, l);
            }
            Op::Prctl => {
                let line = match self.rng.below(3) {
                    0 => format!(
                        "memory-merge {}",
                        if self.rng.chance(1, 2) { "on" } else { "off" }
                    ),
                    _ => {
                        let (a, l) = self.range();
                        format!("set-anon-name {a} {l} heap")
                    }
                };
                self.push(line);
            }
            Op::Pkey => {
                let (a, l) = self.range();
                let line = match self.rng.below(3) {
                    0 => "pkey_alloc 0 0".to_string(),
                    1 => format!("pkey_free {}", 1 + self.rng.below(2)),
                    _ => format!(
                        "pkey_mprotect {a} {l} {} {}",
                        self.rng.pick(PROTS),
                        self.rng.below(3)
                    ),
                };
                self.push(line);
            }
            Op::Touch => self.touch(),
            Op::Far => self.far(),
            Op::Step(spec) => self.generic(spec),
        }
    }

    /// A mapping the kernel places (sometimes), then one to three calls on
    /// a range of one of the far mappings so far: from a page below it
    /// (its lower neighbour, where the kernel packs the next one) up to
    /// its end, never above the far region's top.
    fn far(&mut self) {
        if self.far.is_empty() || self.rng.chance(1, 2) {
            let n = self.far.len();
            let len = 1 + self.rng.below(6);
            let prot = self.rng.pick(PROTS);
            let flags = match self.rng.below(6) {
                0 => "MAP_SHARED|MAP_ANONYMOUS".to_string(),
                1 => format!(
                    "MAP_PRIVATE fd={} off={}",
                    self.rng.pick(&FILES),
                    self.rng.below(4)
                ),
                2 => "MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE".to_string(),
                _ => "MAP_PRIVATE|MAP_ANONYMOUS".to_string(),
            };
            self.push(format!("@f{n} = mmap abs:0 {len} {prot} {flags}"));
            self.far.push((n, len));
        }
        for _ in 0..1 + self.rng.below(3) {
            let &(n, len) = self.rng.pick(&self.far);
            let off = self.rng.below(len + 1) as i64 - 1;
            let at = match off {
                0 => format!("@f{n}"),
                o if o < 0 => format!("@f{n}{o}"),
                o => format!("@f{n}+{o}"),
            };
            let l = 1 + self.rng.below((len as i64 - off) as u64);
            let line = match self.rng.below(9) {
                0 => format!("munmap {at} {l}"),
                1 | 2 => format!("mprotect {at} {l} {}", self.rng.pick(PROTS)),
                3 => format!("madvise {at} {l} {}", self.rng.pick(ADVICES)),
                4 => format!("mlock {at} {l}"),
                5 => match self.rng.below(3) {
                    0 => format!("mremap {at} {l} {} MREMAP_MAYMOVE", 1 + self.rng.below(6)),
                    1 => format!("mremap {at} {l} {} 0", 1 + self.rng.below(6)),
                    _ => {
                        let to = self.rng.below(WINDOW - 8);
                        format!("mremap {at} {l} {l} MREMAP_MAYMOVE|MREMAP_FIXED {to}")
                    }
                },
                6 => format!("touch write {at}"),
                7 => format!("touch read {at}"),
                _ => format!("set-anon-name {at} {l} far"),
            };
            self.push(line);
        }
    }

    /// A memory policy call: mostly mbind, then the task policy, the
    /// policy and node queries (which fault a page in) and home nodes.
    fn mempolicy(&mut self) {
        const MODES: &[&str] = &[
            "MPOL_BIND nodes=0",
            "MPOL_INTERLEAVE nodes=0",
            "MPOL_PREFERRED nodes=0",
            "MPOL_DEFAULT",
            "MPOL_LOCAL",
            "MPOL_BIND|MPOL_F_STATIC_NODES nodes=0",
            "MPOL_PREFERRED_MANY nodes=0",
        ];
        let (a, l) = self.range();
        let mode = self.rng.pick(MODES);
        let line = match self.rng.below(8) {
            0 => format!("set_mempolicy {mode}"),
            1 => {
                let what = if self.rng.chance(1, 2) {
                    "mode"
                } else {
                    "nodes"
                };
                format!("get_mempolicy {what} MPOL_F_ADDR {}", self.page())
            }
            2 => format!("get_mempolicy mode MPOL_F_ADDR|MPOL_F_NODE {}", self.page()),
            3 => format!("set_mempolicy_home_node {a} {l} 0"),
            _ => format!("mbind {a} {l} {mode}"),
        };
        self.push(line);
    }

    /// A step from its table entry alone: one range for its address and
    /// length, flags drawn from their tables, optional parameters left out.
    fn generic(&mut self, spec: &Spec) {
        match spec.keyword {
            "repeat" => return self.repeat(),
            "shmat" => return self.shmat(),
            "shmdt" => return self.shmdt(),
            _ => {}
        }
        let (a, l) = self.range();
        let remap = spec.keyword == "remap_file_pages";
        // The userfaultfd copy and move take a second range, as long as
        // the first: the source, somewhere else (a copy's sometimes
        // unaligned).
        let two = matches!(spec.keyword, "uffd-copy" | "uffd-move");
        let mut addrs = 0;
        let mut line = spec.keyword.to_string();
        for p in spec.params {
            let word = match *p {
                Param::Addr if two && addrs == 1 => {
                    let src = self.rng.below(WINDOW - l + 1);
                    if spec.keyword == "uffd-copy" && src + l < WINDOW && self.rng.chance(1, 8) {
                        format!("{src}+{}b", 1 + self.rng.below(4095))
                    } else {
                        src.to_string()
                    }
                }
                Param::Addr => {
                    addrs += 1;
                    a.to_string()
                }
                // Mostly without a mode (WP needs a WP registration).
                Param::OptFlags(K::UffdCopy | K::UffdMove, ..) if self.rng.chance(2, 3) => {
                    "0".to_string()
                }
                Param::Len(_) => l.to_string(),
                // Only the locked-memory limit: limits on address space or
                // data low enough to matter in a window starve the runner.
                Param::Flags(K::Rlimit) => "RLIMIT_MEMLOCK".to_string(),
                // The advice madvise draws (none that would reach the
                // host's physical pages).
                Param::Flags(K::Madv) => self.rng.pick(ADVICES).to_string(),
                // remap_file_pages takes no protection but 0, and offsets
                // inside the generated files (f1 has 8 pages) or past them.
                Param::Flags(K::Prot) if remap && self.rng.chance(7, 8) => "0".to_string(),
                Param::Int(_) if remap => self.rng.below(10).to_string(),
                // An iovec: the first range drawn above, then up to two
                // more, sometimes empty.
                Param::Ranges => {
                    let mut words = format!("{a} {l}");
                    for _ in 0..self.rng.below(3) {
                        let (a, l) = self.range();
                        let l = if self.rng.chance(1, 6) { 0 } else { l };
                        let _ = write!(words, " {a} {l}");
                    }
                    words
                }
                Param::Limit(_) if self.rng.chance(1, 4) => "unlimited".to_string(),
                Param::Limit(_) => self.rng.below(9).to_string(),
                Param::Flags(k) | Param::OptFlags(k, ..) => match k.table() {
                    [] => "0".to_string(),
                    names => self.rng.pick(names).0.to_string(),
                },
                Param::Int(_) => self.rng.below(3).to_string(),
                Param::Choice { no, yes, .. } => {
                    let pick = if self.rng.chance(1, 2) { yes } else { no };
                    pick.to_string()
                }
                Param::OptAddr | Param::OptWord | Param::OptByte(..) | Param::Key(..) => continue,
                Param::File => self.rng.pick(&FILES).to_string(),
            };
            line.push(' ');
            line.push_str(&word);
        }
        self.push(line);
    }

    /// A SysV attach of the segment (now and then of a memfd, which is no
    /// segment): at a window address that leaves room for it (unaligned
    /// under SHM_RND), or where the kernel places it, bound to a far name.
    fn shmat(&mut self) {
        let flags = *self.rng.pick(SHMAT_FLAGS);
        let seg = if self.rng.chance(1, 10) {
            FILES[0]
        } else {
            SEGMENT
        };
        if !flags.contains("REMAP") && self.rng.chance(1, 5) {
            let n = self.far.len();
            self.push(format!("@f{n} = shmat {seg} abs:0 {flags}"));
            self.far.push((n, SEGMENT_PAGES));
            return;
        }
        let (a, _) = self.range();
        let a = a.min(WINDOW - SEGMENT_PAGES);
        let addr = if flags.contains("RND") && self.rng.chance(1, 2) {
            format!("{a}+{}b", 1 + self.rng.below(4095))
        } else {
            a.to_string()
        };
        self.recent.push((a, SEGMENT_PAGES));
        if self.recent.len() > 4 {
            self.recent.remove(0);
        }
        self.push(format!("shmat {seg} {addr} {flags}"));
    }

    /// A detach at a far attach or near a recent mapping.
    fn shmdt(&mut self) {
        let addr = if !self.far.is_empty() && self.rng.chance(1, 4) {
            let &(n, _) = self.rng.pick(&self.far);
            format!("@f{n}")
        } else {
            self.range().0.to_string()
        };
        self.push(format!("shmdt {addr}"));
    }

    /// A short `repeat` block of one mprotect, moving up a page per
    /// iteration where the window has room (a block of one page per
    /// iteration, as exhaustion scenarios write them).
    fn repeat(&mut self) {
        let (a, _) = self.range();
        let count = 2 + self.rng.below(3);
        let stride = u64::from(a + count < WINDOW);
        let prot = self.rng.pick(PROTS);
        self.push(format!(
            "repeat {count} stride={stride}\n  mprotect {a} 1 {prot}\nend"
        ));
    }

    fn uffd(&mut self, a: u64, l: u64) {
        if self.rng.chance(1, 3) {
            self.push(format!("uffd-unregister {a} {l}"));
        } else {
            let mode = self
                .rng
                .pick(&["MISSING", "WP", "MISSING|WP", "MINOR", "MINOR"]);
            self.push(format!("uffd-register {a} {l} {mode}"));
        }
    }

    /// Advice; reclaim advice is often followed by a userfaultfd
    /// registration of the range and touches inside it.
    fn madvise(&mut self) {
        let (a, l) = self.range();
        let advice = *self.rng.pick(ADVICES);
        self.push(format!("madvise {a} {l} {advice}"));
        if matches!(advice, "MADV_PAGEOUT" | "MADV_COLD") && self.rng.chance(1, 2) {
            if self.weights.allows(Op::Uffd) && self.rng.chance(1, 2) {
                self.uffd(a, l);
            }
            for _ in 0..1 + self.rng.below(2) {
                let kind = if self.rng.chance(1, 2) {
                    "write"
                } else {
                    "read"
                };
                let p = (a + self.rng.below(l)).min(WINDOW - 1);
                self.push(format!("touch {kind} {p}"));
            }
        }
    }
}

/// A range inside the window, mostly small and page aligned.
fn range(rng: &mut Rng) -> (u64, u64) {
    let start = rng.below(WINDOW - 1);
    let len = 1 + rng.below((WINDOW - start).min(8));
    (start, len)
}

fn mmap(rng: &mut Rng, a: u64, l: u64) -> String {
    let prot = rng.pick(PROTS);
    let fixed = match rng.below(8) {
        0 => "|MAP_FIXED_NOREPLACE",
        1 => "",
        _ => "|MAP_FIXED",
    };
    let extra = *rng.pick(&[
        "",
        "",
        "",
        "",
        "",
        "|MAP_POPULATE",
        "|MAP_LOCKED",
        "|MAP_NORESERVE",
        "|MAP_STACK",
    ]);
    let fixed = format!("{fixed}{extra}");
    match rng.below(8) {
        0 => format!("mmap {a} {l} {prot} MAP_SHARED|MAP_ANONYMOUS{fixed}"),
        1 => format!(
            "mmap {a} {l} {prot} MAP_SHARED{fixed} fd=f1 off={}",
            rng.below(8)
        ),
        // Private file mappings of both memfds (f2 is read-only and
        // smaller than most mappings of it: faults past its end).
        2..=4 => format!(
            "mmap {a} {l} {prot} MAP_PRIVATE{fixed} fd=f{} off={}",
            1 + rng.below(2),
            rng.below(4)
        ),
        5 => format!("mmap {a} {l} {prot} MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN{fixed}"),
        6 if rng.chance(1, 3) => format!("mmap {a} {l} {prot} MAP_DROPPABLE|MAP_ANONYMOUS{fixed}"),
        // /dev/zero: private is anonymous memory with a file and an offset.
        6 if rng.chance(1, 2) => format!(
            "mmap {a} {l} {prot} MAP_{}{fixed} fd=z off={}",
            sharing(rng, 4),
            a.saturating_sub(rng.below(2))
        ),
        // A socket: its mmap hook refuses after the range was cleared.
        7 if rng.chance(1, 4) => format!("mmap {a} {l} {prot} MAP_{}{fixed} fd=s", sharing(rng, 2)),
        _ => format!("mmap {a} {l} {prot} MAP_PRIVATE|MAP_ANONYMOUS{fixed}"),
    }
}

/// `SHARED` one time in `one_in`, else `PRIVATE`.
fn sharing(rng: &mut Rng, one_in: u64) -> &'static str {
    if rng.chance(1, one_in) {
        "SHARED"
    } else {
        "PRIVATE"
    }
}

fn mremap(rng: &mut Rng, a: u64, l: u64) -> String {
    let new_len = 1 + rng.below(8);
    match rng.below(6) {
        0 => format!("mremap {a} {l} {new_len} 0"),
        1 => format!("mremap {a} {l} {new_len} MREMAP_MAYMOVE"),
        2 => format!("mremap {a} {l} {l} MREMAP_MAYMOVE|MREMAP_DONTUNMAP"),
        3 => {
            let to = rng.below(WINDOW - 8);
            format!("mremap {a} {l} {l} MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP {to}")
        }
        _ => {
            let to = rng.below(WINDOW - 8);
            format!("mremap {a} {l} {new_len} MREMAP_MAYMOVE|MREMAP_FIXED {to}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step of the table can be generated, by a tuned op that
    /// names it or by its own generic op; every generated line parses.
    #[test]
    fn every_step_is_generated() {
        let all = Op::all();
        for spec in STEPS {
            assert!(
                all.iter().any(|(_, n, _)| *n == spec.keyword)
                    || Op::TUNED.iter().any(|t| t.3.contains(&spec.keyword))
            );
        }
        for (_, _, _, steps) in Op::TUNED {
            assert!(steps
                .iter()
                .all(|k| crate::scenario::steps::spec(k).is_some()));
        }
        let every: Vec<String> = all.iter().map(|(_, n, _)| format!("{n}=1")).collect();
        let w = Weights::parse(&every.join(",")).unwrap();
        for seed in 0..20 {
            let text = scenario(&mut Rng::new(seed), "t", 60, &w);
            crate::scenario::parse("t", &text).unwrap();
        }
    }

    #[test]
    fn weights_parse_and_refuse() {
        let w = Weights::parse("mprotect=3, fork=2,pkey=0").unwrap();
        assert!(!w.allows(Op::Pkey) && w.allows(Op::Fork));
        assert!(Weights::parse("nope=1").is_err());
        assert!(Weights::parse("mmap").is_err());
        assert!(Weights::parse("mmap=-1").is_err());
        let all_zero: Vec<String> = Op::all().iter().map(|(_, n, _)| format!("{n}=0")).collect();
        assert!(Weights::parse(&all_zero.join(",")).is_err());
    }

    #[test]
    fn zero_weight_ops_never_appear() {
        let w = Weights::parse("pkey=0,fork=0").unwrap();
        for seed in 0..50 {
            let text = scenario(&mut Rng::new(seed), "t", 80, &w);
            assert!(!text.contains("pkey") && !text.contains("fork"), "{text}");
            assert_eq!(super::super::shrink::split(&text).1.len(), 80);
            crate::scenario::parse("t", &text).unwrap();
        }
    }
}
