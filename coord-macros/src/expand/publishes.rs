//! `publishes = [...]` on `#[coordinator]` and `#[daemon]`: what makes
//! `ctx.publish(event)` compile for the listed events, and the list kept for
//! the checks across crates.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::Path;

use crate::attr::{first_and_last_span, last_ident};
use crate::expand::at;

/// The const argument of entry `i`'s `PublishedBy` impl: 0, or `i` for an
/// entry whose name repeats an earlier one's (`Tick`, `other::Tick` may be
/// one type), so that two spellings never make conflicting impls.
fn repeat(publishes: &[Path], i: usize) -> usize {
    let repeats = publishes[..i]
        .iter()
        .any(|earlier| last_ident(earlier) == last_ident(&publishes[i]));
    if repeats { i } else { 0 }
}

/// `impl PublishedBy<Publisher> for Event {}` for each listed event, spanned
/// at its entry: one that is not an event is reported there.
pub fn published_by(
    krate: &TokenStream,
    publisher: &syn::Ident,
    publishes: &[Path],
) -> TokenStream {
    let impls = publishes.iter().enumerate().map(|(i, event)| {
        let repeat = repeat(publishes, i);
        let span = first_and_last_span(&event.to_token_stream()).0;
        quote_spanned! {at(span)=>
            #[diagnostic::do_not_recommend]
            impl #krate::PublishedBy<#publisher, #repeat> for #event {}
        }
    });
    quote!(#(#impls)*)
}

/// `&[EventRef, ...]` of the listed events, read through the impls above so
/// an entry that is not an event is reported once, at the impl.
pub fn published_list(
    krate: &TokenStream,
    publisher: &syn::Ident,
    publishes: &[Path],
) -> TokenStream {
    let entries = publishes.iter().enumerate().map(|(i, event)| {
        let repeat = repeat(publishes, i);
        quote!(#krate::__private::published_event::<#event, #publisher, #repeat>())
    });
    quote!(&[#(#entries),*])
}
