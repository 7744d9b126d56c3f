//! Placeholder; the range tree lands with the maple issue.
#![no_std]
