// A `#[daemon]` entry with no `runner`.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[daemon(DaemonType::AutoSync, category = "sync")]
pub struct AutoSync;

fn main() {}
