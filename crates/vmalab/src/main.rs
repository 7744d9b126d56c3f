// SPDX-License-Identifier: GPL-2.0-or-later
//! The `vmalab` command: a thin dispatcher into the library's modules.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod heap_meter;

#[global_allocator]
static ALLOC: heap_meter::Counting = heap_meter::Counting;

#[derive(Parser)]
#[command(
    name = "vmalab",
    version,
    about = "The VMA lab: scenarios, live-kernel oracle"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Which kernel to run scenarios on.
#[derive(clap::Args)]
struct KernelArgs {
    /// `host` (the running kernel), `6.1`, `6.12`, `7.2` (Debian's cloud
    /// kernels, fetched with apt and cached), or a path to a vmlinuz;
    /// other kernels boot under qemu (TCG), one boot per command.
    #[arg(long, default_value = "host")]
    kernel: vmalab::vm::KernelSpec,
    /// qemu's CPU model for a booted kernel (`max` has protection keys,
    /// `max,-pku` has not).
    #[arg(long, default_value = "max")]
    cpu: String,
    /// Let scenarios write this host's sysctls (`sysctl` steps); the old
    /// values are put back after each scenario. Without it such scenarios
    /// are skipped here. A booted kernel always allows them.
    #[arg(long)]
    allow_sysctl: bool,
}

impl KernelArgs {
    fn boot(&self) -> vmalab::vm::BootOptions {
        vmalab::vm::BootOptions {
            cpu: self.cpu.clone(),
            ..Default::default()
        }
    }

    /// The booted kernel to fuzz in, fetched now; None for the host's.
    fn guest(&self) -> anyhow::Result<Option<vmalab::fuzz::GuestKernel>> {
        match self.kernel {
            vmalab::vm::KernelSpec::Host => Ok(None),
            ref spec => Ok(Some(vmalab::fuzz::GuestKernel {
                image: vmalab::vm::obtain(spec)?,
                boot: self.boot(),
            })),
        }
    }

    /// The kernel choice, with a runner timeout of `timeout` seconds on the host.
    fn choice(&self, timeout: u64) -> vmalab::kernels::KernelChoice {
        vmalab::kernels::KernelChoice {
            spec: self.kernel.clone(),
            oracle: vmalab::oracle::OracleOptions {
                timeout: Duration::from_secs(timeout),
                allow_sysctl: self.allow_sysctl,
                ..Default::default()
            },
            boot: self.boot(),
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenarios on the live kernel, print outcomes and layouts, check
    /// the `expect` lines (exit 1 if one fails, 2 if a file cannot be read
    /// or parsed).
    Kernel {
        /// Scenario files, or directories searched for *.scenario.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the layout after every step, not only when it changed.
        #[arg(long)]
        all_layouts: bool,
        /// Seconds before a scenario's runner is killed (at least 1).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Run a scenario on the model only; print outcomes and the final
    /// address space as /proc/PID/maps prints it.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// After each step, the merge verdicts on adjacent VMAs of the
        /// window (see `explain`).
        #[arg(long)]
        explain: bool,
        /// Also draw the timeline to OUT.svg or OUT.html (see `render`).
        #[arg(long, value_name = "OUT")]
        render: Option<PathBuf>,
    },
    /// Random scenarios on the kernel and the model; every divergence is
    /// shrunk, distinct ones are written to a directory, and the command
    /// exits non-zero if one showed again when rerun.
    Fuzz {
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cases per seed.
        #[arg(long, default_value_t = 100)]
        cases: u64,
        /// Steps per case.
        #[arg(long, default_value_t = 80)]
        ops: usize,
        /// Consecutive seeds to run from --seed (without --duration).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Run seeds from --seed on until this much time has passed
        /// (`90s`, `10m`, `1h`).
        #[arg(long, value_parser = vmalab::fuzz::parse_duration)]
        duration: Option<Duration>,
        /// Seeds run in parallel.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Relative weights of the generated calls, e.g.
        /// `mprotect=3,fork=2,pkey=0` (mmap munmap mprotect touch fork
        /// mremap madvise mlock mseal mbind uffd prctl pkey; any other step
        /// by its keyword, e.g. `mlockall=1`, off by default).
        #[arg(long, value_parser = vmalab::fuzz::Weights::parse)]
        weight: Option<vmalab::fuzz::Weights>,
        /// Directory for the shrunk failing scenarios.
        #[arg(long, default_value = "fuzz-failures")]
        out: PathBuf,
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Run scenarios on the live kernel and on the model; they must agree
    /// step by step and meet every expectation. Ends with
    /// `N passed, N failed, N skipped`; exit 0 only if none failed, 2 if a
    /// file cannot be read or parsed.
    Check {
        /// Scenario files, or directories searched for *.scenario.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seconds before a scenario's kernel runner is killed (at least 1).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        /// List passing scenarios too.
        #[arg(short, long)]
        verbose: bool,
        /// For a failing scenario, print the model's merge verdicts at the
        /// first divergent step.
        #[arg(long)]
        explain: bool,
        /// Draw the model's timeline of each failing scenario into this
        /// directory (NAME.html).
        #[arg(long, value_name = "DIR")]
        render: Option<PathBuf>,
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Run the VMA core's own tests (the kernel's userland VMA tests, ported)
    /// and print `N tests run, N passed, N failed`.
    Harness {
        /// List every test, not only failures.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the detected host configuration (version, options, sysctls,
    /// rlimits, CPU features, capabilities), or a booted kernel's.
    Host {
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Run a program under ptrace with a model address space beside each
    /// of its processes; every memory system call is applied to the model
    /// and the result and whole address space compared with the kernel's.
    /// Exits with the program's status, or 1 if the model diverged.
    Shadow {
        /// After a divergence, take the kernel's layout and go on.
        #[arg(long)]
        keep_going: bool,
        /// Print every checked call.
        #[arg(short, long)]
        verbose: bool,
        /// The program and its arguments (after `--`).
        #[arg(required = true, last = true)]
        cmd: Vec<String>,
    },
    /// Shadow a program (as `shadow`) and write its address-space history
    /// as a trace that `replay` runs on the model alone.
    Record {
        /// The trace file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// The program and its arguments (after `--`).
        #[arg(required = true, last = true)]
        cmd: Vec<String>,
    },
    /// Run a recorded trace on the model alone and check every recorded
    /// result and layout (exit 1 if one differs). Also takes, best effort,
    /// `strace -f -ttt -X raw -e trace=%memory,%process` logs (results
    /// checked) and syzkaller programs (results and final layout printed),
    /// on a model configured like this machine.
    Replay {
        /// The trace, strace log or syzkaller program.
        trace: PathBuf,
        /// Stop after this many calls and print the address space there.
        #[arg(long)]
        until: Option<u64>,
    },
    /// Read a /proc/PID/maps or smaps snapshot (a file, or a PID) into the
    /// model and report: VMA count and headroom to vm.max_map_count,
    /// adjacent VMAs grouped by why they did not merge, the largest free
    /// gaps, totals by kind.
    Maps {
        /// A maps/smaps file, or a PID (`self` for vmalab itself).
        input: String,
    },
    /// Why neighbouring VMAs did not merge: for every adjacent pair still
    /// apart (or the pair at ADDR, or A and B), the verdict of the model's
    /// merge rules, naming the kernel function that decided it.
    Explain {
        /// A scenario, a vmalab trace, or a maps/smaps snapshot.
        input: PathBuf,
        /// Explain after this many scenario steps (or trace calls).
        #[arg(long)]
        at: Option<u64>,
        /// The VMA at ADDR and the one above it (`0x...`; for a scenario a
        /// bare number is a window page; for a snapshot bare hex), or two
        /// addresses A B of neighbouring VMAs.
        #[arg(num_args = 0..=2)]
        addrs: Vec<String>,
        /// For a scenario: the history of the VMA at ADDR instead (which
        /// steps mapped, split, merged and grew it, and made its boundaries).
        #[arg(long)]
        history: bool,
    },
    /// Draw an address space as a self-contained SVG or HTML page: VMAs
    /// coloured by permissions, labelled, merge-blocking boundaries marked
    /// with their verdict; a scenario as a timeline, one row per step; a
    /// trace as one, a row per call that changed a layout.
    Render {
        /// A scenario, a vmalab trace, or a maps/smaps snapshot.
        input: PathBuf,
        /// The picture to write: OUT.svg or OUT.html.
        #[arg(short, long)]
        output: PathBuf,
        /// Draw up to this many scenario steps (or trace calls).
        #[arg(long)]
        at: Option<u64>,
    },
    /// Write each scenario as a standalone C program (libc only, TAP on
    /// stdout) that checks a kernel against the answers and layouts this
    /// machine's Linux gives: a conformance suite for Linux-ABI kernels.
    Export {
        /// The directory to write the programs into.
        #[arg(long = "c", value_name = "DIR")]
        c_dir: PathBuf,
        /// Scenario files, or directories searched for *.scenario.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The kernel whose answers the programs expect.
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Benchmark the model against the live kernel and against itself at
    /// 1k and 1M VMAs, and count its heap bytes per VMA (exit 1 if the
    /// kernel and the model end the op mix with different VMA counts).
    Bench {
        /// A short run for CI (its times mean little; the VMA counts are
        /// what it checks).
        #[arg(long)]
        quick: bool,
        /// Rounds per measurement (medians are over these).
        #[arg(long)]
        rounds: Option<usize>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Internal: execute a scenario read from stdin (the oracle's runner).
    #[command(hide = true)]
    OracleRunner,
}

fn main() -> ExitCode {
    if vmalab::vm::guest::is_guest_init() {
        vmalab::vm::guest::init_main();
    }
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Kernel {
            files,
            all_layouts,
            timeout,
            kernel,
        } => {
            let opts = vmalab::report::KernelOptions {
                paths: files,
                all_layouts,
                kernel: kernel.choice(timeout),
            };
            exit(vmalab::report::kernel_command(&opts))
        }
        Cmd::Check {
            files,
            timeout,
            verbose,
            explain,
            render,
            kernel,
        } => {
            let opts = vmalab::verify::CheckOptions {
                paths: files,
                oracle: vmalab::oracle::OracleOptions {
                    timeout: Duration::from_secs(timeout),
                    allow_sysctl: kernel.allow_sysctl,
                    ..Default::default()
                },
                verbose,
                boot: kernel.boot(),
                kernel: kernel.kernel,
                explain,
                render,
            };
            exit(vmalab::verify::check_command(&opts))
        }
        Cmd::Run {
            file,
            explain,
            render,
        } => {
            let opts = vmalab::run_cmd::RunOptions { explain, render };
            exit(vmalab::run_cmd::run_command_with(&file, &opts))
        }
        Cmd::Fuzz {
            seed,
            cases,
            ops,
            seeds,
            duration,
            jobs,
            weight,
            out,
            kernel,
        } => {
            let guest = match kernel.guest() {
                Ok(g) => g,
                Err(e) => return exit(Err(e)),
            };
            if let Some(g) = &guest {
                println!(
                    "fuzz: inside {} (cpu {}), one boot per seed",
                    g.image.name, g.boot.cpu
                );
            }
            let opts = vmalab::fuzz::FuzzOptions {
                guest,
                seed,
                cases,
                ops,
                seeds,
                duration,
                jobs,
                weights: weight.unwrap_or_default(),
                out_dir: out,
                oracle: vmalab::oracle::OracleOptions {
                    allow_sysctl: kernel.allow_sysctl,
                    ..Default::default()
                },
                ..Default::default()
            };
            exit(vmalab::fuzz::campaign(&opts).and_then(|r| {
                write!(std::io::stdout().lock(), "{}", vmalab::fuzz::summary(&r))?;
                Ok(r.findings.iter().all(|f| !f.reproduced))
            }))
        }
        Cmd::Harness { verbose } => {
            exit(vmalab::harness::run(&mut std::io::stdout().lock(), verbose).map_err(Into::into))
        }
        Cmd::Host { kernel } => exit(
            vmalab::kernels::run_files(&[], &kernel.choice(10)).and_then(|runs| {
                let mut out = std::io::stdout().lock();
                if let Some(h) = &runs.header {
                    writeln!(out, "{h}")?;
                }
                write!(out, "{}", runs.host)?;
                Ok(true)
            }),
        ),
        Cmd::Shadow {
            keep_going,
            verbose,
            cmd,
        } => {
            let opts = vmalab::shadow::ShadowOptions {
                cmd,
                keep_going,
                verbose,
                ..Default::default()
            };
            match vmalab::shadow::shadow(&opts) {
                Ok(s) => {
                    eprintln!(
                        "shadow: {} address spaces, {} calls checked ({} with VmFlags), \
                         {} taken from the kernel, peak {} VMAs, {} divergences; exit status {}",
                        s.programs,
                        s.calls_checked,
                        s.calls_with_flags,
                        s.calls_resynced,
                        s.peak_vmas,
                        s.divergences,
                        s.exit_status
                    );
                    if s.divergences > 0 {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::from(s.exit_status.clamp(0, 255) as u8)
                    }
                }
                Err(e) => {
                    eprintln!("vmalab: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Record { output, cmd } => {
            let opts = vmalab::shadow::ShadowOptions {
                cmd,
                keep_going: true,
                record: Some(output.clone()),
                ..Default::default()
            };
            match vmalab::shadow::shadow(&opts) {
                Ok(s) => {
                    eprintln!(
                        "record: {} address spaces, {} calls written to {}; exit status {}",
                        s.programs,
                        s.calls_checked,
                        output.display(),
                        s.exit_status
                    );
                    ExitCode::from(s.exit_status.clamp(0, 255) as u8)
                }
                Err(e) => {
                    eprintln!("vmalab: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Replay { trace, until } => exit(replay(&trace, until)),
        Cmd::Explain {
            input,
            at,
            addrs,
            history,
        } => exit(vmalab::explain::explain_command(
            &input, at, &addrs, history,
        )),
        Cmd::Render { input, output, at } => {
            exit(vmalab::render::render_command(&input, &output, at))
        }
        Cmd::Maps { input } => exit(vmalab::maps_cmd::maps_command(&input)),
        Cmd::Export {
            c_dir,
            files,
            kernel,
        } => exit(export(&c_dir, &files, &kernel.choice(10))),
        Cmd::Bench {
            quick,
            rounds,
            json,
        } => {
            let mut o = if quick {
                vmalab::bench::Options::quick()
            } else {
                vmalab::bench::Options::full()
            };
            o.rounds = rounds.unwrap_or(o.rounds).max(1);
            o.json = json;
            exit(vmalab::bench::run(o, Some(heap_meter::net_bytes)))
        }
        Cmd::OracleRunner => ExitCode::from(vmalab::oracle::runner::main() as u8),
    }
}

/// Exit status of a command that returns whether everything passed: 0 or
/// 1, 2 with a message for an error, and -- quietly -- 141 when stdout was
/// closed early (`vmalab ... | head`), the status a shell reports for a
/// tool killed by SIGPIPE. Rust ignores SIGPIPE, so the write fails with
/// EPIPE instead and the command stops there.
fn exit(r: anyhow::Result<bool>) -> ExitCode {
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) if is_broken_pipe(&e) => ExitCode::from(STATUS_BROKEN_PIPE),
        Err(e) => {
            eprintln!("vmalab: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `vmalab export --c DIR PATH...`.
fn export(
    dir: &std::path::Path,
    files: &[PathBuf],
    kernel: &vmalab::kernels::KernelChoice,
) -> anyhow::Result<bool> {
    let paths = vmalab::scenario::collect_files(files)?;
    let s = vmalab::export::export_c(&paths, dir, kernel)?;
    let mut out = std::io::stdout().lock();
    for (p, why) in &s.skipped {
        writeln!(out, "skip  {}: {why}", p.display())?;
    }
    writeln!(
        out,
        "export: {} programs checking a scenario, {} that only skip, in {}",
        s.programs.len(),
        s.skipped.len(),
        dir.display()
    )?;
    Ok(true)
}

/// `vmalab replay`: a vmalab trace, or a foreign log, by its contents.
fn replay(path: &std::path::Path, until: Option<u64>) -> anyhow::Result<bool> {
    use vmalab::shadow::foreign::{detect, replay_strace, replay_syz, LogKind};
    let head = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let kind = detect(&String::from_utf8_lossy(&head));
    let config = || vmalab::model::config_for(&vmalab::host::HostConfig::detect());
    let mut out = std::io::stdout().lock();
    match kind {
        LogKind::Vmalab => {
            let opts = vmalab::shadow::trace::ReplayOptions { until };
            let s = vmalab::shadow::trace::replay(path, &opts)?;
            writeln!(
                out,
                "replay: {} address spaces, {} calls, {} differ from the recording",
                s.spaces, s.calls, s.mismatches
            )?;
            Ok(s.mismatches == 0)
        }
        LogKind::Strace => {
            let s = replay_strace(path, config())?;
            write!(out, "{}", s.report("strace"))?;
            Ok(s.differ == 0)
        }
        LogKind::Syzkaller => {
            let s = replay_syz(path, config())?;
            write!(out, "{}", s.report("syzkaller"))?;
            Ok(true)
        }
    }
}

/// 128 + SIGPIPE.
const STATUS_BROKEN_PIPE: u8 = 141;

/// Did the error come from writing to a pipe nobody reads any more?
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
