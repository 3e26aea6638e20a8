//! Where an item was declared, for messages and for a stable order.

use std::fmt;

/// The source position of a registered item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// `module_path!()` at the item.
    pub module_path: &'static str,
    /// `file!()` at the item.
    pub file: &'static str,
    /// `line!()` at the item.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}
