//! Bulk work: many single-key requests driven concurrently, politely and resumably.

pub(crate) mod input;
pub(crate) mod merge;
pub(crate) mod run;
pub(crate) mod sorted;
pub(crate) mod sync;
pub(crate) mod window;
