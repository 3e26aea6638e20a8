//! Macros of coord: `#[derive(DaemonType)]`, `#[daemon]`, `#[coordinator]`.
//!
//! Each macro parses (`ast`, `attr`), validates (`valid`, collecting every
//! error with its span) and expands (`expand`). On an error it re-emits the
//! user's item, plus a placeholder registration where that keeps other items
//! from failing because of this one, so a mistake is reported once.

mod ast;
mod attr;
mod case;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;
use quote::ToTokens;

use crate::ctxt::{Ctxt, with_errors};

/// Derives the daemon identity enum: names, parsing and the registry check.
#[proc_macro_derive(DaemonType)]
pub fn derive_daemon_type(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let mut cx = Ctxt::new();
    let parsed = ast::DaemonTypeEnum::parse(&mut cx, &input);
    match (cx.check(), parsed) {
        (Ok(()), Some(parsed)) => expand::daemon_type::expand(&parsed),
        (Err(err), _) => err.to_compile_error(),
        (Ok(()), None) => proc_macro2::TokenStream::new(),
    }
    .into()
}

/// Derives `Event`: a stable name (snake_case, or `#[event(name = "...")]`).
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let mut cx = Ctxt::new();
    let parsed = ast::EventInput::parse(&mut cx, &input);
    match cx.check() {
        Ok(()) => expand::event::derive_event(&parsed),
        Err(err) => err.to_compile_error(),
    }
    .into()
}

/// Registers the `#[subscribe]` methods of a coordinator's `impl` block.
#[proc_macro_attribute]
pub fn subscriptions(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let args: proc_macro2::TokenStream = args.into();
    if !args.is_empty() {
        cx.error_spanned_by(&args, "`#[subscriptions]` takes no arguments");
    }
    let item_tokens: proc_macro2::TokenStream = item.into();
    let item = match syn::parse2::<syn::ItemImpl>(item_tokens.clone()) {
        Ok(item) => item,
        Err(_) => {
            cx.error_at(
                proc_macro2::Span::call_site(),
                "`#[subscriptions]` goes on an `impl` block of a coordinator",
            );
            let err = cx.check().err();
            return with_errors(
                item_tokens,
                proc_macro2::TokenStream::new(),
                err.unwrap_or_else(|| {
                    syn::Error::new(proc_macro2::Span::call_site(), "invalid item")
                }),
            )
            .into();
        }
    };
    let parsed = ast::Subscriptions::parse(&mut cx, item);
    match cx.check() {
        Ok(()) => expand::event::subscriptions(&parsed),
        // The impl block, without the markers, still compiles on its own.
        Err(err) => with_errors(
            parsed.item.into_token_stream(),
            proc_macro2::TokenStream::new(),
            err,
        ),
    }
    .into()
}

/// Marks an event handler inside a `#[subscriptions]` impl block.
#[proc_macro_attribute]
pub fn subscribe(_args: TokenStream, item: TokenStream) -> TokenStream {
    // Reached only when no `#[subscriptions]` on the impl consumed the marker.
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[subscribe]` only works inside an `impl` block marked `#[subscriptions]`; add it to the impl: `#[subscriptions] impl MyCoordinator { ... }`",
    );
    with_errors(item.into(), proc_macro2::TokenStream::new(), error).into()
}

/// Registers a daemon: `#[daemon(DaemonType::X, runner = run_x, depends_on = [...])]`.
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let attr = ast::DaemonAttr::parse(&mut cx, args.into());
    let item_tokens: proc_macro2::TokenStream = item.into();
    let parsed_item = ast::parse_struct(&mut cx, item_tokens.clone(), "daemon");
    if let Some(attr) = &attr {
        valid::daemon(&mut cx, attr);
    }
    match (cx.check(), attr, parsed_item) {
        (Ok(()), Some(attr), Some(item)) => expand::daemon::expand(&attr, &item),
        (Err(err), attr, _) => {
            let fallback = attr
                .as_ref()
                .map(expand::daemon::placeholder)
                .unwrap_or_default();
            with_errors(item_tokens, fallback, err)
        }
        // Parsing reports an error whenever it returns None.
        (Ok(()), _, _) => item_tokens,
    }
    .into()
}

/// Registers a coordinator: `#[coordinator(depends_on = [OtherCoordinator])]`.
#[proc_macro_attribute]
pub fn coordinator(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let attr = ast::CoordinatorAttr::parse(&mut cx, args.into());
    let item_tokens: proc_macro2::TokenStream = item.into();
    let parsed_item = ast::parse_struct(&mut cx, item_tokens.clone(), "coordinator");
    if let Some(item) = &parsed_item {
        valid::coordinator(&mut cx, &attr, item);
    }
    match (cx.check(), parsed_item) {
        (Ok(()), Some(item)) => expand::coordinator::expand(&attr, &item),
        (Err(err), Some(item)) => {
            let fallback = expand::coordinator::node(&item, Vec::new());
            with_errors(item.into_token_stream(), fallback, err)
        }
        (Err(err), None) => with_errors(item_tokens, proc_macro2::TokenStream::new(), err),
        (Ok(()), None) => item_tokens,
    }
    .into()
}
