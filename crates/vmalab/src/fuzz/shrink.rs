// SPDX-License-Identifier: GPL-2.0-or-later
//! Shrinking a failing scenario: drop steps (halves, then quarters, ...
//! then single steps) while the scenario still fails, so the report shows
//! a minimal case.

/// Splits scenario text into its header lines and its step lines (a
/// `repeat` block, up to its `end`, is one step: dropping part of it would
/// only make the text unparseable).
pub fn split(text: &str) -> (Vec<String>, Vec<String>) {
    let mut header = Vec::new();
    let mut steps: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let word = line.split_whitespace().next().unwrap_or("");
        if in_block {
            if let Some(block) = steps.last_mut() {
                block.push('\n');
                block.push_str(line);
            }
            in_block = word != "end";
            continue;
        }
        in_block = word == "repeat";
        let is_header = line.starts_with('#')
            || matches!(
                word,
                "name" | "window" | "file" | "min-kernel" | "requires" | ""
            );
        if is_header && steps.is_empty() {
            header.push(line.to_string());
        } else {
            steps.push(line.to_string());
        }
    }
    (header, steps)
}

/// Joins header and steps back into scenario text.
pub fn join(header: &[String], steps: &[String]) -> String {
    let mut s = header.join("\n");
    s.push('\n');
    for l in steps {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Whether a candidate is a scenario at all: removing the step that binds
/// a name (`@f0 = mmap ...`) leaves its uses unbound, which only the
/// parser sees; such a candidate never stands for the failure.
fn parses(text: &str) -> bool {
    crate::scenario::parse("fuzz", text).is_ok()
}

/// The smallest subsequence of the steps for which `fails` still holds
/// (delta debugging over step lines). `fails` is called on full scenario
/// text, and only on candidates that parse.
pub fn shrink(text: &str, mut fails: impl FnMut(&str) -> bool) -> String {
    let (header, mut steps) = split(text);
    let mut chunk = steps.len().div_ceil(2).max(1);
    loop {
        let mut removed = false;
        let mut i = 0;
        while i < steps.len() {
            let mut candidate = steps.clone();
            let end = (i + chunk).min(candidate.len());
            candidate.drain(i..end);
            let text = join(&header, &candidate);
            if !candidate.is_empty() && parses(&text) && fails(&text) {
                steps = candidate;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed {
            break;
        }
        if !removed {
            chunk = (chunk / 2).max(1);
        }
    }
    join(&header, &steps)
}

/// `shrink` for a predicate that is costly to start but cheap per
/// scenario (a booted kernel): each round asks `fails` about every
/// candidate of one chunk size at once and keeps the first that still
/// fails; the result is as minimal as `shrink`'s.
pub fn shrink_in_rounds(text: &str, mut fails: impl FnMut(&[String]) -> Vec<bool>) -> String {
    let (header, mut steps) = split(text);
    let mut chunk = steps.len().div_ceil(2).max(1);
    loop {
        let starts: Vec<usize> = (0..steps.len())
            .step_by(chunk)
            .filter(|&i| !(i == 0 && chunk >= steps.len())) // never empty
            .collect();
        let candidates: Vec<Vec<String>> = starts
            .iter()
            .map(|&i| {
                let mut c = steps.clone();
                c.drain(i..(i + chunk).min(steps.len()));
                c
            })
            .filter(|c| parses(&join(&header, c)))
            .collect();
        let texts: Vec<String> = candidates.iter().map(|c| join(&header, c)).collect();
        let verdicts = if texts.is_empty() {
            Vec::new()
        } else {
            fails(&texts)
        };
        match candidates.into_iter().zip(verdicts).find(|(_, f)| *f) {
            Some((c, _)) => steps = c,
            None if chunk == 1 => break,
            None => chunk = (chunk / 2).max(1),
        }
    }
    join(&header, &steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seven steps; the failure needs the two mprotects.
    const TEXT: &str = "name t\nwindow 8\nmunmap 0 1\nmunmap 1 1\nmprotect 2 1 PROT_READ\n\
                        munmap 3 1\nmunmap 4 1\nmprotect 5 1 PROT_NONE\nmunmap 6 1\n";
    const SHRUNK: &str = "name t\nwindow 8\nmprotect 2 1 PROT_READ\nmprotect 5 1 PROT_NONE\n";

    fn bad(t: &str) -> bool {
        t.contains("PROT_READ") && t.contains("PROT_NONE")
    }

    #[test]
    fn shrinks_to_the_steps_that_matter() {
        assert_eq!(shrink(TEXT, bad), SHRUNK);
    }

    #[test]
    fn repeat_blocks_stay_whole() {
        let text = "window 8\nmunmap 0 1\nrepeat 2\n  mprotect 0 1 PROT_NONE\nend\nmunmap 1 1\n";
        let (_, steps) = split(text);
        assert_eq!(
            steps,
            [
                "munmap 0 1",
                "repeat 2\n  mprotect 0 1 PROT_NONE\nend",
                "munmap 1 1"
            ]
        );
        let out = shrink(text, |t| t.contains("PROT_NONE"));
        assert_eq!(out, "window 8\nrepeat 2\n  mprotect 0 1 PROT_NONE\nend\n");
    }

    /// A step that binds a name stays while a step uses the name, even
    /// where the failure does not need it.
    #[test]
    fn bindings_stay_with_their_uses() {
        let text = "window 8\n@a = mmap abs:0 2 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS\n\
                    munmap 0 1\nmprotect @a 1 PROT_NONE\n";
        let out = shrink(text, |t| t.contains("PROT_NONE"));
        assert!(
            out.contains("@a = mmap") && !out.contains("munmap"),
            "{out}"
        );
        let out = shrink_in_rounds(text, |c| {
            c.iter().map(|t| t.contains("PROT_NONE")).collect()
        });
        assert!(
            out.contains("@a = mmap") && !out.contains("munmap"),
            "{out}"
        );
    }

    #[test]
    fn shrinks_in_rounds_to_the_same_steps() {
        let mut rounds = 0;
        let out = shrink_in_rounds(TEXT, |cands| {
            rounds += 1;
            cands.iter().map(|t| bad(t)).collect()
        });
        assert_eq!(out, SHRUNK);
        assert!(rounds < 12, "{rounds} rounds");
    }
}
