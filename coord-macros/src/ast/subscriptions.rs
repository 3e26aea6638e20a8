//! An `impl` block under `#[subscriptions]` and its `#[subscribe]` methods.

use proc_macro2::{Span, TokenStream};

use crate::attr::{self, Arg, Keys};
use crate::ctxt::Ctxt;
use crate::symbol;

use super::default_crate;

/// One `#[subscribe]` method.
pub struct SubscribeMethod {
    pub ident: syn::Ident,
    /// The event type, from the `&Event` parameter.
    pub event: syn::Type,
    /// Where the return type is, for errors about it.
    pub output_span: Span,
    /// `#[subscribe(once)]`: once per cluster rather than on every node.
    pub once: bool,
    /// Where the handler context's type is, when it takes one after the event.
    pub context: Option<Span>,
}

/// An `impl` block under `#[subscriptions]`, its `#[subscribe]` markers removed.
pub struct Subscriptions {
    pub item: syn::ItemImpl,
    pub self_ty: syn::Type,
    pub methods: Vec<SubscribeMethod>,
    pub krate: TokenStream,
}

const HANDLER_SIGNATURE: &str = "async fn on_event(&self, event: &MyEvent) -> Result<(), BoxError>";
const WITH_CONTEXT: &str =
    "async fn on_event(&self, event: &MyEvent, ctx: &HandlerContext<Self>) -> Result<(), BoxError>";

impl Subscriptions {
    pub fn parse(cx: &Ctxt, args: TokenStream, mut item: syn::ItemImpl) -> Self {
        let mut krate = default_crate();
        let mut keys = Keys::new("subscriptions", &[symbol::CRATE]);
        for arg in attr::parse_args(args) {
            match arg {
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    "[coord::E0014] `#[subscriptions]` takes no arguments but `crate = ...`",
                ),
                Arg::Keyed { key, value } => {
                    if keys.accept(cx, &key)
                        && let Some(path) = attr::crate_path(cx, &key, &value)
                    {
                        krate = path;
                    }
                }
            }
        }
        if let Some((_, path, _)) = &item.trait_ {
            cx.error_spanned_by(path, "[coord::E0015] `#[subscriptions]` goes on an inherent `impl` block (`impl MyCoordinator { ... }`), not a trait impl");
        }
        if !item.generics.params.is_empty() {
            cx.error_spanned_by(
                &item.generics,
                "[coord::E0018] `#[subscriptions]` cannot be on a generic `impl`: coordinators are not generic",
            );
        }
        let self_ty = (*item.self_ty).clone();
        let mut methods = Vec::new();
        let mut marked = 0;
        for impl_item in &mut item.items {
            let syn::ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let markers: Vec<syn::Attribute> = method
                .attrs
                .iter()
                .filter(|a| is_subscribe(a))
                .cloned()
                .collect();
            if markers.is_empty() {
                continue;
            }
            method.attrs.retain(|a| !is_subscribe(a));
            let once = markers
                .iter()
                .fold(false, |once, marker| once | scope_of(cx, marker));
            // A handler must be async even when it never waits; a lint asking
            // to drop the `async` would ask for a signature coord rejects.
            method
                .attrs
                .push(syn::parse_quote!(#[allow(clippy::unused_async)]));
            marked += 1;
            if let Some((event, context)) = handler_event(cx, &method.sig) {
                let output_span = match &method.sig.output {
                    syn::ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
                    syn::ReturnType::Default => method.sig.ident.span(),
                };
                methods.push(SubscribeMethod {
                    ident: method.sig.ident.clone(),
                    event,
                    output_span,
                    once,
                    context,
                });
            }
        }
        // Only when nothing was marked: a marked method with a bad signature
        // already has its own error.
        if marked == 0 {
            cx.error_at(
                Span::call_site(),
                "[coord::E0015] `#[subscriptions]` found no `#[subscribe]` method; mark each handler with `#[subscribe]`",
            );
        }
        Self {
            item,
            self_ty,
            methods,
            krate,
        }
    }
}

/// `#[subscribe]`, `#[coord::subscribe]`, `#[coord::prelude::subscribe]`, ...
fn is_subscribe(attribute: &syn::Attribute) -> bool {
    attribute
        .path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "subscribe")
}

/// Whether a `#[subscribe]` marker says `once`; anything else it says is an error.
fn scope_of(cx: &Ctxt, marker: &syn::Attribute) -> bool {
    match &marker.meta {
        syn::Meta::Path(_) => false,
        syn::Meta::List(list) => match syn::parse2::<syn::Ident>(list.tokens.clone()) {
            Ok(word) if word == symbol::ONCE => true,
            other => {
                let what = match other {
                    Ok(word) => {
                        let word = word.to_string();
                        let hint = crate::case::closest(&word, &[symbol::ONCE])
                            .map_or_else(String::new, |near| format!("did you mean `{near}`? "));
                        format!("unknown argument `{word}` in `#[subscribe(...)]`; {hint}")
                    }
                    Err(_) => String::new(),
                };
                cx.error_spanned_by(
                    &list.tokens,
                    format!("[coord::E0014] {what}`#[subscribe]` takes nothing, or `once` for a distributed event handled once per cluster: `#[subscribe(once)]`"),
                );
                false
            }
        },
        syn::Meta::NameValue(value) => {
            cx.error_spanned_by(
                value,
                "[coord::E0014] expected `#[subscribe]` or `#[subscribe(once)]`",
            );
            false
        }
    }
}

/// The event type of a handler and where its context's type is, if it takes one, or
/// an error saying what the signature must be.
fn handler_event(cx: &Ctxt, sig: &syn::Signature) -> Option<(syn::Type, Option<Span>)> {
    let mut ok = true;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("[coord::E0015] a `#[subscribe]` handler must be async: `{HANDLER_SIGNATURE}`"),
        );
        ok = false;
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "[coord::E0015] a `#[subscribe]` handler cannot be generic: `{HANDLER_SIGNATURE}`"
            ),
        );
        ok = false;
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(other) => {
            // Reported alone: what follows would only restate the same mistake.
            cx.error_spanned_by(
                other,
                format!("[coord::E0015] a `#[subscribe]` handler takes `&self` first: `{HANDLER_SIGNATURE}`"),
            );
            return None;
        }
        None => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "[coord::E0015] a `#[subscribe]` handler takes `&self` and the event: `{HANDLER_SIGNATURE}`"
                ),
            );
            return None;
        }
    }
    let event = match inputs.next() {
        Some(syn::FnArg::Typed(pat)) => match &*pat.ty {
            syn::Type::Reference(r) if r.mutability.is_none() => Some((*r.elem).clone()),
            other => {
                cx.error_spanned_by(
                    other,
                    format!("[coord::E0015] the event is taken by shared reference: `{HANDLER_SIGNATURE}`"),
                );
                None
            }
        },
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "[coord::E0015] a `#[subscribe]` handler takes the event it handles: `{HANDLER_SIGNATURE}`"
                ),
            );
            None
        }
    };
    // The handler context, if taken; its type is checked where it is passed.
    let context = inputs.next().map(|arg| match arg {
        syn::FnArg::Typed(pat) => syn::spanned::Spanned::span(&*pat.ty),
        syn::FnArg::Receiver(r) => syn::spanned::Spanned::span(r),
    });
    if let Some(extra) = inputs.next() {
        cx.error_spanned_by(
            extra,
            format!(
                "[coord::E0015] a `#[subscribe]` handler takes `&self`, the event, and optionally the handler context: `{WITH_CONTEXT}`"
            ),
        );
        ok = false;
    }
    if let syn::ReturnType::Default = sig.output {
        cx.error_spanned_by(
            &sig.ident,
            format!("[coord::E0015] a `#[subscribe]` handler returns `Result<(), E>`: `{HANDLER_SIGNATURE}`"),
        );
        ok = false;
    }
    if ok {
        event.map(|event| (event, context))
    } else {
        None
    }
}
