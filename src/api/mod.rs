//! The Telnyx KV REST API: wire types shared by the client and the emulator, the client, and its
//! errors.

pub mod client;
pub mod error;
mod net;
pub mod types;

pub use client::{Client, ClientOptions};
pub use error::ApiError;
pub use net::redact_url;
