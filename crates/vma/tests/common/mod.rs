//! Helpers shared by the system-call tests: an address space of the
//! default (Linux 6.18) kernel, page-relative addresses and layouts in the
//! scenario language's form, checked with `validate` on every read.
#![allow(dead_code)]

use vma::sys::consts::*;
use vma::{Config, File, FileKind, Mm, PolicyMode};

pub const P: u64 = 0x1000;
pub const BASE: u64 = 0x1000_0000_0000;
pub const RW: u32 = PROT_READ | PROT_WRITE;
pub const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
pub const SHARED_ANON: u32 = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;

/// Address of window page `n`.
pub fn pg(n: u64) -> u64 {
    BASE + n * P
}

pub fn mm() -> Mm {
    Mm::new(Config::default())
}

/// A memfd-like shmem file of `pages` pages.
pub fn memfd(pages: u64, writable: bool) -> File {
    File::new("f", pages, FileKind::Shmem, true, writable)
}

/// Maps `[a, a + n)` pages anonymous private with `prot`.
pub fn map(m: &mut Mm, a: u64, n: u64, prot: u32) {
    assert_eq!(m.mmap(pg(a), n * P, prot, ANON, None, 0), Ok(pg(a)));
}

/// The layout, one line per VMA: `S-E perms [smaps flags]`, with
/// ` mpol=MODE:NODES` before the flags when the VMA has a policy. Panics
/// if an invariant is broken.
pub fn layout(m: &Mm) -> Vec<String> {
    if let Err(e) = m.validate() {
        panic!("invariant broken: {e}");
    }
    m.vmas()
        .map(|(_, v)| {
            let e = m.map_entry(v);
            let perms = String::from_utf8(e.perms.to_vec()).unwrap();
            let mpol = match &v.policy {
                None => String::new(),
                Some(p) => {
                    let nodes: Vec<String> = (0..64)
                        .filter(|n| p.nodes & (1 << n) != 0)
                        .map(|n| n.to_string())
                        .collect();
                    let name = match p.mode {
                        PolicyMode::Local => "local".to_string(),
                        mode => format!("{}:{}", mode.name(), nodes.join(",")),
                    };
                    format!(" mpol={name}")
                }
            };
            format!(
                "{}-{} {perms}{mpol} [{}]",
                (v.start - BASE) / P,
                (v.end - BASE) / P,
                v.flags.smaps()
            )
        })
        .collect()
}

/// A layout line with its flag group sorted, so that the order in which
/// mnemonics are written does not matter (as in scenario expectations).
fn normalize(line: &str) -> String {
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    match (line.find('['), line.rfind(']')) {
        (Some(a), Some(b)) if a < b => {
            let mut flags: Vec<&str> = line[a + 1..b]
                .split(' ')
                .filter(|f| !f.is_empty())
                .collect();
            flags.sort_unstable();
            format!("{}[{}]", &line[..a], flags.join(" "))
        }
        _ => line,
    }
}

/// `layout(m) == expected`, with the expected lines given as one string;
/// flags within a line may be written in any order.
#[track_caller]
pub fn assert_layout(m: &Mm, expected: &str) {
    let want: Vec<String> = expected
        .lines()
        .map(normalize)
        .filter(|l| !l.is_empty())
        .collect();
    let got: Vec<String> = layout(m).iter().map(|l| normalize(l)).collect();
    assert_eq!(got, want);
}

/// The random drivers' generator: fastrand's, seeded, with the drawing
/// helpers the drivers share.
#[derive(Clone)]
pub struct Rng(fastrand::Rng);
impl Rng {
    /// A generator for `seed` (any value).
    pub fn seeded(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }
    pub fn next(&mut self) -> u64 {
        self.0.u64(..)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }
    /// A window address, occasionally unaligned or absurd.
    pub fn addr(&mut self) -> u64 {
        match self.below(20) {
            0 => self.next(),
            1 => pg(self.below(64)) + self.below(P),
            _ => pg(self.below(64)),
        }
    }
    /// A length, occasionally zero, unaligned or huge.
    pub fn len(&mut self) -> u64 {
        match self.below(20) {
            0 => 0,
            1 => self.next(),
            2 => u64::MAX - self.below(P),
            3 => self.below(3 * P),
            _ => (1 + self.below(16)) * P,
        }
    }
}
