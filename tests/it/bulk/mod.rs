//! The bulk commands (`bulk put|get|delete`, `export`, `import`), together: their runs end to
//! end (`runs`), the rules an unattended script relies on (`trust`), and the adaptive window at
//! the service's real speed (`window`).

mod runs;
mod trust;
mod window;
