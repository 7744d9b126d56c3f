// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab fuzz`: random scenarios run on the kernel and on the model;
//! the first divergence is shrunk to a minimal scenario, written to a file
//! and reported.

pub mod gen;
pub use vmalab_lang::rng;
pub mod shrink;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::diff::diff;
use crate::host::HostConfig;
use crate::kernels::run_booted;
use crate::model::{run_model_with, ModelOptions};
use crate::oracle::KernelTrace;
use crate::oracle::{run_kernel_with, OracleOptions};
use crate::scenario::{parse, Scenario};
use crate::verify::{judge, Verdict};
use crate::vm::{BootOptions, KernelImage};
pub use gen::Weights;
use rng::Rng;

/// Options of the `fuzz` command.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    /// The first seed.
    pub seed: u64,
    /// Cases per seed.
    pub cases: u64,
    /// Steps per case.
    pub ops: usize,
    /// How many consecutive seeds a campaign runs, from `seed` on; with
    /// `duration`, seeds go on until the time is up instead.
    pub seeds: u64,
    /// Run until this much time has passed.
    pub duration: Option<Duration>,
    /// Seeds run in parallel.
    pub jobs: usize,
    /// How often each call is generated.
    pub weights: Weights,
    /// Where a shrunk failing scenario is written.
    pub out_dir: PathBuf,
    /// Runner options on the host kernel.
    pub oracle: OracleOptions,
    /// A kernel to boot under qemu instead of the host's: each seed's
    /// cases run in one boot, and shrinking runs its candidates in
    /// batches, one boot a round.
    pub guest: Option<GuestKernel>,
    /// Model options (a planted bug, in tests of the fuzzer itself).
    pub model: ModelOptions,
}

impl Default for FuzzOptions {
    fn default() -> FuzzOptions {
        FuzzOptions {
            seed: 1,
            cases: 100,
            ops: 80,
            seeds: 1,
            duration: None,
            jobs: 1,
            weights: Weights::default(),
            out_dir: PathBuf::from("fuzz-failures"),
            oracle: OracleOptions::default(),
            guest: None,
            model: ModelOptions::default(),
        }
    }
}

/// A booted kernel the fuzzer runs its cases in.
#[derive(Clone, Debug)]
pub struct GuestKernel {
    pub image: KernelImage,
    pub boot: BootOptions,
}

/// A divergence found by the fuzzer.
#[derive(Clone, Debug)]
pub struct Finding {
    pub seed: u64,
    pub case: u64,
    /// The shrunk scenario text, and where it was written.
    pub scenario: String,
    pub path: PathBuf,
    /// The comparison report of the shrunk scenario.
    pub report: String,
    /// Steps in the original and in the shrunk scenario.
    pub steps_before: usize,
    pub steps_after: usize,
    /// Whether the divergence showed again when rerun; if not, the case
    /// is kept unshrunk with the report of its one failing run.
    pub reproduced: bool,
}

/// What a campaign did.
#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    /// The seeds run (the last ones possibly cut short by the time limit).
    pub first_seed: u64,
    pub last_seed: Option<u64>,
    pub cases: u64,
    /// Generated steps run (on the kernel and on the model each).
    pub operations: u64,
    /// Distinct findings, by shrunk scenario, in the order found.
    pub findings: Vec<Finding>,
    /// Findings that shrank to a scenario already reported.
    pub duplicates: u64,
}

/// Runs one generated scenario text on both sides (the host's kernel);
/// the report if they disagree or a side misbehaves.
fn run_case(text: &str, host: &HostConfig, opts: &FuzzOptions) -> Option<String> {
    let sc = match parse("fuzz", text) {
        Ok(sc) => sc,
        Err(e) => return Some(format!("generated scenario does not parse: {e}")),
    };
    let kernel = run_kernel_with(&sc, &opts.oracle, host);
    compare(&sc, kernel, host, opts)
}

/// Judges a kernel run against the model's run of the same scenario; the
/// report if they disagree or the kernel side misbehaved.
fn compare(
    sc: &Scenario,
    kernel: anyhow::Result<KernelTrace>,
    host: &HostConfig,
    opts: &FuzzOptions,
) -> Option<String> {
    let kernel = match kernel {
        Ok(k) => k,
        Err(e) => return Some(format!("kernel run failed: {e:#}")),
    };
    let model = run_model_with(sc, host, &opts.model);
    // Generated scenarios carry no expectations: a case fails only where the
    // two sides differ (a crash both sides agree on is not a failure).
    if diff(sc, &kernel.trace, &model.trace).is_empty() {
        return None;
    }
    match judge(sc, &kernel.trace, &model.trace) {
        Verdict::Failed(report) => Some(report),
        _ => None,
    }
}

/// Runs scenario texts in one boot of `guest`; each one's report if it
/// diverged. A boot that fails is an error (the guest is not working),
/// not a divergence.
fn run_cases_booted(
    texts: &[String],
    guest: &GuestKernel,
    opts: &FuzzOptions,
) -> anyhow::Result<Vec<Option<String>>> {
    let parsed: Vec<Result<Scenario, String>> = texts
        .iter()
        .map(|t| parse("fuzz", t).map_err(|e| e.to_string()))
        .collect();
    let runnable: Vec<&Scenario> = parsed.iter().filter_map(|r| r.as_ref().ok()).collect();
    let booted = run_booted(&guest.image, &runnable, &guest.boot)?;
    let mut traces = booted.traces.into_iter();
    Ok(parsed
        .iter()
        .map(|r| match r {
            Err(e) => Some(format!("generated scenario does not parse: {e}")),
            Ok(sc) => {
                let k = traces
                    .next()
                    .unwrap_or_else(|| Err(anyhow::anyhow!("no trace from the guest")));
                compare(sc, k, &booted.host, opts)
            }
        })
        .collect())
}

/// The text of case `case` of `seed`.
fn case_text(seed: u64, case: u64, opts: &FuzzOptions) -> String {
    let mut rng = Rng::new(seed.wrapping_mul(0x1_0000_0001).wrapping_add(case));
    let name = format!("fuzz_s{seed}_c{case}");
    gen::scenario(&mut rng, &name, opts.ops, &opts.weights)
}

/// Shrinks a failing case whose first run reported `first`; the
/// finding, not yet written anywhere. A divergence that does not show
/// again (it depended on the machine) is kept as it was, unshrunk.
fn shrink_case(
    seed: u64,
    (case, text, first): (u64, &str, String),
    host: &HostConfig,
    opts: &FuzzOptions,
) -> Finding {
    let reproduced = run_case(text, host, opts).is_some();
    let shrunk = if reproduced {
        shrink::shrink(text, |t| still_fails(&first, &run_case(t, host, opts)))
    } else {
        text.to_string()
    };
    let report = run_case(&shrunk, host, opts).unwrap_or(first);
    finding((seed, case), text, shrunk, report, reproduced, opts)
}

/// Whether a shrinking candidate's report stands for the original
/// failure: it fails, and not only because a step of it was refused --
/// dropping lines can leave steps a run refuses (a second `fork` once the
/// `wait` between is gone), unless the original failure was one.
fn still_fails(first: &str, report: &Option<String>) -> bool {
    let refused = |r: &str| r.contains("refused");
    report
        .as_deref()
        .is_some_and(|r| refused(first) || !refused(r))
}

/// A finding of case `case` of `seed`, originally `text`, shrunk to
/// `shrunk` (or kept, if it did not reproduce).
fn finding(
    (seed, case): (u64, u64),
    text: &str,
    shrunk: String,
    report: String,
    reproduced: bool,
    opts: &FuzzOptions,
) -> Finding {
    Finding {
        seed,
        case,
        steps_before: shrink::split(text).1.len(),
        steps_after: shrink::split(&shrunk).1.len(),
        path: opts.out_dir.join(format!("fuzz_s{seed}_c{case}.scenario")),
        scenario: shrunk,
        report,
        reproduced,
    }
}

/// `shrink_case` for a booted kernel: the rerun is one boot, and each
/// shrinking round runs all its candidates in one boot.
fn shrink_case_booted(
    seed: u64,
    (case, text, first): (u64, &str, String),
    guest: &GuestKernel,
    opts: &FuzzOptions,
) -> anyhow::Result<Finding> {
    let rerun = |t: &str| -> anyhow::Result<Option<String>> {
        Ok(run_cases_booted(&[t.to_string()], guest, opts)?
            .pop()
            .flatten())
    };
    let reproduced = rerun(text)?.is_some();
    let shrunk = if reproduced {
        let mut failure = None;
        let s = shrink::shrink_in_rounds(text, |candidates| {
            match run_cases_booted(candidates, guest, opts) {
                Ok(r) => r.iter().map(|r| still_fails(&first, r)).collect(),
                Err(e) => {
                    failure.get_or_insert(e);
                    vec![false; candidates.len()]
                }
            }
        });
        if let Some(e) = failure {
            return Err(e.context("shrinking in the booted kernel"));
        }
        s
    } else {
        text.to_string()
    };
    let report = rerun(&shrunk)?.unwrap_or(first);
    Ok(finding(
        (seed, case),
        text,
        shrunk,
        report,
        reproduced,
        opts,
    ))
}

/// Writes a finding's scenario to its path.
fn write_finding(f: &Finding) -> anyhow::Result<()> {
    if let Some(dir) = f.path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The report goes along as comments: a flaky divergence may never
    // show again.
    let mut text = f.scenario.clone();
    if !f.reproduced {
        text.push_str("# did not reproduce when rerun\n");
    }
    for line in f.report.lines() {
        text.push_str(&format!("# {line}\n"));
    }
    std::fs::write(&f.path, text)?;
    Ok(())
}

/// What identifies a finding: its shrunk steps and headers, without the
/// name and comments (which carry the seed and case).
pub fn dedup_key(scenario: &str) -> String {
    scenario
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("name "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the first seed only and stops at its first divergence, which is
/// shrunk and written out; `Ok(None)` if no case diverged. In a booted
/// kernel the seed's cases run in one boot.
pub fn fuzz(opts: &FuzzOptions) -> anyhow::Result<Option<Finding>> {
    let texts = (0..opts.cases).map(|case| (case, case_text(opts.seed, case, opts)));
    let found = match &opts.guest {
        Some(guest) => {
            let texts: Vec<(u64, String)> = texts.collect();
            let all: Vec<String> = texts.iter().map(|(_, t)| t.clone()).collect();
            let first = texts
                .iter()
                .zip(run_cases_booted(&all, guest, opts)?)
                .find_map(|((case, text), r)| Some((*case, text, r?)));
            match first {
                Some((case, text, report)) => Some(shrink_case_booted(
                    opts.seed,
                    (case, text, report),
                    guest,
                    opts,
                )?),
                None => None,
            }
        }
        None => {
            let host = HostConfig::detect();
            texts
                .filter_map(|(case, text)| {
                    let first = run_case(&text, &host, opts)?;
                    Some((case, text, first))
                })
                .next()
                .map(|(case, text, first)| {
                    shrink_case(opts.seed, (case, &text, first), &host, opts)
                })
        }
    };
    if let Some(f) = &found {
        write_finding(f)?;
    }
    Ok(found)
}

/// The campaign's shared state.
struct Campaign<'a> {
    opts: &'a FuzzOptions,
    host: HostConfig,
    deadline: Option<Instant>,
    next_seed: AtomicU64,
    report: Mutex<(CampaignReport, HashSet<String>)>,
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl Campaign<'_> {
    fn time_is_up(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The next seed to run, or None when the campaign is over.
    fn take_seed(&self) -> Option<u64> {
        if self.time_is_up() {
            return None;
        }
        let i = self.next_seed.fetch_add(1, Ordering::Relaxed);
        if self.deadline.is_none() && i >= self.opts.seeds {
            return None;
        }
        Some(self.opts.seed.wrapping_add(i))
    }

    /// One job: seeds until none is left.
    fn job(&self) -> anyhow::Result<()> {
        while let Some(seed) = self.take_seed() {
            self.record_seed(seed);
            match &self.opts.guest {
                Some(guest) => self.seed_booted(seed, guest)?,
                None => self.seed_on_host(seed)?,
            }
            self.seed_done(seed);
        }
        Ok(())
    }

    /// Logs a finished seed with the campaign's totals so far, so a long
    /// campaign that is stopped still leaves a count behind it (a
    /// one-seed run has only its summary).
    fn seed_done(&self, seed: u64) {
        if self.opts.seeds <= 1 && self.deadline.is_none() {
            return;
        }
        let line = {
            let g = self.report.lock().unwrap_or_else(|e| e.into_inner());
            format!(
                "fuzz: seed {seed} done; so far {} cases, {} ops, {} findings",
                g.0.cases,
                g.0.operations,
                g.0.findings.len()
            )
        };
        self.log(line);
    }

    /// A line for the user now: above the bar, or on stderr when the bar
    /// is hidden (which prints nothing; logs still want the news at once).
    fn log(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// A seed's cases on the host's kernel, one by one.
    fn seed_on_host(&self, seed: u64) -> anyhow::Result<()> {
        for case in 0..self.opts.cases {
            if self.time_is_up() {
                return Ok(());
            }
            let text = case_text(seed, case, self.opts);
            if let Some(first) = run_case(&text, &self.host, self.opts) {
                let f = shrink_case(seed, (case, &text, first), &self.host, self.opts);
                self.record_finding(f)?;
            }
            self.record_case(shrink::split(&text).1.len() as u64);
        }
        Ok(())
    }

    /// A seed's cases in one boot of a booted kernel.
    fn seed_booted(&self, seed: u64, guest: &GuestKernel) -> anyhow::Result<()> {
        let texts: Vec<String> = (0..self.opts.cases)
            .map(|case| case_text(seed, case, self.opts))
            .collect();
        let reports = run_cases_booted(&texts, guest, self.opts)?;
        for ((case, text), report) in (0u64..).zip(&texts).zip(reports) {
            if let Some(first) = report {
                let f = shrink_case_booted(seed, (case, text, first), guest, self.opts)?;
                self.record_finding(f)?;
            }
            self.record_case(shrink::split(text).1.len() as u64);
        }
        Ok(())
    }

    fn record_seed(&self, seed: u64) {
        let mut g = self.report.lock().unwrap_or_else(|e| e.into_inner());
        g.0.last_seed = Some(g.0.last_seed.map_or(seed, |s| s.max(seed)));
    }

    fn record_case(&self, steps: u64) {
        let mut g = self.report.lock().unwrap_or_else(|e| e.into_inner());
        g.0.cases += 1;
        g.0.operations += steps;
        match self.deadline {
            Some(_) => self.bar.set_position(self.started.elapsed().as_secs()),
            None => self.bar.inc(1),
        }
        self.bar.set_message(format!(
            "{} cases, {} ops, {} findings",
            g.0.cases,
            g.0.operations,
            g.0.findings.len()
        ));
    }

    /// Keeps a finding unless its shrunk scenario was already reported.
    fn record_finding(&self, f: Finding) -> anyhow::Result<()> {
        let mut g = self.report.lock().unwrap_or_else(|e| e.into_inner());
        if !g.1.insert(dedup_key(&f.scenario)) {
            g.0.duplicates += 1;
            return Ok(());
        }
        write_finding(&f)?;
        let line = format!(
            "fuzz: finding: seed {} case {} -> {}",
            f.seed,
            f.case,
            f.path.display()
        );
        g.0.findings.push(f);
        drop(g);
        self.log(line);
        Ok(())
    }
}

/// A progress bar on a terminal, a hidden one elsewhere.
fn progress_bar(opts: &FuzzOptions) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let (len, unit) = match opts.duration {
        Some(d) => (d.as_secs(), "s"),
        None => (opts.seeds.saturating_mul(opts.cases), " cases"),
    };
    let b = indicatif::ProgressBar::new(len);
    let template = format!("{{bar:40}} {{pos}}/{{len}}{unit} {{elapsed}} {{msg}}");
    b.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// Runs a campaign: seeds from `opts.seed` on, `opts.jobs` at a time, each
/// `opts.cases` cases, for `opts.seeds` seeds or until `opts.duration` is
/// up. Every divergence is shrunk; distinct shrunk scenarios are written to
/// `opts.out_dir` and returned.
pub fn campaign(opts: &FuzzOptions) -> anyhow::Result<CampaignReport> {
    let c = Campaign {
        opts,
        host: HostConfig::detect(),
        deadline: opts.duration.map(|d| Instant::now() + d),
        next_seed: AtomicU64::new(0),
        report: Mutex::new((
            CampaignReport {
                first_seed: opts.seed,
                ..CampaignReport::default()
            },
            HashSet::new(),
        )),
        bar: progress_bar(opts),
        started: Instant::now(),
    };
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..opts.jobs.max(1)).map(|_| s.spawn(|| c.job())).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a fuzz job panicked")))
            })
            .collect()
    });
    c.bar.finish_and_clear();
    for r in results {
        r?;
    }
    let (report, _) = c.report.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(report)
}

/// The campaign's findings (each with its shrunk scenario and report) and
/// a closing line with the totals.
pub fn summary(r: &CampaignReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &r.findings {
        let _ = writeln!(
            s,
            "fuzz: seed {}: case {} diverged; {}, written to {}",
            f.seed,
            f.case,
            if f.reproduced {
                format!("shrunk from {} to {} steps", f.steps_before, f.steps_after)
            } else {
                "did not reproduce when rerun (kept unshrunk)".to_string()
            },
            f.path.display()
        );
        s.push_str(&f.scenario);
        s.push_str(&f.report);
    }
    let seeds = match r.last_seed {
        Some(last) if last != r.first_seed => format!("seeds {}..={last}", r.first_seed),
        _ => format!("seed {}", r.first_seed),
    };
    let _ = writeln!(
        s,
        "fuzz: {seeds}: {} cases, {} operations, {} distinct divergences ({} not reproduced, {} duplicates)",
        r.cases,
        r.operations,
        r.findings.len(),
        r.findings.iter().filter(|f| !f.reproduced).count(),
        r.duplicates
    );
    s
}

/// A duration as `90s`, `10m`, `1h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}`: expected a number with s, m or h"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(|| format!("`{s}`: expected a number with s, m or h"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "10x", "-1m", "99999999999999999999h", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dedup_ignores_name_and_comments() {
        let a = "# generated\nname fuzz_s1_c2\nwindow 32\nmmap 0 1 PROT_READ MAP_PRIVATE\n";
        let b = "# other\nname fuzz_s9_c7\nwindow 32\nmmap 0 1 PROT_READ MAP_PRIVATE\n";
        assert_eq!(dedup_key(a), dedup_key(b));
        assert_ne!(dedup_key(a), dedup_key("window 32\n"));
    }
}
