// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab export --c`: scenarios become C programs that compile with
//! `cc -Wall -Wextra -Werror` and pass on the kernel that exported them;
//! a changed expectation fails; a file the user owns is never overwritten.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scenario(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(rel)
}

/// The host kernel, run by the built `vmalab` (not this test binary).
fn host() -> vmalab::kernels::KernelChoice {
    vmalab::kernels::KernelChoice {
        oracle: vmalab::oracle::OracleOptions {
            runner: Some(PathBuf::from(env!("CARGO_BIN_EXE_vmalab"))),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn compile_and_run(c: &Path) -> (bool, String) {
    let exe = c.with_extension("");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(c)
        .status()
        .expect("cc runs");
    assert!(status.success(), "{} does not compile", c.display());
    let out = Command::new(&exe).output().expect("the program runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn exported_programs_compile_and_pass_where_they_were_exported() {
    if Command::new("cc").arg("--version").output().is_err() {
        eprintln!("skipped: no C compiler (cc)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vmalab-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let paths = [
        scenario("merge/file_contiguous_offsets.scenario"),
        scenario("fault/cow_past_eof_prepares_anon_vma.scenario"),
        scenario("uffd/owner_after_fork.scenario"),
    ];
    let s = vmalab::export::export_c(&paths, &dir, &host()).unwrap();
    assert_eq!(s.programs.len(), 3, "{:?}", s.skipped);
    for c in &s.programs {
        let (ok, tap) = compile_and_run(c);
        assert!(ok && !tap.contains("not ok"), "{}:\n{tap}", c.display());
        assert!(tap.lines().any(|l| l.starts_with("1..")), "{tap}");
    }

    // An expectation changed by hand fails the program.
    let c = &s.programs[0];
    let text = std::fs::read_to_string(c).unwrap();
    let at = text
        .find("layout_is(\"layout after")
        .expect("a layout check");
    let (head, tail) = text.split_at(at);
    let broken = format!("{head}{}", tail.replacen("flags=", "flags=xx ", 1));
    std::fs::write(c, broken).unwrap();
    let (ok, tap) = compile_and_run(c);
    assert!(!ok && tap.contains("not ok"), "{tap}");

    // A file the user wrote is not overwritten.
    std::fs::write(c, "int main(void) { return 0; }\n").unwrap();
    let e = vmalab::export::export_c(&paths[..1], &dir, &host()).unwrap_err();
    assert!(format!("{e:#}").contains("not overwritten"), "{e:#}");
    assert_eq!(
        std::fs::read_to_string(c).unwrap(),
        "int main(void) { return 0; }\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}
