//! The enum under `#[derive(DaemonType)]`.

use proc_macro2::TokenStream;
use syn::Ident;
use syn::ext::IdentExt;

use crate::ctxt::Ctxt;
use crate::symbol;

use super::helper_crate;

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
        let krate = helper_crate(cx, &input.attrs, "daemon_type", &[symbol::CRATE], &[]).krate;
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
