// SPDX-License-Identifier: GPL-2.0-or-later
//! Step-by-step comparison of two traces of the same scenario (the kernel's
//! and the model's): outcomes and layouts. Independent of who produced
//! either side.

use std::fmt;

use crate::layout::Layout;
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// One point where the two traces disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Index of the step in the scenario.
    pub index: usize,
    /// Line of the step in its file.
    pub line: usize,
    pub what: DiffKind,
}

/// What differs at a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffKind {
    /// Only one side ran the step (the other stopped or skipped the run).
    Missing {
        left: bool,
        right: bool,
    },
    Outcome {
        left: Outcome,
        right: Outcome,
    },
    Layout {
        left: Layout,
        right: Layout,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.what {
            DiffKind::Missing { left, right } => write!(
                f,
                "step ran on {} only",
                if *left && !right {
                    "the left side"
                } else {
                    "the right side"
                }
            ),
            DiffKind::Outcome { left, right } => write!(f, "outcome `{left}` vs `{right}`"),
            DiffKind::Layout { left, right } => {
                writeln!(f, "layouts differ")?;
                writeln!(f, "  left:")?;
                for l in left.to_string().lines() {
                    writeln!(f, "    {l}")?;
                }
                writeln!(f, "  right:")?;
                for l in right.to_string().lines() {
                    writeln!(f, "    {l}")?;
                }
                Ok(())
            }
        }
    }
}

/// Compares two traces step by step. A whole-scenario skip on either side
/// yields no differences (nothing to compare). Skipped steps compare equal
/// to each other whatever the reason text says.
pub fn diff(scenario: &Scenario, left: &Trace, right: &Trace) -> Vec<Difference> {
    let mut out = Vec::new();
    if left.skipped.is_some() || right.skipped.is_some() {
        return out;
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        let l = left.steps.iter().find(|r| r.index == index);
        let r = right.steps.iter().find(|r| r.index == index);
        let what = match (l, r) {
            (None, None) => continue,
            (Some(_), None) | (None, Some(_)) => DiffKind::Missing {
                left: l.is_some(),
                right: r.is_some(),
            },
            (Some(l), Some(r)) => {
                let same = match (&l.outcome, &r.outcome) {
                    (Outcome::Skipped(_), Outcome::Skipped(_)) => true,
                    (Outcome::Undetermined(_), _) | (_, Outcome::Undetermined(_)) => true,
                    (a, b) => a == b,
                };
                if !same {
                    DiffKind::Outcome {
                        left: l.outcome.clone(),
                        right: r.outcome.clone(),
                    }
                } else if l.layout != r.layout {
                    DiffKind::Layout {
                        left: l.layout.clone(),
                        right: r.layout.clone(),
                    }
                } else {
                    continue;
                }
            }
        };
        out.push(Difference {
            index,
            line: step.line,
            what,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Value;
    use crate::trace::StepResult;

    #[test]
    fn finds_first_kinds_of_difference() {
        let sc = crate::scenario::parse("d", "fork\nfork\nfork\nfork\n").unwrap();
        let step = |index, outcome| StepResult {
            index,
            outcome,
            layout: Layout::default(),
        };
        let ok = || Outcome::Ok(Value::Int(0));
        let a = Trace {
            page_size: 4096,
            steps: vec![
                step(0, ok()),
                step(1, ok()),
                step(2, Outcome::Skipped("x".into())),
            ],
            skipped: None,
            ..Trace::default()
        };
        let mut b = a.clone();
        b.steps[1].outcome = Outcome::Err("ENOMEM".into());
        b.steps[2].outcome = Outcome::Skipped("y".into());
        b.steps.push(step(3, ok()));
        let d = diff(&sc, &a, &b);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 2);
        assert!(matches!(d[0].what, DiffKind::Outcome { .. }));
        assert!(matches!(
            d[1].what,
            DiffKind::Missing {
                left: false,
                right: true
            }
        ));
    }
}
