// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab harness`: runs the VMA core's own test suite (the kernel's
//! userland VMA tests as ported into the `vma` crate, picture tests and
//! fault injection) and reports like the kernel's `./vma` binary does.

use std::io::Write;

/// Runs every harness test; prints failures and the summary line
/// `N tests run, N passed, N failed`. Returns whether all passed.
pub fn run(out: &mut impl Write, verbose: bool) -> std::io::Result<bool> {
    let outcomes = vma::harness::run_all();
    let mut failed = 0;
    for o in &outcomes {
        match &o.result {
            Ok(()) if verbose => writeln!(out, "ok   {}", o.name)?,
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                writeln!(out, "FAIL {}: {e}", o.name)?;
            }
        }
    }
    let run = outcomes.len();
    writeln!(
        out,
        "{run} tests run, {} passed, {failed} failed",
        run - failed
    )?;
    Ok(failed == 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn harness_reports_every_test_passing() {
        let mut out = Vec::new();
        assert!(super::run(&mut out, true).unwrap());
        let text = String::from_utf8(out).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.ends_with(" passed, 0 failed"), "{last}");
        assert!(text.contains("ok   merge_existing"));
    }
}
