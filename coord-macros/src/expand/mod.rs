//! Code generation, run only on input that passed validation.

pub mod coordinator;
pub mod daemon;
pub mod daemon_type;
pub mod event;

use quote::format_ident;
use syn::Ident;

/// The inherent const a `#[daemon]` entry defines on its enum.
///
/// `#[derive(DaemonType)]` reads it by name; where no entry defines it, the
/// derive's fallback trait supplies a "missing" placeholder, because inherent
/// items win over trait items in path resolution. Two entries for one variant
/// define it twice, and rustc points at both.
pub fn entry_const(variant: &Ident) -> Ident {
    format_ident!("__coord_daemon_entry_{}", variant, span = variant.span())
}
