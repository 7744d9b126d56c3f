// SPDX-License-Identifier: GPL-2.0-or-later
//! Checks a scenario's `expect` lines against a trace from either side.

use std::fmt;

use crate::outcome::{Outcome, Value};
use crate::scenario::{Expect, ExpectValue, Scenario};
use crate::trace::Trace;

/// One expectation that did not hold (or a step that could not be judged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Line of the step in its scenario file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Checks every expectation; also reports refused steps and crashes (which
/// are failures whether or not an expectation follows them).
pub fn check(scenario: &Scenario, trace: &Trace) -> Vec<Failure> {
    let mut out = Vec::new();
    if trace.skipped.is_some() {
        return out;
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        let Some(res) = trace.steps.iter().find(|r| r.index == i) else {
            if !step.expect.is_empty() {
                out.push(Failure {
                    line: step.line,
                    message: "step did not run (an earlier step stopped the run)".into(),
                });
            }
            continue;
        };
        let fail = |m: String| Failure {
            line: step.line,
            message: m,
        };
        match &res.outcome {
            Outcome::Refused(why) => out.push(fail(format!("step refused: {why}"))),
            Outcome::ChildCrash(why) => out.push(fail(format!("process died: {why}"))),
            _ => {}
        }
        for e in &step.expect {
            let Some(e) = applicable(e, trace) else {
                continue;
            };
            if let Some(m) = check_one(e, &res.outcome, &res.layout, trace.page_size) {
                out.push(fail(m));
            }
        }
    }
    out
}

/// The expectation to check on the trace's kernel and machine: `expect
/// when` unwrapped where its condition holds, `None` where it does not (or
/// cannot be told).
fn applicable<'a>(expect: &'a Expect, trace: &Trace) -> Option<&'a Expect> {
    match expect {
        Expect::When { condition, then } => {
            (condition.holds(trace.kernel, &trace.features) == Some(true)).then_some(then)?;
            applicable(then, trace)
        }
        e => Some(e),
    }
}

/// Returns a message if `expect` does not hold.
fn check_one(
    expect: &Expect,
    outcome: &Outcome,
    layout: &crate::layout::Layout,
    page_size: u64,
) -> Option<String> {
    let bad = || {
        Some(format!(
            "expected `{}`, got `{outcome}`",
            expect_text(expect)
        ))
    };
    match (expect, outcome) {
        (Expect::Layout(l), _) => l
            .check(layout)
            .err()
            .map(|why| format!("layout differs: {why}\nactual layout:\n{layout}")),
        (Expect::Ok, Outcome::Ok(_)) => None,
        // The kernel's run checks this expectation; the model has no answer.
        (_, Outcome::Undetermined(_)) => None,
        (Expect::Skip, Outcome::Skipped(_)) => None,
        (Expect::Errno(e), Outcome::Err(g)) if e == g => None,
        (Expect::Signal { name, code }, Outcome::Signal { name: n, code: c })
            if name == n && (code.is_none() || code == c) =>
        {
            None
        }
        (Expect::Value(ExpectValue::Outside), Outcome::Ok(Value::Outside)) => None,
        (Expect::Value(ExpectValue::Amount(a)), Outcome::Ok(Value::Int(i)))
            if a.bytes == 0 && a.pages == i128::from(*i) =>
        {
            None
        }
        (Expect::Value(ExpectValue::Amount(a)), Outcome::Ok(Value::Addr(b)))
        | (Expect::Value(ExpectValue::Far(a)), Outcome::Ok(Value::Far(b)))
            if a.value(page_size) == b.value(page_size) =>
        {
            None
        }
        _ => bad(),
    }
}

/// The expectation's scenario text without the `expect ` prefix.
fn expect_text(e: &Expect) -> String {
    let s = e.to_string();
    s.trim_end()
        .strip_prefix("expect ")
        .unwrap_or(&s)
        .to_string()
}
