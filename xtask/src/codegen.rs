//! `cargo xtask codegen`: openapi.yaml → the generated client, its httpmock helpers and the
//! request-body rule tables, each written (or checked) through [`files::ensure_file_contents`].

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};

use crate::{api_version, files, open_enums, operations, rules, secrets, spec};

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
const CLIENT: &str = "crates/scalingo-db-generated/src/generated_client.rs";
const RULES: &str = "crates/scalingo-db-generated/src/generated_rules.rs";
const OPERATIONS: &str = "crates/scalingo-db-generated/src/generated_operations.rs";
const OPEN_ENUMS: &str = "crates/scalingo-db-generated/src/generated_open_enums.rs";
const HTTPMOCK: &str = "crates/scalingo-db-generated-httpmock/src/generated_httpmock.rs";
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
pub fn generate(mode: Mode) -> anyhow::Result<Vec<(&'static str, String)>> {
    let root = files::project_root();
    let contract = spec::load(&root.join(SPEC))?;
    let for_progenitor = spec::for_progenitor(&contract);
    let open_enums = open_enums::find(&contract)?;
    let secrets = secrets::find(&contract)?;
    let generator = || generator(&open_enums, &secrets);

    let outputs = [
        (
            CLIENT,
            files::render(
                api_version::strip(generator().generate_tokens(&for_progenitor)?)?,
                "client",
            )?,
        ),
        (
            HTTPMOCK,
            files::render(
                generator().httpmock(&for_progenitor, CLIENT_CRATE)?,
                "httpmock helpers",
            )?,
        ),
        (
            RULES,
            files::render(rules::generate(&contract)?, "request rules")?,
        ),
        (
            OPERATIONS,
            files::render(operations::generate(&contract)?, "operations")?,
        ),
        (
            OPEN_ENUMS,
            files::render(open_enums::generate(&open_enums), "open enums")?,
        ),
    ];

    let check = matches!(mode, Mode::Check { .. });
    let mut stale = Vec::new();
    for (path, contents) in outputs {
        if let files::Outcome::Stale { diff } =
            files::ensure_file_contents(&root.join(path), &contents, check)?
        {
            stale.push((path, diff));
        }
    }
    Ok(stale)
}

/// One generator per output: each generation adds the component schemas to its type space again.
fn generator(open_enums: &[open_enums::OpenEnum], secrets: &[secrets::Secret]) -> Generator {
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_derive("PartialEq")
        // Per-request authentication and timeouts come from the facade through this context and
        // the hand-written `ClientHooks` impl, which the compiler then insists on.
        .with_inner_type(quote::quote!(crate::RequestContext))
        .with_hooks(HooksMode::Expected)
        // Constrained names stay plain strings because their rules are checked from the rule
        // tables (so they can be skipped on purpose).
        .with_replacement(
            "NewUserName",
            "::std::string::String",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    // Secrets get a type whose Debug never shows them.
    for secret in secrets {
        settings.with_replacement(
            &secret.schema,
            format!("crate::{}", secret.rust_type),
            std::iter::empty::<TypeImpl>(),
        );
    }
    for open in open_enums {
        settings.with_replacement(
            &open.name,
            format!("crate::{}", open.name),
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
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
        let paths: Vec<_> = stale.iter().map(|(path, _)| *path).collect();
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
