//! Bulk work: many single-key requests driven concurrently, politely and resumably.

pub(crate) mod budget;
pub(crate) mod failed_file;
pub(crate) mod input;
pub(crate) mod key_source;
pub(crate) mod keys;
pub(crate) mod line;
pub(crate) mod listing;
pub(crate) mod merge;
pub(crate) mod put;
pub(crate) mod run;
pub(crate) mod sorted;
pub(crate) mod sync;
pub(crate) mod tally;
pub(crate) mod window;
