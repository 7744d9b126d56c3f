// SPDX-License-Identifier: GPL-2.0-or-later
//! The guest's configuration as text, sent from a booted kernel to the
//! host: one `key value` line per field of [`HostConfig`]. Build options
//! are not sent; the host reads them from the kernel package's config.

use anyhow::{bail, Context};

use crate::host::{release_version, HostConfig, Rlimit};
use vma::config::HugePool;
use vma::DontunmapBesideSource;

/// How the report spells each answer of the DONTUNMAP merge probe.
const BESIDE_SOURCE: [(DontunmapBesideSource, &str); 3] = [
    (DontunmapBesideSource::Merges, "merges"),
    (DontunmapBesideSource::SkipsSource, "skips-source"),
    (DontunmapBesideSource::MergesNothing, "merges-nothing"),
];

/// `HostConfig` as report lines.
pub fn encode(h: &HostConfig) -> String {
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
    let lim = |r: &Rlimit| format!("{} {}", opt(r.soft), opt(r.hard));
    let cpu = &h.features.cpu;
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        out.push_str(k);
        out.push(' ');
        out.push_str(&v);
        out.push('\n');
    };
    line("release", h.release.clone());
    line("machine", h.machine.clone());
    line("page_size", h.page_size.to_string());
    line("max_map_count", opt(h.max_map_count));
    line("mmap_min_addr", opt(h.mmap_min_addr));
    line("overcommit_memory", opt(h.overcommit_memory));
    line("overcommit_ratio", opt(h.overcommit_ratio));
    line("legacy_va_layout", opt(h.legacy_va_layout));
    line("stack_guard_gap_pages", h.stack_guard_gap_pages.to_string());
    line("thp_enabled", h.thp_enabled.clone().unwrap_or("-".into()));
    line("rlimit_as", lim(&h.rlimit_as));
    line("rlimit_data", lim(&h.rlimit_data));
    line("rlimit_stack", lim(&h.rlimit_stack));
    line("rlimit_memlock", lim(&h.rlimit_memlock));
    line(
        "cpu",
        format!(
            "{} {} {}",
            cpu.pku as u8, cpu.user_shstk as u8, cpu.la57 as u8
        ),
    );
    line("cap_eff", opt(h.features.cap_eff));
    line(
        "pkeys_exhausted",
        u8::from(h.features.pkeys_exhausted).to_string(),
    );
    line(
        "memfd_secret",
        u8::from(h.features.memfd_secret).to_string(),
    );
    line(
        "secretmem_locked",
        h.features
            .secretmem_locked
            .map_or("-".into(), |b| u8::from(b).to_string()),
    );
    line(
        "dontunmap_beside_source",
        BESIDE_SOURCE
            .iter()
            .find(|(b, _)| Some(*b) == h.features.dontunmap_beside_source)
            .map_or("-", |(_, name)| name)
            .into(),
    );
    line("mem_total", opt(h.mem_total));
    line("swap_total", opt(h.swap_total));
    line("nr_hugepages", opt(h.nr_hugepages));
    line(
        "default_huge_shift",
        opt(h.default_huge_shift.map(u64::from)),
    );
    for p in &h.huge_pools {
        line(
            "huge_pool",
            format!("{} {} {} {}", p.shift, p.nr, p.free, p.resv),
        );
    }
    out
}

/// Parses report lines back; unknown keys are an error, missing ones keep
/// their defaults. `options` are left empty (`config_found` false).
pub fn decode(text: &str) -> anyhow::Result<HostConfig> {
    let mut h = HostConfig::default();
    for (n, line) in text.lines().enumerate() {
        let ctx = || format!("guest report line {}: `{line}`", n + 1);
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let num = |v: &str| -> anyhow::Result<Option<u64>> {
            if v == "-" {
                return Ok(None);
            }
            Ok(Some(v.parse().with_context(ctx)?))
        };
        let lim = |v: &str| -> anyhow::Result<Rlimit> {
            let (s, hard) = v.split_once(' ').with_context(ctx)?;
            Ok(Rlimit {
                soft: num(s)?,
                hard: num(hard)?,
            })
        };
        match key {
            "release" => {
                h.release = value.to_string();
                h.version = release_version(value);
            }
            "machine" => h.machine = value.to_string(),
            "page_size" => h.page_size = num(value)?.unwrap_or(4096),
            "max_map_count" => h.max_map_count = num(value)?,
            "mmap_min_addr" => h.mmap_min_addr = num(value)?,
            "overcommit_memory" => h.overcommit_memory = num(value)?,
            "overcommit_ratio" => h.overcommit_ratio = num(value)?,
            "legacy_va_layout" => h.legacy_va_layout = num(value)?,
            "stack_guard_gap_pages" => h.stack_guard_gap_pages = num(value)?.unwrap_or(256),
            "thp_enabled" => h.thp_enabled = (value != "-").then(|| value.to_string()),
            "rlimit_as" => h.rlimit_as = lim(value)?,
            "rlimit_data" => h.rlimit_data = lim(value)?,
            "rlimit_stack" => h.rlimit_stack = lim(value)?,
            "rlimit_memlock" => h.rlimit_memlock = lim(value)?,
            "cpu" => {
                let bits: Vec<&str> = value.split(' ').collect();
                let [pku, shstk, la57] = bits[..] else {
                    bail!("{}: expected three 0/1 values", ctx());
                };
                let cpu = &mut h.features.cpu;
                cpu.pku = pku == "1";
                cpu.user_shstk = shstk == "1";
                cpu.la57 = la57 == "1";
            }
            "cap_eff" => h.features.cap_eff = num(value)?,
            "pkeys_exhausted" => h.features.pkeys_exhausted = value == "1",
            "memfd_secret" => h.features.memfd_secret = value == "1",
            "secretmem_locked" => {
                h.features.secretmem_locked = match value {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                }
            }
            "dontunmap_beside_source" => {
                h.features.dontunmap_beside_source = BESIDE_SOURCE
                    .iter()
                    .find(|(_, name)| *name == value)
                    .map(|(b, _)| *b)
            }
            "mem_total" => h.mem_total = num(value)?,
            "swap_total" => h.swap_total = num(value)?,
            "nr_hugepages" => h.nr_hugepages = num(value)?,
            "default_huge_shift" => {
                h.default_huge_shift = num(value)?.and_then(|v| u32::try_from(v).ok())
            }
            "huge_pool" => {
                let nums = value
                    .split(' ')
                    .map(|v| v.parse::<u64>().with_context(ctx))
                    .collect::<anyhow::Result<Vec<u64>>>()?;
                let [shift, nr, free, resv] = nums[..] else {
                    bail!("{}: expected shift, nr, free and resv", ctx());
                };
                let shift = u32::try_from(shift).ok().filter(|s| *s < 64);
                let shift = shift.with_context(|| format!("{}: bad page shift", ctx()))?;
                h.huge_pools.push(HugePool {
                    shift,
                    nr,
                    free,
                    resv,
                });
            }
            _ => bail!("{}: unknown key", ctx()),
        }
    }
    if h.release.is_empty() {
        bail!("guest report without a release line");
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_everything_but_options() {
        let mut h = HostConfig::detect();
        h.features.cpu.la57 = true;
        h.rlimit_stack.hard = Some(77);
        let back = decode(&encode(&h)).unwrap();
        let mut want = h.clone();
        want.options.clear();
        want.config_found = false;
        assert_eq!(back, want);
    }

    #[test]
    fn bad_reports_are_errors() {
        assert!(decode("").is_err());
        assert!(decode("release 6.1.0\nwhat 1\n").is_err());
        assert!(decode("release 6.1.0\npage_size x\n").is_err());
        assert!(decode("release 6.1.0\ncpu 1 1\n").is_err());
        assert!(decode("release 6.1.0\nhuge_pool 21 0 0\n").is_err());
        assert!(decode("release 6.1.0\nhuge_pool 99 0 0 0\n").is_err());
    }
}
