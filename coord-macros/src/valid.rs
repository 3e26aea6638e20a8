//! Checks on parsed input that need no type information.

use proc_macro2::Span;
use quote::ToTokens;
use syn::Path;

use crate::ast::{CoordinatorAttr, DaemonAttr};
use crate::attr::last_ident;
use crate::ctxt::Ctxt;

pub fn daemon(cx: &mut Ctxt, attr: &DaemonAttr) {
    let variant = last_ident(&attr.variant);
    if attr.runner.is_none() {
        cx.error_at(
            Span::call_site(),
            format!(
                "`#[daemon]` is missing `runner = ...`: name the async fn that runs the daemon, e.g. \
                 `runner = run_{}` with `async fn run_{}(ctx: DaemonContext) -> Result<(), BoxError>`",
                crate::case::snake_case(&variant.to_string()),
                crate::case::snake_case(&variant.to_string()),
            ),
        );
    }
    let describe = |p: &Path| p.to_token_stream().to_string().replace(' ', "");
    for (list, key) in [
        (&attr.depends_on, "depends_on"),
        (&attr.soft_depends_on, "soft_depends_on"),
    ] {
        for dep in list {
            // Daemons are named as their variant, like the entry itself; a bare
            // name is most often a coordinator, which the type error would
            // only call a mismatched type.
            if dep.leading_colon.is_none() && dep.segments.len() == 1 {
                let enum_path = attr.enum_path();
                let enum_name = last_ident(&enum_path);
                cx.error_spanned_by(
                    dep,
                    format!(
                        "`{}` is not a `{enum_name}` variant: a daemon's `{key}` names other daemons, \
                         e.g. `{enum_name}::EventRouter`; if it is a coordinator, drop it: every \
                         coordinator is initialised before any daemon starts",
                        describe(dep)
                    ),
                );
                continue;
            }
            if last_ident(dep) == variant {
                cx.error_spanned_by(
                    dep,
                    format!(
                        "daemon `{}` depends on itself; remove it from `{key}`",
                        describe(&attr.variant)
                    ),
                );
            }
        }
        report_repeats(cx, list, key);
    }
    for soft in &attr.soft_depends_on {
        if attr
            .depends_on
            .iter()
            .any(|hard| last_ident(hard) == last_ident(soft))
        {
            cx.error_spanned_by(
                soft,
                format!(
                    "`{}` is in both `depends_on` and `soft_depends_on`; keep it in one (hard waits for it, soft only orders)",
                    describe(soft)
                ),
            );
        }
    }
    if let Some(category) = &attr.category
        && category.value().trim().is_empty()
    {
        cx.error_spanned_by(
            category,
            "`category` cannot be empty; omit it or name a group, e.g. `\"sync\"`",
        );
    }
}

pub fn coordinator(cx: &mut Ctxt, attr: &CoordinatorAttr, item: &syn::ItemStruct) {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "a coordinator cannot be generic: bootstrap creates exactly one instance of each coordinator type",
        );
    }
    for dep in &attr.depends_on {
        if dep.is_ident("Self") || (dep.segments.len() == 1 && last_ident(dep) == &item.ident) {
            cx.error_spanned_by(
                dep,
                format!(
                    "coordinator `{}` depends on itself; remove it from `depends_on`",
                    item.ident
                ),
            );
        }
    }
    report_repeats(cx, &attr.depends_on, "depends_on");
}

fn report_repeats(cx: &mut Ctxt, list: &[Path], key: &str) {
    // Compared as text: `Path: PartialEq` needs syn's `extra-traits`, which
    // this crate does not enable (a workspace build only got it from another crate).
    let texts: Vec<String> = list
        .iter()
        .map(|p| p.to_token_stream().to_string().replace(' ', ""))
        .collect();
    for (i, dep) in list.iter().enumerate() {
        if texts[..i].contains(&texts[i]) {
            cx.error_spanned_by(
                dep,
                format!("`{}` is listed twice in `{key}`; remove one", texts[i]),
            );
        }
    }
}
