// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab bench`: the model against the live kernel in one run, and the
//! model against itself at 1k and 1M VMAs.
//!
//! (a) a random op mix on the kernel (a forked child doing the real calls
//! in a reserved window) and on the model, ns/op and their ratio, with and
//! without touches, and the VMA count each side ends with (they must agree);
//! (b) per-call costs at 1k and 1M VMAs, the ratio, and the kernel at 1k;
//! (c) heap bytes per VMA at 1M (when the binary counts allocations).
//! Every figure is the median of alternating rounds, with min and max.

mod child;
pub mod memory;
pub mod mix;
pub mod scale;

use std::fmt::Write as _;

use anyhow::Result;

use memory::NetBytes;

/// What to run, and how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// Rounds of each measurement (medians are over these).
    pub rounds: usize,
    /// Ops of the mix per run.
    pub mix_ops: usize,
    /// Calls per per-call measurement.
    pub iters: u64,
    /// The small and the large address space of (b), in VMAs.
    pub small: u64,
    pub large: u64,
    /// Print JSON instead of the table.
    pub json: bool,
}

impl Options {
    /// The full benchmark.
    pub fn full() -> Options {
        Options {
            rounds: 5,
            mix_ops: 200_000,
            iters: 20_000,
            small: 1_000,
            large: 1_000_000,
            json: false,
        }
    }

    /// A short run for CI: only its VMA counts are checked, never a time.
    pub fn quick() -> Options {
        Options {
            rounds: 1,
            mix_ops: 20_000,
            iters: 2_000,
            small: 1_000,
            large: 20_000,
            json: false,
        }
    }
}

/// Median, minimum and maximum of some rounds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(v: &[f64]) -> Stat {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Stat::default();
        }
        let h = v.len() / 2;
        Stat {
            median: if v.len() % 2 == 0 {
                (v[h - 1] + v[h]) / 2.0
            } else {
                v[h]
            },
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// One line of the op mix table.
pub struct MixRow {
    pub touch: bool,
    pub kernel: Stat,
    pub model: Stat,
    pub kernel_vmas: usize,
    pub model_vmas: usize,
}

/// One line of the per-call table.
pub struct ScaleRow {
    pub op: &'static str,
    pub kernel_small: Option<Stat>,
    pub small: Stat,
    pub large: Stat,
}

/// Heap bytes per VMA.
pub struct MemoryRow {
    pub vmas: u64,
    pub bytes_per_vma: f64,
    /// What a write fault adds to a VMA that had none.
    pub faulted_adds: f64,
}

/// Everything one run measured.
pub struct Report {
    pub options: Options,
    pub load: String,
    pub mix: Vec<MixRow>,
    pub scale: Vec<ScaleRow>,
    pub memory: Option<MemoryRow>,
    pub fields: Vec<(&'static str, usize)>,
}

impl Report {
    /// Whether both sides ended the mix with the same number of VMAs.
    pub fn counts_agree(&self) -> bool {
        self.mix.iter().all(|r| r.kernel_vmas == r.model_vmas)
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs the benchmark and prints it; `Ok(false)` when the VMA counts differ.
pub fn run(options: Options, net_bytes: Option<NetBytes>) -> Result<bool> {
    let report = measure(options, net_bytes)?;
    if report.options.json {
        println!("{}", json(&report));
    } else {
        print!("{}", table(&report));
    }
    if !report.counts_agree() {
        eprintln!(
            "vmalab bench: the kernel and the model end the op mix with different VMA counts"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Takes every measurement.
pub fn measure(options: Options, net_bytes: Option<NetBytes>) -> Result<Report> {
    let load_before = load();
    let mix = measure_mix(&options)?;
    let scale_small = measure_small(&options)?;
    let (scale, memory) = measure_large(&options, scale_small, net_bytes);
    Ok(Report {
        load: format!("{load_before} before, {} after", load()),
        options,
        mix,
        scale,
        memory,
        fields: memory::field_sizes(),
    })
}

/// (a): rounds alternate which side goes first.
fn measure_mix(o: &Options) -> Result<Vec<MixRow>> {
    let page = 4096;
    let mut rows = Vec::new();
    for touch in [false, true] {
        let (mut k, mut m) = (Vec::new(), Vec::new());
        let (mut kernel_vmas, mut model_vmas) = (0, 0);
        for round in 0..o.rounds {
            let mut kernel = || -> Result<()> {
                let base = child::reserve_window(mix::WINDOW_PAGES, page)?;
                let end = base + mix::WINDOW_PAGES * page;
                let ops = mix::ops(base, o.mix_ops, 1);
                let r = child::run_in_child(base, end, || vec![mix::run_kernel(&ops, touch)])?;
                k.push(r.values[0]);
                kernel_vmas = r.vmas_in_window;
                Ok(())
            };
            let mut model = || {
                let ops = mix::ops(0x7000_0000_0000, o.mix_ops, 1);
                let (ns, n) = mix::run_model(&ops, touch);
                m.push(ns);
                model_vmas = n;
            };
            if round % 2 == 0 {
                kernel()?;
                model();
            } else {
                model();
                kernel()?;
            }
        }
        rows.push(MixRow {
            touch,
            kernel: Stat::of(&k),
            model: Stat::of(&m),
            kernel_vmas,
            model_vmas,
        });
    }
    Ok(rows)
}

/// Kernel and model at the small size, alternating; per op, the rounds of
/// each side.
type SmallTimes = Vec<(Vec<f64>, Vec<f64>)>;

/// One untimed pass of every call, so the first round is not the cold one.
fn warm_up(side: &mut dyn scale::Side, base: u64, n: u64, iters: u64) {
    for op in 0..scale::OPS.len() {
        scale::time(side, base, n, op, iters / 4);
    }
}

/// (b), the small size: the kernel (in a child) and the model.
fn measure_small(o: &Options) -> Result<SmallTimes> {
    let page = 4096;
    let mut times: SmallTimes = vec![(Vec::new(), Vec::new()); scale::OPS.len()];
    let mut model = mix::model();
    let mbase = 0x1000_0000;
    scale::populate(&mut model, mbase, o.small);
    warm_up(&mut model, mbase, o.small, o.iters);
    for _ in 0..o.rounds {
        let pages = 2 * o.small + 2;
        let base = child::reserve_window(pages, page)?;
        let (n, iters) = (o.small, o.iters);
        let r = child::run_in_child(base, base + pages * page, || {
            let mut k = scale::Kernel;
            scale::populate(&mut k, base, n);
            warm_up(&mut k, base, n, iters);
            (0..scale::OPS.len())
                .map(|op| scale::time(&mut k, base, n, op, iters).unwrap_or(f64::NAN))
                .collect()
        })?;
        for (op, t) in times.iter_mut().enumerate() {
            t.0.push(r.values[op]);
            let m = scale::time(&mut model, mbase, o.small, op, o.iters);
            t.1.push(m.unwrap_or(f64::NAN));
        }
    }
    Ok(times)
}

/// Runs `f`, and with a meter, returns the net heap bytes it allocated.
fn metered(net_bytes: Option<NetBytes>, mut f: impl FnMut()) -> Option<usize> {
    match net_bytes {
        Some(net) => Some(net(&mut f)),
        None => {
            f();
            None
        }
    }
}

/// (b), the large size against the small one, alternating; and (c).
fn measure_large(
    o: &Options,
    small_times: SmallTimes,
    net_bytes: Option<NetBytes>,
) -> (Vec<ScaleRow>, Option<MemoryRow>) {
    let mbase = 0x1000_0000;
    let mut small = mix::model();
    scale::populate(&mut small, mbase, o.small);
    let mut large = mix::model();
    let unfaulted = metered(net_bytes, || scale::populate(&mut large, mbase, o.large));
    warm_up(&mut small, mbase, o.small, o.iters);
    warm_up(&mut large, mbase, o.large, o.iters);
    let mut large_times = vec![Vec::new(); scale::OPS.len()];
    let mut small_again = vec![Vec::new(); scale::OPS.len()];
    for _ in 0..o.rounds {
        for op in 0..scale::OPS.len() {
            let y = scale::time(&mut large, mbase, o.large, op, o.iters);
            let x = scale::time(&mut small, mbase, o.small, op, o.iters);
            large_times[op].push(y.unwrap_or(f64::NAN));
            small_again[op].push(x.unwrap_or(f64::NAN));
        }
    }
    // (c): what a write fault adds, over the writable half.
    let memory = unfaulted.map(|unfaulted| {
        let mut faulted = 0u64;
        let added = metered(net_bytes, || {
            for i in (1..o.large).step_by(2) {
                if large
                    .fault(mbase + 2 * i * 4096, vma::Access::Write)
                    .is_ok()
                {
                    faulted += 1;
                }
            }
        });
        MemoryRow {
            vmas: large.map_count() as u64,
            bytes_per_vma: unfaulted as f64 / o.large as f64,
            faulted_adds: added.unwrap_or(0) as f64 / faulted.max(1) as f64,
        }
    });
    let rows = scale::OPS
        .iter()
        .enumerate()
        .map(|(op, name)| {
            let (k, m) = &small_times[op];
            let mut m = m.clone();
            m.extend(&small_again[op]);
            ScaleRow {
                op: name,
                kernel_small: k.iter().all(|x| !x.is_nan()).then(|| Stat::of(k)),
                small: Stat::of(&m),
                large: Stat::of(&large_times[op]),
            }
        })
        .collect();
    (rows, memory)
}

fn stat_cell(s: &Stat) -> String {
    format!("{:.0} [{:.0}-{:.0}]", s.median, s.min, s.max)
}

/// The human-readable report.
pub fn table(r: &Report) -> String {
    let o = &r.options;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "vmalab bench: {} rounds (median [min-max]); load average {}",
        o.rounds, r.load
    );
    let _ = writeln!(
        s,
        "\n(a) op mix: {} ops (mmap MAP_FIXED / mprotect, 1-8 pages, in a {}-page window)",
        o.mix_ops,
        mix::WINDOW_PAGES
    );
    let _ = writeln!(
        s,
        "{:<16} {:>24} {:>24} {:>8} {:>9} {:>9}",
        "ns/op", "kernel", "model", "k/model", "VMAs k", "VMAs m"
    );
    for m in &r.mix {
        let _ = writeln!(
            s,
            "{:<16} {:>24} {:>24} {:>8.1} {:>9} {:>9}{}",
            if m.touch {
                "with touches"
            } else {
                "no touches"
            },
            stat_cell(&m.kernel),
            stat_cell(&m.model),
            m.kernel.median / m.model.median,
            m.kernel_vmas,
            m.model_vmas,
            if m.kernel_vmas == m.model_vmas {
                ""
            } else {
                "  DIFFER"
            }
        );
    }
    let _ = writeln!(
        s,
        "\n(b) per call, ns: model at {} and {} VMAs; kernel at {}",
        o.small, o.large, o.small
    );
    let _ = writeln!(
        s,
        "{:<30} {:>20} {:>20} {:>22} {:>7} {:>8}",
        "call", "kernel small", "model small", "model large", "lg/sm", "k/model"
    );
    for row in &r.scale {
        let k = row.kernel_small.map_or("-".into(), |k| stat_cell(&k));
        let km = row.kernel_small.map_or("-".into(), |k| {
            format!("{:.1}", k.median / row.small.median)
        });
        let _ = writeln!(
            s,
            "{:<30} {:>20} {:>20} {:>22} {:>7.2} {:>8}",
            row.op,
            k,
            stat_cell(&row.small),
            stat_cell(&row.large),
            row.large.median / row.small.median,
            km
        );
    }
    match &r.memory {
        Some(m) => {
            let _ = writeln!(
                s,
                "\n(c) heap: {:.1} bytes per VMA at {} unfaulted VMAs; a write fault adds {:.1} bytes",
                m.bytes_per_vma, m.vmas, m.faulted_adds
            );
        }
        None => {
            let _ = writeln!(s, "\n(c) heap: not measured (no counting allocator)");
        }
    }
    let fields: Vec<String> = r.fields.iter().map(|(n, b)| format!("{n} {b}")).collect();
    let _ = writeln!(s, "    in-line sizes: {}", fields.join(", "));
    s
}

fn json_stat(s: &Stat) -> String {
    format!(
        "{{\"median\":{:.1},\"min\":{:.1},\"max\":{:.1}}}",
        s.median, s.min, s.max
    )
}

/// The report as one JSON object.
pub fn json(r: &Report) -> String {
    let o = &r.options;
    let mix: Vec<String> = r
        .mix
        .iter()
        .map(|m| {
            format!(
                "{{\"touch\":{},\"kernel_ns\":{},\"model_ns\":{},\"ratio\":{:.2},\"kernel_vmas\":{},\"model_vmas\":{}}}",
                m.touch,
                json_stat(&m.kernel),
                json_stat(&m.model),
                m.kernel.median / m.model.median,
                m.kernel_vmas,
                m.model_vmas
            )
        })
        .collect();
    let scale: Vec<String> = r
        .scale
        .iter()
        .map(|row| {
            format!(
                "{{\"call\":\"{}\",\"kernel_small_ns\":{},\"small_ns\":{},\"large_ns\":{},\"large_over_small\":{:.2}}}",
                row.op,
                row.kernel_small.map_or("null".into(), |k| json_stat(&k)),
                json_stat(&row.small),
                json_stat(&row.large),
                row.large.median / row.small.median
            )
        })
        .collect();
    let memory = r.memory.as_ref().map_or("null".into(), |m| {
        format!(
            "{{\"vmas\":{},\"bytes_per_vma\":{:.1},\"write_fault_adds\":{:.1}}}",
            m.vmas, m.bytes_per_vma, m.faulted_adds
        )
    });
    format!(
        "{{\"rounds\":{},\"mix_ops\":{},\"small\":{},\"large\":{},\"load\":\"{}\",\"counts_agree\":{},\"mix\":[{}],\"per_call\":[{}],\"memory\":{}}}",
        o.rounds,
        o.mix_ops,
        o.small,
        o.large,
        r.load,
        r.counts_agree(),
        mix.join(","),
        scale.join(","),
        memory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_rounds() {
        let s = Stat::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stat::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Stat::of(&[]).median, 0.0);
    }

    #[test]
    fn only_mappings_inside_the_window_count() {
        let maps = "1000-3000 r--p 00000000 00:00 0\n\
                    3000-4000 ---p 00000000 00:00 0\n\
                    4000-6000 rw-p 00000000 00:00 0\n\
                    7fff0000-7fff1000 rw-p 00000000 00:00 0 [stack]\n";
        assert_eq!(child::count_in_window(maps, 0x1000, 0x5000), 2);
        assert_eq!(child::count_in_window(maps, 0x1000, 0x6000), 3);
    }
}
