//! Typed inputs of each macro, parsed from the attribute and the item.

use proc_macro2::{Span, TokenStream};
use syn::{Ident, LitStr, Path};

use crate::attr::{self, Arg, Keys};
use crate::ctxt::Ctxt;

/// `#[daemon(DaemonType::AutoSync, runner = ..., ...)]`
pub struct DaemonAttr {
    /// `DaemonType::AutoSync`
    pub variant: Path,
    pub runner: Option<Path>,
    pub depends_on: Vec<Path>,
    pub soft_depends_on: Vec<Path>,
    pub category: Option<LitStr>,
    pub restart: Option<Ident>,
}

const DAEMON_KEYS: &[&str] = &[
    "runner",
    "depends_on",
    "soft_depends_on",
    "category",
    "restart",
];
const DAEMON_EXAMPLE: &str = "#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]";

impl DaemonAttr {
    /// Parses what it can; problems go to `cx`. `None` only if the variant is unusable.
    pub fn parse(cx: &mut Ctxt, tokens: TokenStream) -> Option<Self> {
        let args = match attr::parse_args(tokens) {
            Ok(args) => args,
            Err(err) => {
                cx.syn_error(err);
                return None;
            }
        };
        let mut variant = None;
        let mut variant_reported = false;
        let mut out = DaemonAttr {
            variant: Path::from(Ident::new("_", Span::call_site())),
            runner: None,
            depends_on: Vec::new(),
            soft_depends_on: Vec::new(),
            category: None,
            restart: None,
        };
        let mut keys = Keys::new("daemon", DAEMON_KEYS);
        for (position, arg) in args.into_iter().enumerate() {
            match arg {
                Arg::Positional(expr) if position == 0 => match &expr {
                    syn::Expr::Path(p) if p.qself.is_none() && p.path.segments.len() >= 2 => {
                        variant = Some(p.path.clone());
                    }
                    _ => {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &expr,
                            format!(
                                "expected the daemon's variant as `EnumName::Variant`, e.g. `{DAEMON_EXAMPLE}`"
                            ),
                        );
                    }
                },
                Arg::Positional(expr) => cx.error_spanned_by(
                    &expr,
                    "unexpected argument: after the variant, give `key = value` pairs, e.g. `runner = run_auto_sync`",
                ),
                Arg::Keyed { key, value } => {
                    if position == 0 {
                        variant_reported = true;
                        cx.error_spanned_by(
                            &key,
                            format!("the daemon's variant must come first, e.g. `{DAEMON_EXAMPLE}`"),
                        );
                    }
                    if !keys.accept(cx, &key) {
                        continue;
                    }
                    match key.to_string().as_str() {
                        "runner" => out.runner = attr::path(cx, &key, &value, "run_auto_sync"),
                        "depends_on" => {
                            out.depends_on = attr::path_list(cx, &key, &value, "DaemonType::DataPipeline")
                                .unwrap_or_default();
                        }
                        "soft_depends_on" => {
                            out.soft_depends_on = attr::path_list(cx, &key, &value, "DaemonType::Evaluation")
                                .unwrap_or_default();
                        }
                        "category" => out.category = attr::string(cx, &key, &value),
                        "restart" => {
                            out.restart =
                                attr::choice(cx, &key, &value, &["always", "on_failure", "never"]);
                        }
                        _ => unreachable!("Keys::accept admits only DAEMON_KEYS"),
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
                            "`#[daemon]` needs the daemon's variant first, e.g. `{DAEMON_EXAMPLE}`"
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

/// `#[coordinator(depends_on = [...])]`
pub struct CoordinatorAttr {
    pub depends_on: Vec<Path>,
}

const COORDINATOR_KEYS: &[&str] = &["depends_on"];

impl CoordinatorAttr {
    pub fn parse(cx: &mut Ctxt, tokens: TokenStream) -> Self {
        let mut out = CoordinatorAttr {
            depends_on: Vec::new(),
        };
        let args = match attr::parse_args(tokens) {
            Ok(args) => args,
            Err(err) => {
                cx.syn_error(err);
                return out;
            }
        };
        let mut keys = Keys::new("coordinator", COORDINATOR_KEYS);
        for arg in args {
            match arg {
                Arg::Positional(expr) => cx.error_spanned_by(
                    &expr,
                    "expected `key = value`, e.g. `#[coordinator(depends_on = [EventRouterCoordinator])]`",
                ),
                Arg::Keyed { key, value } => {
                    if keys.accept(cx, &key) {
                        out.depends_on =
                            attr::path_list(cx, &key, &value, "EventRouterCoordinator").unwrap_or_default();
                    }
                }
            }
        }
        out
    }
}

/// The enum under `#[derive(DaemonType)]`.
pub struct DaemonTypeEnum {
    pub ident: Ident,
    pub variants: Vec<Ident>,
}

impl DaemonTypeEnum {
    pub fn parse(cx: &mut Ctxt, input: &syn::DeriveInput) -> Option<Self> {
        let syn::Data::Enum(data) = &input.data else {
            cx.error_spanned_by(
                &input.ident,
                "`#[derive(DaemonType)]` applies to an enum whose variants name the daemons, e.g. `enum DaemonType { EventRouter, AutoSync }`",
            );
            return None;
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(&input.generics, "a `DaemonType` enum cannot be generic");
        }
        if data.variants.is_empty() {
            cx.error_spanned_by(
                &input.ident,
                "a `DaemonType` enum needs at least one variant",
            );
        }
        let mut variants = Vec::new();
        for variant in &data.variants {
            if !matches!(variant.fields, syn::Fields::Unit) {
                cx.error_spanned_by(
                    &variant.fields,
                    format!(
                        "daemon variants carry no data; write `{}` without fields (per-daemon settings go in `#[daemon(...)]` or config)",
                        variant.ident
                    ),
                );
            }
            variants.push(variant.ident.clone());
        }
        Some(Self {
            ident: input.ident.clone(),
            variants,
        })
    }
}

/// The struct under `#[coordinator]` or `#[daemon]`.
pub fn parse_struct(cx: &mut Ctxt, item: TokenStream, attribute: &str) -> Option<syn::ItemStruct> {
    match syn::parse2::<syn::ItemStruct>(item) {
        Ok(item) => Some(item),
        Err(_) => {
            cx.error_at(
                Span::call_site(),
                format!("`#[{attribute}(...)]` goes on a struct"),
            );
            None
        }
    }
}

/// The type under `#[derive(Event)]`.
pub struct EventInput {
    pub ident: syn::Ident,
    /// The stable name: `#[event(name = "...")]` or the snake_case type name.
    pub name: String,
}

impl EventInput {
    pub fn parse(cx: &mut Ctxt, input: &syn::DeriveInput) -> Self {
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "an event type cannot be generic: each event type needs one stable name",
            );
        }
        let mut name = crate::case::snake_case(&input.ident.to_string());
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
            let tokens = match &attr.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                other => {
                    cx.error_spanned_by(other, "expected `#[event(name = \"...\")]`");
                    continue;
                }
            };
            let args = match attr::parse_args(tokens) {
                Ok(args) => args,
                Err(err) => {
                    cx.syn_error(err);
                    continue;
                }
            };
            let mut keys = Keys::new("event", &["name"]);
            for arg in args {
                match arg {
                    Arg::Positional(expr) => cx.error_spanned_by(
                        &expr,
                        "expected `name = \"...\"`, e.g. `#[event(name = \"model_trained\")]`",
                    ),
                    Arg::Keyed { key, value } => {
                        if keys.accept(cx, &key)
                            && let Some(lit) = attr::string(cx, &key, &value)
                        {
                            if lit.value().trim().is_empty() {
                                cx.error_spanned_by(&lit, "an event name cannot be empty");
                            } else {
                                name = lit.value();
                            }
                        }
                    }
                }
            }
        }
        Self {
            ident: input.ident.clone(),
            name,
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
    pub type_name: String,
    pub methods: Vec<SubscribeMethod>,
}

const HANDLER_SIGNATURE: &str = "async fn on_event(&self, event: &MyEvent) -> Result<(), BoxError>";

impl Subscriptions {
    pub fn parse(cx: &mut Ctxt, mut item: syn::ItemImpl) -> Self {
        if let Some((_, path, _)) = &item.trait_ {
            cx.error_spanned_by(path, "`#[subscriptions]` goes on an inherent `impl` block (`impl MyCoordinator { ... }`), not a trait impl");
        }
        if !item.generics.params.is_empty() {
            cx.error_spanned_by(
                &item.generics,
                "`#[subscriptions]` cannot be on a generic `impl`: coordinators are not generic",
            );
        }
        let self_ty = (*item.self_ty).clone();
        let type_name = match &self_ty {
            syn::Type::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            other => {
                cx.error_spanned_by(
                    other,
                    "`#[subscriptions]` goes on the `impl` of a coordinator struct",
                );
                String::new()
            }
        };
        let mut methods = Vec::new();
        let mut marked = 0;
        for impl_item in &mut item.items {
            let syn::ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let before = method.attrs.len();
            method.attrs.retain(|a| !a.path().is_ident("subscribe"));
            if method.attrs.len() == before {
                continue;
            }
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
                "`#[subscriptions]` found no `#[subscribe]` method; mark each handler with `#[subscribe]`",
            );
        }
        Self {
            item,
            self_ty,
            type_name,
            methods,
        }
    }
}

/// The event type of a handler, or an error saying what the signature must be.
fn handler_event(cx: &mut Ctxt, sig: &syn::Signature) -> Option<syn::Type> {
    let mut ok = true;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("a `#[subscribe]` handler must be async: `{HANDLER_SIGNATURE}`"),
        );
        ok = false;
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            format!("a `#[subscribe]` handler cannot be generic: `{HANDLER_SIGNATURE}`"),
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
                format!("a `#[subscribe]` handler takes `&self` first: `{HANDLER_SIGNATURE}`"),
            );
            return None;
        }
        None => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "a `#[subscribe]` handler takes `&self` and the event: `{HANDLER_SIGNATURE}`"
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
                    format!("the event is taken by shared reference: `{HANDLER_SIGNATURE}`"),
                );
                None
            }
        },
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "a `#[subscribe]` handler takes the event it handles: `{HANDLER_SIGNATURE}`"
                ),
            );
            None
        }
    };
    if let Some(extra) = inputs.next() {
        cx.error_spanned_by(
            extra,
            format!(
                "a `#[subscribe]` handler takes only `&self` and the event: `{HANDLER_SIGNATURE}`"
            ),
        );
        ok = false;
    }
    if let syn::ReturnType::Default = sig.output {
        cx.error_spanned_by(
            &sig.ident,
            format!("a `#[subscribe]` handler returns `Result<(), E>`: `{HANDLER_SIGNATURE}`"),
        );
        ok = false;
    }
    if ok { event } else { None }
}
