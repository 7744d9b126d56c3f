// SPDX-License-Identifier: GPL-2.0-or-later
//! The step table run on the model: every entry runs with the argument
//! kinds it declares, and the arguments the parser accepts but no kernel
//! could take are refused rather than run.

use vmalab::host::HostConfig;
use vmalab::model::run_model;
use vmalab::outcome::Outcome;
use vmalab::scenario::parse;
use vmalab::scenario::steps::{Param, Spec, STEPS};

/// The first step's outcome on the model.
fn first_outcome(text: &str) -> Outcome {
    let sc = parse("t", text).unwrap();
    let trace = run_model(&sc, &HostConfig::detect()).trace;
    trace.steps[0].outcome.clone()
}

/// A minimal line for a step: each required parameter at a simple value,
/// optional ones left out.
fn sample(spec: &Spec) -> String {
    if spec.keyword == "repeat" {
        return "repeat 2 stride=1\nmunlockall\nend".into();
    }
    let mut line = spec.keyword.to_string();
    for p in spec.params {
        let word = match p {
            Param::Addr => "0".to_string(),
            Param::Len(_) | Param::Int(_) | Param::Limit(_) => "1".to_string(),
            Param::Flags(k) => k.table().first().map_or("0", |(n, _)| n).to_string(),
            Param::Choice { yes, .. } => yes.to_string(),
            Param::File => "f".to_string(),
            Param::Ranges => "0 1 2 1".to_string(),
            _ => continue,
        };
        line.push(' ');
        line.push_str(&word);
    }
    line
}

/// Every table entry parses, prints back as it was written, and runs on
/// the model with arguments of the kinds its parameters declare (a new
/// entry is covered without touching this test).
#[test]
fn every_step_runs_with_the_kinds_it_declares() {
    for spec in STEPS {
        let line = sample(spec);
        let text = format!("file f pages=2 rw sealable\n{line}");
        let sc = parse("t", &text).unwrap();
        let step = &sc.steps[0].kind;
        let again = format!("file f pages=2 rw sealable\n{step}");
        let again = parse("t", &again).unwrap();
        assert_eq!(&again.steps[0].kind, step, "{line}");
        let out = first_outcome(&text);
        assert!(!matches!(out, Outcome::Refused(_)), "{line}: {out:?}");
    }
}

/// Limits, capabilities and sysctls the parser takes as raw numbers,
/// combinations or negative amounts are refused when resolved (on both
/// sides; here the model's).
#[test]
fn unresolvable_limits_capabilities_and_sysctls_are_refused() {
    for text in [
        "setrlimit RLIMIT_AS -1 1\n",
        "setrlimit 7 1 1\n",
        "drop-cap 99\n",
        "sysctl 0x1 1\n",
        "setrlimit RLIMIT_AS|RLIMIT_DATA 1 1\n",
    ] {
        let out = first_outcome(text);
        assert!(matches!(out, Outcome::Refused(_)), "{text}: {out:?}");
    }
}
