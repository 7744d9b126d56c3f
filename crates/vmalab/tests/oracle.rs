// SPDX-License-Identifier: GPL-2.0-or-later
//! Runs scenarios through the real kernel oracle (needs Linux x86_64).

use std::path::{Path, PathBuf};
use std::time::Duration;

use vmalab::check::check;
use vmalab::host::HostConfig;
use vmalab::layout::FileId;
use vmalab::oracle::{run_kernel_with, KernelTrace, OracleOptions};
use vmalab::outcome::{Outcome, Value};
use vmalab::scenario::{collect_files, parse, parse_file, Amount, Scenario};

fn opts() -> OracleOptions {
    OracleOptions {
        runner: Some(PathBuf::from(env!("CARGO_BIN_EXE_vmalab"))),
        check_kept_layouts: true,
        ..OracleOptions::default()
    }
}

fn run(sc: &Scenario, o: &OracleOptions) -> KernelTrace {
    run_kernel_with(sc, o, &HostConfig::detect()).expect("oracle run")
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

#[test]
fn adjacent_anon_merge_on_the_kernel() {
    let sc = parse_file(&scenarios_dir().join("merge/anon_adjacent.scenario")).unwrap();
    let kt = run(&sc, &opts());
    assert_eq!(kt.trace.steps.len(), sc.steps.len());
    assert_eq!(
        kt.trace.steps[1].outcome,
        Outcome::Ok(Value::Addr(Amount::pages(4)))
    );
    let l = &kt.trace.steps[1].layout;
    assert_eq!(l.0.len(), 1);
    assert_eq!((l.0[0].start_page, l.0[0].end_page), (0, 8));
    assert_eq!(l.0[0].file, FileId::Anon);
    assert!(l.0[0].vm_flags.contains("ac"));
    assert!(check(&sc, &kt.trace).is_empty());
}

#[test]
fn inline_scenario_outcomes() {
    let sc = parse(
        "inline.scenario",
        "window 8\n\
         file f pages=1 rw\n\
         mmap 0 2 PROT_READ|PROT_WRITE MAP_SHARED|MAP_FIXED fd=f\n\
         touch write 0\n\
         touch read 0\n\
         touch read 1\n\
         touch read 4\n\
         munmap 7 2\n\
         mprotect 1+1b 1 PROT_READ\n\
         expect errno ENOMEM\n",
    )
    .unwrap();
    let kt = run(&sc, &opts());
    let o: Vec<String> = kt
        .trace
        .steps
        .iter()
        .map(|r| r.outcome.to_string())
        .collect();
    assert_eq!(
        o,
        [
            "= 0",
            "= 0",
            "= 1",
            "signal SIGBUS BUS_ADRERR",
            "signal SIGSEGV SEGV_MAPERR",
            "REFUSED (munmap range reaches outside the window of 8 pages)",
            "errno EINVAL",
        ]
    );
    assert_eq!(
        kt.trace.steps[0].layout.to_string(),
        "0-2 rw-s 0 f [rd wr sh mr mw me ms]\n"
    );
    let failures = check(&sc, &kt.trace);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].message.contains("refused"));
    assert!(failures[1].message.contains("expected `errno ENOMEM`"));
}

#[test]
fn every_shipped_scenario_passes() {
    let files = collect_files(&[scenarios_dir()]).unwrap();
    assert!(files.len() >= 25);
    let host = HostConfig::detect();
    for f in files {
        let sc = parse_file(&f).unwrap();
        let kt = run_kernel_with(&sc, &opts(), &host).unwrap();
        let failures = check(&sc, &kt.trace);
        assert!(failures.is_empty(), "{}: {failures:?}", f.display());
    }
}

/// True if any live process carries `marker` in its environment.
fn process_with_env(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("environ")).ok())
        .any(|env| {
            env.split(|b| *b == 0)
                .any(|kv| kv == format!("VMALAB_ORACLE_SELFTEST={marker}").as_bytes())
        })
}

const THREE_STEPS: &str = "window 4\n\
    mmap 0 1 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\n\
    fork\n\
    munmap 0 1\n\
    expect ok\n";

#[test]
fn crash_is_an_outcome() {
    let sc = parse("c.scenario", THREE_STEPS).unwrap();
    let o = OracleOptions {
        selftest: Some("crash:0".into()),
        ..opts()
    };
    let kt = run(&sc, &o);
    assert_eq!(kt.trace.steps.len(), 1);
    let Outcome::ChildCrash(why) = &kt.trace.steps[0].outcome else {
        panic!("{:?}", kt.trace.steps)
    };
    assert!(why.contains("SIGABRT"), "{why}");
    // The step with an expectation never ran: that is a failure too.
    assert_eq!(check(&sc, &kt.trace).len(), 2);
}

#[test]
fn crash_after_fork_is_reported_by_the_parent() {
    let sc = parse("c.scenario", THREE_STEPS).unwrap();
    let o = OracleOptions {
        selftest: Some("crash:2".into()),
        ..opts()
    };
    let kt = run(&sc, &o);
    assert_eq!(kt.trace.steps.len(), 3);
    let Outcome::ChildCrash(why) = &kt.trace.steps[2].outcome else {
        panic!("{:?}", kt.trace.steps)
    };
    assert!(why.contains("forked child killed by SIGABRT"), "{why}");
}

#[test]
fn hang_after_fork_times_out_and_leaves_no_process() {
    let marker = format!("hang:2:{}", std::process::id());
    let sc = parse("h.scenario", THREE_STEPS).unwrap();
    let o = OracleOptions {
        selftest: Some(marker.clone()),
        timeout: Duration::from_millis(500),
        ..opts()
    };
    let kt = run(&sc, &o);
    let last = kt.trace.steps.last().unwrap();
    assert_eq!(last.index, 2);
    assert!(matches!(&last.outcome, Outcome::ChildCrash(w) if w.contains("timed out")));
    assert!(!process_with_env(&marker), "a runner process survived");
}

#[test]
fn min_kernel_skips_without_running() {
    let sc = parse("s.scenario", "min-kernel 99.0\nfork\n").unwrap();
    let kt = run(&sc, &opts());
    assert!(kt.trace.skipped.is_some());
    assert!(kt.window.is_none());
    assert!(check(&sc, &kt.trace).is_empty());
}
