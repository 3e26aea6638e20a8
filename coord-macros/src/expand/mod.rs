//! Code generation, one module per macro, run only on input that passed
//! validation (or, after an error, to emit the smallest item that keeps
//! other code from failing because of this one).
//!
//! Generated code reaches coord only through the path in `krate`
//! (`::coord`, or what `crate = ...` names), and identifies items by what
//! they are: consts and statics on the items' own definitions.

pub mod coordinator;
pub mod daemon;
pub mod daemon_type;
pub mod event;
pub mod publishes;
pub mod subscriptions;

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::ext::IdentExt;

/// The inherent const a `#[daemon]` entry defines on its enum, read by the derive.
///
/// Two entries for one variant define it twice, and rustc's own error then
/// names it: the name is chosen to say what is wrong.
pub fn entry_slot(variant: &Ident) -> Ident {
    format_ident!(
        "{}_has_two_daemon_entries",
        variant.unraw(),
        span = at(variant.span())
    )
}

/// A span at `span`'s place in the source that resolves names like the
/// macro's own code: generated locals (`ctx`, `slot`) then always find each
/// other, also when the user's tokens come from a `macro_rules!` expansion.
pub fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
}

/// Where `span` is in the user's source: file as rustc displays it, line, column.
pub fn source_position(span: Span) -> (String, u32, u32) {
    let span = span.unwrap();
    (
        span.file(),
        u32::try_from(span.line()).unwrap_or(u32::MAX),
        u32::try_from(span.column()).unwrap_or(u32::MAX),
    )
}

/// `Location { module_path, file, line }` of `span`.
pub fn location(krate: &TokenStream, span: Span) -> TokenStream {
    let (file, line, _) = source_position(span);
    quote! {
        #krate::Location {
            module_path: ::core::module_path!(),
            file: #file,
            line: #line,
        }
    }
}

/// A call of coord's `fail(message)`, spanned so rustc underlines `first`
/// through `last`: a call's span runs from its path to its arguments, and
/// `fail` is `#[track_caller]`, so the error points here, not into coord.
pub fn spanned_fail(
    krate: &TokenStream,
    first: Span,
    last: Span,
    message: &TokenStream,
) -> TokenStream {
    spanned_call(krate, "fail", message, first, last)
}

/// A call of `__private::function(args)` whose every token is spanned at
/// `first` (its path) and `last` (its arguments), so a `#[track_caller]`
/// function's error points at the user's tokens.
pub fn spanned_call(
    krate: &TokenStream,
    function: &str,
    args: &TokenStream,
    first: Span,
    last: Span,
) -> TokenStream {
    let (first, last) = (at(first), at(last));
    let function = Ident::new(function, first);
    let mut out = TokenStream::new();
    let path = quote!(#krate::__private::#function);
    out.extend(path.into_iter().map(|tree| with_span(tree, first)));
    let mut args = Group::new(Delimiter::Parenthesis, quote!(#args));
    args.set_span(last);
    out.extend([TokenTree::Group(args)]);
    out
}

fn with_span(mut tree: TokenTree, span: Span) -> TokenTree {
    tree.set_span(span);
    tree
}

/// The user's item followed by the errors, so one mistake is one error:
/// the item still exists, and nothing else fails for want of it.
pub fn with_errors(item: TokenStream, fallback: TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote! { #item #fallback #errors }
}
