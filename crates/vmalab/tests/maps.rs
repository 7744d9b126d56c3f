// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab maps` on real address spaces: this machine's processes and a
//! JVM (skipped, with the reason printed, where `java` is missing).

mod common;
use common::vmalab_split as vmalab;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Checks a report's sections.
fn check_report(what: &str, out: &str) {
    for section in [
        " VMAs (smaps",
        "headroom",
        "adjacent pairs:",
        "largest free gaps",
        "totals by kind:",
    ] {
        assert!(out.contains(section), "{what}: no {section:?} in\n{out}");
    }
}

#[test]
fn reads_the_smaps_of_this_machines_processes() {
    let mut read = Vec::new();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let path = format!("/proc/{pid}/smaps");
        // Copy the snapshot first: a process may exit, and some are not ours to read.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.is_empty() {
            continue; // a kernel thread
        }
        let copy = std::env::temp_dir().join(format!("vmalab-maps-{}-{pid}", std::process::id()));
        std::fs::write(&copy, &text).unwrap();
        let (code, out, err) = vmalab(&["maps", copy.to_str().unwrap()]);
        std::fs::remove_file(&copy).unwrap();
        assert_eq!(code, 0, "maps of process {pid}: {err}");
        check_report(&path, &out);
        read.push(pid);
        if read.len() == 12 {
            break;
        }
    }
    println!("read the smaps of processes {read:?}");
    assert!(read.len() >= 5, "only {} readable processes", read.len());
    // A live PID too (this test itself).
    let me = std::process::id().to_string();
    let (code, out, err) = vmalab(&["maps", &me]);
    assert_eq!(code, 0, "{err}");
    check_report("this test", &out);
}

#[test]
fn reads_a_jvm() {
    if Command::new("java").arg("-version").output().is_err() {
        println!("skipped: java is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vmalab-jvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("Idle.java");
    std::fs::write(
        &src,
        "public class Idle { public static void main(String[] a) throws Exception {\n\
         byte[][] keep = new byte[64][]; for (int i = 0; i < 64; i++) keep[i] = new byte[1 << 16];\n\
         System.out.println(\"ready\"); System.out.flush(); Thread.sleep(60000); } }\n",
    )
    .unwrap();
    let mut child = Command::new("java")
        .args(["-Xmx256m", src.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start java");
    let pid = child.id();
    // Wait for "ready": the JVM is up and has run Java code.
    let mut stdout = child.stdout.take().unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let ready = loop {
        use std::io::Read;
        match stdout.read(&mut buf) {
            Ok(n) if n > 0 && String::from_utf8_lossy(&buf[..n]).contains("ready") => break true,
            Ok(0) | Err(_) => break false,
            _ if started.elapsed() > Duration::from_secs(60) => break false,
            _ => {}
        }
    };
    let result = ready.then(|| vmalab(&["maps", &pid.to_string()]));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let Some((code, out, err)) = result else {
        panic!("the JVM did not start");
    };
    assert_eq!(code, 0, "maps of the JVM: {err}");
    check_report("the JVM", &out);
    let vmas: usize = out
        .lines()
        .next()
        .and_then(|l| l.split(": ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(vmas > 100, "a JVM has hundreds of VMAs:\n{out}");
    println!("{out}");
}

#[test]
fn bad_snapshots_exit_2_with_file_and_line() {
    let p = std::env::temp_dir().join(format!("vmalab-maps-bad-{}", std::process::id()));
    std::fs::write(&p, "1000-2000 rw-p 0 00:00 0\nthis is not smaps\n").unwrap();
    let (code, _, err) = vmalab(&["maps", p.to_str().unwrap()]);
    std::fs::remove_file(&p).unwrap();
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{}:2: ", p.display())), "{err}");
    let (code, _, err) = vmalab(&["maps", "/nonexistent/maps"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/maps"), "{err}");
}
