// SPDX-License-Identifier: GPL-2.0-or-later
//! The live-kernel oracle: runs a scenario for real and records what Linux
//! did. The parent side here spawns `vmalab oracle-runner` (see [`runner`])
//! in its own process group, feeds it the scenario, enforces a timeout,
//! kills whatever is left of the group and decodes the line protocol into a
//! [`Trace`]. A crash or hang becomes a `ChildCrash` outcome, not an error.

pub use vmalab_lang::{probe, protocol, smaps};
pub use vmalab_runner as runner;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::host::HostConfig;
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::trace::{StepResult, Trace};
use crate::window::Window;

/// How to run the oracle.
#[derive(Clone, Debug)]
pub struct OracleOptions {
    /// Kill the runner after this long.
    pub timeout: Duration,
    /// The `vmalab` binary providing `oracle-runner` (default: this one).
    pub runner: Option<PathBuf>,
    /// Test hook passed to the runner as [`runner::SELFTEST_ENV`]
    /// (`crash:N`, `hang:N`); `None` in normal use.
    pub selftest: Option<String>,
    /// Let scenarios write sysctls (`--allow-sysctl`; always inside a
    /// booted kernel). Without it a scenario with a `sysctl` step is
    /// skipped on the host.
    pub allow_sysctl: bool,
    /// Have the runner check every layout it keeps rather than reads
    /// after a step that cannot change it ([`runner::CHECK_KEPT_ENV`]);
    /// for tests.
    pub check_kept_layouts: bool,
}

impl Default for OracleOptions {
    fn default() -> Self {
        OracleOptions {
            timeout: Duration::from_secs(10),
            runner: None,
            selftest: None,
            allow_sysctl: false,
            check_kept_layouts: false,
        }
    }
}

/// A kernel run: the trace plus where the window was and what the runner
/// wrote to stderr.
#[derive(Clone, Debug, Default)]
pub struct KernelTrace {
    pub trace: Trace,
    /// `None` if the scenario was skipped before running.
    pub window: Option<Window>,
    /// The runner's kernel (`uname -r` and machine), as it reported it.
    pub kernel: Option<String>,
    pub stderr: String,
}

/// Runs a scenario on the live kernel with default options.
pub fn run_kernel(scenario: &Scenario) -> anyhow::Result<KernelTrace> {
    run_kernel_with(scenario, &OracleOptions::default(), &HostConfig::detect())
}

/// Runs a scenario on the live kernel; skips it (without running) if the
/// host does not meet its `min-kernel`/`requires` lines.
pub fn run_kernel_with(
    scenario: &Scenario,
    opts: &OracleOptions,
    host: &HostConfig,
) -> anyhow::Result<KernelTrace> {
    if let Some(why) = host.unmet(scenario) {
        return Ok(skipped(why, host));
    }
    if let (Some(line), false) = (sysctl_line(scenario), opts.allow_sysctl) {
        let why = format!(
            "line {line} writes a sysctl, which changes the whole machine: pass \
             --allow-sysctl to run it here, or run it in a booted kernel (--kernel 7.2)"
        );
        return Ok(skipped(why, host));
    }
    let raw = run_runner(scenario, opts)?;
    decode_run(scenario, &raw, host)
}

/// The line of the scenario's first `sysctl` step, if it has one.
pub fn sysctl_line(scenario: &Scenario) -> Option<usize> {
    fn writes(k: &crate::scenario::StepKind) -> bool {
        k.keyword() == "sysctl" || k.body.iter().any(writes)
    }
    scenario
        .steps
        .iter()
        .find(|s| writes(&s.kind))
        .map(|s| s.line)
}

/// The current values of every sysctl the scenario may write, to put back
/// after it ran (the host's, or the next scenario's in a booted kernel).
fn sysctl_snapshot(scenario: &Scenario) -> Vec<(String, String)> {
    if sysctl_line(scenario).is_none() {
        return Vec::new();
    }
    crate::scenario::names::SYSCTL
        .iter()
        .filter_map(|&(_, i)| runner::calls::sysctl_path(i))
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
        .collect()
}

/// The trace of a scenario that did not run, and why.
pub fn skipped(why: String, host: &HostConfig) -> KernelTrace {
    KernelTrace {
        trace: Trace {
            page_size: host.page_size,
            steps: Vec::new(),
            skipped: Some(why),
            features: host.features,
            kernel: host.version,
        },
        window: None,
        kernel: None,
        stderr: String::new(),
    }
}

/// What one oracle runner produced, before decoding: here, or inside a
/// booted guest kernel that sends it back to be decoded on the host.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RawRun {
    pub stdout: String,
    pub stderr: String,
    /// The runner's exit code, or the signal that killed it (negative).
    pub status: i32,
    /// The runner was killed for taking longer than this.
    pub timed_out: Option<Duration>,
}

/// Runs `vmalab oracle-runner` on `scenario` in its own process group,
/// enforcing the timeout and killing whatever is left of the group.
pub fn run_runner(scenario: &Scenario, opts: &OracleOptions) -> anyhow::Result<RawRun> {
    let exe = match &opts.runner {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find the vmalab binary")?,
    };
    let mut cmd = Command::new(&exe);
    if opts.allow_sysctl {
        cmd.env(runner::ALLOW_SYSCTL_ENV, "1");
    } else {
        cmd.env_remove(runner::ALLOW_SYSCTL_ENV);
    }
    let saved = if opts.allow_sysctl {
        sysctl_snapshot(scenario)
    } else {
        Vec::new()
    };
    let raw = run_runner_inner(cmd, &exe, scenario, opts);
    for (path, value) in saved {
        let _ = std::fs::write(path, value);
    }
    raw
}

/// [`run_runner`] once the command is set up.
fn run_runner_inner(
    mut cmd: Command,
    exe: &std::path::Path,
    scenario: &Scenario,
    opts: &OracleOptions,
) -> anyhow::Result<RawRun> {
    if opts.check_kept_layouts {
        cmd.env(runner::CHECK_KEPT_ENV, "1");
    } else {
        cmd.env_remove(runner::CHECK_KEPT_ENV);
    }
    match &opts.selftest {
        Some(t) => cmd.env(runner::SELFTEST_ENV, t),
        None => cmd.env_remove(runner::SELFTEST_ENV),
    };
    let mut child = cmd
        .arg("oracle-runner")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {} oracle-runner", exe.display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    // The runner reads all of stdin before writing anything, so writing
    // first cannot deadlock; a runner that died early just gives EPIPE.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(scenario.to_string().as_bytes());
    }
    let mut stdout = child.stdout.take().context("runner stdout")?;
    let mut stderr = child.stderr.take().context("runner stderr")?;
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    // Wait for the runner without reaping it, so its pid (the group id)
    // cannot be reused before we kill the rest of the group.
    let start = Instant::now();
    let mut timed_out = false;
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    loop {
        match waitid(Id::Pid(pid), flags | WaitPidFlag::WNOHANG) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => bail!("waiting for the oracle runner: {e}"),
        }
        if start.elapsed() > opts.timeout {
            timed_out = true;
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = waitid(Id::Pid(pid), flags);
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Forked copies of the runner may still live: end the whole group while
    // the leader is a zombie (its id is still reserved), then reap it.
    let _ = killpg(pid, Signal::SIGKILL);
    let status = child.wait().context("reaping the oracle runner")?;
    use std::os::unix::process::ExitStatusExt;
    Ok(RawRun {
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
        status: status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(0)),
        timed_out: timed_out.then_some(opts.timeout),
    })
}

/// Decodes a runner's output into the scenario's trace; a runner that
/// stopped early (crash, hang, killed child) ends the trace with a
/// `ChildCrash` step.
pub fn decode_run(
    scenario: &Scenario,
    raw: &RawRun,
    host: &HostConfig,
) -> anyhow::Result<KernelTrace> {
    let decoded = protocol::decode(&raw.stdout).context("decoding the oracle runner's output")?;
    if let Some(f) = &decoded.fatal {
        bail!("oracle runner could not start the scenario: {f}");
    }
    let window = (decoded.page_size != 0).then_some(Window {
        base: decoded.base,
        pages: decoded.window_pages,
        page_size: decoded.page_size,
        far: decoded.far,
    });
    let mut trace = Trace {
        page_size: decoded.page_size,
        steps: decoded.steps,
        skipped: None,
        features: host.features,
        kernel: host.version,
    };
    if !decoded.done {
        let why = if let Some(t) = raw.timed_out {
            format!("timed out after {t:?}")
        } else if let Some(sig) = &decoded.child_died {
            format!("forked child killed by {sig}")
        } else if raw.status < 0 {
            format!(
                "runner killed by {}",
                crate::scenario::names::signal_name(-raw.status)
            )
        } else {
            format!("runner exited with status {} before finishing", raw.status)
        };
        let why = match raw.stderr.lines().last() {
            Some(l) if !l.is_empty() => format!("{why}; stderr: {l}"),
            _ => why,
        };
        let index = decoded.unfinished.unwrap_or(trace.steps.len());
        let layout = trace
            .steps
            .last()
            .map(|s| s.layout.clone())
            .unwrap_or_default();
        if index < scenario.steps.len() || trace.steps.is_empty() {
            trace.steps.push(StepResult {
                index,
                outcome: Outcome::ChildCrash(why),
                layout,
            });
        }
    }
    Ok(KernelTrace {
        trace,
        window,
        kernel: decoded.kernel,
        stderr: raw.stderr.clone(),
    })
}
