//! The bulk commands (`bulk put|get|delete`, `export`, `import`), together: their runs end to
//! end (`runs`), the rules an unattended script relies on (`trust`), what input items become
//! (`input_types`: content types and field spellings), the progress line on a terminal
//! (`progress`), and the adaptive window at the service's real speed (`window`).

mod input_types;
mod progress;
mod runs;
mod trust;
mod window;
