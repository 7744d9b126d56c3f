// SPDX-License-Identifier: GPL-2.0-or-later
//! Word-level text of layout lines: octal escapes, NUMA policy tokens,
//! splitting with columns.

/// `text` as one word of a layout line: whitespace and backslashes become
/// three-digit octal escapes (`\040`, `\011`, `\134`). Paths in
/// /proc/PID/maps may hold any byte but a newline, and anonymous VMA names
/// may hold spaces.
pub fn escape_word(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(|c: char| c.is_whitespace() || c == '\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if (c.is_whitespace() || c == '\\') && (c as u32) < 0o400 {
            out.push_str(&format!("\\{:03o}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The inverse of [`escape_word`]; `None` for a malformed escape (a
/// backslash not followed by three octal digits).
pub fn unescape_word(word: &str) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let digits = rest.get(i + 1..i + 4)?;
        if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        out.push(char::from_u32(u32::from_str_radix(digits, 8).ok()?)?);
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    Some(out)
}

/// The NUMA policy at the start of `text` as numa_maps prints it (`bind:0`,
/// `bind=static:0`, `prefer (many):0`, `weighted interleave:0`): the first
/// word, or two where the mode's name has a space in it.
pub fn policy_token(text: &str) -> &str {
    let word_end = |from: usize| {
        text[from..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| from + i)
    };
    for mode in vma::PolicyMode::ALL {
        let name = mode.name();
        if name.contains(' ') && text.starts_with(name) {
            return &text[..word_end(name.len())];
        }
    }
    &text[..word_end(0)]
}

/// Splits on ASCII whitespace, keeping each word's byte column.
pub(crate) fn split_words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}
