//! The type under `#[derive(Event)]`.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;

use crate::ctxt::Ctxt;
use crate::symbol;

use super::helper_crate;

/// The type under `#[derive(Event)]`.
pub struct EventInput {
    pub ident: syn::Ident,
    /// The stable name: `#[event(name = "...")]` or the snake_case type name.
    pub name: String,
    /// `#[event(distributed)]`: in cluster mode its publishes reach every node.
    pub distributed: bool,
    /// `#[event(external)]`: published from outside the crate's items, so
    /// its handlers need no declared publisher.
    pub external: bool,
    pub krate: TokenStream,
}

impl EventInput {
    pub fn parse(cx: &Ctxt, input: &syn::DeriveInput) -> Self {
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "[coord::E0018] an event type cannot be generic: each event type needs one stable name",
            );
        }
        let helper = helper_crate(
            cx,
            &input.attrs,
            "event",
            symbol::EVENT_KEYS,
            &[symbol::DISTRIBUTED, symbol::EXTERNAL],
        );
        Self {
            ident: input.ident.clone(),
            name: helper.name.map_or_else(
                || crate::case::snake_case(&input.ident.unraw().to_string()),
                |lit| lit.value(),
            ),
            distributed: helper.flags.iter().any(|f| f == symbol::DISTRIBUTED),
            external: helper.flags.iter().any(|f| f == symbol::EXTERNAL),
            krate: helper.krate,
        }
    }
}
