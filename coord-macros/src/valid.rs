//! Checks on parsed input that need no type information.
//!
//! Whatever depends on what a path refers to (which variant, which
//! coordinator, whether two spellings name the same item) is checked by the
//! compiler in the generated code instead, so identity never comes from the
//! text of a path.

use proc_macro2::Span;

use crate::ast::{CategoryValue, DaemonAttr, DaemonTypeEnum, describe};
use crate::attr::last_ident;
use crate::case::snake_case;
use crate::ctxt::Ctxt;
use crate::symbol;

pub fn daemon(cx: &Ctxt, attr: &DaemonAttr) {
    let variant = last_ident(&attr.variant);
    let enum_path = attr.enum_path();
    let enum_name = last_ident(&enum_path);
    if attr.runner.is_none() {
        let snake = snake_case(&syn::ext::IdentExt::unraw(variant).to_string());
        cx.error_at(
            Span::call_site(),
            format!(
                "[coord::E0014] `#[daemon]` is missing `runner = ...`: name the async fn that runs the daemon, e.g. \
                 `runner = run_{snake}` with `async fn run_{snake}(ctx: DaemonContext) -> Result<(), BoxError>`"
            ),
        );
    }
    for (list, key) in [
        (&attr.depends_on, "depends_on"),
        (&attr.soft_depends_on, "soft_depends_on"),
    ] {
        for dep in list {
            let Some(path) = &dep.path else {
                cx.error_spanned_by(
                    &dep.tokens,
                    format!(
                        "[coord::E0019] each entry of `{key}` is a variant of `{enum_name}`, e.g. `{enum_name}::EventRouter`"
                    ),
                );
                continue;
            };
            // A daemon is named by its variant, with its enum, like the entry
            // itself. A bare name, or a path through modules, is most often a
            // coordinator, which the type error would only call a mismatched type.
            let through_modules = path.segments.len() >= 2 && {
                let owner = &path.segments[path.segments.len() - 2].ident;
                owner == "crate"
                    || owner == "self"
                    || owner == "super"
                    || owner
                        .to_string()
                        .chars()
                        .next()
                        .is_some_and(char::is_lowercase)
            };
            if path.segments.len() == 1 || through_modules {
                cx.error_spanned_by(
                    &dep.tokens,
                    format!(
                        "[coord::E0019] `{}` is not a `{enum_name}` variant: a daemon's `{key}` names other daemons \
                         by their variant, e.g. `{enum_name}::EventRouter`; a coordinator never goes here, \
                         because every coordinator is initialised before any daemon starts",
                        describe(path)
                    ),
                );
            }
        }
    }
    if attr.health.is_none() {
        for name in [symbol::HEALTH_INTERVAL, symbol::HEALTH_THRESHOLD] {
            if let Some(key) = attr.key(name) {
                cx.error_spanned_by(
                    key,
                    format!(
                        "[coord::E0014] `{name}` tunes the health check named by `health = ...`, and this daemon has none; \
                         add `health = path::to::check` (an `async fn(DaemonContext) -> Result<(), E>`) or remove `{name}`"
                    ),
                );
            }
        }
    }
    if let Some(CategoryValue::Text(category)) = &attr.category
        && category.value().trim().is_empty()
    {
        cx.error_spanned_by(
            category,
            "[coord::E0014] `category` cannot be empty; omit it or name a group, e.g. `\"sync\"`",
        );
    }
}

pub fn coordinator(cx: &Ctxt, item: &syn::ItemStruct) {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "[coord::E0018] a coordinator cannot be generic: bootstrap creates exactly one instance of each coordinator type; \
             make a concrete struct (it may hold a generic field of a chosen type)",
        );
    }
}

/// A second `#[coordinator]` on the same struct (as written; a renamed
/// import of the attribute is caught by the compiler as conflicting impls).
pub fn coordinator_applied_twice(cx: &Ctxt, item: &syn::ItemStruct) {
    for attribute in &item.attrs {
        if attribute
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "coordinator")
        {
            cx.error_spanned_by(
                attribute,
                format!(
                    "[coord::E0017] `#[coordinator]` is applied twice to `{}`; keep one (merge their keys into it)",
                    item.ident
                ),
            );
        }
    }
}

pub fn daemon_type(cx: &Ctxt, input: &DaemonTypeEnum) {
    for (i, variant) in input.variants.iter().enumerate() {
        if let Some(earlier) = input.variants[..i].iter().find(|v| v.name == variant.name) {
            cx.error_spanned_by(
                &variant.ident,
                format!(
                    "[coord::E0008] variants `{}` and `{}` of `{}` both have the runtime name `{}`, which config, \
                     the CLI and logs use to tell daemons apart; rename one of them",
                    earlier.ident, variant.ident, input.ident, variant.name
                ),
            );
        }
    }
}
