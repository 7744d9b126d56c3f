// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab explain` on the bundled scenarios: after every step of every
//! scenario, every pair of neighbouring VMAs that did not merge gets a
//! verdict, in words, naming the kernel function that decided it.

mod common;
use common::vmalab;
use std::path::PathBuf;

use vmalab::explain::{explain_text, pairs, scenario_space};
use vmalab::host::HostConfig;
use vmalab::scenario::{collect_files, parse_file};

#[test]
fn every_unmerged_neighbour_pair_of_every_scenario_gets_a_verdict() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let host = HostConfig::detect();
    let (mut scenarios, mut skipped, mut explained, mut would_merge) = (0, 0, 0, 0);
    for path in collect_files(&[root]).unwrap() {
        let sc = parse_file(&path).unwrap();
        for at in 0..=sc.steps.len() {
            let space = match scenario_space(&sc, &host, Some(at)) {
                Ok(s) => s,
                Err(_) => {
                    skipped += 1;
                    break;
                }
            };
            let mm = &space.mm;
            let verdicts = pairs(&space, &[]).unwrap();
            // Every adjacent pair of VMAs is one that did not merge.
            let vmas: Vec<_> = mm.vmas().map(|(_, v)| (v.start, v.end)).collect();
            let adjacent = vmas.windows(2).filter(|w| w[0].1 == w[1].0).count();
            assert_eq!(verdicts.len(), adjacent, "{}", space.title);
            for p in &verdicts {
                let words = space.words(&p.verdict);
                match p.verdict.reason() {
                    Some(why) => {
                        let f = format!("{}()", why.kernel_function());
                        assert!(words.contains(&f), "{}: {words}", space.title);
                    }
                    None => would_merge += 1,
                }
                explained += 1;
            }
            let text = explain_text(&space, &verdicts);
            assert_eq!(text.lines().count(), 1 + 2 * verdicts.len());
        }
        scenarios += 1;
    }
    println!(
        "{scenarios} scenarios ({skipped} skipped on this host), {explained} verdicts \
         ({would_merge} pairs would merge if asked now)"
    );
    assert!(scenarios > 200 && explained > 1000);
}

#[test]
fn explains_a_named_pair_of_a_scenario_and_of_a_snapshot() {
    let sc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/merge/anon_vma_blocks_merge.scenario"
    );
    let (code, out) = vmalab(&["explain", sc, "0", "8"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is_mergeable_anon_vma()"), "{out}");
    let (code, out) = vmalab(&["explain", "--at", "3", sc, "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("after step 3") && out.contains("not adjacent"),
        "{out}"
    );
    let (code, out) = vmalab(&["explain", sc, "0", "12"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not in the VMA after"), "{out}");

    let snap = std::env::temp_dir().join(format!("vmalab-explain-{}.smaps", std::process::id()));
    std::fs::write(
        &snap,
        "7f0000000000-7f0000002000 r--p 00000000 08:01 42 /lib/a b.so\n\
         VmFlags: rd mr mw me\n\
         7f0000002000-7f0000003000 r-xp 00002000 08:01 42 /lib/a b.so\n\
         VmFlags: rd ex mr mw me",
    )
    .unwrap();
    let (code, out) = vmalab(&["explain", snap.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("flags differ: EXEC (is_mergeable_vma)"),
        "{out}"
    );
    assert!(out.contains("/lib/a b.so"), "{out}");
    let (code, out) = vmalab(&["explain", "--at", "1", snap.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    std::fs::remove_file(&snap).unwrap();
}

#[test]
fn run_and_check_explain_their_steps() {
    let d = std::env::temp_dir().join(format!("vmalab-explain-run-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let sc = d.join("apart.scenario");
    std::fs::write(
        &sc,
        "window 8\n\
         mmap 0 2 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\n\
         mmap 2 2 PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\n\
         expect layout\n  0-4 rw-p 0 anon\nend\n",
    )
    .unwrap();
    let sc = sc.to_str().unwrap();
    let svg = d.join("t.svg");
    let (code, out) = vmalab(&["run", "--explain", "--render", svg.to_str().unwrap(), sc]);
    assert_eq!(code, 1, "the expectation fails: {out}");
    assert!(
        out.contains("pages 0-2 r--p  |  pages 2-4 rw-p: flags differ: WRITE|ACCOUNT -- decided by is_mergeable_vma()"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("<rect class=\"vma\""));
    let pics = d.join("pics");
    let (code, out) = vmalab(&["check", "--explain", "--render", pics.to_str().unwrap(), sc]);
    assert_eq!(code, 1, "{out}");
    let page = std::fs::read_to_string(pics.join("apart.html")).unwrap();
    assert!(page.contains("<rect class=\"vma\""), "{page}");
    assert!(
        out.contains("model's merge verdicts after step 2:"),
        "{out}"
    );
    assert!(out.contains("flags differ: WRITE|ACCOUNT"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_history_of_a_vma_names_the_steps_that_shaped_it() {
    let sc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/merge/mprotect_split_remerge.scenario"
    );
    let (code, out) = vmalab(&["explain", "--history", sc, "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("step 1 (L5 mmap 0 8"), "{out}");
    assert!(out.contains("3 VMAs merged into pages 0-8"), "{out}");
    assert!(
        out.contains("its end (page 2) has been a VMA boundary since step 5"),
        "{out}"
    );
    let (code, out) = vmalab(&["explain", "--history", "--at", "3", sc, "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pages 0-8 after step 3"), "{out}");
    let (code, out) = vmalab(&["explain", "--history", sc]);
    assert_eq!(code, 2, "{out}");
}
