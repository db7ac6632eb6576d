//! The Telnyx KV REST API: wire types shared by the client and the emulator.

pub mod types;
