// SPDX-License-Identifier: GPL-2.0-or-later
//! The host kernel's configuration as far as VMA behaviour depends on it:
//! version, build options, sysctls, rlimits, and the machine it runs on
//! (CPU features and the task's capabilities). The checker gives the model
//! the same values.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;

use crate::scenario::{parse_version, KernelVersion, Requirement, Scenario};
use vma::config::{CpuFeatures, HugePool};
use vma::DontunmapBesideSource;

/// Build options that change VMA behaviour, in the order `vmalab host`
/// prints them.
pub const VMA_OPTIONS: &[&str] = &[
    "CONFIG_ANON_VMA_NAME",
    "CONFIG_USERFAULTFD",
    "CONFIG_TRANSPARENT_HUGEPAGE",
    "CONFIG_HUGETLBFS",
    "CONFIG_KSM",
    "CONFIG_MEM_SOFT_DIRTY",
    "CONFIG_MEMORY_FAILURE",
    "CONFIG_NUMA",
    "CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS",
    "CONFIG_PGTABLE_LEVELS",
];

/// CPU features that change VMA behaviour, as /proc/cpuinfo names them.
pub const CPU_FEATURES: [&str; 3] = CpuFeatures::NAMES;

/// The capabilities the model consults, with their bit numbers in
/// `CapEff` (include/uapi/linux/capability.h). This table is the one place
/// the lab reads capabilities from.
pub const CAPABILITIES: &[(&str, u32)] = &[
    ("CAP_IPC_LOCK", 14),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_ADMIN", 21),
];

/// The machine a kernel runs on, as far as scenarios can ask about it
/// (`requires pku`, `expect when !pku ...`): its CPU features and the
/// running task's effective capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Features {
    pub cpu: CpuFeatures,
    /// `CapEff` of the process that runs scenarios; `None` if unreadable.
    pub cap_eff: Option<u64>,
    /// Without `pku`, every `pkey_alloc` answers ENOSPC (the kernel's key
    /// map starts full; see `vma::Config::pkeys_exhausted_without_pku`).
    /// Probed; scenarios name it `pkeys_exhausted`.
    pub pkeys_exhausted: bool,
    /// What an `MREMAP_DONTUNMAP` copy right beside its source merges with
    /// (see `vma::DontunmapBesideSource`); `None` if the probe could not
    /// run. Probed; scenarios name it `dontunmap_joins_source` (the copy may
    /// join its source) and `dontunmap_copy_alone` (it joins nothing).
    pub dontunmap_beside_source: Option<DontunmapBesideSource>,
    /// `memfd_secret` makes files (off on Debian's 6.1). Probed;
    /// scenarios name it `memfd_secret`.
    pub memfd_secret: bool,
    /// Its mappings are `VM_LOCKED` (`vma::Config::secretmem_locks_vma`);
    /// `None` without memfd_secret. Probed; scenarios name it
    /// `secretmem_locked`.
    pub secretmem_locked: Option<bool>,
}

/// Facts scenarios may name besides CPU features and capabilities.
pub const KERNEL_FACTS: [&str; 5] = [
    PKEYS_EXHAUSTED,
    DONTUNMAP_JOINS_SOURCE,
    DONTUNMAP_COPY_ALONE,
    MEMFD_SECRET,
    SECRETMEM_LOCKED,
];

/// `memfd_secret` mappings are `VM_LOCKED`.
const SECRETMEM_LOCKED: &str = "secretmem_locked";

/// `memfd_secret` makes files.
const MEMFD_SECRET: &str = "memfd_secret";

/// Without `pku`, every `pkey_alloc` answers ENOSPC.
const PKEYS_EXHAUSTED: &str = "pkeys_exhausted";
/// An `MREMAP_DONTUNMAP` copy may join its source.
const DONTUNMAP_JOINS_SOURCE: &str = "dontunmap_joins_source";
/// An `MREMAP_DONTUNMAP` copy beside its source joins nothing.
const DONTUNMAP_COPY_ALONE: &str = "dontunmap_copy_alone";

impl Features {
    /// Reads this machine: /proc/cpuinfo and /proc/self/status.
    pub fn detect() -> Features {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let cpu = cpu_features(&cpuinfo);
        Features {
            cpu,
            cap_eff: cap_eff(&status),
            pkeys_exhausted: !cpu.pku
                && crate::probe::first_pkey_alloc() == Some(-i64::from(libc::ENOSPC)),
            dontunmap_beside_source: crate::probe::dontunmap_beside_source(),
            memfd_secret: crate::probe::memfd_secret(),
            secretmem_locked: crate::probe::secretmem_locks_vma(),
        }
    }

    /// Whether the machine has the CPU feature or capability `name`; `None`
    /// for a name this table does not know or a capability set that could
    /// not be read.
    pub fn has(&self, name: &str) -> Option<bool> {
        if let Some(on) = self.cpu.get(name) {
            return Some(on);
        }
        let beside = self.dontunmap_beside_source;
        match name {
            PKEYS_EXHAUSTED => return Some(self.pkeys_exhausted),
            MEMFD_SECRET => return Some(self.memfd_secret),
            SECRETMEM_LOCKED => return self.secretmem_locked,
            DONTUNMAP_JOINS_SOURCE => return beside.map(|b| b == DontunmapBesideSource::Merges),
            DONTUNMAP_COPY_ALONE => {
                return beside.map(|b| b == DontunmapBesideSource::MergesNothing)
            }
            _ => {}
        }
        let (_, bit) = CAPABILITIES.iter().find(|(n, _)| *n == name)?;
        self.cap_eff.map(|c| c & (1 << bit) != 0)
    }

    /// Whether `name` is a CPU feature or capability scenarios may name.
    pub fn knows(name: &str) -> bool {
        CPU_FEATURES.contains(&name)
            || KERNEL_FACTS.contains(&name)
            || CAPABILITIES.iter().any(|(n, _)| *n == name)
    }

    /// Whether the task holds capability `name` (false if unknown).
    pub fn capable(&self, name: &str) -> bool {
        self.has(name) == Some(true)
    }
}

/// The VMA-relevant CPU features of the first processor in /proc/cpuinfo.
/// Protection keys count only when the OS enabled them too (`ospke`).
pub fn cpu_features(cpuinfo: &str) -> CpuFeatures {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.split_whitespace().collect())
        .unwrap_or_default();
    let has = |f: &str| flags.contains(&f);
    CpuFeatures {
        pku: has("pku") && has("ospke"),
        user_shstk: has("user_shstk"),
        la57: has("la57"),
    }
}

/// `CapEff` from the text of /proc/PID/status.
pub fn cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// A resource limit; `None` is RLIM_INFINITY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rlimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Everything detected about the host. `None` means "could not be read".
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HostConfig {
    /// `uname -r`, e.g. `6.18.44-fc-v769`.
    pub release: String,
    /// The numeric prefix of the release.
    pub version: Option<KernelVersion>,
    pub machine: String,
    pub page_size: u64,
    /// All `CONFIG_*` options from /proc/config.gz (or /boot/config-*),
    /// value `y`, `m` or a string; options that are "not set" are absent.
    /// Empty if no config was found (`config_found` false).
    pub options: BTreeMap<String, String>,
    pub config_found: bool,
    /// /proc/sys/vm sysctls.
    pub max_map_count: Option<u64>,
    pub mmap_min_addr: Option<u64>,
    pub overcommit_memory: Option<u64>,
    pub overcommit_ratio: Option<u64>,
    /// `vm.legacy_va_layout`: non-zero makes mmap allocate bottom-up,
    /// which leaves no far region (see `window::Window`).
    pub legacy_va_layout: Option<u64>,
    /// Not a sysctl: the `stack_guard_gap=` boot parameter, default 256 pages.
    pub stack_guard_gap_pages: u64,
    /// /sys/kernel/mm/transparent_hugepage/enabled, selected value.
    pub thp_enabled: Option<String>,
    pub rlimit_as: Rlimit,
    pub rlimit_data: Rlimit,
    pub rlimit_stack: Rlimit,
    pub rlimit_memlock: Rlimit,
    /// CPU features and capabilities.
    pub features: Features,
    /// `MemTotal` and `SwapTotal` of /proc/meminfo in bytes (overcommit).
    pub mem_total: Option<u64>,
    pub swap_total: Option<u64>,
    /// `vm.nr_hugepages`: the default huge page pool's size.
    pub nr_hugepages: Option<u64>,
    /// The huge page sizes (hstates) and their pools, smallest first, from
    /// /sys/kernel/mm/hugepages/hugepages-*kB/.
    pub huge_pools: Vec<HugePool>,
    /// log2 of the default huge page size (/proc/meminfo `Hugepagesize`).
    pub default_huge_shift: Option<u32>,
}

impl HostConfig {
    /// Reads the running system's configuration.
    pub fn detect() -> HostConfig {
        let uts = nix::sys::utsname::uname().ok();
        let release = uts
            .as_ref()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let machine = uts
            .as_ref()
            .map(|u| u.machine().to_string_lossy().into_owned())
            .unwrap_or_default();
        let (options, config_found) = match read_config(&release) {
            Some(text) => (parse_config(&text), true),
            None => (BTreeMap::new(), false),
        };
        let sysctl = |n: &str| {
            std::fs::read_to_string(format!("/proc/sys/vm/{n}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
        };
        let thp_enabled = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .ok()
            .and_then(|s| {
                let a = s.find('[')?;
                let b = s[a..].find(']')?;
                Some(s[a + 1..a + b].to_string())
            });
        use nix::sys::resource::Resource;
        HostConfig {
            version: release_version(&release),
            release,
            machine,
            page_size: nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .map_or(4096, |v| v as u64),
            options,
            config_found,
            max_map_count: sysctl("max_map_count"),
            mmap_min_addr: sysctl("mmap_min_addr"),
            overcommit_memory: sysctl("overcommit_memory"),
            overcommit_ratio: sysctl("overcommit_ratio"),
            legacy_va_layout: sysctl("legacy_va_layout"),
            stack_guard_gap_pages: 256,
            thp_enabled,
            rlimit_as: rlimit(Resource::RLIMIT_AS),
            rlimit_data: rlimit(Resource::RLIMIT_DATA),
            rlimit_stack: rlimit(Resource::RLIMIT_STACK),
            rlimit_memlock: rlimit(Resource::RLIMIT_MEMLOCK),
            features: Features::detect(),
            mem_total: meminfo("MemTotal:"),
            swap_total: meminfo("SwapTotal:"),
            nr_hugepages: sysctl("nr_hugepages"),
            huge_pools: huge_pools("/sys/kernel/mm/hugepages"),
            default_huge_shift: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| default_huge_shift(&m)),
        }
    }

    /// Whether a build option is enabled (`y` or `m`); `None` if the config
    /// could not be read.
    pub fn option(&self, name: &str) -> Option<bool> {
        if !self.config_found {
            return None;
        }
        Some(self.options.get(name).is_some_and(|v| v != "n"))
    }

    /// Whether `name` -- a build option, a CPU feature or a capability --
    /// is present; `None` if that cannot be told.
    pub fn has(&self, name: &str) -> Option<bool> {
        if name.starts_with("CONFIG_") {
            self.option(name)
        } else {
            self.features.has(name)
        }
    }

    /// Why this host cannot run `scenario` (`min-kernel`, `requires`), if so.
    pub fn unmet(&self, scenario: &Scenario) -> Option<String> {
        if let (Some(min), Some(v)) = (scenario.min_kernel, self.version) {
            if v < min {
                return Some(format!("needs kernel {min}, host runs {v}"));
            }
        }
        for Requirement { name, enabled } in &scenario.requires {
            match self.has(name) {
                Some(on) if on == *enabled => {}
                Some(on) => {
                    return Some(format!(
                        "needs {name} {}, host has it {}",
                        if *enabled { "on" } else { "off" },
                        if on { "on" } else { "off" }
                    ))
                }
                None => return Some(format!("cannot tell whether the host has {name}")),
            }
        }
        None
    }
}

/// A /proc/meminfo field in bytes.
fn meminfo(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// The leading `X.Y[.Z]` of a release string.
pub fn release_version(release: &str) -> Option<KernelVersion> {
    let end = release
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(release.len());
    let v = release[..end].trim_end_matches('.');
    parse_version(v)
}

/// The huge page pools under `dir` (/sys/kernel/mm/hugepages): one
/// `hugepages-SIZEkB` directory per size, with its page counts. Sizes
/// whose counts cannot be read count as empty pools.
fn huge_pools(dir: &str) -> Vec<HugePool> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut pools: Vec<HugePool> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let shift = huge_dir_shift(&name)?;
            let count = |f: &str| {
                std::fs::read_to_string(e.path().join(f))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0)
            };
            Some(HugePool {
                shift,
                nr: count("nr_hugepages"),
                free: count("free_hugepages"),
                resv: count("resv_hugepages"),
            })
        })
        .collect();
    pools.sort_by_key(|p| p.shift);
    pools
}

/// log2 of the page size a `hugepages-SIZEkB` directory is named for.
pub fn huge_dir_shift(name: &str) -> Option<u32> {
    let kb: u64 = name
        .strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()?;
    kb_shift(kb)
}

/// log2 of `kb` KiB, if that is a power of two.
fn kb_shift(kb: u64) -> Option<u32> {
    kb.is_power_of_two().then(|| kb.trailing_zeros() + 10)
}

/// log2 of the default huge page size, from /proc/meminfo's text.
pub fn default_huge_shift(meminfo: &str) -> Option<u32> {
    let v = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))?;
    kb_shift(v.trim().trim_end_matches("kB").trim().parse().ok()?)
}

/// The kernel config text: /proc/config.gz via `gzip -dc`, else
/// /boot/config-RELEASE.
fn read_config(release: &str) -> Option<String> {
    if std::path::Path::new("/proc/config.gz").exists() {
        if let Ok(out) = Command::new("gzip")
            .args(["-dc", "/proc/config.gz"])
            .output()
        {
            if out.status.success() {
                return String::from_utf8(out.stdout).ok();
            }
        }
    }
    std::fs::read_to_string(format!("/boot/config-{release}")).ok()
}

/// Parses `CONFIG_X=value` lines.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with("CONFIG_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn rlimit(r: nix::sys::resource::Resource) -> Rlimit {
    let lim = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
    match nix::sys::resource::getrlimit(r) {
        Ok((s, h)) => Rlimit {
            soft: lim(s),
            hard: lim(h),
        },
        Err(_) => Rlimit::default(),
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |x: Option<u64>| x.map_or("unlimited".to_string(), |n| n.to_string());
        write!(f, "{} / {}", v(self.soft), v(self.hard))
    }
}

impl fmt::Display for HostConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |x: Option<u64>| x.map_or("?".to_string(), |n| n.to_string());
        writeln!(f, "kernel            {} ({})", self.release, self.machine)?;
        match self.version {
            Some(v) => writeln!(f, "version           {v}")?,
            None => writeln!(f, "version           ?")?,
        }
        writeln!(f, "page size         {}", self.page_size)?;
        for o in VMA_OPTIONS {
            let v = if !self.config_found {
                "? (no kernel config found)".to_string()
            } else {
                self.options
                    .get(*o)
                    .cloned()
                    .unwrap_or_else(|| "not set".into())
            };
            writeln!(f, "{o:<42}{v}")?;
        }
        writeln!(f, "vm.max_map_count  {}", opt(self.max_map_count))?;
        writeln!(f, "vm.mmap_min_addr  {}", opt(self.mmap_min_addr))?;
        writeln!(f, "vm.overcommit_memory {}", opt(self.overcommit_memory))?;
        writeln!(f, "vm.overcommit_ratio  {}", opt(self.overcommit_ratio))?;
        writeln!(f, "vm.legacy_va_layout  {}", opt(self.legacy_va_layout))?;
        writeln!(
            f,
            "stack_guard_gap   {} pages (boot default; not readable)",
            self.stack_guard_gap_pages
        )?;
        writeln!(
            f,
            "THP enabled       {}",
            self.thp_enabled.as_deref().unwrap_or("?")
        )?;
        writeln!(f, "vm.nr_hugepages   {}", opt(self.nr_hugepages))?;
        for p in &self.huge_pools {
            let default = if Some(p.shift) == self.default_huge_shift {
                " (default)"
            } else {
                ""
            };
            let label = format!("hugepages-{}kB{default}", p.size() >> 10);
            writeln!(f, "{label:<30}nr {} free {} resv {}", p.nr, p.free, p.resv)?;
        }
        if self.huge_pools.is_empty() {
            writeln!(f, "hugepages         none")?;
        }
        writeln!(f, "RLIMIT_AS         {}", self.rlimit_as)?;
        writeln!(f, "RLIMIT_DATA       {}", self.rlimit_data)?;
        writeln!(f, "RLIMIT_STACK      {}", self.rlimit_stack)?;
        writeln!(f, "RLIMIT_MEMLOCK    {}", self.rlimit_memlock)?;
        for name in CPU_FEATURES {
            let on = if self.features.cpu.get(name) == Some(true) {
                "yes"
            } else {
                "no"
            };
            writeln!(f, "cpu {name:<14}{on}")?;
        }
        if !self.features.cpu.pku {
            let answer = if self.features.pkeys_exhausted {
                "ENOSPC from the first (pkeys_exhausted)"
            } else {
                "EINVAL, then ENOSPC"
            };
            writeln!(f, "pkey_alloc        {answer}")?;
        }
        let beside = match self.features.dontunmap_beside_source {
            Some(DontunmapBesideSource::Merges) => "joins its source (dontunmap_joins_source)",
            Some(DontunmapBesideSource::SkipsSource) => "joins the other neighbour only",
            Some(DontunmapBesideSource::MergesNothing) => "joins nothing (dontunmap_copy_alone)",
            None => "not probed",
        };
        writeln!(f, "DONTUNMAP copy    {beside}")?;
        let secret = match (self.features.memfd_secret, self.features.secretmem_locked) {
            (false, _) => "off (no memfd_secret)",
            (true, Some(true)) => "mappings locked (memfd_secret, secretmem_locked)",
            (true, Some(false)) => "pages charged as they fault (memfd_secret)",
            (true, None) => "on, not probed further (memfd_secret)",
        };
        writeln!(f, "memfd_secret      {secret}")?;
        for (name, _) in CAPABILITIES {
            let held = match self.features.has(name) {
                Some(true) => "held",
                Some(false) => "not held",
                None => "?",
            };
            writeln!(f, "{name:<18}{held}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            release_version("6.18.44-fc-v769"),
            Some(KernelVersion(6, 18, 44))
        );
        assert_eq!(release_version("6.1.0-rc1").unwrap().1, 1);
        assert_eq!(release_version("6.12").unwrap().2, 0);
        assert_eq!(release_version("x"), None);
    }

    #[test]
    fn cpu_flags_need_the_os_for_protection_keys() {
        let cpu = cpu_features("processor\t: 0\nflags\t\t: fpu pku la57 user_shstk\n");
        assert!(!cpu.pku, "pku without ospke is not enabled");
        assert!(cpu.la57 && cpu.user_shstk);
        let cpu = cpu_features("flags\t\t: fpu pku ospke\n");
        assert!(cpu.pku && !cpu.la57 && !cpu.user_shstk);
        assert_eq!(cpu_features(""), CpuFeatures::NONE);
    }

    #[test]
    fn capabilities_from_cap_eff() {
        let m = Features {
            cpu: CpuFeatures::NONE,
            cap_eff: cap_eff("Name:\tx\nCapEff:\t0000000000804000\n"),
            pkeys_exhausted: true,
            dontunmap_beside_source: Some(DontunmapBesideSource::MergesNothing),
            memfd_secret: false,
            secretmem_locked: None,
        };
        assert_eq!(m.has("pkeys_exhausted"), Some(true));
        assert_eq!(m.has("memfd_secret"), Some(false));
        assert!(Features::knows("pkeys_exhausted"));
        assert_eq!(m.has("dontunmap_copy_alone"), Some(true));
        assert_eq!(m.has("dontunmap_joins_source"), Some(false));
        assert_eq!(m.has("CAP_IPC_LOCK"), Some(true));
        assert_eq!(m.has("CAP_SYS_NICE"), Some(true));
        assert_eq!(m.has("CAP_SYS_RAWIO"), Some(false));
        assert_eq!(m.has("pku"), Some(false));
        assert_eq!(m.has("CAP_NOPE"), None);
        let unknown = Features::default();
        assert_eq!(unknown.has("CAP_IPC_LOCK"), None);
        assert_eq!(unknown.has("dontunmap_copy_alone"), None);
    }

    #[test]
    fn huge_page_sizes() {
        assert_eq!(huge_dir_shift("hugepages-2048kB"), Some(21));
        assert_eq!(huge_dir_shift("hugepages-1048576kB"), Some(30));
        assert_eq!(huge_dir_shift("hugepages-3kB"), None);
        assert_eq!(huge_dir_shift("other"), None);
        let m = "HugePages_Total:       0\nHugepagesize:       2048 kB\n";
        assert_eq!(default_huge_shift(m), Some(21));
        assert_eq!(default_huge_shift(""), None);
    }

    #[test]
    fn config_lines() {
        let m = parse_config("# c\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"s\"\n");
        assert_eq!(m.get("CONFIG_A").unwrap(), "y");
        assert!(!m.contains_key("CONFIG_B"));
        assert_eq!(m.get("CONFIG_C").unwrap(), "s");
    }
}
