// SPDX-License-Identifier: GPL-2.0-or-later
//! The guest side: `vmalab` as the init process of a booted kernel. It
//! mounts /proc, /sys and /dev, reports the guest's configuration, runs
//! every scenario packed into the initramfs with the ordinary oracle
//! runner, writes each runner's raw output to the virtio console, and
//! powers the machine off. The host decodes and judges (see `boot`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use nix::mount::{mount, MsFlags};
use nix::sys::reboot::{reboot, RebootMode};
use nix::sys::wait::{wait, waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

use super::frame::{write_frame, Frame};
use crate::host::{parse_config, HostConfig};
use crate::oracle::{run_runner, OracleOptions};
use crate::scenario::parse;

/// Where the host puts things in the initramfs.
pub const SCENARIO_DIR: &str = "/scenarios";
/// The booted kernel's build configuration.
pub const CONFIG_PATH: &str = "/boot/vmalab.config";
/// The devices the results may go to, in order of preference: a virtio
/// console (fast; built in from 6.12 on Debian's cloud kernels), else the
/// second serial port (always built in).
const OUTPUTS: [&str; 2] = ["/dev/hvc0", "/dev/ttyS1"];

/// Whether this process is the init of a vmalab guest: process 1, started
/// as `/init` (so a container running `vmalab` as its first process is
/// not mistaken for one).
pub fn is_guest_init() -> bool {
    std::process::id() == 1 && std::env::args().next().as_deref() == Some("/init")
}

/// Runs the guest and powers off; never returns.
pub fn init_main() -> ! {
    if let Err(e) = mount_filesystems() {
        eprintln!("vmalab guest: {e:#}");
        power_off();
    }
    // The work runs in a child so that this process, as init, can reap
    // every orphan without taking a runner's exit status from the oracle.
    // SAFETY: no other thread exists yet in process 1.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = match guest_main() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("vmalab guest: {e:#}");
                    1
                }
            };
            std::process::exit(code);
        }
        Ok(ForkResult::Parent { child }) => loop {
            match wait() {
                Ok(WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))
                    if pid == child =>
                {
                    break;
                }
                Err(nix::errno::Errno::ECHILD) => break,
                _ => {}
            }
        },
        Err(e) => eprintln!("vmalab guest: fork: {e}"),
    }
    let _ = waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    power_off();
}

fn power_off() -> ! {
    nix::unistd::sync();
    let _ = reboot(RebootMode::RB_POWER_OFF);
    // Only reached if the kernel refused; hang rather than let init exit
    // (which panics the kernel).
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn mount_filesystems() -> anyhow::Result<()> {
    let none: Option<&str> = None;
    for (src, dir, fs) in [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
    ] {
        mount(Some(src), dir, Some(fs), MsFlags::empty(), none)
            .with_context(|| format!("mounting {dir}"))?;
    }
    Ok(())
}

/// The guest's configuration: detected like the host's, with the build
/// options of the booted image.
fn guest_config() -> HostConfig {
    let mut host = HostConfig::detect();
    if let Ok(text) = std::fs::read_to_string(CONFIG_PATH) {
        host.options = parse_config(&text);
        host.config_found = true;
    }
    host
}

/// The per-runner timeout from the kernel command line
/// (`vmalab.timeout=SECONDS`), else 60 s.
fn timeout() -> Duration {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let secs = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("vmalab.timeout="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

fn guest_main() -> anyhow::Result<()> {
    let mut out = OUTPUTS
        .iter()
        .find_map(|p| std::fs::OpenOptions::new().write(true).open(p).ok())
        .with_context(|| format!("cannot open any of {OUTPUTS:?}"))?;
    raw_mode(&out)?;
    let host = guest_config();
    write_frame(&mut out, &Frame::Report(super::report::encode(&host)))?;
    let opts = OracleOptions {
        timeout: timeout(),
        // The guest is a disposable root machine.
        allow_sysctl: true,
        ..OracleOptions::default()
    };
    let mut names: Vec<String> = std::fs::read_dir(SCENARIO_DIR)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let Some(index) = name
            .strip_suffix(".scenario")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let frame = run_one(&Path::new(SCENARIO_DIR).join(&name), index, &host, &opts);
        write_frame(&mut out, &frame)?;
    }
    write_frame(&mut out, &Frame::Done)?;
    out.flush()?;
    Ok(())
}

/// The console is a terminal: without raw mode it would turn each `\n`
/// into `\r\n` and corrupt the frames' byte counts.
fn raw_mode(tty: &std::fs::File) -> anyhow::Result<()> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let mut t = tcgetattr(tty).context("reading the console's terminal settings")?;
    cfmakeraw(&mut t);
    tcsetattr(tty, SetArg::TCSANOW, &t).context("setting the console to raw mode")?;
    Ok(())
}

/// Runs scenario file `path` (number `index`) and returns what to send.
fn run_one(path: &Path, index: usize, host: &HostConfig, opts: &OracleOptions) -> Frame {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Frame::Error(index, format!("{}: {e}", path.display())),
    };
    let scenario = match parse(&path.display().to_string(), &text) {
        Ok(s) => s,
        Err(e) => return Frame::Error(index, e.to_string()),
    };
    if let Some(why) = host.unmet(&scenario) {
        return Frame::Skip(index, why);
    }
    match run_runner(&scenario, opts) {
        Ok(raw) => Frame::Run(index, raw),
        Err(e) => Frame::Error(index, format!("{e:#}")),
    }
}
