//! What the integration tests share: running the real binary (`cli`), an in-process emulator
//! and HTTP helpers (`api`), a fault server (`fault`), a seeded fault proxy in front of the
//! emulator (`chaos`), a TLS front and a forward proxy on loopback (`net`), the filters that
//! make output the same from run to run (`output`), and a function project with a service and
//! local state (`project`).

pub mod api;
pub mod chaos;
pub mod cli;
pub mod fault;
pub mod net;
pub mod output;
pub mod project;
