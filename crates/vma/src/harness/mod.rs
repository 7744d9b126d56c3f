//! The ported kernel userland tests (filled in below).
