//! `#[daemon(E::V, ...)]`: the entry's slot on its enum, and its check.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;

use crate::ast::{CategoryValue, DaemonAttr, Dep, TextKind};
use crate::attr::{first_and_last_span, last_ident, path_spans};
use crate::expand::{at, entry_slot, location, spanned_call, spanned_fail};
use crate::symbol;

pub fn expand(attr: &DaemonAttr, item: &syn::ItemStruct) -> TokenStream {
    let krate = &attr.krate;
    let enum_path = attr.enum_path();
    let variant_path = &attr.variant;
    let slot = entry_slot(last_ident(variant_path));
    let (variant_first, variant_last) = path_spans(variant_path);
    let anchor = item.ident.unraw().to_string();
    let entry_location = location(krate, last_ident(variant_path).span());
    let deps: Vec<&TokenStream> = attr.depends_on.iter().map(|d| &d.tokens).collect();
    let soft: Vec<&TokenStream> = attr.soft_depends_on.iter().map(|d| &d.tokens).collect();
    let (dep_count, soft_count) = (deps.len(), soft.len());
    let category = match &attr.category {
        Some(CategoryValue::Text(c)) => {
            quote!(::core::option::Option::Some(#krate::__private::Category::Text(#c)))
        }
        Some(CategoryValue::Typed(path)) => {
            let (first, _) = path_spans(path);
            quote_spanned! {at(first)=>
                ::core::option::Option::Some(#krate::__private::Category::Typed(
                    || #krate::__private::category_name(&#path)
                ))
            }
        }
        None => quote!(::core::option::Option::None),
    };
    let restart = match attr.restart.as_ref().map(ToString::to_string).as_deref() {
        Some("always") => quote!(::core::option::Option::Some(#krate::RestartPolicy::Always)),
        Some("on_failure") => {
            quote!(::core::option::Option::Some(#krate::RestartPolicy::OnFailure))
        }
        Some("never") => quote!(::core::option::Option::Some(#krate::RestartPolicy::Never)),
        _ => quote!(::core::option::Option::None),
    };
    let Some(runner) = &attr.runner else {
        return placeholder(attr);
    };
    // Binding to a one-argument fn pointer first makes a wrong parameter
    // list an error at the runner; `RunnerContext` then says which contexts
    // it may take (`DaemonContext`, or `DaemonContext<ThisDaemon>` to
    // publish), and `runner_future` checks the returned future (its output,
    // and `Send` on the future itself).
    let runner_span = first_and_last_span(&runner.to_token_stream()).0;
    let daemon = &item.ident;
    let run_call = quote_spanned! {at(runner_span)=>
        let runner: fn(#krate::DaemonContext<_>) -> _ = #runner;
        #krate::contract::runner_future(runner(
            <_ as #krate::RunnerContext<#daemon>>::from_context(ctx),
        ))
    };
    let published = crate::expand::publishes::published_by(krate, daemon, &attr.publishes);
    let publishes = crate::expand::publishes::published_list(krate, daemon, &attr.publishes);
    // A unit anchor is never built by the user, so the runner names it rather
    // than have every daemon warn as dead code.
    let anchor_use = match &item.fields {
        syn::Fields::Unit => {
            let ident = &item.ident;
            quote!(let _ = #ident;)
        }
        _ => TokenStream::new(),
    };
    let check = check(attr, &enum_path);
    let settings_check = settings_check(attr);
    let (health_fn, health) = match &attr.health {
        Some(check_path) => {
            let span = first_and_last_span(&check_path.to_token_stream()).0;
            let call = quote_spanned! {at(span)=>
                let check: fn(#krate::DaemonContext) -> _ = #check_path;
                #krate::contract::health_future(check(ctx))
            };
            (
                quote! {
                    fn check_daemon_health(
                        ctx: #krate::DaemonContext,
                    ) -> #krate::BoxFuture<'static, ::core::result::Result<(), #krate::BoxError>> {
                        #call
                    }
                },
                quote!(::core::option::Option::Some(#krate::HealthCheck(check_daemon_health))),
            )
        }
        None => (TokenStream::new(), quote!(::core::option::Option::None)),
    };
    let options = options(attr, &restart, &health);

    // Spanned at the variant: a second entry for it is reported at both.
    let slot_head = quote_spanned! {at(variant_first)=> pub(crate) const };
    let slot_type = quote_spanned! {at(variant_last)=> #krate::__private::DaemonSlot };
    let mut slot = slot;
    slot.set_span(at(variant_last));
    let slot_impl = quote_spanned! {at(variant_first)=>
        // The user's paths appear here in expressions, where a lint like
        // `unused_qualifications` would ask for a fix inside generated code.
        #[allow(non_upper_case_globals, unused_qualifications, non_local_definitions)]
        impl #enum_path {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            #slot_head #slot: #slot_type = {
                // The variant must exist (an entry for a missing or `#[cfg]`'d-out
                // one is an error here), and its enum must derive `DaemonType`.
                let _: #enum_path = #variant_path;
                let _: &'static str = <#enum_path as #krate::DaemonKind>::TYPE_NAME;
                // Typed, so a dependency that is not a variant of this enum
                // is reported at its token as what it is.
                let _: [#enum_path; #dep_count] = [#(#deps),*];
                let _: [#enum_path; #soft_count] = [#(#soft),*];
                // Named so it cannot shadow the user's runner, whatever that is called.
                #health_fn
                fn run_daemon_entry(
                    ctx: #krate::DaemonContext,
                ) -> #krate::BoxFuture<'static, ::core::result::Result<(), #krate::BoxError>> {
                    #anchor_use
                    #run_call
                }
                #krate::__private::DaemonSlot::new(
                    &[#(#deps as i128),*],
                    &[#(#soft as i128),*],
                    #krate::__private::DaemonEntrySpec {
                        runner: run_daemon_entry,
                        category: #category,
                        options: #options,
                        anchor: #anchor,
                        publishes: #publishes,
                        location: #entry_location,
                    },
                )
            };
        }
    };

    quote! {
        #item
        #slot_impl
        #[allow(unused_qualifications)]
        const _: () = {
            // Its runner may take the context named after it, to publish.
            impl #krate::RunnerContext<#daemon> for #krate::DaemonContext<#daemon> {
                fn from_context(ctx: #krate::DaemonContext) -> Self {
                    ctx.named()
                }
            }
            #published
        };
        #check
        #settings_check
    }
}

/// The `DaemonOptions` the attribute gives. A text setting that does not
/// read is `None` here; `settings_check` reports it at its literal.
fn options(attr: &DaemonAttr, restart: &TokenStream, health: &TokenStream) -> TokenStream {
    let krate = &attr.krate;
    let some = |value: TokenStream| quote!(::core::option::Option::Some(#value));
    let none = quote!(::core::option::Option::None);
    let text = |key: &str, read: &str| match attr.text(key) {
        Some(setting) => {
            let value = &setting.value;
            let read = proc_macro2::Ident::new(read, proc_macro2::Span::call_site());
            quote!(#krate::__private::#read(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let ready_timeout = text(symbol::READY_TIMEOUT, "setting_duration");
    let shutdown_timeout = text(symbol::SHUTDOWN_TIMEOUT, "setting_duration");
    let stable_after = text(symbol::STABLE_AFTER, "setting_duration");
    let health_interval = text(symbol::HEALTH_INTERVAL, "setting_duration");
    let backoff = text(symbol::BACKOFF, "setting_backoff");
    let after_give_up = text(symbol::AFTER_GIVE_UP, "setting_give_up");
    let max_restarts = attr.max_restarts.map_or(none.clone(), |n| some(quote!(#n)));
    let health_threshold = attr
        .health_threshold
        .map_or(none.clone(), |n| some(quote!(#n)));
    let critical = attr.critical.map_or(none.clone(), |c| some(quote!(#c)));
    let singleton = if attr.singleton {
        some(quote!(true))
    } else {
        none
    };
    quote! {
        #krate::DaemonOptions {
            restart: #restart,
            ready_timeout: #ready_timeout,
            shutdown_timeout: #shutdown_timeout,
            max_restarts: #max_restarts,
            backoff: #backoff,
            stable_after: #stable_after,
            health: #health,
            health_interval: #health_interval,
            health_threshold: #health_threshold,
            critical: #critical,
            after_give_up: #after_give_up,
            singleton: #singleton,
        }
    }
}

/// The compiler's check of the settings written as text, each reported at
/// its literal with what to write instead.
fn settings_check(attr: &DaemonAttr) -> TokenStream {
    if attr.texts.is_empty() {
        return TokenStream::new();
    }
    let krate = &attr.krate;
    let checks = attr.texts.iter().map(|setting| {
        let key = setting.key.to_string();
        let value = &setting.value;
        let kind: u8 = match setting.kind {
            TextKind::Duration => 0,
            TextKind::Backoff => 1,
            TextKind::GiveUp => 2,
        };
        let call = spanned_call(
            krate,
            "check_setting",
            &quote!(#kind, #key, #value),
            value.span(),
            value.span(),
        );
        quote!(#call;)
    });
    quote! {
        const _: () = {
            #(#checks)*
        };
    }
}

/// The entry's compile-time check: a self-dependency, a repeat or a cycle it
/// is the first member of, reported at the dependency's token or at the entry.
fn check(attr: &DaemonAttr, enum_path: &syn::Path) -> TokenStream {
    let krate = &attr.krate;
    let variant_path = &attr.variant;
    let (first, last) = path_spans(variant_path);
    let graph = quote_spanned! {at(first)=> <#enum_path as #krate::DaemonKind>::GRAPH };
    if attr.depends_on.is_empty() && attr.soft_depends_on.is_empty() {
        // Nothing to walk: no dependency, so no cycle, repeat or self-dependency.
        return TokenStream::new();
    }
    let message = quote!(text);
    let arms = arms(krate, &attr.depends_on, 0, &message)
        .chain(arms(krate, &attr.soft_depends_on, 1, &message))
        .collect::<Vec<_>>();
    let at_entry = spanned_fail(krate, first, last, &message);
    quote! {
        #[allow(unused_qualifications)]
        const _: () = {
            let graph = #graph;
            let me = #variant_path as i128;
            let finding = #krate::__private::check_daemon_entry(graph, me);
            if finding.is_problem() {
                let explained = #krate::__private::explain_daemon_entry(graph, me, finding);
                let text = explained.as_str();
                match finding.dependency() {
                    #(#arms)*
                    _ => #at_entry,
                }
            }
        };
    }
}

/// One match arm per dependency, panicking at its token.
fn arms<'a>(
    krate: &'a TokenStream,
    deps: &'a [Dep],
    list: u8,
    message: &'a TokenStream,
) -> impl Iterator<Item = TokenStream> + 'a {
    deps.iter().enumerate().map(move |(i, dep)| {
        let (first, last) = first_and_last_span(&dep.tokens);
        let panic = spanned_fail(krate, first, last, message);
        quote! { ::core::option::Option::Some((#list, #i)) => #panic, }
    })
}

/// Marks the variant as registered after an attribute error, so the derive
/// does not add "has no registry entry" to the error the user must fix.
pub fn placeholder(attr: &DaemonAttr) -> TokenStream {
    let krate = &attr.krate;
    let enum_path = attr.enum_path();
    let slot = entry_slot(last_ident(&attr.variant));
    let (first, _) = path_spans(&attr.variant);
    quote_spanned! {at(first)=>
        #[allow(non_upper_case_globals, unused_qualifications, non_local_definitions)]
        impl #enum_path {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            pub(crate) const #slot: #krate::__private::DaemonSlot =
                #krate::__private::DaemonSlot::placeholder();
        }
    }
}
