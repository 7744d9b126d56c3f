// SPDX-License-Identifier: GPL-2.0-or-later
//! The host side of a guest run: packs this `vmalab` binary (as `/init`,
//! with the shared libraries it needs), the kernel's config and the
//! scenarios into an initramfs, boots the kernel under qemu (TCG, so no
//! KVM is needed), and reads the guest's frames back from a virtio
//! console file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::cpio::Archive;
use super::frame::{parse_frames, Frame};
use super::guest::{CONFIG_PATH, SCENARIO_DIR};
use super::image::KernelImage;
use crate::host::{parse_config, HostConfig};
use crate::scenario::Scenario;

/// How to boot.
#[derive(Clone, Debug)]
pub struct BootOptions {
    /// qemu's `-cpu` model, e.g. `max` or `max,-pku`.
    pub cpu: String,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Per-scenario runner timeout inside the guest.
    pub scenario_timeout: Duration,
    /// The guest is killed once its output has not grown for this long:
    /// it writes a frame after every scenario, so a run of any length goes
    /// on while it makes progress, and a hung or dead guest is stopped.
    pub stall_timeout: Duration,
    /// The vmalab binary that runs as the guest's init; by default this
    /// program (a test names the built `vmalab` instead).
    pub vmalab: Option<PathBuf>,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            cpu: "max".into(),
            memory_mib: 1024,
            scenario_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(300),
            vmalab: None,
        }
    }
}

/// What one boot produced.
#[derive(Debug)]
pub struct GuestRun {
    /// The guest's configuration, build options included.
    pub host: HostConfig,
    /// The frames after the report, in order.
    pub frames: Vec<Frame>,
    /// The guest sent `done`.
    pub complete: bool,
    /// The last lines the kernel printed on its serial console.
    pub console_tail: String,
    pub elapsed: Duration,
}

/// Boots `image` and runs `scenarios` inside it, in one boot.
pub fn run_in_guest(
    image: &KernelImage,
    scenarios: &[&Scenario],
    opts: &BootOptions,
) -> anyhow::Result<GuestRun> {
    let qemu = "qemu-system-x86_64";
    if Command::new(qemu).arg("--version").output().is_err() {
        bail!("{qemu} not found (Debian: apt-get install qemu-system-x86)");
    }
    let config = match &image.config {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| p.display().to_string())?),
        None => None,
    };
    let dir = TempDir::new()?;
    let initrd = dir.path().join("initrd.cpio");
    std::fs::write(
        &initrd,
        initramfs(opts.vmalab.as_deref(), config.as_deref(), scenarios)?,
    )?;
    let out = dir.path().join("frames");
    let serial_out = dir.path().join("frames-serial");
    let console = dir.path().join("console");
    let append = format!(
        // no_timer_check: a slow (loaded, emulated) host must not fail the
        // IO-APIC timer check, which panics the guest at boot.
        "console=ttyS0 panic=-1 quiet no_timer_check vmalab.timeout={}",
        opts.scenario_timeout.as_secs()
    );
    let start = Instant::now();
    let mut child = Command::new(qemu)
        .args(["-accel", "tcg", "-cpu", &opts.cpu, "-smp", "1"])
        .args(["-m", &opts.memory_mib.to_string()])
        .args(["-nographic", "-no-reboot", "-monitor", "none"])
        .arg("-kernel")
        .arg(&image.vmlinuz)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", &append])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", serial_out.display()))
        .args(["-device", "virtio-serial-pci"])
        .arg("-chardev")
        .arg(format!("file,id=vmalab,path={}", out.display()))
        .args(["-device", "virtconsole,chardev=vmalab"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {qemu}"))?;
    let mut timed_out = false;
    let (mut progress, mut written) = (Instant::now(), 0);
    // A scenario may take its whole timeout before its frame comes.
    let stall = opts
        .stall_timeout
        .max(opts.scenario_timeout + Duration::from_secs(60));
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        let now_written = [&out, &serial_out]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum::<u64>();
        if now_written != written {
            (progress, written) = (Instant::now(), now_written);
        }
        if progress.elapsed() > stall {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let qemu_err = child
        .wait_with_output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default();
    let elapsed = start.elapsed();
    let console_text = std::fs::read(&console).unwrap_or_default();
    let console_tail = tail(&String::from_utf8_lossy(&console_text), 15);
    let mut bytes = std::fs::read(&out).unwrap_or_default();
    if bytes.is_empty() {
        bytes = std::fs::read(&serial_out).unwrap_or_default();
    }
    let mut frames = parse_frames(&bytes).context("reading the guest's results")?;
    let Some(Frame::Report(report)) = frames.first().cloned() else {
        bail!(
            "the guest reported nothing{}{}\nconsole:\n{console_tail}{}",
            if timed_out {
                " (no output for the stall timeout)"
            } else {
                ""
            },
            if qemu_err.trim().is_empty() {
                ""
            } else {
                "; qemu: "
            },
            qemu_err.trim()
        );
    };
    frames.remove(0);
    let mut host = super::report::decode(&report)?;
    if let Some(text) = &config {
        host.options = parse_config(text);
        host.config_found = true;
    }
    let complete = frames.last() == Some(&Frame::Done);
    if complete {
        frames.pop();
    }
    Ok(GuestRun {
        host,
        frames,
        complete,
        console_tail,
        elapsed,
    })
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The initramfs: this binary as /init with its libraries, the kernel
/// config, and each scenario as `/scenarios/NNNNNN.scenario`.
fn initramfs(
    exe: Option<&Path>,
    config: Option<&str>,
    scenarios: &[&Scenario],
) -> anyhow::Result<Vec<u8>> {
    let exe = match exe {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe().context("cannot find the vmalab binary")?,
    };
    let mut a = Archive::default();
    let mut dirs = std::collections::BTreeSet::new();
    for d in ["/proc", "/sys", "/dev", "/boot", "/tmp", SCENARIO_DIR] {
        add_dirs(&mut a, &mut dirs, d);
    }
    a.file("/init", 0o755, &std::fs::read(&exe)?);
    for lib in shared_libraries(&exe)? {
        let path = lib.to_str().context("library path is not UTF-8")?;
        if let Some(parent) = lib.parent().and_then(Path::to_str) {
            add_dirs(&mut a, &mut dirs, parent);
        }
        let data = std::fs::read(&lib).with_context(|| format!("reading {path}"))?;
        a.file(path, 0o755, &data);
    }
    if let Some(c) = config {
        a.file(CONFIG_PATH, 0o644, c.as_bytes());
    }
    for (i, sc) in scenarios.iter().enumerate() {
        let path = format!("{SCENARIO_DIR}/{i:06}.scenario");
        a.file(&path, 0o644, sc.to_string().as_bytes());
    }
    Ok(a.finish())
}

/// Adds `path` and its missing parents as directories.
fn add_dirs(a: &mut Archive, seen: &mut std::collections::BTreeSet<String>, path: &str) {
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur.push('/');
        cur.push_str(part);
        if seen.insert(cur.clone()) {
            a.dir(&cur);
        }
    }
}

/// The shared libraries `exe` loads, the dynamic loader included, as
/// `ldd` lists them (none for a static binary).
fn shared_libraries(exe: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(exe).output();
    let Ok(out) = out else {
        return Ok(Vec::new()); // no ldd: assume a static binary
    };
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let path = match l.split_once("=>") {
                Some((_, rhs)) => rhs.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let base = std::env::temp_dir();
        for n in 0..1000u32 {
            let p = base.join(format!("vmalab-vm-{}-{n}", std::process::id()));
            if std::fs::create_dir(&p).is_ok() {
                return Ok(TempDir(p));
            }
        }
        bail!("cannot create a directory under {}", base.display())
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
