//! Bulk work: many single-key requests driven concurrently, politely and resumably.

pub mod input;
pub mod run;
