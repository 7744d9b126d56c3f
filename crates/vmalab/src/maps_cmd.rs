// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab maps FILE|PID`: what a maps or smaps snapshot says about an
//! address space -- how many VMAs and how close to `vm.max_map_count`,
//! which neighbours stay apart and why, the largest holes, and what kinds
//! of memory the VMAs hold.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vma::verdict::{MergeVerdict, NoMerge};
use vma::Mm;

use crate::snapshot::{Modelled, SnapVma, Snapshot};

/// A VMA in one line: `start-end perms name`; `name` overrides the
/// name the model gives it (a snapshot knows `[vdso]` and friends).
pub fn describe(mm: &Mm, id: vma::VmaId, name: Option<&str>) -> String {
    match mm.get(id) {
        Some(v) => {
            let e = mm.map_entry(v);
            let perms = std::str::from_utf8(&e.perms).unwrap_or("????");
            let name = name.unwrap_or(&e.name);
            let name = if name.is_empty() { "[anon]" } else { name };
            format!("{:x}-{:x} {perms} {name}", v.start, v.end)
        }
        None => format!("{id:?} (gone)"),
    }
}

/// The snapshot's name of the mapping starting at `start`.
pub fn snap_name(snap: &Snapshot, start: u64) -> Option<&str> {
    let i = snap.vmas.binary_search_by_key(&start, |v| v.start).ok()?;
    Some(snap.vmas[i].path.as_str())
}

/// What a verdict means for a snapshot: the reason in words, as a group
/// heading. Reasons smaps cannot show (anon_vma identity) are said to be
/// inferred.
pub fn snapshot_reason(v: &MergeVerdict, smaps: bool) -> String {
    match v {
        MergeVerdict::Merges if smaps => {
            "nothing smaps shows keeps them apart: the reason must be \
             anon_vma identity (one side a fork child, or faulted into different anon_vmas), \
             or a NUMA policy, userfaultfd context or vm_ops->close smaps does not show"
                .to_string()
        }
        MergeVerdict::Merges => "the permissions agree; a plain maps file shows neither VmFlags \
             nor anonymous pages: other flags or anon_vma identity keep them apart"
            .to_string(),
        MergeVerdict::Refused(NoMerge::AnonVma(_)) => {
            "both have anonymous pages: the reason must be \
             anon_vma identity, which smaps does not show (faulted into different anon_vmas, \
             or a fork child's) (is_mergeable_anon_vma)"
                .to_string()
        }
        MergeVerdict::Refused(NoMerge::FlagsDiffer { differ }) => {
            format!("flags differ: {differ:?} (is_mergeable_vma)")
        }
        MergeVerdict::Refused(NoMerge::Special { flags }) => {
            format!("special mapping ({flags:?}) never merges (vma_merge_existing_range)")
        }
        MergeVerdict::Refused(why) => format!("{} ({})", why.rule(), why.kernel_function()),
    }
}

/// The kind of memory a mapping holds, for the totals.
fn kind(v: &SnapVma) -> &'static str {
    match v.path.as_str() {
        "[heap]" => "heap",
        p if p.starts_with("[stack") => "stack",
        "[vvar]" | "[vdso]" | "[vsyscall]" | "[vvar_vclock]" | "[uprobes]" => "special",
        _ if v.has_file() && v.dev.0 == 0 => "shared memory",
        _ if v.has_file() => "file",
        _ => "anonymous",
    }
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The report on a snapshot and its model.
pub fn report(snap: &Snapshot, m: &Modelled, max_map_count: Option<u64>) -> String {
    let mut out = String::new();
    let mm = &m.mm;
    let count = mm.map_count();
    let form = if snap.smaps { "smaps" } else { "maps" };
    let _ = writeln!(
        out,
        "{}: {count} VMAs ({form}{})",
        snap.source,
        if m.left_out.is_empty() {
            String::new()
        } else {
            format!(
                ", and {} gate page(s) above the user address space",
                m.left_out.len()
            )
        }
    );
    if let Some(max) = max_map_count {
        let used = count as f64 * 100.0 / max.max(1) as f64;
        let _ = writeln!(
            out,
            "vm.max_map_count {max} (this machine): headroom {} VMAs, {used:.1}% used",
            max.saturating_sub(count as u64)
        );
    }
    let verdicts = mm.merge_verdicts();
    let _ = writeln!(
        out,
        "\nadjacent pairs: {} of {} neighbours touch; why each stays apart:",
        verdicts.len(),
        count.saturating_sub(1)
    );
    let mut groups: BTreeMap<String, Vec<(vma::VmaId, vma::VmaId)>> = BTreeMap::new();
    for p in &verdicts {
        groups
            .entry(snapshot_reason(&p.verdict, snap.smaps))
            .or_default()
            .push((p.lower, p.upper));
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for (reason, pairs) in &groups {
        let _ = writeln!(out, "  {:>6}  {reason}", pairs.len());
        for &(l, u) in pairs.iter().take(2) {
            let d = |id| {
                let start = mm.get(id).map_or(0, |v| v.start);
                describe(mm, id, snap_name(snap, start))
            };
            let _ = writeln!(out, "          e.g. {}  |  {}", d(l), d(u));
        }
    }
    let _ = writeln!(out, "\nlargest free gaps between VMAs:");
    let mut gaps: Vec<(u64, u64)> = Vec::new();
    let mut last_end: Option<u64> = None;
    for (_, v) in mm.vmas() {
        if let Some(e) = last_end {
            if v.start > e {
                gaps.push((e, v.start));
            }
        }
        last_end = Some(v.end);
    }
    gaps.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    for (s, e) in gaps.iter().take(5) {
        let _ = writeln!(out, "  {:>10}  {s:x}-{e:x}", size(e - s));
    }
    let _ = writeln!(out, "\ntotals by kind:");
    let _ = writeln!(
        out,
        "  {:<14} {:>7} {:>11} {:>9}",
        "kind", "VMAs", "size", "PROT_NONE"
    );
    let mut kinds: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for v in &snap.vmas {
        let k = kinds.entry(kind(v)).or_default();
        k.0 += 1;
        k.1 += v.end - v.start;
        k.2 += u64::from(&v.perms[..3] == b"---");
    }
    for (k, (n, bytes, none)) in &kinds {
        let _ = writeln!(out, "  {k:<14} {n:>7} {:>11} {none:>9}", size(*bytes));
    }
    if !snap.smaps {
        let _ = writeln!(
            out,
            "\n(a maps file: flags beyond the permissions and anonymous pages are not shown)"
        );
    }
    out
}

/// This machine's `vm.max_map_count`.
pub fn host_max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A model configured like this machine, with room for any snapshot.
pub fn snapshot_config() -> vma::Config {
    let mut c = crate::model::config_for(&crate::host::HostConfig::detect());
    c.max_map_count = usize::MAX / 2;
    c
}

/// `vmalab maps INPUT`.
pub fn maps_command(input: &str) -> anyhow::Result<bool> {
    let snap = crate::snapshot::read(input)?;
    let m = crate::snapshot::model(&snap, snapshot_config())?;
    let text = report(&snap, &m, host_max_map_count());
    use std::io::Write as _;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(true)
}
