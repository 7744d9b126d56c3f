// SPDX-License-Identifier: GPL-2.0-or-later
//! The only place that touches memory C hands in: output structures and
//! buffers, and input arrays. Each function checks for null first; beyond that the caller
//! promises what its C prototype says (a valid, writable object of the
//! stated size), which Rust cannot check.
#![allow(unsafe_code)]

use std::os::raw::c_char;

/// Stores `value` through `out`; false if `out` is null.
pub(crate) fn store<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: `out` is not null and, by the function's C contract, points
    // to a writable, aligned `T` that nothing else accesses during the call.
    unsafe { out.write(value) };
    true
}

/// Copies `text` into `buf` of `len` bytes as a NUL-terminated string,
/// cut short if it does not fit (like `snprintf`). A null `buf` with
/// `len` 0 only asks for the length.
pub(crate) fn copy_str(text: &str, buf: *mut c_char, len: usize) -> bool {
    if len == 0 {
        return true;
    }
    if buf.is_null() {
        return false;
    }
    let n = text.len().min(len - 1);
    // SAFETY: `buf` is not null and, by the function's C contract, points
    // to `len` writable bytes; `n < len`, so both the copy and the NUL
    // stay inside them, and the source is a distinct Rust string.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        buf.add(n).write(0);
    }
    true
}

/// Stores `bytes` into `buf` (which holds at least `bytes.len()` bytes);
/// false if `buf` is null and there is something to store.
pub(crate) fn store_bytes(bytes: &[u8], buf: *mut u8) -> bool {
    if bytes.is_empty() {
        return true;
    }
    if buf.is_null() {
        return false;
    }
    // SAFETY: `buf` is not null and, by the function's C contract, points
    // to at least `bytes.len()` writable bytes that do not overlap the
    // Rust slice.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
    true
}

/// The `n` elements C passes at `array`, copied out; `None` if `array` is
/// null while `n` is not 0.
pub(crate) fn load_array<T: Copy>(array: *const T, n: usize) -> Option<Vec<T>> {
    if n == 0 {
        return Some(Vec::new());
    }
    if array.is_null() {
        return None;
    }
    // SAFETY: `array` is not null and, by the function's C contract, points
    // to `n` readable, aligned, initialised elements for the whole call.
    Some(unsafe { std::slice::from_raw_parts(array, n) }.to_vec())
}
