//! `#[daemon(...)]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::DaemonAttr;
use crate::attr::last_ident;
use crate::case::snake_case;
use crate::expand::entry_const;

pub fn expand(attr: &DaemonAttr, item: &syn::ItemStruct) -> TokenStream {
    let enum_path = attr.enum_path();
    let variant = last_ident(&attr.variant);
    let variant_str = variant.to_string();
    let enum_str = last_ident(&enum_path).to_string();
    let name = snake_case(&variant_str);
    let entry = entry_const(variant);
    let index_of = |dep: &syn::Path| {
        // The typed parameter makes a dependency of the wrong kind a type error
        // at its token; it stays promotable, so no item is added per dependency.
        quote_spanned! {dep.span()=> <#enum_path>::__coord_index(&#dep) }
    };
    let dep_indices = attr.depends_on.iter().map(index_of);
    let soft_indices = attr.soft_depends_on.iter().map(index_of);
    let name_of = |dep: &syn::Path| snake_case(&last_ident(dep).to_string());
    let dep_names = attr.depends_on.iter().map(name_of);
    let soft_names = attr.soft_depends_on.iter().map(name_of);
    let category = match &attr.category {
        Some(c) => quote!(::core::option::Option::Some(#c)),
        None => quote!(::core::option::Option::None),
    };
    let restart = match attr.restart.as_ref().map(ToString::to_string).as_deref() {
        Some("always") => quote!(::core::option::Option::Some(::coord::RestartPolicy::Always)),
        Some("on_failure") => quote!(::core::option::Option::Some(
            ::coord::RestartPolicy::OnFailure
        )),
        Some("never") => quote!(::core::option::Option::Some(::coord::RestartPolicy::Never)),
        _ => quote!(::core::option::Option::None),
    };
    // Validation guarantees a runner; the placeholder path keeps this total.
    let run_call = match &attr.runner {
        // Binding to a fn pointer first makes a wrong parameter list an error
        // that shows the expected `fn(DaemonContext) -> _`; the bound on
        // `run_daemon` then explains the expected return type.
        Some(runner) => quote_spanned! {runner.span()=>
            let runner: fn(::coord::DaemonContext) -> _ = #runner;
            ::coord::__private::run_daemon(runner, __coord_ctx)
        },
        None => return placeholder(attr),
    };

    // The struct is the entry's anchor; a unit anchor is never built by the
    // user, so the runner builds it rather than have every daemon warn as dead code.
    let anchor_use = match &item.fields {
        syn::Fields::Unit => {
            let ident = &item.ident;
            quote!(let _ = #ident;)
        }
        _ => TokenStream::new(),
    };

    // One inherent const holds everything about this entry: the derive reads
    // it by name for the compile-time checks and registers its spec, so a
    // daemon adds no item of its own for the compiler to evaluate. Spanned at
    // the variant so a duplicate entry points at both `#[daemon(Enum::Variant`s.
    let entry_impl = quote_spanned! {attr.variant.span()=>
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        impl #enum_path {
            #[doc(hidden)]
            pub const #entry: ::coord::__private::DaemonEntry = {
                // Named so it cannot shadow the user's runner, whatever that is called.
                fn __coord_runner(
                    __coord_ctx: ::coord::DaemonContext,
                ) -> ::coord::BoxFuture<'static, ::core::result::Result<(), ::coord::BoxError>> {
                    #anchor_use
                    #run_call
                }
                ::coord::__private::DaemonEntry::new(
                    &[#(#dep_indices),*],
                    &[#(#soft_indices),*],
                    ::coord::DaemonSpec {
                        name: #name,
                        kind: #enum_str,
                        variant: #variant_str,
                        depends_on: &[#(#dep_names),*],
                        soft_depends_on: &[#(#soft_names),*],
                        category: #category,
                        restart: #restart,
                        runner: __coord_runner,
                        location: ::coord::Location {
                            module_path: ::core::module_path!(),
                            file: ::core::file!(),
                            line: ::core::line!(),
                        },
                    },
                )
            };
        }
    };

    quote! {
        #item
        #entry_impl
    }
}

/// Marks the variant as registered after an attribute error, so the derive
/// does not add "has no registry entry" to the error the user must fix.
pub fn placeholder(attr: &DaemonAttr) -> TokenStream {
    let enum_path = attr.enum_path();
    let entry = entry_const(last_ident(&attr.variant));
    quote_spanned! {attr.variant.span()=>
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        impl #enum_path {
            #[doc(hidden)]
            pub const #entry: ::coord::__private::DaemonEntry =
                ::coord::__private::DaemonEntry::declared(&[], &[]);
        }
    }
}
