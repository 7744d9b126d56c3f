// SPDX-License-Identifier: GPL-2.0-or-later
//! Parsing layout lines (`expect layout` bodies and the oracle protocol).

use std::collections::BTreeSet;

use super::*;

/// Parses one layout line; errors carry the 0-based byte column in `text`.
///
/// Used for `expect layout` bodies and for the oracle's line protocol.
pub fn parse_entry(text: &str) -> Result<ExpectedEntry, (usize, String)> {
    let words = split_words(text);
    let mut it = words.iter();
    let Some(&(col, range)) = it.next() else {
        return Err((0, "empty layout line".into()));
    };
    let (far, start_page, end_page) = parse_span(range).ok_or((
        col,
        format!("expected START-END in window pages or far-START-far-END, found `{range}`"),
    ))?;
    // Far pages count down from the region's top.
    if (!far && end_page <= start_page) || (far && start_page <= end_page) {
        return Err((col, format!("empty or reversed range `{range}`")));
    }
    let end_col = text.len();
    let &(col, p) = it
        .next()
        .ok_or((end_col, "missing permissions (e.g. rw-p)".to_string()))?;
    let perms = Perms::parse(p).ok_or((col, format!("bad permissions `{p}` (e.g. rw-p, r--s)")))?;
    let &(col, o) = it
        .next()
        .ok_or((end_col, "missing offset in pages (or *)".to_string()))?;
    let offset = if o == "*" {
        None
    } else {
        Some(
            o.parse::<i64>()
                .map_err(|_| (col, format!("bad offset `{o}` (pages, or *)")))?,
        )
    };
    let &(col, fname) = it.next().ok_or((
        end_col,
        "missing file (anon, a file name, shmN, or *)".to_string(),
    ))?;
    let file = if fname == "*" {
        None
    } else if fname.starts_with('[') && fname.len() <= 3 {
        return Err((col, "missing file before the flags".into()));
    } else {
        Some(FileId::parse(fname).ok_or((col, format!("bad file `{fname}`")))?)
    };
    let mut entry = ExpectedEntry {
        far,
        start_page,
        end_page,
        perms,
        offset,
        file,
        name: None,
        policy: None,
        pkey: 0,
        flags: FlagsExpect::Any,
    };
    let mut it = it.peekable();
    while let Some(&(col, w)) = it.next() {
        if let Some(v) = w.strip_prefix("name=") {
            let name = unescape_word(v).ok_or((col + 5, format!("bad escape in `{v}`")))?;
            entry.name = Some(name);
        } else if w.starts_with("mpol=") {
            let policy = policy_token(&text[col + 5..]);
            let end = col + 5 + policy.len();
            while it.next_if(|&&(c, _)| c < end).is_some() {}
            entry.policy = Some(policy.to_string());
        } else if let Some(v) = w.strip_prefix("pkey=") {
            entry.pkey = v
                .parse()
                .map_err(|_| (col + 5, format!("bad pkey `{v}`")))?;
        } else if w.starts_with('[') {
            let inner = &text[col + 1..];
            let close = inner
                .find(']')
                .ok_or((col, "unclosed `[` in flags".to_string()))?;
            let body = &inner[..close];
            let rest = &inner[close + 1..];
            if !rest.trim().is_empty() {
                return Err((col + 2 + close, "nothing may follow the flags group".into()));
            }
            entry.flags = parse_flag_group(body, col + 1)?;
            break;
        } else {
            return Err((
                col,
                format!("unexpected `{w}` (name=, mpol=, pkey= or [flags])"),
            ));
        }
    }
    Ok(entry)
}

/// Parses the inside of `[...]`: all plain mnemonics, or all `+m`/`-m`.
fn parse_flag_group(body: &str, base_col: usize) -> Result<FlagsExpect, (usize, String)> {
    let mut exact = BTreeSet::new();
    let mut present = BTreeSet::new();
    let mut absent = BTreeSet::new();
    for (col, w) in split_words(body) {
        let (set, m) = if let Some(m) = w.strip_prefix('+') {
            (&mut present, m)
        } else if let Some(m) = w.strip_prefix('-') {
            (&mut absent, m)
        } else {
            (&mut exact, w)
        };
        // Kernels print `??` for a flag they have no name for (6.1 for
        // VM_LOCKONFAULT).
        let named = m.len() == 2 && m.bytes().all(|b| b.is_ascii_lowercase());
        if !named && m != "??" {
            return Err((
                base_col + col,
                format!(
                    "bad VmFlags mnemonic `{w}` (two lowercase letters, e.g. rd, ac, gu, or ??)"
                ),
            ));
        }
        set.insert(m.to_string());
    }
    let partial = !present.is_empty() || !absent.is_empty();
    if partial && !exact.is_empty() {
        return Err((
            base_col,
            "mix of exact and +/- flags; use either [rd wr] or [+lo -ac]".into(),
        ));
    }
    Ok(if partial {
        FlagsExpect::Partial {
            present: VmFlags(present),
            absent: VmFlags(absent),
        }
    } else {
        FlagsExpect::Exact(VmFlags(exact))
    })
}

/// Converts an exact expectation (as the oracle protocol writes it) back to
/// an entry; fails if any field is a wildcard.
pub fn entry_from_exact(e: ExpectedEntry) -> Option<MapEntry> {
    let FlagsExpect::Exact(vm_flags) = e.flags else {
        return None;
    };
    Some(MapEntry {
        far: e.far,
        start_page: e.start_page,
        end_page: e.end_page,
        perms: e.perms,
        offset: e.offset?,
        file: e.file?,
        name: e.name,
        policy: e.policy,
        pkey: e.pkey,
        vm_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names_with_spaces_round_trip() {
        let line = "0-2 rw-s 0 /anon_hugepage\\040(deleted) name=a\\040b\\134c [rd sh]";
        let e = parse_entry(line).unwrap();
        assert_eq!(
            e.file,
            Some(FileId::Path("/anon_hugepage (deleted)".into()))
        );
        assert_eq!(e.name.as_deref(), Some("a b\\c"));
        assert_eq!(e.to_string(), line);
        assert!(parse_entry("0-2 rw-s 0 /x\\04 [rd]").is_err());
        assert_eq!(unescape_word("a\\9zz"), None);
    }

    #[test]
    fn two_word_policies_are_one_value() {
        let e = parse_entry("0-2 rw-p 0 anon mpol=prefer (many):0 pkey=1 [rd]").unwrap();
        assert_eq!(e.policy.as_deref(), Some("prefer (many):0"));
        assert_eq!(e.pkey, 1);
        let e = parse_entry("0-2 rw-p 0 anon mpol=weighted interleave=static:0 [rd]").unwrap();
        assert_eq!(e.policy.as_deref(), Some("weighted interleave=static:0"));
        assert_eq!(
            e.to_string(),
            "0-2 rw-p 0 anon mpol=weighted interleave=static:0 [rd]"
        );
        assert_eq!(policy_token("prefer:1 anon=2"), "prefer:1");
        assert_eq!(policy_token("prefer (many):0 anon=1"), "prefer (many):0");
    }

    #[test]
    fn mnemonics_print_in_bit_order() {
        let f = VmFlags::from_words("zz ac sd um rd gu");
        assert_eq!(f.ordered(), ["rd", "um", "gu", "ac", "sd", "zz"]);
    }

    #[test]
    fn round_trip() {
        let e = MapEntry {
            far: false,
            start_page: 0,
            end_page: 4,
            perms: Perms::parse("rw-p").unwrap(),
            offset: -3,
            file: FileId::Anon,
            name: Some("heap".into()),
            policy: Some("bind:0".into()),
            pkey: 1,
            vm_flags: VmFlags::from_words("ac wr rd"),
        };
        let text = e.to_string();
        assert_eq!(
            text,
            "0-4 rw-p -3 anon name=heap mpol=bind:0 pkey=1 [rd wr ac]"
        );
        let back = entry_from_exact(parse_entry(&text).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    /// Far pages count down from the region's top; an end at the top is
    /// written `far`.
    #[test]
    fn far_spans_round_trip() {
        for (text, span) in [("far-8-far-4", (8, 4)), ("far-2-far", (2, 0))] {
            let line = format!("{text} r--p 0 anon [rd]");
            let e = parse_entry(&line).unwrap();
            assert_eq!((e.far, e.start_page, e.end_page), (true, span.0, span.1));
            assert_eq!(e.to_string(), line);
        }
        for bad in ["far-4-far-8", "far-4-far-4", "far-4-3", "far4-far"] {
            assert!(parse_entry(&format!("{bad} r--p 0 anon")).is_err(), "{bad}");
        }
    }

    #[test]
    fn partial_flags_and_wildcards() {
        let x = parse_entry("2-3 r--s * * [+lo -ac]").unwrap();
        assert_eq!(x.offset, None);
        assert_eq!(x.file, None);
        assert!(matches!(x.flags, FlagsExpect::Partial { .. }));
        assert_eq!(x.to_string(), "2-3 r--s * * [+lo -ac]");
    }

    #[test]
    fn errors_have_columns() {
        assert_eq!(parse_entry("0-4 rw-q 0 anon").unwrap_err().0, 4);
        assert_eq!(parse_entry("0-4 rw-p x anon").unwrap_err().0, 9);
        assert_eq!(parse_entry("0-4 rw-p 0 anon [rd wr").unwrap_err().0, 16);
        assert_eq!(parse_entry("0-4 rw-p 0 anon [rd +ac]").unwrap_err().0, 17);
        assert!(parse_entry("4-4 rw-p 0 anon").is_err());
        assert!(parse_entry("0-4 rw-p 0 anon [rdx]").is_err());
        assert!(parse_entry("0-4 rw-p 0 anon [rd] x").is_err());
    }
}
