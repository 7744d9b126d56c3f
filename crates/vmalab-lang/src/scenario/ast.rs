// SPDX-License-Identifier: GPL-2.0-or-later
//! The parsed form of a scenario: what each step asks for, independent of
//! who executes it (the live kernel or the model).

use super::steps::{Returns, Spec};
use crate::layout::ExpectedLayout;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// `name NAME`, or the file stem.
    pub name: String,
    /// `min-kernel X.Y[.Z]`: older kernels skip the scenario.
    pub min_kernel: Option<KernelVersion>,
    /// `requires [!]NAME`: build options, CPU features and capabilities
    /// the scenario depends on.
    pub requires: Vec<Requirement>,
    /// `window N`: the window size in pages.
    pub window_pages: u64,
    /// `file NAME ...` declarations, in order.
    pub files: Vec<FileDecl>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Default window size in pages when a scenario has no `window` line.
pub const DEFAULT_WINDOW_PAGES: u64 = 256;

/// A kernel version `major.minor.patch`, ordered numerically: the `vma`
/// crate's, so a scenario's versions and the model's configuration are one
/// type.
pub use vma::KernelVersion;

/// `requires NAME` (present) or `requires !NAME` (absent), where NAME is
/// a build option (`CONFIG_USERFAULTFD`), a CPU feature (`pku`) or a
/// capability (`CAP_IPC_LOCK`); also the condition of `expect when`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub enabled: bool,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let not = if self.enabled { "" } else { "!" };
        write!(f, "{not}{}", self.name)
    }
}

/// The condition of `expect when`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `[!]FEATURE`: a CPU feature or capability is present (absent).
    Machine(Requirement),
    /// `kernel>=X.Y[.Z]` (`at_least`) or `kernel<X.Y[.Z]`: the kernel's
    /// version is at least (below) `version`.
    Kernel {
        at_least: bool,
        version: KernelVersion,
    },
}

impl Condition {
    /// Whether the condition holds for a kernel of `version` on `machine`;
    /// `None` if that cannot be told.
    pub fn holds(
        &self,
        version: Option<KernelVersion>,
        machine: &crate::host::Features,
    ) -> Option<bool> {
        match self {
            Condition::Machine(r) => machine.has(&r.name).map(|on| on == r.enabled),
            Condition::Kernel {
                at_least,
                version: v,
            } => version.map(|k| (k >= *v) == *at_least),
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Machine(r) => write!(f, "{r}"),
            Condition::Kernel { at_least, version } => {
                let op = if *at_least { ">=" } else { "<" };
                let KernelVersion(major, minor, patch) = version;
                if *patch == 0 {
                    write!(f, "kernel{op}{major}.{minor}")
                } else {
                    write!(f, "kernel{op}{major}.{minor}.{patch}")
                }
            }
        }
    }
}

/// What a scenario file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FileSource {
    /// A memfd of the declared size.
    #[default]
    Memfd,
    /// `/dev/zero`.
    DevZero,
    /// The read end of a pipe (no `mmap`: ENODEV).
    Pipe,
    /// A directory (`/`), read-only or as a path (no `mmap`: ENODEV).
    Dir,
    /// A Unix stream socket, read-write: it has an `mmap` hook, which
    /// refuses every mapping (ENODEV) after the range was cleared.
    Socket,
    /// A SysV shared memory segment of the declared size (`shmget` with
    /// `IPC_PRIVATE`, mode 0700): no descriptor, only `shmat` maps it.
    Shm,
    /// A `memfd_secret` file, made the declared size by one `ftruncate`.
    Secret,
}

/// A scenario file object: a memfd of `size` (or `/dev/zero`, a pipe, a
/// directory, a socket) opened read-write, read-only, write-only or as a path only
/// (`O_PATH`: neither readable nor writable), sealable or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDecl {
    pub name: String,
    /// What the file is.
    pub source: FileSource,
    /// File size (pages and bytes; unaligned sizes test SIGBUS past EOF).
    pub size: Amount,
    /// Opened for reading (not `wo`); neither this nor `writable` for an
    /// `O_PATH` descriptor (`path`), which no call but `close` takes.
    pub readable: bool,
    pub writable: bool,
    /// Made with `MFD_ALLOW_SEALING` (`sealable`): it starts without
    /// seals; otherwise it holds `F_SEAL_SEAL` and takes none.
    pub sealable: bool,
    /// Line of the declaration (for error messages).
    pub line: usize,
}

/// A quantity written as pages plus bytes: `4`, `4+100b`, `0b`,
/// `0xFFFFFFFFFFFFFFFFb`. The value is `pages * page_size + bytes`, evaluated
/// by whoever runs the scenario (page size is the runner's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Amount {
    pub pages: i128,
    pub bytes: i128,
}

impl Amount {
    /// A whole number of pages.
    pub const fn pages(pages: i128) -> Self {
        Amount { pages, bytes: 0 }
    }

    /// The value in bytes as a signed 128-bit integer (never overflows: the
    /// parser bounds each part well below 2^100).
    pub fn value(&self, page_size: u64) -> i128 {
        self.pages
            .saturating_mul(page_size as i128)
            .saturating_add(self.bytes)
    }

    /// The value in bytes if it fits an unsigned 64-bit machine word.
    pub fn to_u64(&self, page_size: u64) -> Option<u64> {
        u64::try_from(self.value(page_size)).ok()
    }
}

/// `unlimited` (RLIM_INFINITY) as a limit amount.
pub const UNLIMITED: Amount = Amount {
    pages: 0,
    bytes: u64::MAX as i128,
};

/// An address argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrArg {
    /// Relative to the window base: `3` is the window's fourth page.
    Window(Amount),
    /// `abs:NUMBER`: an absolute address in bytes (for overflow tests).
    Absolute(u64),
    /// `far-N`: relative to the top of the far region, where the kernel
    /// places mappings whose address it chooses (see `window::Window`).
    Far(Amount),
    /// `@NAME`, `@NAME+N`: relative to the address an earlier step bound to
    /// the name (`@NAME = mmap ...`).
    Named(String, Amount),
}

/// A flag or enumeration argument: its numeric value and how it was spelled
/// (names validated against the table for that argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    pub value: u64,
    pub text: String,
}

impl Flags {
    /// Flags from a value with a canonical spelling.
    pub fn raw(value: u64) -> Self {
        Flags {
            value,
            text: format!("{value:#x}"),
        }
    }
}

/// The file descriptor argument of `mmap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdArg {
    /// `fd=NAME`: a file declared with `file NAME`.
    File(String),
    /// `fd=-1` (the default) or any raw number.
    Raw(i64),
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 1-based line of the step in its file.
    pub line: usize,
    pub kind: StepKind,
    /// `expect ...` lines following the step, in order.
    pub expect: Vec<Expect>,
}

/// What a step does: a call from the step table and its arguments, one
/// per parameter of the call's [`Spec`], in order. System calls keep their
/// C names and argument order; lab actions (`touch`, `fork`, ...) are
/// hyphenated words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepKind {
    pub spec: &'static Spec,
    pub args: Vec<Arg>,
    /// The steps of a `repeat` block, in order (empty for every other
    /// step).
    pub body: Vec<StepKind>,
    /// `@NAME = ...`: the name the step's returned address is bound to,
    /// for later steps to use as an address.
    pub bind: Option<String>,
}

/// One parsed argument, of the kind its [`Param`](super::steps::Param)
/// declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// An address (`Param::Addr`).
    Addr(AddrArg),
    /// An address that may be left out (`Param::OptAddr`).
    OptAddr(Option<AddrArg>),
    /// A length or an offset.
    Amount(Amount),
    /// A flag set or enumeration.
    Flags(Flags),
    /// A signed integer.
    Int(i64),
    /// One of two words (`Param::Choice`): true for the `yes` word.
    Bool(bool),
    /// A word that may be left out (`Param::OptWord`).
    Word(Option<String>),
    /// `fd=`.
    Fd(FdArg),
    /// `nodes=0,2`; `None` passes a NULL node mask.
    Nodes(Option<Vec<u32>>),
    /// `ADDR LEN` pairs (`Param::Ranges`), possibly none.
    Ranges(Vec<(AddrArg, Amount)>),
}

impl Arg {
    /// The addresses this argument holds (one, or a range list's).
    pub fn addrs(&self) -> Vec<&AddrArg> {
        match self {
            Arg::Addr(a) | Arg::OptAddr(Some(a)) => vec![a],
            Arg::Ranges(pairs) => pairs.iter().map(|(a, _)| a).collect(),
            _ => Vec::new(),
        }
    }

    /// [`Arg::addrs`], to change them.
    pub fn addrs_mut(&mut self) -> Vec<&mut AddrArg> {
        match self {
            Arg::Addr(a) | Arg::OptAddr(Some(a)) => vec![a],
            Arg::Ranges(pairs) => pairs.iter_mut().map(|(a, _)| a).collect(),
            _ => Vec::new(),
        }
    }
}

impl StepKind {
    /// The command word that starts this step's line.
    pub fn keyword(&self) -> &'static str {
        self.spec.keyword
    }

    /// True for steps whose successful return value is an address
    /// (`mmap`, `mremap`, `brk`): `expect = N` then means window page N.
    pub fn returns_address(&self) -> bool {
        self.spec.returns == Returns::Address
    }
}

/// An expectation about the step before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `expect ok`: success, any value.
    Ok,
    /// `expect = VALUE`: success with this value.
    Value(ExpectValue),
    /// `expect errno ENAME`.
    Errno(String),
    /// `expect signal SIGNAME [CODE]`.
    Signal { name: String, code: Option<String> },
    /// `expect skip`: the runner cannot run this step (e.g. brk).
    Skip,
    /// `expect layout` ... `end`: the window's mappings after the step.
    Layout(ExpectedLayout),
    /// `expect when CONDITION ...`: the expectation holds on machines with
    /// (without) a CPU feature or capability, or on kernels of a range of
    /// versions, and is not checked elsewhere.
    When {
        condition: Condition,
        then: Box<Expect>,
    },
}

/// The value in `expect = VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectValue {
    /// A window address for address-returning calls, a plain integer for the
    /// rest (then written without a `b` part).
    Amount(Amount),
    /// `= far-N`: an address in the far region, relative to its top.
    Far(Amount),
    /// `= outside`: an address outside the window and the far region.
    Outside,
}
