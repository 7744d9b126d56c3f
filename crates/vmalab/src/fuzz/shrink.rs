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

/// The smallest subsequence of the steps for which `fails` still holds
/// (delta debugging over step lines). `fails` is called on full scenario text.
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
            if !candidate.is_empty() && fails(&join(&header, &candidate)) {
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

    #[test]
    fn shrinks_to_the_steps_that_matter() {
        let text = "name t\nwindow 8\na\nb\nbad1\nc\nd\nbad2\ne\n";
        let out = shrink(text, |t| t.contains("bad1") && t.contains("bad2"));
        assert_eq!(out, "name t\nwindow 8\nbad1\nbad2\n");
    }

    #[test]
    fn repeat_blocks_stay_whole() {
        let text = "window 8\na\nrepeat 2\n  bad\nend\nb\n";
        let (_, steps) = split(text);
        assert_eq!(steps, ["a", "repeat 2\n  bad\nend", "b"]);
        let out = shrink(text, |t| t.contains("bad"));
        assert_eq!(out, "window 8\nrepeat 2\n  bad\nend\n");
    }

    #[test]
    fn shrinks_in_rounds_to_the_same_steps() {
        let text = "name t\nwindow 8\na\nb\nbad1\nc\nd\nbad2\ne\n";
        let mut rounds = 0;
        let out = shrink_in_rounds(text, |cands| {
            rounds += 1;
            cands
                .iter()
                .map(|t| t.contains("bad1") && t.contains("bad2"))
                .collect()
        });
        assert_eq!(out, "name t\nwindow 8\nbad1\nbad2\n");
        assert!(rounds < 12, "{rounds} rounds");
    }
}
