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
