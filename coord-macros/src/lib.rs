//! Macros of coord: `#[derive(DaemonType)]`, `#[daemon]`, `#[coordinator]`,
//! `#[derive(Event)]`, `#[subscriptions]` and `#[subscribe]`.
//!
//! Each macro parses (`ast`, `attr`), validates (`valid`, collecting every
//! error with its span) and expands (`expand`). On an error it re-emits the
//! user's item, plus the smallest registration that keeps other items from
//! failing because of this one, so a mistake is reported once.

mod ast;
mod attr;
mod case;
mod ctxt;
mod expand;
mod symbol;
mod valid;

use proc_macro::TokenStream;
use quote::ToTokens;

use crate::ctxt::Ctxt;
use crate::expand::with_errors;

/// Derives the daemon identity enum: names, parsing and the registry check.
///
/// `#[daemon_type(crate = path)]` names coord when it is a dependency under another name.
#[proc_macro_derive(DaemonType, attributes(daemon_type))]
pub fn derive_daemon_type(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let cx = Ctxt::new();
    let parsed = ast::DaemonTypeEnum::parse(&cx, &input);
    let structural = cx.check();
    let Some(parsed) = parsed else {
        return structural
            .err()
            .map_or_else(proc_macro2::TokenStream::new, |e| e.to_compile_error())
            .into();
    };
    if let Err(error) = structural {
        return error.to_compile_error().into();
    }
    // Colliding names still expand: the rest of the crate checks as usual.
    let cx = Ctxt::new();
    valid::daemon_type(&cx, &parsed);
    let expanded = expand::daemon_type::expand(&parsed);
    match cx.check() {
        Ok(()) => expanded,
        Err(error) => with_errors(proc_macro2::TokenStream::new(), expanded, error),
    }
    .into()
}

/// Derives `Event`: a stable name (snake_case, or `#[event(name = "...")]`).
///
/// `#[event(crate = path)]` names coord when it is a dependency under another name.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let cx = Ctxt::new();
    let parsed = ast::EventInput::parse(&cx, &input);
    match cx.check() {
        Ok(()) => expand::event::derive_event(&parsed),
        Err(err) => err.to_compile_error(),
    }
    .into()
}

/// Registers the `#[subscribe]` methods of a coordinator's `impl` block.
#[proc_macro_attribute]
pub fn subscriptions(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let item_tokens: proc_macro2::TokenStream = item.into();
    let Ok(item) = syn::parse2::<syn::ItemImpl>(item_tokens.clone()) else {
        cx.error_at(
            proc_macro2::Span::call_site(),
            "[coord::E0015] `#[subscriptions]` goes on an `impl` block of a coordinator",
        );
        return match cx.check() {
            Err(error) => with_errors(item_tokens, proc_macro2::TokenStream::new(), error),
            Ok(()) => item_tokens,
        }
        .into();
    };
    let parsed = ast::Subscriptions::parse(&cx, args.into(), item);
    match cx.check() {
        Ok(()) => expand::subscriptions::expand(&parsed),
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
        "[coord::E0015] `#[subscribe]` only works inside an `impl` block marked `#[subscriptions]`; add it to the impl: `#[subscriptions] impl MyCoordinator { ... }`",
    );
    with_errors(item.into(), proc_macro2::TokenStream::new(), error).into()
}

/// Registers a daemon: `#[daemon(DaemonType::X, runner = run_x, depends_on = [...])]`.
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let attr = ast::DaemonAttr::parse(&cx, args.into());
    let item_tokens: proc_macro2::TokenStream = item.into();
    let parsed_item = ast::parse_struct(&cx, item_tokens.clone(), "daemon");
    if let Some(attr) = &attr {
        valid::daemon(&cx, attr);
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
    let cx = Ctxt::new();
    let attr = ast::CoordinatorAttr::parse(&cx, args.into());
    let item_tokens: proc_macro2::TokenStream = item.into();
    let Some(mut item) = ast::parse_struct(&cx, item_tokens.clone(), "coordinator") else {
        return match cx.check() {
            Err(err) => with_errors(item_tokens, proc_macro2::TokenStream::new(), err),
            Ok(()) => item_tokens,
        }
        .into();
    };
    valid::coordinator(&cx, &item);
    // A second `#[coordinator]` on the struct is reported and dropped here,
    // so the struct is still registered, once.
    let twice = Ctxt::new();
    valid::coordinator_applied_twice(&twice, &item);
    item.attrs.retain(|a| {
        a.path()
            .segments
            .last()
            .is_none_or(|s| s.ident != "coordinator")
    });
    let generic = !item.generics.params.is_empty();
    let expanded = match cx.check() {
        Ok(()) => expand::coordinator::expand(&attr, &item),
        // A generic struct cannot be a coordinator at all: emit it alone.
        Err(err) if generic => with_errors(
            item.into_token_stream(),
            proc_macro2::TokenStream::new(),
            err,
        ),
        Err(err) => {
            let node = expand::coordinator::node(&attr, &item, &[]);
            let fallback = quote::quote!(#[allow(unused_qualifications)] const _: () = { #node };);
            with_errors(item.into_token_stream(), fallback, err)
        }
    };
    match twice.check() {
        Ok(()) => expanded,
        Err(err) => with_errors(expanded, proc_macro2::TokenStream::new(), err),
    }
    .into()
}
