// SPDX-License-Identifier: GPL-2.0-or-later
//! The host kernel's configuration as far as VMA behaviour depends on it:
//! version, build options, sysctls and rlimits. The checker gives the model
//! the same values.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;

use crate::scenario::{parse_version, KernelVersion, Requirement, Scenario};

/// Build options that change VMA behaviour, in the order `vmalab host`
/// prints them.
pub const VMA_OPTIONS: &[&str] = &[
    "CONFIG_ANON_VMA_NAME",
    "CONFIG_USERFAULTFD",
    "CONFIG_TRANSPARENT_HUGEPAGE",
    "CONFIG_KSM",
    "CONFIG_MEM_SOFT_DIRTY",
    "CONFIG_NUMA",
    "CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS",
    "CONFIG_PGTABLE_LEVELS",
];

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
    /// Not a sysctl: the `stack_guard_gap=` boot parameter, default 256 pages.
    pub stack_guard_gap_pages: u64,
    /// /sys/kernel/mm/transparent_hugepage/enabled, selected value.
    pub thp_enabled: Option<String>,
    pub rlimit_as: Rlimit,
    pub rlimit_data: Rlimit,
    pub rlimit_stack: Rlimit,
    pub rlimit_memlock: Rlimit,
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
            stack_guard_gap_pages: 256,
            thp_enabled,
            rlimit_as: rlimit(Resource::RLIMIT_AS),
            rlimit_data: rlimit(Resource::RLIMIT_DATA),
            rlimit_stack: rlimit(Resource::RLIMIT_STACK),
            rlimit_memlock: rlimit(Resource::RLIMIT_MEMLOCK),
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

    /// Why this host cannot run `scenario` (`min-kernel`, `requires`), if so.
    pub fn unmet(&self, scenario: &Scenario) -> Option<String> {
        if let (Some(min), Some(v)) = (scenario.min_kernel, self.version) {
            if v < min {
                return Some(format!("needs kernel {min}, host runs {v}"));
            }
        }
        for Requirement { option, enabled } in &scenario.requires {
            match self.option(option) {
                Some(on) if on == *enabled => {}
                Some(on) => {
                    return Some(format!(
                        "needs {option} {}, host has it {}",
                        if *enabled { "on" } else { "off" },
                        if on { "on" } else { "off" }
                    ))
                }
                None => return Some(format!("cannot tell whether {option} is set")),
            }
        }
        None
    }
}

/// The leading `X.Y[.Z]` of a release string.
pub fn release_version(release: &str) -> Option<KernelVersion> {
    let end = release
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(release.len());
    let v = release[..end].trim_end_matches('.');
    parse_version(v)
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
        writeln!(f, "RLIMIT_AS         {}", self.rlimit_as)?;
        writeln!(f, "RLIMIT_DATA       {}", self.rlimit_data)?;
        writeln!(f, "RLIMIT_STACK      {}", self.rlimit_stack)?;
        writeln!(f, "RLIMIT_MEMLOCK    {}", self.rlimit_memlock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            release_version("6.18.44-fc-v769"),
            Some(KernelVersion {
                major: 6,
                minor: 18,
                patch: 44
            })
        );
        assert_eq!(release_version("6.1.0-rc1").unwrap().minor, 1);
        assert_eq!(release_version("6.12").unwrap().patch, 0);
        assert_eq!(release_version("x"), None);
    }

    #[test]
    fn config_lines() {
        let m = parse_config("# c\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"s\"\n");
        assert_eq!(m.get("CONFIG_A").unwrap(), "y");
        assert!(!m.contains_key("CONFIG_B"));
        assert_eq!(m.get("CONFIG_C").unwrap(), "s");
    }
}
