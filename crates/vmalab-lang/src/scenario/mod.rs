// SPDX-License-Identifier: GPL-2.0-or-later
//! The scenario language: plain-text sequences of memory-management system
//! calls with expectations, addressed in pages relative to a window so that
//! a scenario runs at any base. See `docs/scenario.md` for the reference.

mod ast;
mod display;
pub mod lexer;
pub mod names;
mod parser;
pub mod steps;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use parser::{parse, parse_version, ParseError};

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Reads and parses a scenario file.
pub fn parse_file(path: &Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(parse(&path.display().to_string(), &text)?)
}

/// The scenario files named by `paths`: files as given, directories searched
/// recursively for `*.scenario`, sorted.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "scenario") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
