// SPDX-License-Identifier: GPL-2.0-or-later
//! Lexical layer: lines into words with columns, and the small word-level
//! grammars (numbers, amounts, addresses, flag sets).
//!
//! Errors are `(byte column, message)`; the parser adds file and line.

use super::ast::{AddrArg, Amount, Flags};
use super::names::{self, FlagKind};

/// A word of a line and its 0-based byte column.
#[derive(Clone, Copy, Debug)]
pub struct Word<'a> {
    pub col: usize,
    pub text: &'a str,
}

/// An error inside a line: 0-based byte column and message.
pub type LexError = (usize, String);

/// Removes a `#` comment and a trailing carriage return.
pub fn strip_comment(line: &str) -> &str {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Splits a (comment-free) line into words.
pub fn words(line: &str) -> Vec<Word<'_>> {
    crate::layout::split_words(line)
        .into_iter()
        .map(|(col, text)| Word { col, text })
        .collect()
}

/// Parses an unsigned number: decimal or `0x` hex, `_` separators allowed.
pub fn number(text: &str, col: usize) -> Result<u64, LexError> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (text, 10),
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || digits.starts_with('_') {
        return Err((col, format!("expected a number, found `{text}`")));
    }
    u64::from_str_radix(&clean, radix).map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow => "does not fit in 64 bits",
            _ => "is not a number",
        };
        (col, format!("`{text}` {why}"))
    })
}

/// Parses a signed integer (`-1`, `0x10`).
pub fn integer(text: &str, col: usize) -> Result<i64, LexError> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let v = number(body, col + usize::from(neg))?;
    let v = i128::from(v);
    let v = if neg { -v } else { v };
    i64::try_from(v).map_err(|_| {
        (
            col,
            format!("`{text}` does not fit in a signed 64-bit integer"),
        )
    })
}

/// Parses an amount: terms joined by `+`/`-`, each a number of pages, or of
/// bytes with a trailing lowercase `b` (`4`, `1+100b`, `0x1000b`, `-1b`).
/// In hex, a final lowercase `b` is always the byte suffix: write the digit
/// B in uppercase (`0xFB` pages, `0xfb` is 0xf bytes).
pub fn amount(text: &str, col: usize) -> Result<Amount, LexError> {
    if text.is_empty() {
        return Err((
            col,
            "expected an amount (pages, or bytes with a `b` suffix)".into(),
        ));
    }
    let mut total = Amount::default();
    let bytes = text.as_bytes();
    let mut neg = bytes[0] == b'-';
    let mut i = usize::from(neg);
    loop {
        let start = i;
        while i < bytes.len() && bytes[i] != b'+' && bytes[i] != b'-' {
            i += 1;
        }
        let term = &text[start..i];
        let tcol = col + start;
        if term.is_empty() {
            return Err((tcol, format!("missing number in amount `{text}`")));
        }
        let (digits, is_bytes) = if let Some(d) = term.strip_suffix('b') {
            (d, true)
        } else if let Some(d) = term.strip_suffix('p') {
            (d, false)
        } else {
            (term, false)
        };
        let v = i128::from(number(digits, tcol)?);
        let v = if neg { -v } else { v };
        let slot = if is_bytes {
            &mut total.bytes
        } else {
            &mut total.pages
        };
        *slot = slot
            .checked_add(v)
            .filter(|s| s.unsigned_abs() < 1 << 100)
            .ok_or((tcol, "amount too large".to_string()))?;
        if i == bytes.len() {
            break;
        }
        neg = bytes[i] == b'-';
        i += 1;
    }
    Ok(total)
}

/// Parses an address: an amount relative to the window, `abs:NUMBER`,
/// `far-AMOUNT` (relative to the far region's top) or `@NAME[+-AMOUNT]`
/// (relative to a bound result).
pub fn address(text: &str, col: usize) -> Result<AddrArg, LexError> {
    if let Some(n) = text.strip_prefix("abs:") {
        return Ok(AddrArg::Absolute(number(n, col + 4)?));
    }
    if let Some(rest) = text.strip_prefix("far") {
        return Ok(AddrArg::Far(offset(rest, col + 3)?));
    }
    if let Some(rest) = text.strip_prefix('@') {
        let len = name_len(rest);
        if len == 0 {
            return Err((col + 1, "expected a name after `@`".into()));
        }
        let off = offset(&rest[len..], col + 1 + len)?;
        return Ok(AddrArg::Named(rest[..len].to_string(), off));
    }
    Ok(AddrArg::Window(amount(text, col)?))
}

/// The length of the result name (letters, digits, `_`) that starts `text`.
pub fn name_len(text: &str) -> usize {
    text.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
}

/// An offset after `far` or a name: nothing (0), or an amount starting
/// with `+` or `-`.
fn offset(text: &str, col: usize) -> Result<Amount, LexError> {
    match text.as_bytes().first() {
        None => Ok(Amount::default()),
        Some(b'+') => amount(&text[1..], col + 1),
        Some(b'-') => amount(text, col),
        Some(_) => Err((col, format!("expected `+` or `-` before `{text}`"))),
    }
}

/// Parses a far address as an expectation value or layout column:
/// `far`, `far-4`, `far-4+100b`.
pub fn far(text: &str, col: usize) -> Option<Result<Amount, LexError>> {
    text.strip_prefix("far").map(|rest| offset(rest, col + 3))
}

/// Parses `NAME|NAME|0x10` against the table for `kind`.
pub fn flags(text: &str, col: usize, kind: FlagKind) -> Result<Flags, LexError> {
    let mut value = 0u64;
    let mut off = 0;
    for part in text.split('|') {
        let pcol = col + off;
        off += part.len() + 1;
        if part.is_empty() {
            return Err((pcol, format!("empty name in {} `{text}`", kind.describe())));
        }
        let v = if part.as_bytes()[0].is_ascii_digit() {
            number(part, pcol)?
        } else if let Some(v) = names::lookup(kind, part) {
            v
        } else {
            return Err((pcol, format!("`{part}` is not a {} name", kind.describe())));
        };
        value |= v;
    }
    Ok(Flags {
        value,
        text: text.to_string(),
    })
}

/// Formats an amount in its canonical spelling (the parser reads it back).
pub fn format_amount(a: &Amount) -> String {
    fn num(v: u128) -> String {
        if v > 0xffff {
            format!("{v:#X}")
        } else {
            v.to_string()
        }
    }
    let mut s = String::new();
    if a.pages != 0 || a.bytes == 0 {
        if a.pages < 0 {
            s.push('-');
        }
        s.push_str(&num(a.pages.unsigned_abs()));
    }
    if a.bytes != 0 {
        if a.bytes < 0 {
            s.push('-');
        } else if !s.is_empty() {
            s.push('+');
        }
        s.push_str(&num(a.bytes.unsigned_abs()));
        s.push('b');
    }
    s
}

/// Formats an offset after `far` or a name (empty for 0).
fn format_offset(a: &Amount) -> String {
    match format_amount(a) {
        z if z == "0" => String::new(),
        neg if neg.starts_with('-') => neg,
        pos => format!("+{pos}"),
    }
}

/// Formats a far-region address (`far-4`, `far-4+100b`, `far`).
pub fn format_far(a: &Amount) -> String {
    format!("far{}", format_offset(a))
}

/// Formats an address argument canonically.
pub fn format_addr(a: &AddrArg) -> String {
    match a {
        AddrArg::Window(x) => format_amount(x),
        AddrArg::Absolute(v) => format!("abs:{v:#x}"),
        AddrArg::Far(x) => format_far(x),
        AddrArg::Named(n, x) => format!("@{n}{}", format_offset(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(amount("4", 0).unwrap(), Amount::pages(4));
        assert_eq!(
            amount("1+100b", 0).unwrap(),
            Amount {
                pages: 1,
                bytes: 100
            }
        );
        assert_eq!(amount("0x10b", 0).unwrap().bytes, 0x10);
        assert_eq!(amount("0x1B", 0).unwrap().pages, 0x1b);
        assert_eq!(amount("-1b", 0).unwrap().bytes, -1);
        assert_eq!(amount("2-1", 0).unwrap().pages, 1);
        assert_eq!(
            amount("0xFFFF_FFFF_FFFF_FFFFb", 0).unwrap().bytes,
            u64::MAX as i128
        );
        assert_eq!(amount("1++2", 5).unwrap_err().0, 7);
        assert_eq!(amount("1+", 0).unwrap_err().0, 2);
        assert!(amount("0x1_0000_0000_0000_0000", 0).is_err());
        assert!(amount("x", 0).is_err());
        for s in [
            "0",
            "4",
            "1+100b",
            "-1",
            "-1+5b",
            "7b",
            "-7b",
            "0xFFFFFFFFFFFFFFFFb",
        ] {
            let a = amount(s, 0).unwrap();
            assert_eq!(amount(&format_amount(&a), 0).unwrap(), a, "{s}");
        }
    }

    #[test]
    fn flag_sets() {
        let f = flags("PROT_READ|PROT_WRITE", 0, FlagKind::Prot).unwrap();
        assert_eq!(f.value, 3);
        assert_eq!(
            flags("0x10|MAP_PRIVATE", 0, FlagKind::Map).unwrap().value,
            0x12
        );
        let e = flags("PROT_READ|MAP_FIXED", 3, FlagKind::Prot).unwrap_err();
        assert_eq!(e.0, 13);
        assert!(e.1.contains("MAP_FIXED"));
        assert_eq!(flags("PROT_READ||", 0, FlagKind::Prot).unwrap_err().0, 10);
    }
}
