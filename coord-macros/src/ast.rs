//! Typed inputs of each macro, parsed from the attribute and the item.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Ident, LitStr, Path};

use crate::attr::{self, Arg, Keys, NotAPath};
use crate::ctxt::Ctxt;
use crate::symbol;

/// The path generated code reaches coord by: `::coord`, or `crate = ...`.
pub fn default_crate() -> TokenStream {
    quote!(::coord)
}

/// One entry of a `depends_on` list: its tokens as written and, when they
/// are a plain path, that path.
pub struct Dep {
    pub tokens: TokenStream,
    pub path: Option<Path>,
}

/// `#[daemon(DaemonType::AutoSync, runner = ..., ...)]`
pub struct DaemonAttr {
    /// `DaemonType::AutoSync`
    pub variant: Path,
    pub runner: Option<Path>,
    pub depends_on: Vec<Dep>,
    pub soft_depends_on: Vec<Dep>,
    pub category: Option<LitStr>,
    pub restart: Option<Ident>,
    pub krate: TokenStream,
}

const DAEMON_EXAMPLE: &str = "#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]";

impl DaemonAttr {
    /// Parses what it can; problems go to `cx`. `None` only if the variant is unusable.
    pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Option<Self> {
        let mut variant = None;
        let mut variant_reported = false;
        let mut out = DaemonAttr {
            variant: Path::from(Ident::new("_", Span::call_site())),
            runner: None,
            depends_on: Vec::new(),
            soft_depends_on: Vec::new(),
            category: None,
            restart: None,
            krate: default_crate(),
        };
        let mut keys = Keys::new("daemon", symbol::DAEMON_KEYS);
        for (position, arg) in attr::parse_args(tokens).into_iter().enumerate() {
            match arg {
                Arg::Positional(value) if position == 0 => match attr::as_path(&value) {
                    Ok(path) if path.segments.len() >= 2 => variant = Some(path),
                    _ => {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &value,
                            format!(
                                "[coord::E0014] expected the daemon's variant with its enum, as `EnumName::Variant`, e.g. `{DAEMON_EXAMPLE}`"
                            ),
                        );
                    }
                },
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    "[coord::E0014] unexpected argument: after the variant, give `key = value` pairs, e.g. `runner = run_auto_sync`",
                ),
                Arg::Keyed { key, value } => {
                    if position == 0 {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &key,
                            format!(
                                "[coord::E0014] the daemon's variant must come first, e.g. `{DAEMON_EXAMPLE}`"
                            ),
                        );
                    }
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        symbol::RUNNER => {
                            out.runner = attr::path(cx, &key, &value, "run_auto_sync");
                        }
                        symbol::DEPENDS_ON => {
                            out.depends_on = deps(cx, &key, &value, "DaemonType::DataPipeline");
                        }
                        symbol::SOFT_DEPENDS_ON => {
                            out.soft_depends_on = deps(cx, &key, &value, "DaemonType::Evaluation");
                        }
                        symbol::CATEGORY => out.category = attr::string(cx, &key, &value, "sync"),
                        symbol::RESTART => {
                            out.restart = attr::choice(cx, &key, &value, symbol::RESTART_POLICIES);
                        }
                        symbol::CRATE => {
                            if let Some(krate) = attr::crate_path(cx, &key, &value) {
                                out.krate = krate;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        match variant {
            Some(variant) => {
                out.variant = variant;
                Some(out)
            }
            None => {
                if !variant_reported {
                    cx.error_at(
                        Span::call_site(),
                        format!(
                            "[coord::E0014] `#[daemon]` needs the daemon's variant first, e.g. `{DAEMON_EXAMPLE}`"
                        ),
                    );
                }
                None
            }
        }
    }

    /// The enum's path: the variant path without its last segment.
    pub fn enum_path(&self) -> Path {
        let mut path = self.variant.clone();
        path.segments.pop();
        // Popping leaves a trailing `::`; rebuild without it.
        let segments = path.segments.into_iter().collect();
        Path {
            leading_colon: path.leading_colon,
            segments,
        }
    }
}

/// The entries of a `depends_on` list, each with its path when it is one.
fn deps(cx: &Ctxt, key: &Ident, value: &TokenStream, example: &str) -> Vec<Dep> {
    attr::list(cx, key, value, example)
        .unwrap_or_default()
        .into_iter()
        .map(|tokens| Dep {
            path: attr::as_path(&tokens).ok(),
            tokens,
        })
        .collect()
}

/// `#[coordinator(depends_on = [...], name = "...")]`
pub struct CoordinatorAttr {
    /// The dependencies that are plain paths; others were reported.
    pub depends_on: Vec<Path>,
    pub name: Option<LitStr>,
    pub krate: TokenStream,
}

impl CoordinatorAttr {
    pub fn parse(cx: &Ctxt, tokens: TokenStream) -> Self {
        let mut out = CoordinatorAttr {
            depends_on: Vec::new(),
            name: None,
            krate: default_crate(),
        };
        let mut keys = Keys::new("coordinator", symbol::COORDINATOR_KEYS);
        for arg in attr::parse_args(tokens) {
            match arg {
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    "[coord::E0014] expected `key = value`, e.g. `#[coordinator(depends_on = [EventRouterCoordinator])]`",
                ),
                Arg::Keyed { key, value } => {
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        symbol::DEPENDS_ON => {
                            for entry in
                                attr::list(cx, &key, &value, "EventRouterCoordinator").unwrap_or_default()
                            {
                                match attr::as_path(&entry) {
                                    Ok(path) => out.depends_on.push(path),
                                    Err(NotAPath::Generic { suggestion }) => {
                                        let example = suggestion.unwrap_or_else(|| "Store".to_owned());
                                        cx.error_spanned_by(
                                            &entry,
                                            format!(
                                                "[coord::E0010] `depends_on` names coordinator types themselves; name the coordinator type, e.g. `{example}`: \
                                                 `ctx.dep::<{example}>()` hands you an `Arc<{example}>`"
                                            ),
                                        );
                                    }
                                    Err(NotAPath::Other) => cx.error_spanned_by(
                                        &entry,
                                        "[coord::E0014] each entry of `depends_on` must be a coordinator type, e.g. `EventRouterCoordinator`",
                                    ),
                                }
                            }
                        }
                        symbol::NAME => out.name = attr::string(cx, &key, &value, "store"),
                        symbol::CRATE => {
                            if let Some(krate) = attr::crate_path(cx, &key, &value) {
                                out.krate = krate;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }
}

/// One variant of a `DaemonType` enum.
pub struct Variant {
    pub ident: Ident,
    /// The runtime name: snake_case of the identifier without `r#`.
    pub name: String,
}

/// The enum under `#[derive(DaemonType)]`.
pub struct DaemonTypeEnum {
    pub ident: Ident,
    pub vis: syn::Visibility,
    pub variants: Vec<Variant>,
    pub krate: TokenStream,
}

impl DaemonTypeEnum {
    pub fn parse(cx: &Ctxt, input: &syn::DeriveInput) -> Option<Self> {
        let krate = helper_crate(cx, &input.attrs, "daemon_type", &[symbol::CRATE]).krate;
        let syn::Data::Enum(data) = &input.data else {
            cx.error_spanned_by(
                &input.ident,
                "[coord::E0014] `#[derive(DaemonType)]` applies to an enum whose variants name the daemons, e.g. `enum DaemonType { EventRouter, AutoSync }`",
            );
            return None;
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "[coord::E0018] a `DaemonType` enum cannot be generic: each variant names one daemon",
            );
        }
        if data.variants.is_empty() {
            cx.error_spanned_by(
                &input.ident,
                "[coord::E0014] a `DaemonType` enum needs at least one variant",
            );
        }
        let mut variants = Vec::new();
        for variant in &data.variants {
            if !matches!(variant.fields, syn::Fields::Unit) {
                cx.error_spanned_by(
                    &variant.fields,
                    format!(
                        "[coord::E0014] daemon variants carry no data; write `{}` without fields (per-daemon settings go in `#[daemon(...)]` or config)",
                        variant.ident
                    ),
                );
            }
            variants.push(Variant {
                ident: variant.ident.clone(),
                name: crate::case::snake_case(&variant.ident.unraw().to_string()),
            });
        }
        Some(Self {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            variants,
            krate,
        })
    }
}

/// What a derive's helper attribute (`#[event(...)]`, `#[daemon_type(...)]`) says.
pub struct Helper {
    pub krate: TokenStream,
    pub name: Option<LitStr>,
}

/// Reads every `#[helper(...)]` attribute of a derive input.
fn helper_crate(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    helper: &'static str,
    known: &[&'static str],
) -> Helper {
    let mut out = Helper {
        krate: default_crate(),
        name: None,
    };
    let mut keys = Keys::new(helper, known);
    for attribute in attrs.iter().filter(|a| a.path().is_ident(helper)) {
        let tokens = match &attribute.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            other => {
                cx.error_spanned_by(
                    other,
                    format!("[coord::E0014] expected `#[{helper}(key = value)]`, e.g. `#[{helper}(crate = coord)]`"),
                );
                continue;
            }
        };
        for arg in attr::parse_args(tokens) {
            match arg {
                Arg::Positional(value) => cx.error_spanned_by(
                    &value,
                    format!("[coord::E0014] expected `key = value` in `#[{helper}(...)]`"),
                ),
                Arg::Keyed { key, value } => {
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        symbol::CRATE => {
                            if let Some(krate) = attr::crate_path(cx, &key, &value) {
                                out.krate = krate;
                            }
                        }
                        symbol::NAME => {
                            if let Some(lit) = attr::string(cx, &key, &value, "model_trained") {
                                if lit.value().trim().is_empty() {
                                    cx.error_spanned_by(
                                        &lit,
                                        "[coord::E0014] an event name cannot be empty",
                                    );
                                } else {
                                    out.name = Some(lit);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The type under `#[derive(Event)]`.
pub struct EventInput {
    pub ident: syn::Ident,
    /// The stable name: `#[event(name = "...")]` or the snake_case type name.
    pub name: String,
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
        let helper = helper_crate(cx, &input.attrs, "event", symbol::EVENT_KEYS);
        Self {
            ident: input.ident.clone(),
            name: helper.name.map_or_else(
                || crate::case::snake_case(&input.ident.unraw().to_string()),
                |lit| lit.value(),
            ),
            krate: helper.krate,
        }
    }
}

/// One `#[subscribe]` method.
pub struct SubscribeMethod {
    pub ident: syn::Ident,
    /// The event type, from the `&Event` parameter.
    pub event: syn::Type,
    /// Where the return type is, for errors about it.
    pub output_span: Span,
}

/// An `impl` block under `#[subscriptions]`, its `#[subscribe]` markers removed.
pub struct Subscriptions {
    pub item: syn::ItemImpl,
    pub self_ty: syn::Type,
    pub methods: Vec<SubscribeMethod>,
    pub krate: TokenStream,
}

const HANDLER_SIGNATURE: &str = "async fn on_event(&self, event: &MyEvent) -> Result<(), BoxError>";

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
            let before = method.attrs.len();
            method.attrs.retain(|a| !is_subscribe(a));
            if method.attrs.len() == before {
                continue;
            }
            // A handler must be async even when it never waits; a lint asking
            // to drop the `async` would ask for a signature coord rejects.
            method
                .attrs
                .push(syn::parse_quote!(#[allow(clippy::unused_async)]));
            marked += 1;
            if let Some(event) = handler_event(cx, &method.sig) {
                let output_span = match &method.sig.output {
                    syn::ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
                    syn::ReturnType::Default => method.sig.ident.span(),
                };
                methods.push(SubscribeMethod {
                    ident: method.sig.ident.clone(),
                    event,
                    output_span,
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

/// The event type of a handler, or an error saying what the signature must be.
fn handler_event(cx: &Ctxt, sig: &syn::Signature) -> Option<syn::Type> {
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
    if let Some(extra) = inputs.next() {
        cx.error_spanned_by(
            extra,
            format!(
                "[coord::E0015] a `#[subscribe]` handler takes only `&self` and the event: `{HANDLER_SIGNATURE}`"
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
    if ok { event } else { None }
}

/// The struct under `#[coordinator]` or `#[daemon]`.
pub fn parse_struct(cx: &Ctxt, item: TokenStream, attribute: &str) -> Option<syn::ItemStruct> {
    match syn::parse2::<syn::ItemStruct>(item) {
        Ok(item) => Some(item),
        Err(_) => {
            cx.error_at(
                Span::call_site(),
                format!("[coord::E0014] `#[{attribute}(...)]` goes on a struct"),
            );
            None
        }
    }
}

/// Tokens of `item` for messages: `crate::m::Store` with no spaces.
pub fn describe<T: ToTokens>(item: &T) -> String {
    item.to_token_stream().to_string().replace(' ', "")
}
