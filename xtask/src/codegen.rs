//! `cargo xtask codegen`: openapi.yaml → every generated file, each written (or checked) through
//! [`files::ensure_file_contents`]. What each output holds is said by the module that builds it;
//! this one decides where each goes and how progenitor is set up.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

use crate::{
    api_version, contract, envelopes, files, open_enums, operations, replacements, rules,
    sandbox_api, secrets, servers, spec, wire_types,
};

/// Whether to write the generated files or only check that the committed ones are fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite every generated file that differs.
    Write,
    /// Fail if any generated file differs; with `verbose`, print the diff.
    Check {
        /// Print a unified diff of each stale file.
        verbose: bool,
    },
}

const SPEC: &str = "openapi.yaml";
const GENERATED: &str = "crates/scalingo-db-generated/src";
const SANDBOX: &str = "crates/scalingo-db-sandbox/src";
const HTTPMOCK: &str = "crates/scalingo-db-generated-httpmock/src";
/// The Rust path of the generated client crate, as the httpmock helpers refer to it.
const CLIENT_CRATE: &str = "scalingo_db_generated";

/// Runs the code generation in the given mode.
#[allow(clippy::print_stdout)]
pub fn run(mode: Mode) -> anyhow::Result<()> {
    let stale = generate(mode)?;
    if stale.is_empty() {
        return Ok(());
    }
    for (path, diff) in &stale {
        println!("stale: {path}");
        if let Mode::Check { verbose: true } = mode {
            println!("{diff}");
        }
    }
    anyhow::bail!(
        "generated code is out of date relative to {SPEC}: run `cargo xtask codegen` and commit the result"
    )
}

/// Generates every file; returns the stale ones (path, diff) in check mode.
pub fn generate(mode: Mode) -> anyhow::Result<Vec<(String, String)>> {
    let root = files::project_root();
    let contract = contract::load(&root.join(SPEC))?;
    contract::check_parameters(&contract)?;
    let for_progenitor = spec::for_progenitor(&contract.spec);
    let open_enums = open_enums::find(&contract.spec)?;
    let secrets = secrets::find(&contract.spec)?;
    let replacements = replacements::find(&contract, &secrets, &open_enums);
    let generator = || generator(&replacements);

    let progenitor = generator().generate_tokens(&for_progenitor)?;
    let (types, client) = wire_types::split(api_version::strip(progenitor)?)?;
    let outputs = [
        (
            format!("{GENERATED}/generated_types.rs"),
            types,
            "wire types",
        ),
        (format!("{GENERATED}/generated_client.rs"), client, "client"),
        (
            format!("{HTTPMOCK}/generated_httpmock.rs"),
            generator().httpmock(&for_progenitor, CLIENT_CRATE)?,
            "httpmock helpers",
        ),
        (
            format!("{GENERATED}/generated_rules.rs"),
            rules::generate(&contract)?,
            "request rules",
        ),
        (
            format!("{GENERATED}/generated_operations.rs"),
            operations::generate(&contract),
            "operations",
        ),
        (
            format!("{GENERATED}/generated_servers.rs"),
            servers::generate(&contract)?,
            "servers",
        ),
        (
            format!("{GENERATED}/generated_secrets.rs"),
            secrets::generate(&contract, &secrets),
            "secrets",
        ),
        (
            format!("{GENERATED}/generated_envelopes.rs"),
            envelopes::generate(&contract, &replacements)?,
            "envelopes",
        ),
        (
            format!("{GENERATED}/generated_open_enums.rs"),
            open_enums::generate(&open_enums),
            "open enums",
        ),
        (
            format!("{SANDBOX}/generated_api.rs"),
            sandbox_api::generate(&contract, &replacements)?,
            "sandbox operations",
        ),
    ];

    let check = matches!(mode, Mode::Check { .. });
    let mut stale = Vec::new();
    for (path, tokens, what) in outputs {
        let contents = files::render(tokens, what)?;
        if let files::Outcome::Stale { diff } =
            files::ensure_file_contents(&root.join(&path), &contents, check)?
        {
            stale.push((path, diff));
        }
    }
    Ok(stale)
}

/// One generator per output: each generation adds the component schemas to its type space again.
fn generator(replacements: &[replacements::Replacement]) -> Generator {
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_derive("PartialEq")
        // The JSON Schema of every wire type, which a test compares with the contract's.
        .with_derive("schemars::JsonSchema")
        // Per-request authentication and timeouts come from the facade through this context and
        // the hand-written `ClientHooks` impl, which the compiler then insists on.
        .with_inner_type(quote::quote!(crate::RequestContext))
        .with_hooks(HooksMode::Expected);
    for replacement in replacements {
        settings.with_replacement(
            &replacement.schema,
            &replacement.rust_type,
            replacement.impls.iter().copied(),
        );
    }
    Generator::new(&settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain `cargo test` fails when someone changed openapi.yaml without regenerating.
    #[test]
    fn generated_code_is_fresh() {
        let stale = generate(Mode::Check { verbose: false }).expect("code generation runs");
        let paths: Vec<_> = stale.iter().map(|(path, _)| path.as_str()).collect();
        assert!(
            paths.is_empty(),
            "generated code is stale: {paths:?}; run `cargo xtask codegen` and commit the result\n{}",
            stale
                .iter()
                .map(|(_, diff)| diff.as_str())
                .collect::<String>()
        );
    }
}
