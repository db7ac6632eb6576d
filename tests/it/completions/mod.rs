//! Shell completion, together: the generated scripts in real shells (`scripts`), what
//! `completions SHELL --install` checks and writes (`install`), namespace names and keys looked
//! up as you type (`dynamic`), and a new interactive bash typed into under tmux (`tmux`).

mod dynamic;
mod install;
mod scripts;
mod tmux;
