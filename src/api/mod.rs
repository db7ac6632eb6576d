//! The Telnyx KV REST API itself: the wire types and the API's rules for names, keys, values and
//! TTLs, shared by the client and the emulator.

pub(crate) mod digest;
pub(crate) mod host;
pub(crate) mod insight;
pub(crate) mod latency;
pub(crate) mod rules;
pub(crate) mod types;
