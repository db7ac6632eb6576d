//! `pull`, `push`, `diff` and `copy`, together: `copy` between any two namespaces (`copy`), their runs end to end (`runs`), the three-way merge that
//! never loses a write, two people and one namespace (`merge`), and the model-based check of
//! random interleavings against what the state must be (`model`).

mod copy;
mod merge;
mod model;
mod runs;
