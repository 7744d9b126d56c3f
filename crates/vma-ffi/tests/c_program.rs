// SPDX-License-Identifier: GPL-2.0-or-later
//! The C ABI from C: each program in `tests/c` is compiled with `cc
//! -Wall -Werror` against the generated header and the static library,
//! and run. `compare.c` makes the same calls on this machine's kernel and
//! on the model and must agree on every result and layout; `embed.c`
//! checks merge verdicts against a known layout and dry runs against the
//! real calls. Also: the committed header is the one cbindgen generates
//! from the source.

use std::path::{Path, PathBuf};
use std::process::Command;

fn generated_header() -> PathBuf {
    Path::new(env!("OUT_DIR")).join("vma.h")
}

#[test]
fn committed_header_is_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vma.h");
    let generated = std::fs::read_to_string(generated_header()).unwrap();
    let current = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        current == generated,
        "{} is stale: copy {} over it",
        committed.display(),
        generated_header().display()
    );
}

/// The static library cargo built with this test: beside its executable
/// in `deps/` (a `cargo test` build), or one level up (`cargo build`).
fn static_library() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    let found = [deps, deps.parent()?]
        .into_iter()
        .map(|d| d.join("libvma_ffi.a"))
        .find(|lib| lib.is_file());
    found
}

/// Compiles `tests/c/NAME.c` against the header and the static library,
/// runs it and checks its TAP output. Skipped without a C compiler.
fn run_c_program(name: &str) {
    if Command::new("cc").arg("--version").output().is_err() {
        eprintln!("skipped: no C compiler (cc)");
        return;
    }
    let lib = static_library().expect("cargo builds libvma_ffi.a with the tests");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join(format!("vma_ffi_{name}"));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let include = generated_header();
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-I"])
        .arg(include.parent().unwrap())
        .arg(&source)
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .expect("cc runs");
    assert!(status.success(), "compiling {}", source.display());
    let out = Command::new(&exe).output().expect("the C program runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success(), "C program failed:\n{text}");
    assert!(text.contains("\n1.."), "no TAP plan:\n{text}");
    assert!(!text.contains("not ok"), "{text}");
}

#[test]
fn c_program_agrees_with_the_kernel() {
    run_c_program("compare");
}

/// Merge verdicts against a known layout, dry runs, bad input.
#[test]
fn c_program_checks_verdicts_and_dry_runs() {
    run_c_program("embed");
}
